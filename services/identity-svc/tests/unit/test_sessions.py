"""Login, throttling, session refresh and password reset, run on the handlers alone."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from identity import handlers
from identity.commands import LogIn, LogOut, RefreshSession, RegisterCitizen, RequestPasswordReset, ResetPassword
from identity.errors import EmailUnconfirmed, LoginRefused, SessionEnded, TooManyFailedLogins
from identity.events import LoginThrottled, PasswordResetRequested
from identity.tables import LoginThrottle, RefreshToken
from identity_testing import CITIZEN
from sqlalchemy import select

pytestmark = pytest.mark.unit

OWNER = "198.51.100.10"
STRANGER = "203.0.113.66"


def _log_in(uow, deps, password=CITIZEN["password"], address=OWNER, device_token=None):
    return handlers.log_in(
        uow, deps, LogIn(email=CITIZEN["email"], password=password, address=address, device_token=device_token)
    )


def test_a_right_password_gives_an_access_token_timed_by_the_clock_and_a_device_token(uow, deps, register, clock):
    citizen_id = register()

    pair = _log_in(uow, deps)

    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert claims["sub"] == str(citizen_id) and claims["kind"] == "citizen"
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == deps.settings.access_token_seconds == pair.expires_in
    assert pair.device_token and pair.refresh_token
    assert uow.session.scalars(select(RefreshToken)).one().account_id == citizen_id


def test_an_unconfirmed_address_cannot_log_in(uow, deps):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))

    with pytest.raises(EmailUnconfirmed):
        _log_in(uow, deps)


def test_a_strangers_failures_throttle_the_stranger_with_retry_after_and_the_owner_is_told_once(uow, deps, register):
    register()
    free = deps.settings.account_free_failures
    for _ in range(free):
        with pytest.raises(LoginRefused):
            _log_in(uow, deps, "a wrong guess", STRANGER)

    with pytest.raises(TooManyFailedLogins) as throttled:
        _log_in(uow, deps, "a wrong guess", STRANGER)
    assert throttled.value.seconds >= 1
    assert throttled.value.headers == {"Retry-After": str(throttled.value.seconds)}
    assert throttled.value.extensions == {"retry_after": throttled.value.seconds}

    [notice] = uow.events_of(LoginThrottled)
    assert notice.failed_attempts == free and notice.recipient.email == CITIZEN["email"]
    assert STRANGER not in repr(uow.published) and "a wrong guess" not in repr(uow.published)
    assert _log_in(uow, deps).access_token  # the owner's own address is not slowed down


def test_a_right_password_clears_the_counts_its_owner_hears_of_and_keeps_the_addresss(uow, deps, register):
    register()
    for _ in range(2):
        with pytest.raises(LoginRefused):
            _log_in(uow, deps, "a wrong guess", STRANGER)
    before = {row.scope.split(":", 1)[0]: row.failures for row in uow.session.scalars(select(LoginThrottle))}
    assert before == {"client": 2, "account": 2, "address": 2}

    assert _log_in(uow, deps, CITIZEN["password"], STRANGER).access_token

    after = {row.scope.split(":", 1)[0]: row.failures for row in uow.session.scalars(select(LoginThrottle))}
    assert after == {"address": 2}  # one client trying many accounts is still counted


def test_the_throttle_lifts_when_the_clock_passes_the_wait(uow, deps, register, clock):
    register()
    for _ in range(deps.settings.account_free_failures):
        with pytest.raises(LoginRefused):
            _log_in(uow, deps, "a wrong guess", STRANGER)
    with pytest.raises(TooManyFailedLogins) as throttled:
        _log_in(uow, deps, CITIZEN["password"], STRANGER)

    clock.advance(timedelta(seconds=throttled.value.seconds))

    assert _log_in(uow, deps, CITIZEN["password"], STRANGER).access_token


def test_a_refresh_rotates_the_token_and_reusing_the_old_one_ends_the_session(uow, deps, register):
    register()
    first = _log_in(uow, deps)

    second = handlers.refresh_session(uow, deps, RefreshSession(refresh_token=first.refresh_token))
    assert second.refresh_token != first.refresh_token and second.device_token is None

    with pytest.raises(SessionEnded):
        handlers.refresh_session(uow, deps, RefreshSession(refresh_token=first.refresh_token))
    with pytest.raises(SessionEnded):  # the theft ended the whole family
        handlers.refresh_session(uow, deps, RefreshSession(refresh_token=second.refresh_token))


def test_a_refresh_token_expires_by_the_clock(uow, deps, register, clock):
    register()
    pair = _log_in(uow, deps)
    clock.advance(timedelta(seconds=deps.settings.refresh_token_seconds + 1))

    with pytest.raises(SessionEnded):
        handlers.refresh_session(uow, deps, RefreshSession(refresh_token=pair.refresh_token))


def test_logging_out_ends_the_session(uow, deps, register):
    register()
    pair = _log_in(uow, deps)

    handlers.log_out(uow, deps, LogOut(refresh_token=pair.refresh_token))

    assert uow.session.scalars(select(RefreshToken)).one().revoked_at is not None
    with pytest.raises(SessionEnded):
        handlers.refresh_session(uow, deps, RefreshSession(refresh_token=pair.refresh_token))


def test_a_password_reset_sets_the_password_and_ends_every_session(uow, deps, register):
    register()
    pair = _log_in(uow, deps)
    handlers.request_password_reset(uow, deps, RequestPasswordReset(email=CITIZEN["email"]))
    handlers.request_password_reset(uow, deps, RequestPasswordReset(email="nobody@example.ro"))
    [request] = uow.events_of(PasswordResetRequested)
    assert request.purpose == "password_reset"

    code = deps.sealer.open(request.sealed_reset)
    handlers.reset_password(
        uow, deps, ResetPassword(email=CITIZEN["email"], code=code, new_password="a brand new secret")
    )

    with pytest.raises(SessionEnded):
        handlers.refresh_session(uow, deps, RefreshSession(refresh_token=pair.refresh_token))
    with pytest.raises(LoginRefused):
        _log_in(uow, deps)
    assert _log_in(uow, deps, "a brand new secret").access_token
