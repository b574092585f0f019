"""Registration, e-mail confirmation, login, sessions and password reset."""

from __future__ import annotations

import pytest
from identity.testing import CITIZEN


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_registering_a_taken_address_answers_the_same_and_mails_its_owner(client, published):
    first = client.post("/api/v1/accounts", json=CITIZEN)
    again = client.post("/api/v1/accounts", json={**CITIZEN, "email": "ANA.Popescu@example.ro"})
    assert (first.status_code, first.get_json()) == (again.status_code, again.get_json())
    assert first.status_code == 202
    registered = published("ro.mai.account.registered.v1")
    repeated = published("ro.mai.account.registration_repeated.v1")
    assert len(registered) == 1 and len(repeated) == 1
    assert repeated[0]["citizen_id"] == registered[0]["citizen_id"]


@pytest.mark.parametrize(
    ("cnp", "why"),
    [("1800101221145", "check digit"), ("1801301221140", "impossible birth date"), ("18001012211", "13 digits")],
)
def test_an_invalid_cnp_is_refused_with_422(client, published, cnp, why):
    response = client.post("/api/v1/accounts", json={**CITIZEN, "cnp": cnp})
    assert response.status_code == 422, why
    assert response.mimetype == "application/problem+json"
    assert "cnp" in response.get_json()["errors"]
    assert cnp not in response.get_data(as_text=True)
    assert published("ro.mai.account.registered.v1") == []


def test_unknown_fields_are_refused(client):
    response = client.post("/api/v1/accounts", json={**CITIZEN, "is_admin": True})
    assert response.status_code == 422
    assert "is_admin" in response.get_json()["errors"]


def test_no_event_carries_the_cnp_the_password_or_the_plain_code(client, published, open_sealed):
    client.post("/api/v1/accounts", json=CITIZEN)
    events = published("ro.mai.account.registered.v1") + published("ro.mai.account.email_confirmation_requested.v1")
    text = repr(events)
    code = open_sealed(events[1]["sealed_confirmation"])
    assert CITIZEN["cnp"] not in text and CITIZEN["password"] not in text and code not in text


def test_opening_the_mailed_link_never_confirms_only_posting_does(client, published, open_sealed):
    client.post("/api/v1/accounts", json=CITIZEN)
    mailed = published("ro.mai.account.email_confirmation_requested.v1")[0]
    code = open_sealed(mailed["sealed_confirmation"])
    page = client.get(f"/api/v1/accounts/email-confirmation?citizen_id={mailed['citizen_id']}&code={code}")
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    login = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]})
    assert login.status_code == 403 and login.get_json()["type"].endswith("email-unconfirmed")
    form = client.post("/api/v1/accounts/email-confirmation", data={"citizen_id": mailed["citizen_id"], "code": code})
    assert form.status_code == 200
    login = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]})
    assert login.status_code == 200


def test_a_confirmation_code_works_once(client, published, open_sealed):
    client.post("/api/v1/accounts", json=CITIZEN)
    mailed = published("ro.mai.account.email_confirmation_requested.v1")[0]
    body = {"citizen_id": mailed["citizen_id"], "code": open_sealed(mailed["sealed_confirmation"])}
    assert client.post("/api/v1/accounts/email-confirmation", json=body).status_code == 204
    assert client.post("/api/v1/accounts/email-confirmation", json=body).status_code == 400


def test_a_confirmation_code_is_dead_after_five_wrong_attempts(client, published, open_sealed):
    client.post("/api/v1/accounts", json=CITIZEN)
    mailed = published("ro.mai.account.email_confirmation_requested.v1")[0]
    for _ in range(5):
        wrong = client.post(
            "/api/v1/accounts/email-confirmation", json={"citizen_id": mailed["citizen_id"], "code": "WRONG000"}
        )
        assert wrong.status_code == 400
    right = {"citizen_id": mailed["citizen_id"], "code": open_sealed(mailed["sealed_confirmation"])}
    assert client.post("/api/v1/accounts/email-confirmation", json=right).status_code == 400


def test_access_token_carries_the_platform_claims(register_citizen, app):
    import jwt

    session = register_citizen()
    header = jwt.get_unverified_header(session["access_token"])
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"]
    assert set(claims) == {"sub", "kind", "roles", "acr", "typ", "iss", "aud", "exp", "iat", "jti"}
    assert (claims["sub"], claims["kind"], claims["acr"], claims["typ"]) == (
        session["citizen_id"],
        "citizen",
        "none",
        "access",
    )
    assert claims["exp"] - claims["iat"] == 300


def test_refresh_rotates_and_a_reused_rotated_token_ends_the_whole_session(client, register_citizen):
    session = register_citizen()
    first = session["refresh_token"]
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.get_json()["refresh_token"]
    assert second != first
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401
    # the thief's reuse revoked the family: the legitimate newest token is dead too
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second}).status_code == 401


def test_logout_ends_the_session(client, register_citizen):
    session = register_citizen()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401


def test_failed_logins_lock_the_account_with_backoff(client, register_citizen):
    register_citizen()
    for _ in range(5):
        bad = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": "not the password"})
        assert bad.status_code == 401
    locked = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1


def test_failed_logins_from_one_address_are_throttled_across_accounts(app, client):
    from dataclasses import replace

    deps = app.extensions["identity_deps"]
    app.extensions["identity_deps"] = replace(deps, settings=replace(deps.settings, address_free_failures=3))
    for n in range(3):
        client.post("/api/v1/auth/login", json={"email": f"someone{n}@example.ro", "password": "guess guess"})
    throttled = client.post("/api/v1/auth/login", json={"email": "other@example.ro", "password": "guess guess"})
    assert throttled.status_code == 429


def test_password_reset_with_the_mailed_code_sets_the_password_and_ends_sessions(
    client, register_citizen, published, open_sealed
):
    session = register_citizen()
    assert client.post("/api/v1/auth/password-reset", json={"email": CITIZEN["email"]}).status_code == 202
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.ro"})
    assert unknown.status_code == 202
    mailed = published("ro.mai.account.password_reset_requested.v1")
    assert len(mailed) == 1 and mailed[0]["purpose"] == "password_reset"
    reset = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={
            "email": CITIZEN["email"],
            "code": open_sealed(mailed[0]["sealed_reset"]),
            "new_password": "a brand new secret",
        },
    )
    assert reset.status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401
    old = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]})
    new = client.post("/api/v1/auth/login", json={"email": CITIZEN["email"], "password": "a brand new secret"})
    assert (old.status_code, new.status_code) == (401, 200)


def test_openapi_documents_every_public_endpoint_with_problem_responses(client, app):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = set(document["paths"])
    routes = {
        str(rule.rule).replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if str(rule.rule).startswith("/api/v1/")
    }
    assert routes <= documented
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "application/problem+json" in login["responses"]["429"]["content"]
