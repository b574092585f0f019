"""Citizen accounts: registration, e-mail confirmation, and the challenge asked of busy anonymous clients."""

from __future__ import annotations

import uuid
from datetime import timedelta

from mai_chassis import UnitOfWork
from mai_chassis.challenges import client_key, count_in_window, spend_once

from .. import domain
from ..commands import AnonymousClient, ConfirmEmail, RegisterCitizen, ResendConfirmation
from ..deps import IdentityDeps
from ..domain import AccountKind, AssuranceLevel, MailCodePurpose
from ..errors import ChallengeRequired, NotFound
from ..events import AccountRegistered, RegistrationRepeated
from ..tables import Account, CivilStatusRecord, FormRequests, SpentChallenge
from .lookups import account_by_email, load_account, recipient
from .mail_codes import request_confirmation, use_mail_code

__all__ = ["admit_anonymous_form", "confirm_email", "register_citizen", "resend_confirmation"]


def admit_anonymous_form(uow: UnitOfWork, deps: IdentityDeps, client: AnonymousClient) -> None:
    """Count an anonymous form that creates an account or sends mail against its client, and ask a
    client past the threshold for a solved challenge (when one is configured; otherwise nothing is
    counted). Raised inside the command's unit of work, a refusal rolls the count back with it."""
    if deps.challenge is None:
        return
    settings, now = deps.settings, uow.clock.now()
    window = timedelta(seconds=settings.form_challenge_window_seconds)
    requests = count_in_window(uow.session, FormRequests, client_key(None, client.address), now, window)
    if requests > settings.form_challenge_after and not spend_once(
        uow.session, SpentChallenge, deps.challenge.check(client.challenge_answer), now
    ):
        raise ChallengeRequired(
            "Many account or e-mail requests came from your connection recently. Solve the challenge and send "
            "the form again, or try again later.",
            deps.challenge.issue(),
        )


def register_citizen(uow: UnitOfWork, deps: IdentityDeps, command: RegisterCitizen) -> None:
    """Create an unconfirmed citizen account; for a taken address, tell its owner instead.

    Both paths hash the password, so the answer's timing does not reveal which one ran.
    """
    admit_anonymous_form(uow, deps, command.client)
    cnp = domain.validate_cnp(command.cnp)
    password_hash = deps.hasher.hash(command.password)
    existing = account_by_email(uow, command.email)
    now = uow.clock.now()
    if existing is not None:
        if existing.kind == AccountKind.CITIZEN:
            uow.publish(RegistrationRepeated(citizen_id=existing.id, attempted_at=now, recipient=recipient(existing)))
        uow.commit()
        return
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CITIZEN.value,
        email=domain.normalise_email(command.email),
        display_name=f"{command.first_name} {command.last_name}".strip(),
        language=command.language,
        password_hash=password_hash,
        assurance_level=AssuranceLevel.NONE.value,
        created_at=now,
    )
    uow.session.add(account)
    uow.session.add(
        CivilStatusRecord(
            account_id=account.id,
            last_name=command.last_name,
            first_name=command.first_name,
            cnp_sealed=deps.cipher.seal(cnp),
            birth_date=domain.birth_date_of(cnp),
            citizenship="RO",
            updated_at=now,
        )
    )
    uow.flush()
    uow.publish(
        AccountRegistered(
            citizen_id=account.id, channel=command.channel, registered_at=now, recipient=recipient(account)
        )
    )
    request_confirmation(uow, deps, account, "registered")
    uow.commit()


def confirm_email(uow: UnitOfWork, deps: IdentityDeps, command: ConfirmEmail) -> None:
    """Confirm the address with the mailed code (a wrong code spends an attempt)."""
    account: Account | None
    try:
        account = load_account(uow, command.citizen_id, lock=True)
    except NotFound:
        account = None
    use_mail_code(uow, deps, account, MailCodePurpose.EMAIL_CONFIRMATION, command.code)
    assert account is not None  # use_mail_code refuses a missing account
    if account.email_confirmed_at is None:
        account.email_confirmed_at = uow.clock.now()
    uow.commit()


def resend_confirmation(uow: UnitOfWork, deps: IdentityDeps, command: ResendConfirmation) -> None:
    """Mail a new code to an unconfirmed citizen; any other address gets nothing, and the same answer."""
    admit_anonymous_form(uow, deps, command.client)
    account = account_by_email(uow, command.email)
    if account is not None and account.kind == AccountKind.CITIZEN and account.email_confirmed_at is None:
        request_confirmation(uow, deps, account, "resent")
    uow.commit()
