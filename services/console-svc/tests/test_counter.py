"""Counter officers: find the citizen's account by the code it shows, check the ID document."""

from __future__ import annotations

from .conftest import PREFIX, FakeApi, csrf_token_of

CITIZEN = "5b6f0c1e-8d2a-4b7e-9c55-1a2b3c4d5e6f"
CNP = "1800101221144"
ACCOUNT = {
    "citizen_id": CITIZEN,
    "email": "ana@example.ro",
    "last_name": "Popescu",
    "first_name": "Ana",
    "birth_date": "1980-01-01",
    "email_confirmed": True,
    "verified": False,
    "assurance_level": "low",
}


def _found(client, fake_api: FakeApi) -> str:  # type: ignore[no-untyped-def]
    fake_api.answer("POST", "/api/v1/staff/counter/lookups", 200, ACCOUNT)
    token = csrf_token_of(client.get(f"{PREFIX}/counter").get_data(as_text=True))
    page = client.post(f"{PREFIX}/counter", data={"csrf_token": token, "unit": "SPCEP-B1", "counter_code": "k7qm-3xpa"})
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def test_the_account_is_found_by_the_code_the_citizen_shows(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@SPCEP-B1")

    html = _found(client, fake_api)

    assert "Popescu" in html and f'value="{CITIZEN}"' in html
    [sent] = fake_api.sent("POST", "/api/v1/staff/counter/lookups")
    assert sent.json() == {"unit": "SPCEP-B1", "counter_code": "K7QM-3XPA", "email": None}


def test_the_document_is_checked_and_the_cnp_goes_only_in_the_body(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@SPCEP-B1")
    html = _found(client, fake_api)
    fake_api.answer(
        "POST",
        "/api/v1/staff/counter/verifications",
        200,
        {"citizen_id": CITIZEN, "verified": True, "method": "counter", "assurance_level": "substantial",
         "verified_at": "2026-12-07T09:00:00+00:00"},
    )  # fmt: skip

    page = client.post(
        f"{PREFIX}/counter/verification",
        data={
            "csrf_token": csrf_token_of(html),
            "unit": "SPCEP-B1",
            "citizen_id": CITIZEN,
            "document_type": "identity_card",
            "series": "rx",
            "number": "123456",
            "cnp": CNP,
            "last_name": "Popescu",
            "first_name": "Ana",
        },
    )

    assert page.status_code == 200
    assert "substantial" in page.get_data(as_text=True)
    [sent] = fake_api.sent("POST", "/api/v1/staff/counter/verifications")
    assert sent.json()["cnp"] == CNP and CNP not in sent.path
    assert sent.json()["document"] == {"type": "identity_card", "series": "RX", "number": "123456"}
    assert CNP not in page.get_data(as_text=True)


def test_a_mismatch_is_explained_and_the_cnp_is_not_shown_again(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@SPCEP-B1")
    html = _found(client, fake_api)
    fake_api.answer(
        "POST",
        "/api/v1/staff/counter/verifications",
        422,
        {"type": "https://errors/identity-mismatch", "status": 422, "detail": "no match", "fields": ["cnp"]},
    )

    page = client.post(
        f"{PREFIX}/counter/verification",
        data={
            "csrf_token": csrf_token_of(html),
            "unit": "SPCEP-B1",
            "citizen_id": CITIZEN,
            "document_type": "passport",
            "number": "05123456",
            "cnp": "2800101221149",
            "last_name": "Popescu",
            "first_name": "Ana",
        },
    )

    assert page.status_code == 400
    assert 'class="error-summary"' in page.get_data(as_text=True)
    assert "2800101221149" not in page.get_data(as_text=True)


def test_a_counter_the_officer_does_not_hold_is_refused_before_the_api(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@SPCEP-B1")
    token = csrf_token_of(client.get(f"{PREFIX}/counter").get_data(as_text=True))

    page = client.post(f"{PREFIX}/counter", data={"csrf_token": token, "unit": "SPCEP-CJ", "counter_code": "K7QM3XPA"})

    assert page.status_code == 400
    assert fake_api.sent("POST", "/api/v1/staff/counter/lookups") == []
