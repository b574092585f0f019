"""Certificate clerks (find by number, history, revoke after a confirmation) and counter officers (the
referred applications, their outcome, the certificate issued at the counter and its PDF)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PREFIX, FakeApi, csrf_token_of

NUMBER = "CJ-2026-0004512"
NUMBER_PATH = f"/api/v1/certificates/numbers/{NUMBER}"
CERTIFICATE: dict[str, Any] = {
    "id": "6f1c1c3e-6b8e-4d4e-9a55-2b0b1b2f0a11",
    "registration_number": NUMBER,
    "status": "valid",
    "purpose": "employment",
    "purpose_text": None,
    "holder_name": "Ana Popescu",
    "requested_at": "2026-12-01T09:00:00Z",
    "issued_at": "2026-12-01T09:00:05Z",
    "valid_until": "2027-06-01T09:00:05Z",
    "issued_in_unit": "IPJ-CJ",
    "issued_through": "online",
    "revocation": None,
}
HISTORY = {
    "certificate_id": CERTIFICATE["id"],
    "registration_number": NUMBER,
    "events": [
        {"event": "requested", "at": "2026-12-01T09:00:00Z", "channel": "online"},
        {"event": "issued", "at": "2026-12-01T09:00:05Z", "unit": "IPJ-CJ", "channel": "online"},
    ],
    "verifications": 2,
    "last_verified_at": "2026-12-03T12:00:00Z",
}
REFERRAL_ID = "0b6c8f9a-2d1e-4c3b-8a7f-5e4d3c2b1a00"
REFERRAL_PATH = f"/api/v1/certificates/referrals/{REFERRAL_ID}"
REFERRAL: dict[str, Any] = {
    "id": REFERRAL_ID,
    "citizen_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "holder_name": "Ion Radu",
    "purpose": "employment",
    "purpose_text": None,
    "requested_at": "2026-12-02T08:00:00Z",
    "reason": "registry_entry",
    "unit": "IPJ-CJ",
    "state": "awaiting",
    "decision": None,
    "registration_number": None,
}
CNP = "1900101123453"


@pytest.fixture(autouse=True)
def purposes(fake_api: FakeApi) -> None:
    """record-svc's public list of purposes, which the pages name in the page's language."""
    fake_api.answer(
        "GET",
        "/api/v1/certificates/purposes",
        200,
        {"items": [{"code": "employment", "label_ro": "Angajare", "label_en": "Employment", "requires_text": False}]},
    )


def test_a_clerk_finds_a_certificate_by_number_and_sees_its_history(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("certificate_clerk@IPJ-CJ")
    fake_api.answer("GET", NUMBER_PATH, 200, CERTIFICATE)
    fake_api.answer("GET", f"{NUMBER_PATH}/history", 200, HISTORY)

    found = client.get(f"{PREFIX}/certificates?number=cj-2026-0004512")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/certificates/{NUMBER}")
    page = client.get(found.headers["Location"])

    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ana Popescu" in html and 'id="history"' in html and "Angajare" in html


def test_a_number_not_issued_in_the_clerks_units_is_said_beside_the_field(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("certificate_clerk@IPJ-IS")
    fake_api.answer(
        "GET",
        NUMBER_PATH,
        404,
        {"type": "https://errors.mai.gov.ro/problems/not-found", "title": "Not found", "status": 404},
    )

    page = client.get(f"{PREFIX}/certificates?number={NUMBER}")

    assert page.status_code == 404
    assert 'href="#number"' in page.get_data(as_text=True)


def test_a_revocation_is_confirmed_before_it_is_sent(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("certificate_clerk@IPJ-CJ")
    fake_api.answer("GET", NUMBER_PATH, 200, CERTIFICATE)
    fake_api.answer("GET", f"{NUMBER_PATH}/history", 200, HISTORY)
    fake_api.answer("POST", f"{NUMBER_PATH}/revocation", 200, {"status": "revoked"})
    token = csrf_token_of(client.get(f"{PREFIX}/certificates/{NUMBER}").get_data(as_text=True))
    form = {"csrf_token": token, "reason": "issued_in_error", "note": "Wrong purpose printed"}

    confirm = client.post(f"{PREFIX}/certificates/{NUMBER}/revocation", data=form)

    assert confirm.status_code == 200 and 'name="step" value="confirm"' in confirm.get_data(as_text=True)
    assert fake_api.sent("POST", f"{NUMBER_PATH}/revocation") == []
    done = client.post(f"{PREFIX}/certificates/{NUMBER}/revocation", data={**form, "step": "confirm"})
    assert done.status_code == 303
    [sent] = fake_api.sent("POST", f"{NUMBER_PATH}/revocation")
    assert sent.json() == {"reason": "issued_in_error", "note": "Wrong purpose printed"}


def test_another_reason_needs_a_note(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("certificate_clerk@IPJ-CJ")
    fake_api.answer("GET", NUMBER_PATH, 200, CERTIFICATE)
    fake_api.answer("GET", f"{NUMBER_PATH}/history", 200, HISTORY)
    token = csrf_token_of(client.get(f"{PREFIX}/certificates/{NUMBER}").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/certificates/{NUMBER}/revocation", data={"csrf_token": token, "reason": "other", "step": "confirm"}
    )

    assert answer.status_code == 400 and 'href="#note"' in answer.get_data(as_text=True)
    assert fake_api.sent("POST", f"{NUMBER_PATH}/revocation") == []


def test_the_certificate_pages_are_for_certificate_clerks_only(signed_in) -> None:
    client = signed_in("counter_clerk@IPJ-CJ")

    assert client.get(f"{PREFIX}/certificates").status_code == 403
    assert client.get(f"{PREFIX}/certificates/{NUMBER}").status_code == 403


def test_the_referrals_of_another_counter_are_refused(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@IPJ-IS")

    assert client.get(f"{PREFIX}/referrals?unit=IPJ-CJ").status_code == 403
    assert fake_api.sent("GET", "/api/v1/certificates/referrals") == []


def test_an_outcome_is_recorded_and_its_problem_shown_beside_the_field(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("counter_clerk@IPJ-CJ")
    fake_api.answer("GET", "/api/v1/certificates/referrals", 200, {"items": [REFERRAL]})
    fake_api.answer("GET", REFERRAL_PATH, 200, REFERRAL)
    fake_api.answer(
        "POST",
        f"{REFERRAL_PATH}/outcome",
        422,
        {
            "type": "https://errors.mai.gov.ro/problems/validation",
            "title": "Invalid",
            "status": 422,
            "errors": {"note": ["Plain text only."]},
        },
    )
    assert f"/referrals/{REFERRAL_ID}" in client.get(f"{PREFIX}/referrals").get_data(as_text=True)
    token = csrf_token_of(client.get(f"{PREFIX}/referrals/{REFERRAL_ID}").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/referrals/{REFERRAL_ID}/outcome", data={"csrf_token": token, "outcome": "cleared", "note": "x"}
    )

    assert answer.status_code == 400 and 'href="#note"' in answer.get_data(as_text=True)
    [sent] = fake_api.sent("POST", f"{REFERRAL_PATH}/outcome")
    assert sent.json() == {"outcome": "cleared", "note": "x"}


def test_the_certificate_is_issued_with_the_documents_identity_and_its_pdf_downloaded(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("counter_clerk@IPJ-CJ")
    fake_api.answer("GET", REFERRAL_PATH, 200, {**REFERRAL, "state": "cleared"})
    fake_api.answer("POST", f"{REFERRAL_PATH}/certificate", 201, CERTIFICATE)
    token = csrf_token_of(client.get(f"{PREFIX}/referrals/{REFERRAL_ID}").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/referrals/{REFERRAL_ID}/certificate",
        data={"csrf_token": token, "cnp": CNP, "last_name": "Radu", "first_name": "Ion", "birth_date": "1990-01-01"},
    )

    assert answer.status_code == 303
    [sent] = fake_api.sent("POST", f"{REFERRAL_PATH}/certificate")
    assert sent.json() == {"cnp": CNP, "last_name": "Radu", "first_name": "Ion", "birth_date": "1990-01-01"}
    assert sent.headers.get("Idempotency-Key")
    assert CNP not in answer.headers["Location"]

    fake_api.answers[("GET", REFERRAL_PATH)] = [
        (200, {**REFERRAL, "state": "issued", "registration_number": NUMBER}, {})
    ]
    fake_api.answer("GET", f"{REFERRAL_PATH}/certificate/pdf", 200, b"%PDF-1.7 signed", Content_Type="application/pdf")
    page = client.get(f"{PREFIX}/referrals/{REFERRAL_ID}").get_data(as_text=True)
    assert f"/referrals/{REFERRAL_ID}/certificate.pdf" in page
    pdf = client.get(f"{PREFIX}/referrals/{REFERRAL_ID}/certificate.pdf")
    assert pdf.data == b"%PDF-1.7 signed"
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="cazier-judiciar-{NUMBER}.pdf"'


def test_a_cnp_that_is_not_the_applicants_is_said_beside_the_field_and_not_shown_again(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("counter_clerk@IPJ-CJ")
    fake_api.answer("GET", REFERRAL_PATH, 200, {**REFERRAL, "state": "cleared"})
    fake_api.answer(
        "POST",
        f"{REFERRAL_PATH}/certificate",
        422,
        {"type": "https://errors.mai.gov.ro/problems/holder-mismatch", "title": "Mismatch", "status": 422},
    )
    token = csrf_token_of(client.get(f"{PREFIX}/referrals/{REFERRAL_ID}").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/referrals/{REFERRAL_ID}/certificate",
        data={"csrf_token": token, "cnp": CNP, "last_name": "Radu", "first_name": "Ion", "birth_date": "1990-01-01"},
    )

    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'href="#cnp"' in html and CNP not in html
