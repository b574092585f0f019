"""Civil-status profile and identity verification (sandbox provider and counter)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from identity.config import ProviderSettings
from identity.testing import OTHER_CNP, VALID_CNP, make_settings
from mai_chassis import ConfigurationError


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _start(client, session):
    started = client.post(
        "/api/v1/identity/verifications", json={"provider": "sandbox"}, headers=_auth(session["access_token"])
    )
    assert started.status_code == 201, started.get_json()
    query = parse_qs(urlparse(started.get_json()["authorization_url"]).query)
    return {k: v[0] for k, v in query.items()}


def _sandbox_answer(client, query, *, cnp=VALID_CNP, last_name="Popescu", first_name="Ana"):
    identified = client.post(
        "/sandbox/eid/sandbox/authorize",
        json={
            "state": query["state"],
            "nonce": query["nonce"],
            "redirect_uri": query["redirect_uri"],
            "cnp": cnp,
            "last_name": last_name,
            "first_name": first_name,
        },
    )
    assert identified.status_code == 200
    return parse_qs(urlparse(identified.get_json()["redirect_to"]).query)["answer"][0]


def test_bank_card_identification_verifies_the_account_and_new_tokens_carry_the_level(
    client, register_citizen, published
):
    session = register_citizen()
    query = _start(client, session)
    answer = _sandbox_answer(client, query, last_name="POPESCU", first_name="ana")
    done = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": query["state"], "answer": answer}
    )
    assert done.status_code == 200 and done.get_json()["assurance_level"] == "substantial"
    [event] = published("ro.mai.identity.verified.v1")
    assert event["method"] == "eid_provider" and event["provider"] == "sandbox"
    assert VALID_CNP not in repr(event)
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).get_json()
    assert jwt.decode(fresh["access_token"], options={"verify_signature": False})["acr"] == "substantial"


def test_a_replayed_provider_answer_is_refused(client, register_citizen, published):
    session = register_citizen()
    query = _start(client, session)
    answer = _sandbox_answer(client, query, cnp=OTHER_CNP)  # a mismatch: the attempt fails, the answer is spent
    assert (
        client.get(
            "/api/v1/identity/verifications/callback", query_string={"state": query["state"], "answer": answer}
        ).status_code
        == 422
    )
    second = _start(client, session)
    replay = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": second["state"], "answer": answer}
    )
    assert replay.status_code == 400
    assert published("ro.mai.identity.verified.v1") == []


def test_an_answer_for_another_state_is_refused(client, register_citizen):
    session = register_citizen()
    first, second = _start(client, session), _start(client, session)
    answer = _sandbox_answer(client, first)
    wrong_nonce = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": second["state"], "answer": answer}
    )
    assert wrong_nonce.status_code == 400


def test_a_forged_provider_answer_is_refused(client, register_citizen):
    session = register_citizen()
    query = _start(client, session)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": "https://sandbox.eid.invalid",
            "aud": "mai-eservices",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            "nonce": query["nonce"],
            "cnp": VALID_CNP,
            "family_name": "Popescu",
            "given_name": "Ana",
        },
        forger,
        algorithm="RS256",
    )
    refused = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": query["state"], "answer": forged}
    )
    assert refused.status_code == 400


def test_an_expired_provider_answer_is_refused(client, app, register_citizen):
    session = register_citizen()
    query = _start(client, session)
    provider = app.extensions["identity_runtime"].providers["sandbox"]
    expired = provider.sign_answer(
        nonce=query["nonce"], cnp=VALID_CNP, last_name="Popescu", first_name="Ana", lifetime=-60
    )
    refused = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": query["state"], "answer": expired}
    )
    assert refused.status_code == 400


def test_identified_person_must_match_the_account(client, register_citizen, published):
    session = register_citizen()
    query = _start(client, session)
    answer = _sandbox_answer(client, query, last_name="Ionescu")
    mismatch = client.get(
        "/api/v1/identity/verifications/callback", query_string={"state": query["state"], "answer": answer}
    )
    assert mismatch.status_code == 422 and mismatch.get_json()["fields"] == ["last_name"]
    assert published("ro.mai.identity.verified.v1") == []


def test_a_citizen_cannot_read_another_citizens_profile(client, register_citizen):
    ana = register_citizen()
    ion = register_citizen(email="ion@example.ro", cnp=OTHER_CNP, first_name="Ioana", last_name="Ionescu")
    theirs = client.get(f"/api/v1/identity/profiles/{ion['citizen_id']}", headers=_auth(ana["access_token"]))
    assert theirs.status_code == 404
    mine = client.get(f"/api/v1/identity/profiles/{ana['citizen_id']}", headers=_auth(ana["access_token"]))
    assert mine.status_code == 200


def test_profile_is_editable_until_verified_then_identity_fields_are_locked(client, register_citizen):
    session = register_citizen()
    edit = client.patch(
        "/api/v1/identity/profiles/me",
        headers=_auth(session["access_token"]),
        json={"birth_place": "Iași", "father_first_name": "Ion", "address": "Str. Lungă 1, Iași"},
    )
    assert edit.status_code == 200 and edit.get_json()["birth_place"] == "Iași"
    wrong_date = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"birth_date": "1981-01-01"}
    )
    assert wrong_date.status_code == 422
    query = _start(client, session)
    client.get(
        "/api/v1/identity/verifications/callback",
        query_string={"state": query["state"], "answer": _sandbox_answer(client, query)},
    )
    locked = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"last_name": "Altul"}
    )
    assert locked.status_code == 409
    moved = client.patch(
        "/api/v1/identity/profiles/me",
        headers=_auth(session["access_token"]),
        json={"address": "Bd. Unirii 2, București"},
    )
    assert moved.status_code == 200


def test_record_svc_reads_the_civil_status_with_the_citizens_own_token(client, register_citizen):
    session = register_citizen()
    data = client.get("/internal/v1/civil-status", headers=_auth(session["access_token"])).get_json()
    assert data["cnp"] == VALID_CNP and data["birth_date"] == "1980-01-01"


def test_the_sandbox_provider_cannot_be_configured_in_production():
    with pytest.raises(ConfigurationError, match="sandbox"):
        make_settings(
            "sqlite://",
            environment="production",
            argon2_time_cost=2,
            argon2_memory_kib=19 * 1024,
            eid_providers=(ProviderSettings(name="bank-card", adapter="sandbox"),),
        )


def test_counter_clerk_verifies_with_the_checked_document(client, register_citizen, sign_token, published):
    session = register_citizen()
    code = client.post("/api/v1/identity/counter-code", headers=_auth(session["access_token"])).get_json()
    clerk = sign_token(roles=["counter_clerk@SPCEP-B1"])
    other_unit = client.post(
        "/api/v1/staff/counter/lookups",
        headers=_auth(clerk),
        json={"unit": "SPCEP-CJ", "counter_code": code["counter_code"]},
    )
    assert other_unit.status_code == 403
    found = client.post(
        "/api/v1/staff/counter/lookups",
        headers=_auth(clerk),
        json={"unit": "SPCEP-B1", "counter_code": code["counter_code"].lower()},
    )
    assert found.status_code == 200 and found.get_json()["citizen_id"] == session["citizen_id"]
    assert "cnp" not in found.get_json()
    document = {"type": "identity_card", "series": "RX", "number": "123456"}
    mismatch = client.post(
        "/api/v1/staff/counter/verifications",
        headers=_auth(clerk),
        json={
            "citizen_id": session["citizen_id"],
            "unit": "SPCEP-B1",
            "document": document,
            "cnp": OTHER_CNP,
            "last_name": "Popescu",
            "first_name": "Ana",
        },
    )
    assert mismatch.status_code == 422
    verified = client.post(
        "/api/v1/staff/counter/verifications",
        headers=_auth(clerk),
        json={
            "citizen_id": session["citizen_id"],
            "unit": "SPCEP-B1",
            "document": document,
            "cnp": VALID_CNP,
            "last_name": "Popescu",
            "first_name": "Ana",
        },
    )
    assert verified.status_code == 200
    [event] = published("ro.mai.identity.verified.v1")
    assert (event["method"], event["unit"]) == ("counter", "SPCEP-B1")
    assert "123456" not in repr(event)


def test_a_citizen_token_cannot_use_the_counter(client, register_citizen):
    session = register_citizen()
    response = client.post(
        "/api/v1/staff/counter/lookups",
        headers=_auth(session["access_token"]),
        json={"unit": "SPCEP-B1", "email": "ana.popescu@example.ro"},
    )
    assert response.status_code == 403
