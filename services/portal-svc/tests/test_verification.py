"""Verifying the identity: the bank-card redirect and its return, and the counter code."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import FakeApi, csrf_token_of, tokens
from .test_account import PROFILE, problem, sign_in

UNITS = {
    "items": [
        {
            "code": "IPJ-CJ",
            "name_ro": "Inspectoratul de Poliție Județean Cluj",
            "name_en": "Cluj County Police Inspectorate",
            "address": "Str. Traian nr. 27",
            "city": "Cluj-Napoca",
            "county": "Cluj",
            "opening_hours": [{"day": "monday", "intervals": ["08:30-12:30"]}],
        }
    ],
    "accepted_documents": ["identity_card", "passport"],
}
STARTED = {
    "verification_id": "0b8f0c33-0000-4000-8000-000000000002",
    "authorization_url": "http://127.0.0.1:9400/oauth2/authorize?client_id=mai&state=S7aTe-0123456789",
    "state": "S7aTe-0123456789",
    "expires_at": "2026-12-07T01:10:00Z",
}


def start_bank_card(client: FlaskClient, fake_api: FakeApi):  # type: ignore[no-untyped-def]
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/profiles/me", 200, PROFILE)
    fake_api.answer("POST", "/api/v1/identity/verifications", 201, STARTED)
    token = csrf_token_of(client.get("/account/verification").get_data(as_text=True))
    return client.post("/account/verification/bank-card", data={"csrf_token": token})


def test_the_bank_card_route_sends_the_browser_to_the_provider_with_the_state_kept_here(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    started = start_bank_card(client, fake_api)

    assert started.status_code == 303 and started.headers["Location"] == STARTED["authorization_url"]
    [sent] = fake_api.sent("POST", "/api/v1/identity/verifications")
    assert sent.json() == {
        "provider": "bank-card",
        "redirect_uri": "http://127.0.0.1:8080/account/verification/callback",
    }
    assert sent.headers["Authorization"] == "Bearer access-token-1"


def test_the_providers_answer_is_handed_to_identity_svc_and_the_tokens_renewed(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    start_bank_card(client, fake_api)
    fake_api.answer("POST", "/api/v1/identity/verifications/callback", 200, {"assurance_level": "substantial"})
    fake_api.answer("POST", "/api/v1/auth/refresh", 200, tokens(access="access-token-2"))

    back = client.get(f"/account/verification/callback?code=AUTHCODE123&state={STARTED['state']}")

    assert back.status_code == 200
    assert "Identitatea dumneavoastră este verificată" in back.get_data(as_text=True)
    [sent] = fake_api.sent("POST", "/api/v1/identity/verifications/callback")
    assert sent.json() == {"state": STARTED["state"], "code": "AUTHCODE123"}
    assert len(fake_api.sent("POST", "/api/v1/auth/refresh")) == 1  # the next token says "verified"
    again = client.get(f"/account/verification/callback?code=AUTHCODE123&state={STARTED['state']}")
    assert again.status_code == 400  # the state was for one return only
    assert len(fake_api.sent("POST", "/api/v1/identity/verifications/callback")) == 1


def test_an_answer_this_browser_did_not_ask_for_is_not_sent_on(client: FlaskClient, fake_api: FakeApi) -> None:
    start_bank_card(client, fake_api)

    forged = client.get("/account/verification/callback?code=AUTHCODE123&state=someone-elses-state")

    assert forged.status_code == 400
    assert "nu aparține unei identificări începute din acest browser" in forged.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/identity/verifications/callback") == []


def test_a_cancelled_identification_is_reported_to_identity_svc_and_explained(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    start_bank_card(client, fake_api)
    fake_api.answer("POST", "/api/v1/identity/verifications/callback", 400, problem("identification-refused", 400))
    client.set_cookie("lang", "en")

    back = client.get(f"/account/verification/callback?error=access_denied&state={STARTED['state']}")

    assert "The identification was cancelled at the bank" in back.get_data(as_text=True)
    [sent] = fake_api.sent("POST", "/api/v1/identity/verifications/callback")
    assert sent.json() == {"state": STARTED["state"], "error": "access_denied"}


def test_a_person_the_bank_identified_differently_is_told_so(client: FlaskClient, fake_api: FakeApi) -> None:
    start_bank_card(client, fake_api)
    fake_api.answer("POST", "/api/v1/identity/verifications/callback", 422, problem("identity-mismatch", 422))
    client.set_cookie("lang", "en")

    back = client.get(f"/account/verification/callback?code=AUTHCODE123&state={STARTED['state']}")

    assert back.status_code == 400
    assert "does not match the name or CNP in your account" in back.get_data(as_text=True)


def test_the_counter_route_gives_a_code_the_counters_and_what_to_bring(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/counter-units", 200, UNITS)
    fake_api.answer(
        "POST",
        "/api/v1/identity/counter-code",
        201,
        {"counter_code": "K7QM-3XPA", "expires_at": "2099-01-01T10:00:00Z"},
    )
    client.set_cookie("lang", "en")
    page = client.get("/account/verification/counter").get_data(as_text=True)
    assert "Cluj County Police Inspectorate" in page and "Str. Traian nr. 27, Cluj-Napoca" in page
    assert "your identity card" in page and "08:30\u201312:30" in page
    assert "K7QM-3XPA" not in page

    issued = client.post("/account/verification/counter", data={"csrf_token": csrf_token_of(page)})

    assert issued.status_code == 303
    shown = client.get("/account/verification/counter")
    assert shown.headers["Cache-Control"] == "no-store"
    assert "K7QM-3XPA" in shown.get_data(as_text=True)
    assert "Valid until January 1, 2099, 12:00" in shown.get_data(as_text=True)  # Romanian time
