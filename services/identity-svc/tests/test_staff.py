"""Staff accounts, unit-scoped roles, their audit trail and the create-admin command."""

from __future__ import annotations

from click.testing import CliRunner


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_creates_a_staff_member_who_is_invited_by_mail(client, sign_token, published, open_sealed):
    admin = sign_token(roles=["admin@*"])
    created = client.post(
        "/api/v1/staff/accounts",
        headers=_auth(admin),
        json={
            "email": "clerk@politiaromana.ro",
            "name": "Maria Clerk",
            "roles": [{"role": "counter_clerk", "unit": "SPCEP-B1"}],
        },
    )
    assert created.status_code == 201
    [invitation] = published("ro.mai.account.password_reset_requested.v1")
    assert invitation["purpose"] == "staff_invitation"
    code = open_sealed(invitation["sealed_reset"])
    assert (
        client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"email": "clerk@politiaromana.ro", "code": code, "new_password": "a long staff secret"},
        ).status_code
        == 204
    )
    login = client.post(
        "/api/v1/auth/login", json={"email": "clerk@politiaromana.ro", "password": "a long staff secret"}
    )
    import jwt

    claims = jwt.decode(login.get_json()["access_token"], options={"verify_signature": False})
    assert (claims["kind"], claims["roles"]) == ("staff", ["counter_clerk@SPCEP-B1"])


def test_an_admin_of_one_unit_cannot_grant_admin_or_other_units(client, sign_token):
    unit_admin = sign_token(roles=["admin@SPCEP-B1"])
    for role, unit in (("admin", "SPCEP-B1"), ("counter_clerk", "SPCEP-CJ")):
        refused = client.post(
            "/api/v1/staff/accounts",
            headers=_auth(unit_admin),
            json={"email": "x@politiaromana.ro", "name": "X", "roles": [{"role": role, "unit": unit}]},
        )
        assert refused.status_code == 403


def test_grants_and_revocations_are_audited(client, sign_token, published):
    admin = sign_token(roles=["admin@*"])
    staff = client.post(
        "/api/v1/staff/accounts",
        headers=_auth(admin),
        json={"email": "c@politiaromana.ro", "name": "C", "roles": [{"role": "petition_clerk", "unit": "IGPR"}]},
    ).get_json()
    granted = client.post(
        f"/api/v1/staff/accounts/{staff['staff_id']}/roles",
        headers=_auth(admin),
        json={"role": "phone_operator", "unit": "IGPR"},
    )
    assert {"role": "phone_operator", "unit": "IGPR"} in granted.get_json()["roles"]
    revoked = client.delete(
        f"/api/v1/staff/accounts/{staff['staff_id']}/roles/petition_clerk/IGPR", headers=_auth(admin)
    )
    assert revoked.get_json()["roles"] == [{"role": "phone_operator", "unit": "IGPR"}]
    actions = [(e["action"], e["subject"]["id"]) for e in published("ro.mai.identity.staff_action.v1")]
    assert actions == [
        ("staff.account_created", staff["staff_id"]),
        ("staff.role_granted", staff["staff_id"]),
        ("staff.role_revoked", staff["staff_id"]),
    ]


def test_the_retired_local_audit_log_is_gone(client, sign_token):
    """The audit trail is read from audit-svc (``GET /api/v1/audit/actions``), not from identity-svc."""
    admin = sign_token(roles=["admin@*"])
    assert client.get("/api/v1/staff/audit-log", headers=_auth(admin)).status_code == 404


def test_create_admin_reads_the_password_from_stdin_and_the_admin_can_log_in(settings, client, monkeypatch):
    from identity.cli import create_admin

    monkeypatch.setattr("identity.cli._settings", lambda: settings)
    result = CliRunner().invoke(
        create_admin,
        ["--email", "root@mai.gov.ro", "--name", "Root", "--password-stdin"],
        input="the first admin secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "the first admin secret" not in result.output
    login = client.post("/api/v1/auth/login", json={"email": "root@mai.gov.ro", "password": "the first admin secret"})
    import jwt

    assert jwt.decode(login.get_json()["access_token"], options={"verify_signature": False})["roles"] == ["admin@*"]


def test_an_administrator_is_not_a_counter_clerk_in_their_unit_or_any(client, sign_token, register_citizen):
    session = register_citizen()
    code = client.post(
        "/api/v1/identity/counter-code", headers={"Authorization": f"Bearer {session['access_token']}"}
    ).get_json()["counter_code"]
    for admin_unit in ("SPCEP-B1", "*"):
        admin = {"Authorization": f"Bearer {sign_token(roles=[f'admin@{admin_unit}'])}"}
        lookup = client.post(
            "/api/v1/staff/counter/lookups", headers=admin, json={"unit": "SPCEP-B1", "counter_code": code}
        )
        assert lookup.status_code == 403, admin_unit
        verified = client.post(
            "/api/v1/staff/counter/verifications",
            headers=admin,
            json={
                "citizen_id": session["citizen_id"],
                "unit": "SPCEP-B1",
                "document": {"type": "identity_card", "series": "RX", "number": "123456"},
                "cnp": session["body"]["cnp"],
                "last_name": "Popescu",
                "first_name": "Ana",
            },
        )
        assert verified.status_code == 403, admin_unit


def test_a_clerk_reads_the_directory_of_their_own_unit_only(client, sign_token):
    admin = sign_token(roles=["admin@*"])
    for email, name, unit in (("a@mai.gov.ro", "Ana Clerk", "IGPR"), ("b@mai.gov.ro", "Bogdan Clerk", "IGSU")):
        created = client.post(
            "/api/v1/staff/accounts",
            headers=_auth(admin),
            json={"email": email, "name": name, "roles": [{"role": "petition_clerk", "unit": unit}]},
        )
        assert created.status_code == 201
    clerk = sign_token(roles=["petition_clerk@IGPR"])

    listed = client.get("/api/v1/staff/members?unit=IGPR&role=petition_clerk", headers=_auth(clerk))

    assert listed.status_code == 200
    body = listed.get_json()
    assert body["unit"] == "IGPR" and [(m["name"], m["roles"]) for m in body["members"]] == [
        ("Ana Clerk", ["petition_clerk"])
    ]
    assert "email" not in body["members"][0]
    refused = client.get("/api/v1/staff/members?unit=IGSU", headers=_auth(clerk))
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    citizen = sign_token(kind="citizen")
    assert client.get("/api/v1/staff/members?unit=IGPR", headers=_auth(citizen)).status_code == 403
    assert client.get("/api/v1/staff/members", headers=_auth(clerk)).status_code == 422
    assert client.get("/api/v1/staff/members?unit=IGPR").status_code == 401
