"""Staff security keys on the handlers alone: registration (named, several, limited, removable), the
second step of a sign-in with a key, challenges spent once and short-lived, signature counters, the
relying party's origin, throttling and the audit trail — a software key answering as a browser
would, py_webauthn's real checks, a fixed clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from identity import handlers
from identity.commands import (
    CreateFirstAdmin,
    ListSecurityKeys,
    LogIn,
    PassSecondFactor,
    PassSecurityKey,
    RegisterSecurityKey,
    RemoveSecurityKey,
    StartSecurityKeyRegistration,
    StartSecurityKeySignIn,
)
from identity.errors import (
    Forbidden,
    NotFound,
    SecondFactorChallengeEnded,
    SecondFactorNotPending,
    SecondFactorRefused,
    SecurityKeyCeremonyEnded,
    SecurityKeyLimit,
    SecurityKeyNameTaken,
    SecurityKeyRefused,
    TooManyFailedLogins,
)
from identity.handlers import SecondFactorChallenge, TokenPair
from identity.tables import StaffAuditEntry, StaffSecurityKey
from identity_testing import make_settings
from mai_chassis import ConfigurationError, Principal
from security_key_testing import SoftSecurityKey
from sqlalchemy import select

pytestmark = pytest.mark.unit

EMAIL, PASSWORD = "ioana.clerk@mai.gov.ro", "a staff password 2026"
OFFICE = "198.51.100.20"
ORIGIN = "https://staff.eservicii.mai.gov.ro"


@pytest.fixture
def deps(deps):
    """Production's rules: a factor is required; keys belong to the console's host."""
    settings = replace(
        deps.settings,
        staff_second_factor="required",
        webauthn_rp_id="staff.eservicii.mai.gov.ro",
        webauthn_origins=(ORIGIN,),
    )
    return replace(deps, settings=settings)


@pytest.fixture
def staff(uow, deps):
    return handlers.create_first_admin(uow, deps, CreateFirstAdmin(email=EMAIL, name="Ioana Clerk", password=PASSWORD))


@pytest.fixture
def member(staff) -> Principal:
    """The staff member, signed in (as their verified token says)."""
    return Principal(subject=str(staff.id), kind="staff", roles=frozenset({("admin", "*")}))


def _audit(uow, action):
    return [
        json.loads(e.details) if e.details else {}
        for e in uow.session.scalars(select(StaffAuditEntry).where(StaffAuditEntry.action == action))
    ]


def _register(uow, deps, member, key, name="Cheia albastră"):
    ceremony = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    answer = key.create(ceremony.public_key)
    return handlers.register_security_key(
        uow,
        deps,
        RegisterSecurityKey(principal=member, ceremony_token=ceremony.ceremony_token, name=name, credential=answer),
    )


def _log_in(uow, deps) -> SecondFactorChallenge:
    challenge = handlers.log_in(uow, deps, LogIn(email=EMAIL, password=PASSWORD, address=OFFICE))
    assert isinstance(challenge, SecondFactorChallenge)
    return challenge


def _key_options(uow, deps, challenge):
    return handlers.start_security_key_sign_in(
        uow, deps, StartSecurityKeySignIn(challenge_token=challenge.challenge_token)
    )


def _pass(uow, deps, challenge, ceremony, answer):
    return handlers.pass_security_key(
        uow,
        deps,
        PassSecurityKey(
            challenge_token=challenge.challenge_token,
            ceremony_token=ceremony.ceremony_token,
            credential=answer,
            address=OFFICE,
        ),
    )


def test_a_registered_key_is_kept_by_its_public_data_under_the_members_name(uow, deps, member, staff):
    key = SoftSecurityKey(ORIGIN)

    view = _register(uow, deps, member, key)

    stored = uow.session.get(StaffSecurityKey, view.id)
    assert stored.account_id == staff.id and stored.name == "Cheia albastră"
    assert stored.credential_id == key.credential_id and stored.sign_count == 1
    assert stored.transports == "usb"
    assert [k.name for k in handlers.list_security_keys(uow, deps, ListSecurityKeys(principal=member))] == [
        "Cheia albastră"
    ]
    assert _audit(uow, "staff.security_key_registration_started") == [{}]
    assert _audit(uow, "staff.security_key_registered") == [{"key": str(view.id)}]


def test_the_registration_options_name_the_relying_party_and_exclude_the_members_keys(uow, deps, member):
    first = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, first)

    ceremony = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))

    options = ceremony.public_key
    assert options["rp"] == {"id": "staff.eservicii.mai.gov.ro", "name": deps.settings.webauthn_rp_name}
    assert options["user"]["name"] == EMAIL
    assert [c["id"] for c in options["excludeCredentials"]] == [first.create(options)["rawId"]]
    assert options["timeout"] == deps.settings.webauthn_challenge_seconds * 1000
    assert ceremony.expires_in == deps.settings.webauthn_challenge_seconds


def test_a_member_keeps_several_keys_each_name_once_and_no_more_than_the_limit(uow, deps, member):
    deps = replace(deps, settings=replace(deps.settings, security_keys_max=2))
    _register(uow, deps, member, SoftSecurityKey(ORIGIN), name="Cheia albastră")

    with pytest.raises(SecurityKeyNameTaken):
        _register(uow, deps, member, SoftSecurityKey(ORIGIN), name="cheia ALBASTRĂ")
    _register(uow, deps, member, SoftSecurityKey(ORIGIN), name="Laptop")
    with pytest.raises(SecurityKeyLimit):
        handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))

    assert len(handlers.list_security_keys(uow, deps, ListSecurityKeys(principal=member))) == 2


def test_a_registration_answered_once_cannot_be_answered_again(uow, deps, member):
    ceremony = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    answer = SoftSecurityKey(ORIGIN).create(ceremony.public_key)
    command = RegisterSecurityKey(principal=member, ceremony_token=ceremony.ceremony_token, name="A", credential=answer)
    handlers.register_security_key(uow, deps, command)

    with pytest.raises(SecurityKeyCeremonyEnded):
        handlers.register_security_key(uow, deps, replace(command, name="B"))

    assert _audit(uow, "staff.security_key_registration_refused") == [{"reason": "replayed"}]
    assert uow.session.scalars(select(StaffSecurityKey.name)).all() == ["A"]


def test_a_registration_from_another_origin_or_after_its_time_is_refused(uow, deps, member, clock):
    ceremony = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    phished = SoftSecurityKey("https://staff.eservicii.mai.gov.ro.example.com").create(ceremony.public_key)

    with pytest.raises(SecurityKeyRefused):
        handlers.register_security_key(
            uow,
            deps,
            RegisterSecurityKey(principal=member, ceremony_token=ceremony.ceremony_token, name="A", credential=phished),
        )
    assert _audit(uow, "staff.security_key_registration_refused") == [{"reason": "invalid"}]

    late = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    clock.advance(timedelta(seconds=deps.settings.webauthn_challenge_seconds))
    with pytest.raises(SecurityKeyCeremonyEnded):
        handlers.register_security_key(
            uow,
            deps,
            RegisterSecurityKey(
                principal=member,
                ceremony_token=late.ceremony_token,
                name="A",
                credential=SoftSecurityKey(ORIGIN).create(late.public_key),
            ),
        )
    assert uow.session.scalars(select(StaffSecurityKey)).first() is None


def test_another_members_ceremony_token_registers_nothing(uow, deps, member, staff_member):
    ceremony = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    other = staff_member("petition_clerk@IGPR")

    with pytest.raises((SecurityKeyCeremonyEnded, NotFound)):
        handlers.register_security_key(
            uow,
            deps,
            RegisterSecurityKey(
                principal=other,
                ceremony_token=ceremony.ceremony_token,
                name="A",
                credential=SoftSecurityKey(ORIGIN).create(ceremony.public_key),
            ),
        )


def test_citizens_have_no_security_keys(uow, deps, register):
    citizen = Principal(subject=str(register()), kind="citizen", roles=frozenset())

    with pytest.raises(Forbidden):
        handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=citizen))


def test_a_member_removes_their_own_key_and_no_one_elses(uow, deps, member, staff_member):
    view = _register(uow, deps, member, SoftSecurityKey(ORIGIN))

    with pytest.raises(NotFound):
        handlers.remove_security_key(uow, deps, RemoveSecurityKey(principal=member, key_id="not-a-key"))
    handlers.remove_security_key(uow, deps, RemoveSecurityKey(principal=member, key_id=str(view.id)))
    with pytest.raises(NotFound):
        handlers.remove_security_key(uow, deps, RemoveSecurityKey(principal=member, key_id=str(view.id)))

    assert handlers.list_security_keys(uow, deps, ListSecurityKeys(principal=member)) == []
    assert _audit(uow, "staff.security_key_removed") == [{"key": str(view.id)}]


def test_a_member_with_a_key_signs_in_with_it_instead_of_a_code(uow, deps, member):
    key = SoftSecurityKey(ORIGIN)
    view = _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)
    assert challenge.step == "second_factor" and challenge.methods == ("security_key",)

    ceremony = _key_options(uow, deps, challenge)
    assert [c["id"] for c in ceremony.public_key["allowCredentials"]] == [key.get(ceremony.public_key)["rawId"]]
    key.sign_count -= 1  # the answer above was only to read the id back
    pair = _pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key))

    assert isinstance(pair, TokenPair) and pair.access_token
    stored = uow.session.get(StaffSecurityKey, view.id)
    assert stored.sign_count == key.sign_count and stored.last_used_at is not None
    assert _audit(uow, "staff.security_key_sign_in_started") == [{}]
    assert _audit(uow, "staff.signed_in")[-1] == {"method": "security_key", "key": str(view.id)}
    with pytest.raises(SecondFactorNotPending):  # no authenticator app: a key is this member's factor
        handlers.pass_second_factor(
            uow, deps, PassSecondFactor(challenge_token=challenge.challenge_token, code="123456", address=OFFICE)
        )


def test_a_replayed_assertion_is_refused(uow, deps, member):
    key = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)
    ceremony = _key_options(uow, deps, challenge)
    answer = key.get(ceremony.public_key)
    _pass(uow, deps, challenge, ceremony, answer)

    with pytest.raises(SecondFactorRefused):
        _pass(uow, deps, challenge, ceremony, answer)

    assert _audit(uow, "staff.second_factor_failed")[-1] == {"method": "security_key", "reason": "replayed"}


def test_an_assertion_whose_counter_did_not_grow_is_refused_as_a_cloned_key(uow, deps, member):
    key = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)
    _pass(uow, deps, challenge, (first := _key_options(uow, deps, challenge)), key.get(first.public_key))

    key.sign_count -= 1  # a copy of the key, behind the original by one signature
    ceremony = _key_options(uow, deps, challenge)
    with pytest.raises(SecondFactorRefused):
        _pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key))

    assert _audit(uow, "staff.second_factor_failed")[-1] == {"method": "security_key", "reason": "sign_count"}


def test_a_key_that_keeps_no_counter_signs_in_each_time(uow, deps, member):
    key = SoftSecurityKey(ORIGIN, counts=False)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)

    for _ in range(2):
        ceremony = _key_options(uow, deps, challenge)
        assert isinstance(_pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key)), TokenPair)


def test_a_forged_or_foreign_assertion_is_refused(uow, deps, member):
    key = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)

    ceremony = _key_options(uow, deps, challenge)
    forged = key.get(ceremony.public_key)
    forged["response"]["signature"] = SoftSecurityKey(ORIGIN).get({"rpId": "x", "challenge": "eA"})["response"][
        "signature"
    ]
    with pytest.raises(SecondFactorRefused):
        _pass(uow, deps, challenge, ceremony, forged)

    ceremony = _key_options(uow, deps, challenge)
    stranger = SoftSecurityKey(ORIGIN)  # a key the member never registered
    with pytest.raises(SecondFactorRefused):
        _pass(uow, deps, challenge, ceremony, stranger.get({**ceremony.public_key, "allowCredentials": []}))

    ceremony = _key_options(uow, deps, challenge)
    key.origin = "https://phishing.example"
    with pytest.raises(SecondFactorRefused):
        _pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key))

    reasons = [entry["reason"] for entry in _audit(uow, "staff.second_factor_failed")]
    assert reasons == ["invalid", "unknown_key", "invalid"]


def test_refused_assertions_are_throttled_like_wrong_codes(uow, deps, member, clock):
    key = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)
    key.origin = "https://phishing.example"  # a look-alike site relaying the member's key

    for _ in range(deps.settings.account_free_failures):
        ceremony = _key_options(uow, deps, challenge)
        with pytest.raises(SecondFactorRefused):
            _pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key))

    with pytest.raises(TooManyFailedLogins) as throttled:
        _key_options(uow, deps, challenge)
    clock.advance(timedelta(seconds=throttled.value.seconds))
    key.origin = ORIGIN
    ceremony = _key_options(uow, deps, challenge)
    assert isinstance(_pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key)), TokenPair)


def test_a_sign_in_ceremony_ends_after_its_time_and_is_bound_to_its_account(uow, deps, member, clock):
    key = SoftSecurityKey(ORIGIN)
    _register(uow, deps, member, key)
    challenge = _log_in(uow, deps)
    ceremony = _key_options(uow, deps, challenge)
    clock.advance(timedelta(seconds=deps.settings.webauthn_challenge_seconds))

    with pytest.raises(SecondFactorChallengeEnded):
        _pass(uow, deps, challenge, ceremony, key.get(ceremony.public_key))

    registration = handlers.start_security_key_registration(uow, deps, StartSecurityKeyRegistration(principal=member))
    with pytest.raises(SecondFactorChallengeEnded):  # a registration's token is no sign-in's
        _pass(uow, deps, challenge, registration, key.get(ceremony.public_key))


def test_a_member_without_keys_gets_no_key_options(uow, deps, staff):
    deps = replace(deps, settings=replace(deps.settings, staff_second_factor="when-enrolled"))
    handlers.log_in(uow, deps, LogIn(email=EMAIL, password=PASSWORD, address=OFFICE))  # tokens: no factor
    required = replace(deps, settings=replace(deps.settings, staff_second_factor="required"))
    challenge = _log_in(uow, required)
    assert challenge.step == "enrolment"

    with pytest.raises(SecondFactorChallengeEnded):
        _key_options(uow, deps, challenge)


def test_the_relying_party_comes_from_the_settings_and_production_names_it_in_https():
    development = make_settings("sqlite://", public_base_url="http://localhost:8080")
    assert (development.relying_party_id, development.relying_party_origins) == (
        "localhost",
        ("http://localhost:8080",),
    )
    production = {
        "environment": "production",
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19 * 1024,
        "export_sources": (("petition-svc", "https://petition-svc"),),
    }

    with pytest.raises(ConfigurationError, match="WEBAUTHN_RP_ID"):
        make_settings("sqlite://", **production, webauthn_rp_id="", webauthn_origins=())
    with pytest.raises(ConfigurationError, match="production needs https"):
        make_settings("sqlite://", **production, webauthn_origins=("http://staff.eservicii.mai.gov.ro",))
    with pytest.raises(ConfigurationError, match="is not on"):
        make_settings("sqlite://", **production, webauthn_origins=("https://eservicii.mai.gov.ro",))
    assert make_settings("sqlite://", **production).relying_party_id == "staff.eservicii.mai.gov.ro"
