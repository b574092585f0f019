"""Registration and e-mail confirmation, run on the handlers alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from identity import handlers
from identity.commands import AnonymousClient, ConfirmEmail, RegisterCitizen, ResendConfirmation
from identity.errors import ChallengeRequired, CodeRefused
from identity.events import AccountRegistered, EmailConfirmationRequested, RegistrationRepeated
from identity.handlers.lookups import aware
from identity.tables import Account, CivilStatusRecord
from identity.testing import CITIZEN, VALID_CNP
from sqlalchemy import select

pytestmark = pytest.mark.unit


def test_a_registration_creates_an_unconfirmed_account_with_its_cnp_sealed_and_mails_a_code(uow, deps, clock):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))

    account = uow.session.scalars(select(Account)).one()
    record = uow.session.get(CivilStatusRecord, account.id)
    assert (account.email, account.display_name, account.email_confirmed_at) == (CITIZEN["email"], "Ana Popescu", None)
    assert VALID_CNP not in record.cnp_sealed and deps.cipher.open(record.cnp_sealed) == VALID_CNP
    assert uow.commits == 1
    [registered] = uow.events_of(AccountRegistered)
    assert (registered.citizen_id, registered.registered_at, registered.channel) == (account.id, clock.now(), "web")
    [request] = uow.events_of(EmailConfirmationRequested)
    assert request.reason == "registered" and request.expires_at > clock.now()
    assert len(deps.sealer.open(request.sealed_confirmation)) >= 6
    assert VALID_CNP not in repr(uow.published)


def test_registering_a_taken_address_tells_its_owner_and_creates_nothing(uow, deps, register):
    citizen_id = register()
    before = len(uow.published)

    handlers.register_citizen(uow, deps, RegisterCitizen(**{**CITIZEN, "first_name": "Impostor"}))

    assert uow.session.scalars(select(Account)).all() == [uow.session.get(Account, citizen_id)]
    [repeated] = [e.event for e in uow.published[before:]]
    assert isinstance(repeated, RegistrationRepeated) and repeated.citizen_id == citizen_id


def test_the_mailed_code_confirms_the_address_at_the_clocks_time(uow, deps, clock):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))
    request = uow.events_of(EmailConfirmationRequested)[0]
    clock.advance(timedelta(minutes=5))

    code = deps.sealer.open(request.sealed_confirmation)
    handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(request.citizen_id), code=code))

    assert aware(uow.session.get(Account, request.citizen_id).email_confirmed_at) == clock.now()


def test_wrong_codes_are_remembered_and_use_the_code_up(uow, deps):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))
    request = uow.events_of(EmailConfirmationRequested)[0]
    right = deps.sealer.open(request.sealed_confirmation)
    commits = uow.commits

    for _ in range(deps.settings.mail_code_attempts):
        with pytest.raises(CodeRefused):
            handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(request.citizen_id), code="00000000"))
    assert uow.commits == commits + deps.settings.mail_code_attempts  # each attempt was committed
    with pytest.raises(CodeRefused):
        handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(request.citizen_id), code=right))
    assert uow.session.get(Account, request.citizen_id).email_confirmed_at is None


def test_an_expired_code_is_refused(uow, deps, clock):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))
    request = uow.events_of(EmailConfirmationRequested)[0]
    clock.advance(timedelta(seconds=deps.settings.mail_code_seconds + 1))

    with pytest.raises(CodeRefused):
        code = deps.sealer.open(request.sealed_confirmation)
        handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(request.citizen_id), code=code))


def test_a_resent_confirmation_replaces_the_first_code(uow, deps):
    handlers.register_citizen(uow, deps, RegisterCitizen(**CITIZEN))
    first = uow.events_of(EmailConfirmationRequested)[0]

    handlers.resend_confirmation(uow, deps, ResendConfirmation(email=CITIZEN["email"].upper()))
    handlers.resend_confirmation(uow, deps, ResendConfirmation(email="nobody@example.ro"))

    second = uow.events_of(EmailConfirmationRequested)[1]
    assert second.reason == "resent" and len(uow.events_of(EmailConfirmationRequested)) == 2
    with pytest.raises(CodeRefused):
        code = deps.sealer.open(first.sealed_confirmation)
        handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(first.citizen_id), code=code))


def test_a_busy_client_must_solve_a_challenge_and_its_refusal_leaves_nothing_behind(uow, deps):
    from dataclasses import replace

    from mai_chassis.challenges import verifier_for

    settings = replace(
        deps.settings,
        form_challenge="proof-of-work",
        form_challenge_key="a key for the unit tests only, 32+ bytes",
        form_challenge_after=1,
        proof_of_work_bits=4,
    )
    busy = replace(
        deps,
        settings=settings,
        challenge=verifier_for(settings.form_challenge, settings.form_challenge_key, bits=settings.proof_of_work_bits),
    )
    client = AnonymousClient(address="203.0.113.7")
    handlers.resend_confirmation(uow, busy, ResendConfirmation(email="a@example.ro", client=client))

    with pytest.raises(ChallengeRequired) as refused, uow:
        handlers.register_citizen(uow, busy, RegisterCitizen(**CITIZEN, client=client))

    assert refused.value.extensions["challenge"]
    assert uow.session.scalars(select(Account)).all() == []
    assert uow.events_of(AccountRegistered) == []
