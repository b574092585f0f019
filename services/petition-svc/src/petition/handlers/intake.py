"""Intake: a clerk registers a petition that reached the institution by post, by e-mail or at a
counter, with the same numbering, deadlines and ``petition.submitted`` as the web form; and the
printed receipt of a registration."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from mai_chassis import UnitOfWork
from mai_chassis.auth import Principal

from .. import domain
from ..deps import PetitionDeps
from ..errors import UnknownInstitution
from ..metrics import PETITIONS_REGISTERED
from ..receipts import Receipt
from ..tables import Petition
from .access import petition_of_clerk, record_clerk_action, require_clerk_of
from .submission import UploadedAttachment, register, require_room_in_store

__all__ = [
    "PetitionReceipt",
    "PrintedReceipt",
    "RegisterReceivedPetition",
    "print_receipt",
    "register_received_petition",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterReceivedPetition:
    clerk: Principal
    #: post, email or counter (:data:`petition.domain.INTAKE_CHANNELS`).
    channel: str
    kind: str
    institution: str
    field: str
    subject: str
    text: str
    name: str
    #: The petitioner's e-mail address, when they gave one: they are mailed the number.
    email: str | None = None
    #: The postal address the answer goes to when there is no e-mail address.
    address: str | None = None
    phone: str | None = None
    language: str = "ro"
    #: The day it reached the institution; the day of registration when None.
    received_on: date | None = None
    #: The pages or documents received with it, scanned (PDF, JPEG or PNG, proven by content).
    attachments: tuple[UploadedAttachment, ...] = ()


@dataclass(frozen=True)
class PetitionReceipt:
    registration_number: str
    clerk: Principal


@dataclass(frozen=True)
class PrintedReceipt:
    content: bytes
    file_name: str


def register_received_petition(uow: UnitOfWork, deps: PetitionDeps, command: RegisterReceivedPetition) -> Petition:
    """Register a petition received by post, by e-mail or at a counter, at the clerk's institution.

    Its terms run from this registration (OG 27/2002 art. 8); the day received is kept beside it.
    With an e-mail address the petitioner is mailed the number, as for the web form; without one,
    the clerk prints the receipt (:func:`print_receipt`) and the answer goes by post.
    """
    registered_by = require_clerk_of(command.clerk, command.institution)
    if deps.directory.institution(command.institution) is None:
        raise UnknownInstitution()
    if command.channel not in domain.INTAKE_CHANNELS:
        raise ValueError(f"not an intake channel: {command.channel!r}")  # the schema allows only those
    domain.require_answerable(command.email, command.address)
    now = uow.clock.now()
    registered_on = domain.local_date(now)
    received_on = command.received_on or registered_on
    domain.require_received_on(received_on, registered_on)
    size = sum(len(item.content) for item in command.attachments)
    if command.attachments:  # a clerk's intake counts against no client quota, only the store's budget
        require_room_in_store(uow, deps, size)
    petition = register(
        uow,
        deps,
        command,
        command.institution,
        now,
        attachments=command.attachments,
        received_on=received_on,
        registered_by=registered_by,
    )
    record_clerk_action(uow, command.clerk, "petition.intake", petition)
    uow.commit()
    if command.attachments and deps.storage is not None:
        deps.storage.add(size)
    PETITIONS_REGISTERED.labels(deps.settings.service_name, petition.institution, petition.kind, command.channel).inc()
    logger.info(
        "petition %s registered at intake (%s) by staff %s",
        petition.registration_number,
        command.channel,
        registered_by,
    )
    return petition


def print_receipt(uow: UnitOfWork, deps: PetitionDeps, query: PetitionReceipt) -> PrintedReceipt:
    """The registration receipt as a PDF, for a clerk of the institution that has the petition now."""
    petition = petition_of_clerk(uow.session, query.registration_number, query.clerk, for_update=False)
    institution = deps.directory.institution(petition.institution)
    registered_at = domain.as_utc(petition.registered_at)
    receipt = Receipt(
        registration_number=petition.registration_number,
        institution_name=institution.name if institution is not None else {"ro": petition.institution},
        kind=petition.kind,
        channel=petition.channel,
        registered_at=registered_at,
        received_on=petition.received_on or domain.local_date(registered_at),
        answer_due_on=petition.answer_due_on,
        petitioner_name=petition.petitioner_name,
        subject=petition.subject,
        mailed_to_petitioner=petition.petitioner_email is not None,
    )
    return PrintedReceipt(
        content=deps.receipts.render(receipt), file_name=f"receipt-{petition.registration_number}.pdf"
    )
