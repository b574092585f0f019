"""Staff security keys through identity-svc's HTTP API on real PostgreSQL: a member registers named
keys, lists and removes them, and signs in with one instead of a code; a replayed, forged, cloned
or foreign answer is refused with problem+json, and every step is on identity-svc's staff log. The key is a
software authenticator answering as a browser would (py_webauthn checks it for real)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from identity import create_app, handlers
from identity.commands import CreateFirstAdmin
from identity.service import MIGRATIONS
from identity_testing import add_signing_key, make_settings
from mai_chassis.migrations import upgrade
from security_key_testing import SoftSecurityKey
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "sef.serviciu@mai.gov.ro", "the admin's long password"
ORIGIN = "http://localhost:8080"
PROBLEM_JSON = "application/problem+json"
KEYS = "/api/v1/auth/second-factor/security-keys"


@pytest.fixture
def identity_database(database_factory) -> str:
    url = database_factory("identity")
    upgrade(url, MIGRATIONS)
    return url


@pytest.fixture
def identity(identity_database: str) -> Iterator[str]:
    url = identity_database
    # "when-enrolled": the admin's first sign-in is the password alone, then a key is their factor.
    settings = make_settings(
        url, staff_second_factor="when-enrolled", webauthn_rp_id="localhost", webauthn_origins=(ORIGIN,)
    )
    add_signing_key(settings)
    app = create_app(settings)
    database = app.extensions["mai_database"]
    with database.unit_of_work(source="identity-svc") as uow:
        handlers.create_first_admin(
            uow, app.extensions["identity_deps"], CreateFirstAdmin(email=EMAIL, name="Șef Serviciu", password=PASSWORD)
        )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        database.dispose()


def _post(base: str, path: str, body: Any, token: str | None = None, **headers: str) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(base + path, json=body, headers=headers, timeout=10)


def _problem(response: requests.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert response.json()["type"].endswith("/" + kind), response.json()


def _register(base: str, token: str, key: SoftSecurityKey, name: str, **headers: str) -> requests.Response:
    started = _post(base, f"{KEYS}/registration", {}, token)
    assert started.status_code == 201, started.text
    ceremony = started.json()
    body = {
        "ceremony_token": ceremony["ceremony_token"],
        "name": name,
        "credential": key.create(ceremony["public_key"]),
    }
    return _post(base, KEYS, body, token, **headers)


def _key_sign_in(base: str) -> tuple[str, dict[str, Any]]:
    """The password step, then the key's options: (challenge token, ceremony)."""
    challenge = _post(base, "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json()
    assert challenge["step"] == "second_factor" and challenge["methods"] == ["security_key"], challenge
    options = _post(
        base, "/api/v1/auth/second-factor/security-key/options", {"challenge_token": challenge["challenge_token"]}
    )
    assert options.status_code == 200 and options.headers["Cache-Control"] == "no-store", options.text
    return challenge["challenge_token"], options.json()


def _answer(base: str, challenge_token: str, ceremony: dict[str, Any], credential: Any) -> requests.Response:
    body = {"challenge_token": challenge_token, "ceremony_token": ceremony["ceremony_token"], "credential": credential}
    return _post(base, "/api/v1/auth/second-factor/security-key", body)


def test_a_member_registers_keys_and_signs_in_with_one_and_a_replayed_or_forged_answer_is_refused(
    identity, identity_database
):
    base = identity
    first = _post(base, "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json()
    token = first["access_token"]
    blue, laptop = SoftSecurityKey(ORIGIN), SoftSecurityKey(ORIGIN)

    registered = _register(base, token, blue, "Cheia albastră", **{"Idempotency-Key": uuid.uuid4().hex})
    assert registered.status_code == 201, registered.text
    assert registered.json()["name"] == "Cheia albastră" and registered.json()["last_used_at"] is None
    assert _register(base, token, laptop, "Laptop").status_code == 201
    _problem(_register(base, token, SoftSecurityKey(ORIGIN), "cheia albastră"), 409, "security-key-name-taken")
    _problem(_register(base, token, SoftSecurityKey("http://evil.localhost:8080"), "Alta"), 400, "security-key-refused")
    _problem(
        _post(base, KEYS, {"ceremony_token": "x" * 40, "name": "A", "credential": {}}, token),
        409,
        "security-key-ceremony-ended",
    )
    _problem(_post(base, KEYS, {"name": "A"}, token), 422, "validation-error")
    listed = requests.get(base + KEYS, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["keys"]
    assert [k["name"] for k in listed] == ["Cheia albastră", "Laptop"]

    challenge_token, ceremony = _key_sign_in(base)
    assert len(ceremony["public_key"]["allowCredentials"]) == 2 and ceremony["public_key"]["rpId"] == "localhost"
    answer = blue.get(ceremony["public_key"])
    signed_in = _answer(base, challenge_token, ceremony, answer)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["access_token"] and signed_in.headers["Cache-Control"] == "no-store"

    _problem(_answer(base, challenge_token, ceremony, answer), 401, "second-factor-refused")  # replayed as it was
    challenge_token, ceremony = _key_sign_in(base)
    # The same id and a counter well ahead, but another private key: the signature gives it away.
    forged = SoftSecurityKey(ORIGIN, credential_id=blue.credential_id, sign_count=100).get(ceremony["public_key"])
    _problem(_answer(base, challenge_token, ceremony, forged), 401, "second-factor-refused")
    challenge_token, ceremony = _key_sign_in(base)
    blue.sign_count = 1  # a clone of the key as it was when registered
    _problem(_answer(base, challenge_token, ceremony, blue.get(ceremony["public_key"])), 401, "second-factor-refused")
    challenge_token, ceremony = _key_sign_in(base)
    _problem(_answer(base, challenge_token, ceremony, {"id": "x"}), 401, "second-factor-refused")

    challenge_token, ceremony = _key_sign_in(base)
    by_laptop = _answer(base, challenge_token, ceremony, laptop.get(ceremony["public_key"]))
    assert by_laptop.status_code == 200, by_laptop.text
    token = by_laptop.json()["access_token"]
    removed = requests.delete(
        f"{base}{KEYS}/{listed[0]['id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert removed.status_code == 204
    _problem(
        requests.delete(f"{base}{KEYS}/{listed[0]['id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10),
        404,
        "not-found",
    )

    # identity-svc's own staff log keeps the details the staff.action event has no field for.
    engine = create_engine(identity_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT action, details FROM staff_audit_log ORDER BY id")).all()
    finally:
        engine.dispose()
    actions = [(action, json.loads(details) if details else None) for action, details in rows]
    assert ("staff.security_key_registered", {"key": listed[0]["id"]}) in actions
    assert ("staff.security_key_registration_refused", {"reason": "invalid"}) in actions
    assert ("staff.signed_in", {"method": "security_key", "key": listed[0]["id"]}) in actions
    assert ("staff.signed_in", {"method": "security_key", "key": listed[1]["id"]}) in actions
    refusals = [d["reason"] for a, d in actions if a == "staff.second_factor_failed"]
    assert refusals == ["replayed", "invalid", "sign_count", "malformed"]  # a fifth would throttle the account
    assert ("staff.security_key_removed", {"key": listed[0]["id"]}) in actions


def test_citizens_and_strangers_have_no_security_keys(identity):
    base = identity
    _problem(_post(base, f"{KEYS}/registration", {}), 401, "unauthorized")
    _problem(
        _post(base, "/api/v1/auth/second-factor/security-key/options", {"challenge_token": "x" * 40}),
        401,
        "second-factor-challenge-ended",
    )
