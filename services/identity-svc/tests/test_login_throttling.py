"""Failed logins slow the guessing client down, never the account's owner, and the owner is told."""

from __future__ import annotations

from typing import Any

import pytest
from identity import handlers
from identity.commands import CreateFirstAdmin
from identity_testing import CITIZEN

OWNER_ADDRESS = "198.51.100.10"
STRANGER_ADDRESS = "203.0.113.66"
THROTTLED = "ro.mai.account.login_throttled.v1"
STAFF = {"email": "clerk.admin@mai.gov.ro", "password": "a long staff secret"}


def _log_in(client: Any, email: str, password: str, address: str, device_token: str | None = None) -> Any:
    body = {"email": email, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return client.post("/api/v1/auth/login", json=body, environ_base={"REMOTE_ADDR": address})


@pytest.fixture(params=["citizen", "staff"])
def owner(request: pytest.FixtureRequest, app: Any, register_citizen: Any) -> dict[str, str]:
    """An account of either kind, with its e-mail address and password."""
    if request.param == "citizen":
        register_citizen()
        return {"email": CITIZEN["email"], "password": CITIZEN["password"]}
    deps, database = app.extensions["identity_deps"], app.extensions["mai_database"]
    with database.unit_of_work(source="identity-svc") as uow:
        command = CreateFirstAdmin(email=STAFF["email"], name="Ana Admin", password=STAFF["password"])
        handlers.create_first_admin(uow, deps, command)
    return dict(STAFF)


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(client: Any, owner: dict[str, str]) -> None:
    for _ in range(5):
        assert _log_in(client, owner["email"], "a wrong guess", STRANGER_ADDRESS).status_code == 401
    stranger = _log_in(client, owner["email"], "another guess", STRANGER_ADDRESS)
    assert stranger.status_code == 429 and int(stranger.headers["Retry-After"]) >= 1
    assert _log_in(client, owner["email"], owner["password"], OWNER_ADDRESS).status_code == 200


def test_a_guess_spread_over_many_addresses_slows_unknown_clients_but_never_a_known_device(
    client: Any, owner: dict[str, str]
) -> None:
    first = _log_in(client, owner["email"], owner["password"], OWNER_ADDRESS)
    assert first.status_code == 200
    device_token = first.get_json()["device_token"]
    for n in range(20):  # four failures from each of five addresses: none trips its own limit
        assert _log_in(client, owner["email"], "a wrong guess", f"203.0.113.{n // 4}").status_code == 401
    assert _log_in(client, owner["email"], owner["password"], "192.0.2.200").status_code == 429
    known = _log_in(client, owner["email"], owner["password"], OWNER_ADDRESS, device_token)
    assert known.status_code == 200
    assert known.get_json()["device_token"]


def test_a_device_token_of_another_account_or_a_forged_one_makes_a_client_no_less_unknown(
    client: Any, register_citizen: Any
) -> None:
    register_citizen()
    other = register_citizen(email="ion.ionescu@example.ro")
    theirs = _log_in(client, other["body"]["email"], other["body"]["password"], STRANGER_ADDRESS)
    for address, token in (("203.0.113.1", theirs.get_json()["device_token"]), ("203.0.113.2", "not-a-token")):
        for _ in range(5):
            assert _log_in(client, CITIZEN["email"], "a wrong guess", address, token).status_code == 401
        assert _log_in(client, CITIZEN["email"], "a wrong guess", address, token).status_code == 429


def test_the_owner_is_mailed_once_when_failed_logins_start_to_slow_logins_down(
    client: Any, owner: dict[str, str], published: Any
) -> None:
    for _ in range(4):
        _log_in(client, owner["email"], "a wrong guess", STRANGER_ADDRESS)
    assert published(THROTTLED) == []
    _log_in(client, owner["email"], "a wrong guess", STRANGER_ADDRESS)
    for n in range(10):
        _log_in(client, owner["email"], "a wrong guess", f"192.0.2.{n}")
    [notice] = published(THROTTLED)
    assert notice["failed_attempts"] == 5 and notice["recipient"]["email"] == owner["email"]
    assert STRANGER_ADDRESS not in repr(notice) and "a wrong guess" not in repr(notice)


def test_a_password_reset_lifts_what_unknown_clients_failed_logins_imposed(
    client: Any, register_citizen: Any, published: Any, open_sealed: Any
) -> None:
    register_citizen()
    for n in range(20):
        _log_in(client, CITIZEN["email"], "a wrong guess", f"203.0.113.{n // 4}")
    assert _log_in(client, CITIZEN["email"], CITIZEN["password"], OWNER_ADDRESS).status_code == 429
    assert client.post("/api/v1/auth/password-reset", json={"email": CITIZEN["email"]}).status_code == 202
    code = open_sealed(published("ro.mai.account.password_reset_requested.v1")[-1]["sealed_reset"])
    reset = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"email": CITIZEN["email"], "code": code, "new_password": "a brand new secret"},
    )
    assert reset.status_code == 204
    assert _log_in(client, CITIZEN["email"], "a brand new secret", OWNER_ADDRESS).status_code == 200


def test_sign_ins_are_counted_by_outcome(client: Any, owner: dict[str, str]) -> None:
    from identity.metrics import SIGN_INS

    def count(outcome: str) -> float:
        return SIGN_INS.labels("identity-svc", outcome)._value.get()

    before = {outcome: count(outcome) for outcome in ("refused", "throttled", "signed_in", "second_factor")}
    for _ in range(5):
        _log_in(client, owner["email"], "a wrong guess", STRANGER_ADDRESS)
    assert _log_in(client, owner["email"], "another guess", STRANGER_ADDRESS).status_code == 429
    passed = _log_in(client, owner["email"], owner["password"], OWNER_ADDRESS)
    assert passed.status_code == 200
    assert count("refused") - before["refused"] == 5
    assert count("throttled") - before["throttled"] == 1
    # A staff member's password opens the second step; a citizen is signed in at once.
    step = "second_factor" if "challenge_token" in passed.get_json() else "signed_in"
    assert count(step) - before[step] == 1
