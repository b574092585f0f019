"""Staff second factor through identity-svc's HTTP API on real PostgreSQL: a staff member without
an authenticator can only enrol; enrolment (QR code, first code, recovery codes) ends the sign-in;
then every sign-in takes a code — accepted once — or a recovery code, and all of it is audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import requests
from identity import create_app, handlers
from identity.commands import CreateFirstAdmin
from identity.service import MIGRATIONS
from identity.tables import StaffAuditEntry
from identity_testing import add_signing_key, make_settings
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from sqlalchemy import select
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "sef.serviciu@mai.gov.ro", "the admin's long password"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def identity(database_factory) -> Iterator[dict[str, Any]]:
    url = database_factory("identity")
    upgrade(url, MIGRATIONS)
    settings = make_settings(url, staff_second_factor="required")
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
        yield {"base": f"http://127.0.0.1:{server.server_port}", "settings": settings, "database": database}
    finally:
        server.shutdown()
        database.dispose()


def _post(base: str, path: str, body: dict[str, Any], token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(base + path, json=body, headers=headers, timeout=10)


def _problem(response: requests.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert response.json()["type"].endswith("/" + kind), response.json()


def _next_step_code(secret: str, after: float) -> str:
    """The code of the first time step after the one that held ``after`` (waits for it, < 31 s)."""
    step = 30
    start = (int(after) // step + 1) * step
    time.sleep(max(0.0, start - time.time() + 0.5))
    return pyotp.TOTP(secret).at(start)


def test_a_staff_member_enrols_then_signs_in_with_a_code_once_and_a_recovery_code_once(identity):
    base = identity["base"]

    first = _post(base, "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    challenge = first.json()
    assert challenge["step"] == "enrolment" and "access_token" not in challenge
    token = challenge["challenge_token"]

    # The challenge token is no session: it gives no code step and no API.
    _problem(
        _post(base, "/api/v1/auth/second-factor", {"challenge_token": token, "code": "123456"}),
        401,
        "second-factor-challenge-ended",
    )
    assert (
        _post(
            base, "/api/v1/staff/accounts", {"email": "x@mai.gov.ro", "name": "X", "roles": []}, token=token
        ).status_code
        == 401
    )

    started = _post(base, "/api/v1/auth/second-factor/totp/enrolment", {"challenge_token": token})
    assert started.status_code == 201, started.text
    enrolment = started.json()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/") and enrolment["qr_svg"].startswith("<svg")
    secret = enrolment["secret"]

    _problem(
        _post(
            base, "/api/v1/auth/second-factor/totp/enrolment/confirmation", {"challenge_token": token, "code": "12ab56"}
        ),
        422,
        "validation-error",
    )
    confirmed = _post(
        base,
        "/api/v1/auth/second-factor/totp/enrolment/confirmation",
        {"challenge_token": token, "code": pyotp.TOTP(secret).now()},
    )
    assert confirmed.status_code == 200, confirmed.text
    enrolled_at = time.time()
    recovery_codes = confirmed.json()["recovery_codes"]
    assert len(recovery_codes) == 10
    admin_token = confirmed.json()["tokens"]["access_token"]

    challenge = _post(base, "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json()
    assert challenge["step"] == "second_factor" and challenge["methods"] == ["totp", "recovery_code"]
    code = _next_step_code(secret, enrolled_at)
    signed_in = _post(
        base, "/api/v1/auth/second-factor", {"challenge_token": challenge["challenge_token"], "code": code}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["access_token"] and signed_in.json()["refresh_token"]

    again = _post(base, "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json()
    _problem(
        _post(base, "/api/v1/auth/second-factor", {"challenge_token": again["challenge_token"], "code": code}),
        401,
        "second-factor-refused",
    )
    _problem(
        _post(base, "/api/v1/auth/second-factor", {"challenge_token": again["challenge_token"]}),
        422,
        "validation-error",
    )
    by_recovery = _post(
        base,
        "/api/v1/auth/second-factor",
        {"challenge_token": again["challenge_token"], "recovery_code": recovery_codes[0]},
    )
    assert by_recovery.status_code == 200, by_recovery.text
    _problem(
        _post(
            base,
            "/api/v1/auth/second-factor",
            {"challenge_token": again["challenge_token"], "recovery_code": recovery_codes[0]},
        ),
        401,
        "second-factor-refused",
    )
    _problem(
        _post(base, "/api/v1/auth/second-factor/totp/enrolment", {}, token=admin_token), 409, "second-factor-exists"
    )

    with identity["database"].session() as session:
        audit = session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id)).all()
        actions = [(e.action, json.loads(e.details) if e.details else {}) for e in audit]
        staff_actions = [
            json.loads(row.payload)["data"]["action"]
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type == "ro.mai.identity.staff_action.v1")
            )
        ]
    assert {"staff.second_factor_enrolled", "staff.signed_in", "staff.second_factor_failed"} <= set(staff_actions)
    assert ("staff.second_factor_enrolled", {"method": "totp"}) in actions
    assert ("staff.signed_in", {"method": "totp_enrolment"}) in actions
    assert ("staff.signed_in", {"method": "totp"}) in actions
    assert ("staff.second_factor_failed", {"method": "totp", "reason": "replayed"}) in actions
    assert ("staff.recovery_code_used", {"remaining": 9}) in actions
    assert ("staff.second_factor_failed", {"method": "recovery_code", "reason": "wrong"}) in actions
