"""Staff second factor on the handlers alone: enrolment, TOTP codes (once, within the skew),
recovery codes (once), throttling and the audit trail, with a fixed clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import jwt
import pyotp
import pytest
from identity import handlers
from identity.commands import ConfirmTotpEnrolment, CreateFirstAdmin, LogIn, PassSecondFactor, StartTotpEnrolment
from identity.errors import (
    LoginRefused,
    SecondFactorChallengeEnded,
    SecondFactorExists,
    SecondFactorNotPending,
    SecondFactorRefused,
    TooManyFailedLogins,
)
from identity.handlers import SecondFactorChallenge, TokenPair
from identity.tables import RefreshToken, StaffAuditEntry, StaffRecoveryCode, StaffSecondFactor
from mai_chassis import Principal
from sqlalchemy import select

pytestmark = pytest.mark.unit

EMAIL, PASSWORD = "ioana.clerk@mai.gov.ro", "a staff password 2026"
OFFICE = "198.51.100.20"


@pytest.fixture
def deps(deps):
    """Production's rule: a staff member without an authenticator may only enrol one."""
    return replace(deps, settings=replace(deps.settings, staff_second_factor="required"))


@pytest.fixture
def staff(uow, deps):
    return handlers.create_first_admin(uow, deps, CreateFirstAdmin(email=EMAIL, name="Ioana Clerk", password=PASSWORD))


def _log_in(uow, deps, password=PASSWORD):
    return handlers.log_in(uow, deps, LogIn(email=EMAIL, password=password, address=OFFICE))


def _audit(uow, action):
    return [
        json.loads(e.details) if e.details else {}
        for e in uow.session.scalars(select(StaffAuditEntry).where(StaffAuditEntry.action == action))
    ]


def _enrol(uow, deps, clock):
    """Sign in, enrol an authenticator with the first code, and give its secret and recovery codes."""
    challenge = _log_in(uow, deps)
    enrolment = handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=challenge.challenge_token))
    code = pyotp.TOTP(enrolment.secret).at(clock.now())
    confirmed = handlers.confirm_totp_enrolment(
        uow, deps, ConfirmTotpEnrolment(code=code, address=OFFICE, challenge_token=challenge.challenge_token)
    )
    clock.advance(timedelta(seconds=30))  # the next sign-in's code is of a later step
    return enrolment.secret, confirmed.recovery_codes


def _second_step(uow, deps, *, code=None, recovery_code=None, challenge=None):
    challenge = challenge or _log_in(uow, deps)
    assert isinstance(challenge, SecondFactorChallenge) and challenge.step == "second_factor"
    command = PassSecondFactor(
        challenge_token=challenge.challenge_token, code=code, recovery_code=recovery_code, address=OFFICE
    )
    return handlers.pass_second_factor(uow, deps, command)


def test_a_staff_member_without_an_authenticator_can_only_enrol(uow, deps, staff):
    challenge = _log_in(uow, deps)

    assert isinstance(challenge, SecondFactorChallenge)
    assert challenge.step == "enrolment" and challenge.methods == ("totp_enrolment",)
    assert uow.session.scalars(select(RefreshToken)).first() is None  # a right password alone is no session
    with pytest.raises(SecondFactorChallengeEnded):
        handlers.pass_second_factor(
            uow, deps, PassSecondFactor(challenge_token=challenge.challenge_token, code="123456", address=OFFICE)
        )


def test_enrolment_keeps_the_secret_encrypted_and_shows_a_qr_code_of_the_otpauth_uri(uow, deps, staff):
    challenge = _log_in(uow, deps)

    enrolment = handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=challenge.challenge_token))

    stored = uow.session.get(StaffSecondFactor, staff.id)
    assert stored.confirmed_at is None
    assert enrolment.secret not in stored.secret_sealed
    assert deps.cipher.open(stored.secret_sealed) == enrolment.secret
    assert enrolment.otpauth_uri.startswith("otpauth://totp/")
    assert f"secret={enrolment.secret}" in enrolment.otpauth_uri
    assert enrolment.qr_svg.startswith("<svg") and "<title>" in enrolment.qr_svg
    assert _audit(uow, "staff.second_factor_enrolment_started") == [{}]


def test_an_enrolment_not_confirmed_is_not_active(uow, deps, staff, clock):
    challenge = _log_in(uow, deps)
    enrolment = handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=challenge.challenge_token))

    with pytest.raises(SecondFactorRefused):
        handlers.confirm_totp_enrolment(
            uow, deps, ConfirmTotpEnrolment(code="000000", address=OFFICE, challenge_token=challenge.challenge_token)
        )

    again = _log_in(uow, deps)
    assert again.step == "enrolment"  # the unconfirmed secret gives no second-factor step
    assert uow.session.get(StaffSecondFactor, staff.id).confirmed_at is None
    assert pyotp.TOTP(enrolment.secret).at(clock.now())  # the app would show codes, but none was confirmed
    assert _audit(uow, "staff.second_factor_failed") == [{"method": "totp_enrolment", "reason": "wrong"}]


def test_a_confirmation_without_a_started_enrolment_is_refused(uow, deps, staff):
    challenge = _log_in(uow, deps)

    with pytest.raises(SecondFactorNotPending):
        handlers.confirm_totp_enrolment(
            uow, deps, ConfirmTotpEnrolment(code="123456", address=OFFICE, challenge_token=challenge.challenge_token)
        )


def test_the_first_valid_code_activates_the_factor_ends_the_sign_in_and_gives_ten_hashed_recovery_codes(
    uow, deps, staff, clock
):
    challenge = _log_in(uow, deps)
    enrolment = handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=challenge.challenge_token))

    confirmed = handlers.confirm_totp_enrolment(
        uow,
        deps,
        ConfirmTotpEnrolment(
            code=pyotp.TOTP(enrolment.secret).at(clock.now()), address=OFFICE, challenge_token=challenge.challenge_token
        ),
    )

    assert len(confirmed.recovery_codes) == len(set(confirmed.recovery_codes)) == 10
    stored = list(uow.session.scalars(select(StaffRecoveryCode).where(StaffRecoveryCode.account_id == staff.id)))
    assert len(stored) == 10 and not any(code in row.code_hash for row in stored for code in confirmed.recovery_codes)
    assert isinstance(confirmed.tokens, TokenPair)
    assert jwt.decode(confirmed.tokens.access_token, options={"verify_signature": False})["sub"] == str(staff.id)
    assert _audit(uow, "staff.second_factor_enrolled") == [{"method": "totp"}]
    assert _audit(uow, "staff.signed_in") == [{"method": "totp_enrolment"}]
    me = Principal(subject=str(staff.id), kind="staff", roles=frozenset({("admin", "*")}))
    with pytest.raises(SecondFactorExists):
        handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(principal=me))
    with pytest.raises(SecondFactorChallengeEnded):  # a sign-in's challenge now asks for a code, it enrols nothing
        handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=_log_in(uow, deps).challenge_token))


def test_a_valid_code_gives_a_staff_session_shorter_than_a_citizens(uow, deps, staff, clock):
    secret, _ = _enrol(uow, deps, clock)

    pair = _second_step(uow, deps, code=pyotp.TOTP(secret).at(clock.now()))

    assert isinstance(pair, TokenPair) and pair.refresh_token
    newest = uow.session.scalars(select(RefreshToken).order_by(RefreshToken.issued_at.desc())).first()
    lasts = newest.session_expires_at - newest.issued_at
    assert lasts == timedelta(seconds=deps.settings.staff_session_max_seconds)
    assert lasts < timedelta(seconds=deps.settings.session_max_seconds)
    assert _audit(uow, "staff.signed_in")[-1] == {"method": "totp"}


def test_a_wrong_code_is_refused_audited_and_throttled_like_a_login(uow, deps, staff, clock):
    secret, _ = _enrol(uow, deps, clock)
    challenge = _log_in(uow, deps)

    for _ in range(deps.settings.account_free_failures):
        with pytest.raises(SecondFactorRefused):
            _second_step(uow, deps, code="000000", challenge=challenge)

    with pytest.raises(TooManyFailedLogins) as throttled:
        _second_step(uow, deps, code=pyotp.TOTP(secret).at(clock.now()), challenge=challenge)
    assert throttled.value.headers == {"Retry-After": str(throttled.value.seconds)}
    assert len(_audit(uow, "staff.second_factor_failed")) == deps.settings.account_free_failures
    clock.advance(timedelta(seconds=throttled.value.seconds))
    assert isinstance(_second_step(uow, deps, code=pyotp.TOTP(secret).at(clock.now()), challenge=challenge), TokenPair)


def test_a_code_is_accepted_once_its_replay_is_refused(uow, deps, staff, clock):
    secret, _ = _enrol(uow, deps, clock)
    code = pyotp.TOTP(secret).at(clock.now())
    _second_step(uow, deps, code=code)

    with pytest.raises(SecondFactorRefused):
        _second_step(uow, deps, code=code)

    assert _audit(uow, "staff.second_factor_failed")[-1] == {"method": "totp", "reason": "replayed"}


@pytest.mark.parametrize(("offset", "accepted"), [(-30, True), (30, True), (-60, False), (60, False)])
def test_codes_of_one_step_either_side_are_accepted_and_no_further(uow, deps, staff, clock, offset, accepted):
    secret, _ = _enrol(uow, deps, clock)
    clock.advance(timedelta(seconds=60))  # past the enrolment's step and its skew
    code = pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=offset))

    if accepted:
        assert isinstance(_second_step(uow, deps, code=code), TokenPair)
    else:
        with pytest.raises(SecondFactorRefused):
            _second_step(uow, deps, code=code)


def test_a_recovery_code_works_once(uow, deps, staff, clock):
    _, recovery_codes = _enrol(uow, deps, clock)

    assert isinstance(_second_step(uow, deps, recovery_code=recovery_codes[3].upper()), TokenPair)
    with pytest.raises(SecondFactorRefused):
        _second_step(uow, deps, recovery_code=recovery_codes[3])

    assert _audit(uow, "staff.recovery_code_used") == [{"remaining": 9}]
    assert _audit(uow, "staff.signed_in")[-1] == {"method": "recovery_code"}
    assert _audit(uow, "staff.second_factor_failed")[-1] == {"method": "recovery_code", "reason": "wrong"}


def test_a_challenge_token_ends_after_its_time(uow, deps, staff, clock):
    secret, _ = _enrol(uow, deps, clock)
    challenge = _log_in(uow, deps)
    clock.advance(timedelta(seconds=deps.settings.second_factor_challenge_seconds))

    with pytest.raises(SecondFactorChallengeEnded):
        _second_step(uow, deps, code=pyotp.TOTP(secret).at(clock.now()), challenge=challenge)


def test_a_wrong_password_of_a_staff_account_is_audited(uow, deps, staff):
    with pytest.raises(LoginRefused):
        _log_in(uow, deps, "not the password")

    assert _audit(uow, "staff.sign_in_refused") == [{"step": "password"}]


def test_where_the_factor_is_not_required_a_staff_member_without_one_signs_in_and_enrols_signed_in(
    uow, deps, staff, clock
):
    relaxed = replace(deps, settings=replace(deps.settings, staff_second_factor="when-enrolled"))
    pair = _log_in(uow, relaxed)
    assert isinstance(pair, TokenPair)
    assert _audit(uow, "staff.signed_in") == [{"method": "password"}]
    me = Principal(subject=str(staff.id), kind="staff", roles=frozenset({("admin", "*")}))
    enrolment = handlers.start_totp_enrolment(uow, relaxed, StartTotpEnrolment(principal=me))
    confirmed = handlers.confirm_totp_enrolment(
        uow,
        relaxed,
        ConfirmTotpEnrolment(code=pyotp.TOTP(enrolment.secret).at(clock.now()), address=OFFICE, principal=me),
    )
    assert confirmed.tokens is None and len(confirmed.recovery_codes) == 10

    assert _log_in(uow, relaxed).step == "second_factor"  # once enrolled, the code is always asked
