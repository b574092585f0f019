"""Submitting a petition: the quotas on attachments, the registration number, the deadlines, the events."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, cast

from mai_chassis import UnitOfWork
from mai_chassis.challenges import client_key, spend_once
from mai_chassis.db import SqlUnitOfWork
from mai_chassis.tables import UsedChallenge
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class

from .. import domain, quotas
from ..attachments import StoredFile
from ..deps import PetitionDeps
from ..domain import Closure, RegistrationNumber, Status
from ..errors import (
    AttachmentStorageFull,
    ChallengeRequired,
    PetitionError,
    SubmissionQuotaExceeded,
    UnknownInstitution,
)
from ..events import PetitionClosed, PetitionSubmitted, Recipient
from ..metrics import PETITIONS_REGISTERED, SUBMISSIONS_REFUSED
from ..tables import Attachment, Petition, RegistrationCounter

__all__ = [
    "PetitionForm",
    "Sender",
    "SubmitPetition",
    "UploadedAttachment",
    "next_registration_number",
    "register",
    "require_room_in_store",
    "submit_petition",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadedAttachment:
    """A file sent with a petition, its media type already proven from its bytes."""

    content: bytes
    media_type: str
    display_name: str


@dataclass(frozen=True)
class Sender:
    """Who sends a petition, as far as the quotas and the challenge need to know."""

    #: The client's address (behind the gateway: the citizen's, not the gateway's).
    client_address: str | None
    #: The signed-in account, if any, with its kind and the e-mail address its token names.
    account_id: str | None = None
    account_kind: str | None = None
    account_email: str | None = None
    #: The solved challenge sent with the petition (the proof-of-work header), if any.
    proof_of_work: str | None = None

    @property
    def citizen_id(self) -> str | None:
        """A signed-in citizen's account id: their petitions are listed to them."""
        return self.account_id if self.account_kind == "citizen" else None


@dataclass(frozen=True)
class SubmitPetition:
    kind: str
    institution: str
    field: str
    subject: str
    text: str
    name: str
    email: str
    language: str = "ro"
    phone: str | None = None
    address: str | None = None
    sender: Sender = Sender(client_address=None)
    attachments: tuple[UploadedAttachment, ...] = ()
    channel: str = "web"


def submit_petition(uow: UnitOfWork, deps: PetitionDeps, command: SubmitPetition) -> Petition:
    """Register a petition at once: number, deadlines, attachments, ``petition.submitted``.

    A petition with attachments is first counted against its client's and its recipient address's
    quotas (and may need a solved challenge); a refusal stores nothing. A petition with the same
    content as one of the same petitioner that was already answered is registered and filed at
    once as its repeat (OG 27/2002 art. 16), with a reference to it.
    """
    institution = deps.directory.institution(command.institution)
    if institution is None:  # the schema checked it; a handler never trusts its caller on this
        raise UnknownInstitution()
    now = uow.clock.now()
    size = sum(len(item.content) for item in command.attachments)
    if command.attachments:
        try:
            _admit_attachments(uow, deps, command, size, now)
        except PetitionError as refused:
            SUBMISSIONS_REFUSED.labels(deps.settings.service_name, _refusal_reason(refused)).inc()
            raise
    petition = register(
        uow,
        deps,
        command,
        institution.code,
        now,
        citizen_id=command.sender.citizen_id,
        attachments=command.attachments,
        commit=True,
    )
    if command.attachments and deps.storage is not None:
        deps.storage.add(size)
    PETITIONS_REGISTERED.labels(deps.settings.service_name, petition.institution, petition.kind, command.channel).inc()
    logger.info("petition registered: %s", petition.registration_number)
    return petition


def _refusal_reason(refused: PetitionError) -> str:
    if isinstance(refused, SubmissionQuotaExceeded):
        return f"{refused.quota}-quota"
    if isinstance(refused, ChallengeRequired):
        return "challenge-required"
    return "storage-full"


def _admit_attachments(uow: UnitOfWork, deps: PetitionDeps, command: SubmitPetition, size: int, now: datetime) -> None:
    """Count a petition with attachments against its client's and its recipient address's quotas,
    ask an anonymous client past the threshold for a solved challenge (when one is configured), and
    keep the attachment store within its budget. Refusals roll the counts back with the
    transaction; nothing is stored."""
    limits, session, sender = deps.quotas, uow.session, command.sender
    client = quotas.count_submission(
        session, client_key(sender.account_id, sender.client_address), size, now, limits.window
    )
    if client.petitions > limits.petitions_per_client or client.attachment_bytes > limits.bytes_per_client:
        raise SubmissionQuotaExceeded("client", _retry_after(client, now, deps))
    own_address = sender.account_email is not None and sender.account_email.lower() == command.email.strip().lower()
    if not own_address:  # a signed-in citizen writing from their own address is limited as a client only
        recipient = quotas.count_submission(session, quotas.recipient_key(command.email), size, now, limits.window)
        if (
            recipient.petitions > limits.petitions_per_recipient
            or recipient.attachment_bytes > limits.bytes_per_recipient
        ):
            raise SubmissionQuotaExceeded("recipient", _retry_after(recipient, now, deps))
    if (
        deps.challenge is not None
        and sender.account_id is None
        and client.petitions > deps.settings.submission_challenge_after
        and not spend_once(session, UsedChallenge, deps.challenge.check(sender.proof_of_work), now)
    ):
        raise ChallengeRequired(deps.challenge.issue())
    require_room_in_store(uow, deps, size)


def require_room_in_store(uow: UnitOfWork, deps: PetitionDeps, size: int) -> None:
    """Refuse attachments of ``size`` bytes that would take the attachment store past its budget."""
    if deps.storage is not None and deps.storage.bytes_stored(uow.session) + size > deps.quotas.storage_budget_bytes:
        logger.error("attachment store budget reached: attachments refused until room is made")
        raise AttachmentStorageFull()


def _retry_after(usage: quotas.Usage, now: datetime, deps: PetitionDeps) -> int:
    return quotas.seconds_until(domain.as_utc(usage.window_started_at) + deps.quotas.window, now)


def next_registration_number(session: Session, institution: str, year: int) -> RegistrationNumber:
    """Take the next number of ``institution`` in ``year``.

    One upsert increments the counter row and returns the new value; the row stays locked until
    the submit transaction ends, so concurrent submits queue on it, and a rolled-back submit gives
    its number back — the sequence has no gaps and no duplicates.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RegistrationCounter)
        .values(institution=institution, year=year, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[RegistrationCounter.institution, RegistrationCounter.year],
            set_={"last_sequence": RegistrationCounter.last_sequence + 1},
        )
        .returning(RegistrationCounter.last_sequence)
    )
    return RegistrationNumber(institution, year, int(session.execute(statement).scalar_one()))


_ANSWERED_WITH_FINGERPRINT = (
    select(Petition.__table__.c.id)
    .where(
        Petition.__table__.c.content_fingerprint == bindparam("fingerprint"),
        Petition.__table__.c.status == bindparam("answered"),
    )
    .order_by(Petition.__table__.c.answered_at)
    .limit(1)
)


class PetitionForm(Protocol):
    """What a petition says, whoever registers it (the web form, or a clerk at intake)."""

    @property
    def kind(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def language(self) -> str: ...
    @property
    def channel(self) -> str: ...


def register(
    uow: UnitOfWork,
    deps: PetitionDeps,
    command: PetitionForm,
    institution: str,
    registered_at: datetime,
    *,
    citizen_id: str | None = None,
    attachments: tuple[UploadedAttachment, ...] = (),
    received_on: date | None = None,
    registered_by: str | None = None,
    commit: bool = False,
) -> Petition:
    """Number and register the petition ``command`` describes, and announce it; ``commit``: commit
    the unit of work too (else the caller commits).

    Everything is prepared before the number is taken: the number is taken last, by the statement
    that writes the petition (on PostgreSQL one statement writes it, its attachments and its
    events, and with ``commit`` the ``COMMIT`` goes with it), so the institution's counter row is
    locked only while the server writes and commits them. When nothing else was done in the unit of
    work, that statement also makes the repeat check and is the whole transaction: one round trip.
    """
    email = domain.normalise_email(command.email) if command.email else None
    petitioner = domain.petitioner_key(email, command.name, command.address)
    fingerprint = domain.content_fingerprint(petitioner, institution, command.subject, command.text)
    stored = [deps.store.put(item.content) for item in attachments]
    form = _Registration(
        command, institution, registered_at, email, fingerprint, citizen_id, received_on, registered_by,
        tuple(zip(attachments, stored, strict=True)),
    )  # fmt: skip
    postgresql = isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql
    if postgresql and commit and isinstance(uow, SqlUnitOfWork) and not uow.began:
        # Registered by one statement unless the same words were already answered (then as a repeat, below).
        petition, parameters = _prepare_statement(uow, form, None)
        row = uow.commit_with(_REGISTER, {**parameters, "unless_answered": fingerprint})
        if row is not None:
            petition.registration_number = str(row[0])
            return petition
    # The repeat check reads one index entry; the answered petition itself is loaded only when found.
    session = uow.session
    original_id = session.execute(
        _ANSWERED_WITH_FINGERPRINT, {"fingerprint": fingerprint, "answered": Status.ANSWERED.value}
    ).scalar()
    answered_original = session.get(Petition, original_id) if original_id is not None else None
    if postgresql:
        assert isinstance(uow, SqlUnitOfWork)
        petition, parameters = _prepare_statement(uow, form, answered_original)
        parameters["unless_answered"] = None
        if commit:
            row = uow.commit_with(_REGISTER, parameters)
        else:
            row = session.connection().exec_driver_sql(_REGISTER, parameters).first()
        assert row is not None  # without the repeat check, the statement always registers the petition
        petition.registration_number = str(row[0])
        return petition
    petition, values = _petition(form, answered_original)
    number = next_registration_number(session, institution, domain.local_date(registered_at).year)
    petition.registration_number = values["registration_number"] = str(number)
    session.execute(insert(_PETITIONS), values)
    if petition.attachments:
        files = [_attachment_values(attachment) for attachment in petition.attachments]
        session.execute(insert(_ATTACHMENTS), [{"petition_id": values["id"], **file} for file in files])
    _announce(uow, petition, answered_original, received_on)
    if commit:
        uow.commit()
    return petition


@dataclass(frozen=True)
class _Registration:
    """What a registration writes, besides the number and what the repeat check finds."""

    form: PetitionForm
    institution: str
    registered_at: datetime
    email: str | None
    fingerprint: str
    citizen_id: str | None
    received_on: date | None
    registered_by: str | None
    files: tuple[tuple[UploadedAttachment, StoredFile], ...]


def _petition(registration: _Registration, answered_original: Petition | None) -> tuple[Petition, dict[str, Any]]:
    """The petition to register (its number still to take) and its column values; it is not added to
    the session: the rows are written without the ORM, and the callers read this object."""
    command, registered_at, repeat = registration.form, registration.registered_at, answered_original is not None
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": command.kind,
        "channel": command.channel,
        "institution": registration.institution,
        "field": command.field,
        "subject": command.subject,
        "text": command.text,
        "language": command.language,
        "petitioner_name": command.name,
        "petitioner_email": registration.email,
        "petitioner_phone": command.phone,
        "petitioner_address": command.address,
        "citizen_id": registration.citizen_id,
        "content_fingerprint": registration.fingerprint,
        "received_on": registration.received_on,
        "registered_by": registration.registered_by,
        "status": Status.CLOSED.value if repeat else Status.REGISTERED.value,
        "closure": Closure.REPEAT.value if repeat else None,
        "registered_at": registered_at,
        "answer_due_on": domain.answer_due_on(registered_at),
        "forward_due_on": domain.forward_due_on(registered_at),
        "deadline_extended": False,
        "forwarded_late": False,
        "closed_at": registered_at if repeat else None,
        "repeat_of_id": answered_original.id if answered_original is not None else None,
    }
    attachments = [
        Attachment(
            position=position,
            sha256=file.sha256,
            media_type=item.media_type,
            size=file.size,
            display_name=item.display_name,
        )
        for position, (item, file) in enumerate(registration.files, start=1)
    ]
    return _unsaved_petition(values, attachments, answered_original), values


@functools.cache
def _petition_class() -> Any:
    """How SQLAlchemy makes a Petition without calling its constructor (as it does for a loaded row);
    looked up once, after the mappers are configured (the attributes need them)."""
    configure_mappers()
    return manager_of_class(Petition)


def _unsaved_petition(values: dict[str, Any], attachments: list[Attachment], repeat_of: Petition | None) -> Petition:
    """A Petition holding ``values`` for the callers to read, made without the ORM's attribute events:
    the declarative constructor set each of its 26 columns through them, a tenth of a submit's CPU.
    It is never added to a session (the rows are written by SQL statements): no change is tracked.
    """
    petition: Petition = _petition_class().new_instance()
    petition.__dict__.update(values, attachments=attachments, repeat_of=repeat_of)
    return petition


def _attachment_values(attachment: Attachment) -> dict[str, Any]:
    return {name: getattr(attachment, name) for name in ("position", "sha256", "media_type", "size", "display_name")}


def _prepare_statement(
    uow: SqlUnitOfWork, registration: _Registration, answered_original: Petition | None
) -> tuple[Petition, dict[str, Any]]:
    """The petition and the parameters of the statement that numbers and writes it (PostgreSQL).

    The events are checked and serialised now, with a stand-in number of the same shape that the
    statement replaces by the number it takes: ending in the new petition's random id without its
    dashes, found nowhere else (the event carries the id with them).
    """
    petition, values = _petition(registration, answered_original)
    year = domain.local_date(registration.registered_at).year
    stand_in = f"{registration.institution}-{year:04d}-{petition.id.replace('-', '')}"
    petition.registration_number = stand_in
    _announce(uow, petition, answered_original, registration.received_on)
    files = [_attachment_values(attachment) for attachment in petition.attachments]
    return petition, _registration_parameters(values, files, uow.take_outbox(), stand_in, year)


def _announce(
    uow: UnitOfWork, petition: Petition, answered_original: Petition | None, received_on: date | None
) -> None:
    uow.publish(
        PetitionSubmitted(
            petition_id=petition.id,
            registration_number=petition.registration_number,
            institution=petition.institution,
            field=petition.field,
            kind=petition.kind,
            registered_at=petition.registered_at,
            channel=petition.channel,
            attachment_count=len(petition.attachments),
            answer_due_on=petition.answer_due_on,
            recipient=Recipient.of(petition),
            citizen_id=petition.citizen_id,
            repeat_of_registration_number=answered_original.registration_number if answered_original else None,
            received_on=received_on,
        )
    )
    if answered_original is not None:
        uow.publish(PetitionClosed.of(petition, at=petition.registered_at, related=answered_original))


_PETITIONS = cast(Table, Petition.__table__)
_ATTACHMENTS = cast(Table, Attachment.__table__)

#: PostgreSQL: one statement takes the next number of the institution in the year (the counter's
#: upsert locks its row until the transaction ends: a rolled-back registration gives its number back,
#: so numbers have no gaps and no duplicates) and writes the numbered petition, its attachments and
#: its outbox rows (their stand-in number replaced; in the order they were published). The rows come
#: as JSON: one parameter each, whatever their number. With ``unless_answered`` (a content
#: fingerprint; NULL: no check) nothing at all is done, and no row returned, when a petition with
#: that fingerprint was answered: the registration is then made again as that one's repeat.
_REGISTER = """
WITH counter AS (
    INSERT INTO registration_counters AS c (institution, year, last_sequence)
    SELECT %(institution)s, %(year)s, 1
    WHERE NOT EXISTS (SELECT FROM petitions WHERE content_fingerprint = %(unless_answered)s AND status = %(answered)s)
    ON CONFLICT (institution, year) DO UPDATE SET last_sequence = c.last_sequence + 1
    RETURNING %(number_prefix)s || CASE WHEN last_sequence < 1000000 THEN lpad(last_sequence::text, 6, '0')
                                        ELSE last_sequence::text END AS registration_number
), numbered AS (
    INSERT INTO petitions
    SELECT petition.* FROM counter, jsonb_populate_record(
        NULL::petitions, %(petition)s::jsonb || jsonb_build_object('registration_number', counter.registration_number)
    ) AS petition
    RETURNING id, registration_number
), attachments AS (
    INSERT INTO petition_attachments (petition_id, position, sha256, media_type, size, display_name)
    SELECT numbered.id, a.position, a.sha256, a.media_type, a.size, a.display_name
    FROM numbered, jsonb_to_recordset(%(attachments)s::jsonb)
         AS a(position integer, sha256 text, media_type text, size integer, display_name text)
), outbox AS (
    INSERT INTO outbox_events (event_id, event_type, topic, key, payload)
    SELECT e.row->>'event_id', e.row->>'event_type', e.row->>'topic', e.row->>'key',
           replace(e.row->>'payload', %(stand_in)s, numbered.registration_number)
    FROM numbered, jsonb_array_elements(%(events)s::jsonb) WITH ORDINALITY AS e(row, position)
    ORDER BY e.position
)
SELECT registration_number FROM numbered
"""


def _json_value(value: Any) -> str:
    if isinstance(value, date):  # dates, and datetimes with their offset: as PostgreSQL reads them
        return value.isoformat()
    raise TypeError(f"not a column value: {value.__class__.__name__}")


def _registration_parameters(
    values: dict[str, Any], files: list[dict[str, Any]], outbox: list[dict[str, Any]], stand_in: str, year: int
) -> dict[str, Any]:
    return {
        "institution": values["institution"],
        "year": year,
        "number_prefix": f"{values['institution']}-{year:04d}-",
        "stand_in": stand_in,
        "answered": Status.ANSWERED.value,
        "petition": json.dumps(values, default=_json_value),
        "attachments": json.dumps(files),
        "events": json.dumps([{name: str(row[name]) for name in _OUTBOX_COLUMNS} for row in outbox]),
    }


_OUTBOX_COLUMNS = ("event_id", "event_type", "topic", "key", "payload")
