"""The administrators' staff tools over HTTP: the staff list of their units and a second-factor reset."""

from __future__ import annotations

PROBLEM_JSON = "application/problem+json"


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _create(client, admin, email, name, role, unit):
    created = client.post(
        "/api/v1/staff/accounts",
        headers=_auth(admin),
        json={"email": email, "name": name, "roles": [{"role": role, "unit": unit}]},
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["staff_id"]


def test_an_admin_lists_the_staff_of_a_unit_and_a_clerk_is_refused(client, sign_token):
    admin = sign_token(roles=["admin@*"])
    _create(client, admin, "b@politiaromana.ro", "Bogdan", "petition_clerk", "IGPR")
    _create(client, admin, "a@politiaromana.ro", "Ana", "counter_clerk", "SPCEP-B1")

    listed = client.get("/api/v1/staff/accounts?unit=IGPR", headers=_auth(sign_token(roles=["admin@IGPR"])))
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1 and body["items"][0]["name"] == "Bogdan"
    assert body["items"][0]["second_factor_enrolled"] is False

    clerk = sign_token(roles=["petition_clerk@IGPR"])
    refused = client.get("/api/v1/staff/accounts", headers=_auth(clerk))
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith(PROBLEM_JSON)
    other_unit = client.get("/api/v1/staff/accounts?unit=SPCEP-B1", headers=_auth(sign_token(roles=["admin@IGPR"])))
    assert other_unit.status_code == 403
    assert client.get("/api/v1/staff/accounts?page=0", headers=_auth(admin)).status_code == 422
    assert client.get("/api/v1/staff/accounts?colour=red", headers=_auth(admin)).status_code == 422


def test_a_second_factor_reset_answers_204_and_is_refused_to_clerks_and_for_oneself(client, sign_token, published):
    admin_id = "1b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10"
    admin = sign_token(subject=admin_id, roles=["admin@*"])
    member = _create(client, admin, "c@politiaromana.ro", "Cezar", "petition_clerk", "IGPR")

    clerk = sign_token(roles=["petition_clerk@IGPR"])
    assert client.delete(f"/api/v1/staff/accounts/{member}/second-factor", headers=_auth(clerk)).status_code == 403
    assert client.delete(f"/api/v1/staff/accounts/{member}/second-factor", headers=_auth(admin)).status_code == 204
    [reset] = [e for e in published("ro.mai.identity.staff_action.v1") if e["action"] == "staff.second_factor_reset"]
    assert (reset["actor"], reset["subject"]["id"], reset["unit"]) == (admin_id, member, "IGPR")

    unit_admin_id = _create(client, admin, "d@politiaromana.ro", "Dana", "admin", "IGPR")
    unit_admin = sign_token(subject=unit_admin_id, roles=["admin@IGPR"])
    own = client.delete(f"/api/v1/staff/accounts/{unit_admin_id}/second-factor", headers=_auth(unit_admin))
    assert own.status_code == 409 and own.get_json()["type"].endswith("/own-second-factor")
    unknown = client.delete("/api/v1/staff/accounts/not-an-id/second-factor", headers=_auth(admin))
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith(PROBLEM_JSON)
