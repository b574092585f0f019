"""notify-svc's use cases: record a notification for an event, list a citizen's, resend one, purge old ones.

Each is ``handler(uow, deps, command)``; the consumer's handler takes the event as its command
and leaves the commit to the consumer, the others commit once (queries do not commit).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError
from mai_chassis import Event, PermanentError, UnitOfWork
from mai_chassis.personal_data import export_document, row_data, rows_data
from mai_chassis.staff_actions import AuditSubject, record_staff_action
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .deps import NotifyDeps
from .domain import (
    ANY_UNIT,
    FINAL_STATUSES,
    ON_DEMAND_EVENT_TYPES,
    DeliveryStatus,
    RecipientLimit,
    may_handle,
    message_id_for,
    recipient_key,
)
from .errors import AdminsOnly, DeliveryInProgress, NotificationNotFound, NotificationOutOfScope
from .metrics import NOTIFICATIONS_SUPPRESSED
from .subscriptions import SERVICE, without_sealed_fields
from .tables import DeliveryRow, Notification, RecipientMailCount
from .template_registry import DEFAULT_LANGUAGE, LANGUAGES, TemplateMissingError

__all__ = [
    "ACCOUNT_DELETED",
    "CitizensData",
    "CitizensNotifications",
    "NotificationPage",
    "NotificationSearch",
    "PurgeFinishedNotifications",
    "ResendNotification",
    "export_citizen_data",
    "forget_account",
    "list_citizens_notifications",
    "purge_finished_notifications",
    "record_notification",
    "resend_notification",
    "search_notifications",
]

#: How many of the newest matches an administrator of some units (not of every unit) is shown,
#: page by page: whether each is theirs is read from the event's data, not in SQL.
SEARCH_SCAN_LIMIT = 1000

logger = logging.getLogger(__name__)


def record_notification(uow: UnitOfWork, deps: NotifyDeps, event: Event) -> Notification | None:
    """The consumer's handler: one notification (and its first delivery, due now) per event.

    Runs in the consumer's unit of work, which also records the event as processed and commits;
    a replay of the same event finds the notification and adds nothing. A mail anyone can trigger
    (``ON_DEMAND_EVENT_TYPES``) to an address that reached ``deps.recipient_limit`` is recorded
    with a ``suppressed`` delivery and not sent.
    """
    registry, recipient_limit = deps.registry, deps.recipient_limit
    if uow.session.scalar(select(Notification.id).where(Notification.trigger_event_id == event.id)):
        return None
    if "recipient" not in event.data:
        # The contract lets it go (a petition received on paper from someone who gave no e-mail
        # address is answered by post): there is nobody to mail.
        logger.info("%s %s names no recipient: nothing to mail", event.type, event.id)
        return None
    recipient: dict[str, Any] = event.data.get("recipient") or {}
    if not recipient.get("email"):
        raise PermanentError(f"{event.type} carries no recipient")
    language = recipient.get("language") or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    try:
        version = registry.latest_version(event.type)
        subject = registry.render_subject(
            event.type,
            version,
            language,
            registry.context(without_sealed_fields(event.type, event.data), event=_envelope(event), language=language),
        )
    except (TemplateMissingError, TemplateError) as exc:
        raise PermanentError(f"no usable template for {event.type}: {exc.__class__.__name__}") from exc
    now = uow.clock.now()
    suppressed = (
        recipient_limit is not None
        and event.type in ON_DEMAND_EVENT_TYPES
        and not _counted_within_limit(uow, recipient["email"], recipient_limit, now)
    )
    notification = Notification(
        id=str(uuid.uuid4()),
        trigger_event_id=event.id,
        trigger_event_type=event.type,
        trigger_subject=event.subject,
        trigger_time=event.time,
        # Account events of identity-svc name the holder account_id (a citizen's citizen_id).
        citizen_id=event.data.get("citizen_id") or event.data.get("account_id"),
        case_reference=_case_reference(event.data),
        recipient_email=recipient["email"],
        recipient_name=recipient.get("name") or "",
        language=language,
        template=event.type,
        template_version=version,
        subject=subject,
        event_data=event.data,
        created_at=now,
    )
    notification.deliveries.append(
        DeliveryRow(
            id=str(uuid.uuid4()),
            number=1,
            status=(DeliveryStatus.SUPPRESSED if suppressed else DeliveryStatus.CREATED).value,
            attempts=0,
            next_attempt_at=None if suppressed else now,
            message_id=message_id_for(event.id, delivery_number=1, domain=deps.settings.message_id_domain),
            last_error="recipient limit reached" if suppressed else None,
            created_at=now,
        )
    )
    uow.session.add(notification)
    if suppressed:
        NOTIFICATIONS_SUPPRESSED.labels(SERVICE, event.type).inc()
        logger.warning(
            "notification %s for %s suppressed: its recipient reached the limit of on-demand mails",
            notification.id,
            event.type,
        )
    else:
        logger.info(
            "notification %s recorded for %s (template v%d, %s)", notification.id, event.type, version, language
        )
    return notification


ACCOUNT_DELETED = "ro.mai.account.deleted.v1"


def forget_account(uow: UnitOfWork, deps: NotifyDeps, event: Event) -> Notification | None:
    """The consumer's handler of ``account.deleted``: the account's notifications go, and the citizen
    is mailed what was deleted and what is kept.

    A notification whose delivery is still under way is only unlinked from the account (its mail
    must still go out, and the retention job removes it later), as is the mail about the deletion
    itself. Runs in the consumer's unit of work (it commits).
    """
    citizen_id = str(event.data["account_id"])
    session = uow.session
    unfinished = (
        select(DeliveryRow.notification_id)
        .where(DeliveryRow.status.not_in([s.value for s in FINAL_STATUSES]))
        .scalar_subquery()
    )
    ids = list(
        session.scalars(
            select(Notification.id).where(Notification.citizen_id == citizen_id, Notification.id.not_in(unfinished))
        )
    )
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(delete(DeliveryRow).where(DeliveryRow.notification_id.in_(chunk)))
        session.execute(delete(Notification).where(Notification.id.in_(chunk)))
    session.execute(update(Notification).where(Notification.citizen_id == citizen_id).values(citizen_id=None))
    notice = record_notification(uow, deps, event)
    if notice is not None:
        notice.citizen_id = None
    logger.info("account deleted: %d notifications removed, the rest unlinked", len(ids))
    return notice


@dataclass(frozen=True)
class CitizensData:
    citizen_id: str


def export_citizen_data(uow: UnitOfWork, deps: NotifyDeps, query: CitizensData) -> dict[str, Any]:
    """The mails sent to the citizen's account: what, to which address, when, and how each delivery went."""
    notifications = uow.session.scalars(
        select(Notification).where(Notification.citizen_id == query.citizen_id).order_by(Notification.created_at)
    )
    items = []
    for notification in notifications:
        # The event's data may hold sealed one-time codes: the subject and template say what it was.
        item = row_data(notification, exclude=("citizen_id", "event_data", "trigger_event_id"))
        item["deliveries"] = rows_data(
            notification.deliveries, exclude=("id", "notification_id", "message_id", "requested_by")
        )
        items.append(item)
    return export_document(SERVICE, query.citizen_id, {"notifications": items})


def _counted_within_limit(uow: UnitOfWork, address: str, limit: RecipientLimit, now: datetime) -> bool:
    """Count one more on-demand mail to ``address``; whether it is still within the limit.

    One atomic upsert: concurrent consumers counting for the same address never lose a count.
    """
    insert = pg_insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    expired = RecipientMailCount.window_started_at <= now - limit.window
    statement = insert(RecipientMailCount).values(recipient_key=recipient_key(address), window_started_at=now, mails=1)
    counted = statement.on_conflict_do_update(
        index_elements=["recipient_key"],
        set_={
            "mails": case((expired, 1), else_=RecipientMailCount.mails + 1),
            "window_started_at": case((expired, now), else_=RecipientMailCount.window_started_at),
        },
    ).returning(RecipientMailCount.mails)
    mails = int(uow.session.execute(counted).scalar_one())
    return mails <= limit.mails


def _envelope(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "time": event.time.isoformat() if event.time else None}


@dataclass(frozen=True)
class CitizensNotifications:
    citizen_id: str
    page: int
    per_page: int


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    page: int
    per_page: int


def list_citizens_notifications(uow: UnitOfWork, deps: NotifyDeps, query: CitizensNotifications) -> NotificationPage:
    """A citizen's own notifications, newest first."""
    mine = Notification.citizen_id == query.citizen_id
    total = uow.session.scalar(select(func.count()).select_from(Notification).where(mine))
    items = uow.session.scalars(
        select(Notification)
        .where(mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    return NotificationPage(items=list(items), total=int(total or 0), page=query.page, per_page=query.per_page)


def _case_reference(data: dict[str, Any]) -> str | None:
    number = data.get("registration_number")
    return number[:64] if isinstance(number, str) and number else None


@dataclass(frozen=True)
class NotificationSearch:
    """An administrator's search: by the recipient's address (the whole address, any letter case), or
    by a case reference (a petition's or certificate's registration number, or the id of the
    petition, application or certificate the event was about); exactly one of the two."""

    admin_units: frozenset[str]
    page: int
    per_page: int
    recipient: str | None = None
    reference: str | None = None


def search_notifications(uow: UnitOfWork, deps: NotifyDeps, query: NotificationSearch) -> NotificationPage:
    """The notifications that match, newest first, of the units the administrator administers."""
    if not query.admin_units:
        raise AdminsOnly()
    if query.recipient is not None:
        matching = func.lower(Notification.recipient_email) == query.recipient.strip().lower()
    else:
        reference = (query.reference or "").strip()
        matching = or_(Notification.case_reference == reference, Notification.trigger_subject == reference)
    newest_first = (Notification.created_at.desc(), Notification.id.desc())
    offset = (query.page - 1) * query.per_page
    if ANY_UNIT in query.admin_units:
        total = uow.session.scalar(select(func.count()).select_from(Notification).where(matching))
        items = uow.session.scalars(
            select(Notification).where(matching).order_by(*newest_first).limit(query.per_page).offset(offset)
        ).all()
        return NotificationPage(items=list(items), total=int(total or 0), page=query.page, per_page=query.per_page)
    candidates = uow.session.execute(
        select(Notification.id, Notification.event_data)
        .where(matching)
        .order_by(*newest_first)
        .limit(SEARCH_SCAN_LIMIT)
    ).all()
    visible = [row.id for row in candidates if may_handle(set(query.admin_units), row.event_data)]
    wanted = visible[offset : offset + query.per_page]
    loaded = {n.id: n for n in uow.session.scalars(select(Notification).where(Notification.id.in_(wanted)))}
    logger.info("notification search: %d of %d matches in the administrator's units", len(visible), len(candidates))
    return NotificationPage(
        items=[loaded[i] for i in wanted], total=len(visible), page=query.page, per_page=query.per_page
    )


@dataclass(frozen=True)
class ResendNotification:
    notification_id: str
    #: The administrator's staff account id, and the units they administer.
    requested_by: str
    admin_units: frozenset[str]


def resend_notification(uow: UnitOfWork, deps: NotifyDeps, command: ResendNotification) -> Notification:
    """A new delivery of the same notification, due now; the earlier ones keep their final status.

    Only an administrator of a unit the notification was sent for may ask (``admin_units``).
    """
    try:
        notification_id = str(uuid.UUID(command.notification_id))
    except ValueError:
        raise NotificationNotFound() from None
    notification = uow.session.get(Notification, notification_id, with_for_update=True)
    if notification is None:
        raise NotificationNotFound()
    if not may_handle(set(command.admin_units), notification.event_data):
        raise NotificationOutOfScope()
    latest = notification.latest_delivery
    if DeliveryStatus(latest.status) not in FINAL_STATUSES:
        raise DeliveryInProgress()
    number = latest.number + 1
    now = uow.clock.now()
    notification.deliveries.append(
        DeliveryRow(
            id=str(uuid.uuid4()),
            number=number,
            status=DeliveryStatus.CREATED.value,
            attempts=0,
            next_attempt_at=now,
            message_id=message_id_for(
                notification.trigger_event_id, delivery_number=number, domain=deps.settings.message_id_domain
            ),
            requested_by=command.requested_by,
            created_at=now,
        )
    )
    record_staff_action(
        uow,
        command.requested_by,
        action="notification.resend",
        subject=AuditSubject("notification", notification.id),
        role="admin",
        unit=_only(command.admin_units),
    )
    uow.commit()
    # Audit trail: who asked for which notification to go again (ids only, no personal data).
    logger.info(
        "audit: resend of notification %s (delivery %d) requested by staff %s",
        notification.id, number, command.requested_by,
    )  # fmt: skip
    return notification


def _only(units: frozenset[str]) -> str | None:
    """The unit an administrator acted in, when they administer one (or every one: ``*``)."""
    return "*" if "*" in units else (next(iter(units)) if len(units) == 1 else None)


@dataclass(frozen=True)
class PurgeFinishedNotifications:
    #: Notifications recorded longer ago than this, all of whose deliveries have finished, go.
    older_than: timedelta


def purge_finished_notifications(uow: UnitOfWork, deps: NotifyDeps, command: PurgeFinishedNotifications) -> int:
    """Delete notifications past the retention period whose deliveries have all finished; how many.

    A notification holds the recipient's address, name and the event's data; keeping them longer
    than the retention period serves nobody.
    """
    cutoff = uow.clock.now() - command.older_than
    unfinished = (
        select(DeliveryRow.notification_id)
        .where(DeliveryRow.status.not_in([s.value for s in FINAL_STATUSES]))
        .scalar_subquery()
    )
    session = uow.session
    doomed = select(Notification.id).where(Notification.created_at < cutoff, Notification.id.not_in(unfinished))
    ids = list(session.scalars(doomed))
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(delete(DeliveryRow).where(DeliveryRow.notification_id.in_(chunk)))
        session.execute(delete(Notification).where(Notification.id.in_(chunk)))
    session.execute(delete(RecipientMailCount).where(RecipientMailCount.window_started_at < cutoff))
    uow.commit()
    return len(ids)
