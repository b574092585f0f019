"""Civil-status profile and identity verification at the counter (the eID provider: test_eid_openid_connect)."""

from __future__ import annotations

import uuid

from identity_testing import OTHER_CNP, VALID_CNP


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _verify_with_the_provider(client, eid_provider, session):
    """Start, identify as the account's person on the provider's page, hand the code back."""
    started = client.post(
        "/api/v1/identity/verifications", json={"provider": "bank-card"}, headers=_auth(session["access_token"])
    )
    assert started.status_code == 201, started.get_json()
    sub = f"person-{uuid.uuid4().hex[:12]}"
    eid_provider.enrol(sub, cnp=VALID_CNP, family_name="Popescu", given_name="Ana", birthdate="1980-01-01")
    back = eid_provider.identify(started.get_json()["authorization_url"], sub)
    done = client.post(
        "/api/v1/identity/verifications/callback",
        json={"state": back["state"], "code": back["code"]},
        headers=_auth(session["access_token"]),
    )
    assert done.status_code == 200, done.get_json()


def test_a_citizen_cannot_read_another_citizens_profile(client, register_citizen):
    ana = register_citizen()
    ion = register_citizen(email="ion@example.ro", cnp=OTHER_CNP, first_name="Ioana", last_name="Ionescu")
    theirs = client.get(f"/api/v1/identity/profiles/{ion['citizen_id']}", headers=_auth(ana["access_token"]))
    assert theirs.status_code == 404
    mine = client.get(f"/api/v1/identity/profiles/{ana['citizen_id']}", headers=_auth(ana["access_token"]))
    assert mine.status_code == 200


def test_profile_is_editable_until_verified_then_identity_fields_are_locked(client, register_citizen, eid_provider):
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
    _verify_with_the_provider(client, eid_provider, session)
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
