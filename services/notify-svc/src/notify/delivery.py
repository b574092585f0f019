"""The delivery loop: claims due deliveries, renders and sends each mail, records the outcome.

Several loops (threads, pods) share the queue: a claim locks rows with ``FOR UPDATE SKIP LOCKED``
and marks them ``sending`` with a lease before any mail leaves, so no two loops send one delivery.
The outcome is written afterwards, with ``notification.sent`` / ``notification.failed`` in the
outbox. A loop that dies mid-send leaves its rows ``sending`` until the lease ends; they are then
sent again with the same Message-ID, which lets mail systems drop the duplicate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import TemplateError
from mai_chassis import Database, UnitOfWork
from mai_chassis.logs import bind_context
from mai_chassis.sealing import Sealer, SealingError
from mai_chassis.wakeup import Wakeup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .domain import Delivery, DeliveryStatus, SendOutcome, address_is_deliverable
from .events import NotificationFailed, NotificationSent
from .mailer import MailTransport, OutgoingMail, SendResult, build_message
from .metrics import NOTIFICATION_SEND_SECONDS, NOTIFICATIONS
from .subscriptions import open_sealed_fields, sealed_paths
from .tables import DeliveryRow
from .template_registry import TemplateMissingError, TemplateRegistry

__all__ = ["DeliveryLoop", "DeliveryPolicy"]

logger = logging.getLogger(__name__)

SERVICE = "notify-svc"
#: The channel the deliveries table's insert trigger notifies (migration 0002).
DELIVERIES_CHANNEL = "notify_deliveries"
_UNFINISHED = (DeliveryStatus.CREATED.value, DeliveryStatus.SENDING.value, DeliveryStatus.TEMPORARY_FAILURE.value)


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    lease_seconds: float = 120.0
    batch_size: int = 50
    #: Pause after a partial batch, so that the next claim gathers what came meanwhile.
    idle_seconds: float = 0.5
    #: Longest wait for a new delivery's notification when nothing was due (retries fall due
    #: without one, so this bounds how late a retry can start).
    wait_seconds: float = 2.0
    #: After a new delivery wakes an idle loop, how long it lets more arrive before claiming.
    gather_seconds: float = 0.1
    #: An SMTP connection unused this long is closed; until then batches reuse it.
    smtp_idle_seconds: float = 5.0


@dataclass(frozen=True)
class _Claimed:
    delivery_id: str
    attempts: int
    notification_id: str
    event_id: str
    event_type: str
    event_time: str | None
    citizen_id: str | None
    language: str
    template_version: int
    event_data: dict[str, Any]
    to_address: str
    to_name: str
    message_id: str


class DeliveryLoop:
    """One delivery worker: a ``Runnable`` for the chassis' worker process."""

    def __init__(
        self,
        database: Database,
        *,
        registry: TemplateRegistry,
        transport_factory: Callable[[], MailTransport],
        mail_from: str,
        policy: DeliveryPolicy,
        sealer: Sealer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        name: str = "delivery",
        wakeup: Wakeup | None = None,
    ) -> None:
        self.database = database
        self.registry = registry
        self.transport_factory = transport_factory
        self.mail_from = mail_from
        self.policy = policy
        self.sealer = sealer
        self.clock = clock
        self.name = name
        self._transport: MailTransport | None = None
        self._last_sent = 0.0
        #: Shared by the loops of a process, so that a new delivery wakes one of them.
        self._wakeup = wakeup or delivery_wakeup(database, policy)

    # -- one round ---------------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Claim, send and record one batch of due deliveries; returns how many were attempted."""
        claimed, given_up = self._claim()
        if given_up:
            self._record(
                [
                    (item, SendResult(SendOutcome.TEMPORARY, None, "interrupted, attempts exhausted"))
                    for item in given_up
                ],
                already_final=True,
            )
        if not claimed:
            return len(given_up)
        results: list[tuple[_Claimed, SendResult]] = []
        unreachable = False
        for item in claimed:
            if unreachable:
                # The server did not answer at all: the rest of the batch waits for the retry
                # instead of each waiting out its own timeout (which could outlast the lease).
                results.append((item, SendResult(SendOutcome.TEMPORARY, None, "mail server unreachable")))
                continue
            result = self._send(item)
            unreachable = result.outcome is SendOutcome.TEMPORARY and result.smtp_status is None
            results.append((item, result))
        self._record(results)
        return len(claimed) + len(given_up)

    def _claim(self) -> tuple[list[_Claimed], list[_Claimed]]:
        now = self.clock()
        lease = timedelta(seconds=self.policy.lease_seconds)
        claimed: list[_Claimed] = []
        given_up: list[_Claimed] = []
        with self.database.session() as session, session.begin():
            rows = session.scalars(
                select(DeliveryRow)
                .options(joinedload(DeliveryRow.notification, innerjoin=True))
                .where(DeliveryRow.status.in_(_UNFINISHED), DeliveryRow.next_attempt_at <= now)
                .order_by(DeliveryRow.next_attempt_at)
                .limit(self.policy.batch_size)
                .with_for_update(skip_locked=True, of=DeliveryRow)
            ).all()
            for row in rows:
                delivery = Delivery(DeliveryStatus(row.status), row.attempts, _aware(row.next_attempt_at))
                status = delivery.claim(now, lease=lease, max_attempts=self.policy.max_attempts)
                row.status, row.attempts, row.next_attempt_at = (
                    status.value,
                    delivery.attempts,
                    delivery.next_attempt_at,
                )
                n = row.notification
                item = _Claimed(
                    delivery_id=row.id,
                    attempts=row.attempts,
                    notification_id=n.id,
                    event_id=n.trigger_event_id,
                    event_type=n.trigger_event_type,
                    event_time=n.trigger_time.isoformat() if n.trigger_time else None,
                    citizen_id=n.citizen_id,
                    language=n.language,
                    template_version=n.template_version,
                    event_data=dict(n.event_data),
                    to_address=n.recipient_email,
                    to_name=n.recipient_name,
                    message_id=row.message_id,
                )
                if status is DeliveryStatus.PERMANENT_FAILURE:
                    row.failed_at = now
                    given_up.append(item)
                else:
                    claimed.append(item)
        return claimed, given_up

    def _open_sealed(self, sealed: str) -> str:
        if self.sealer is None:
            raise SealingError("no sealing keys configured")
        return self.sealer.open(sealed)

    def _compose(self, item: _Claimed) -> OutgoingMail:
        data = item.event_data
        if sealed_paths(item.event_type):
            data = open_sealed_fields(item.event_type, data, self._open_sealed)
        context = self.registry.context(
            data, event={"id": item.event_id, "type": item.event_type, "time": item.event_time}, language=item.language
        )
        rendered = self.registry.render_mail(item.event_type, item.template_version, item.language, context)
        return OutgoingMail(
            message_id=item.message_id,
            to_address=item.to_address,
            to_name=item.to_name,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            language=item.language,
        )

    def _send(self, item: _Claimed) -> SendResult:
        with bind_context(event_id=item.event_id):
            if not address_is_deliverable(item.to_address):
                return SendResult(SendOutcome.PERMANENT, None, "invalid address")
            try:
                mail = self._compose(item)
            except SealingError:
                return SendResult(SendOutcome.PERMANENT, None, "sealed field cannot be opened")
            except (TemplateMissingError, TemplateError) as exc:
                logger.error("notification %s cannot be rendered: %s", item.notification_id, exc.__class__.__name__)
                return SendResult(SendOutcome.PERMANENT, None, "template cannot be rendered")
            message = build_message(mail, mail_from=self.mail_from)
            if self._transport is None:
                self._transport = self.transport_factory()
            started = time.perf_counter()
            result = self._transport.send(message)
            self._last_sent = time.monotonic()
            NOTIFICATION_SEND_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
            return result

    def _record(self, results: list[tuple[_Claimed, SendResult]], *, already_final: bool = False) -> None:
        now = self.clock()
        with self.database.unit_of_work(source=SERVICE) as uow:
            rows = {
                row.id: row
                for row in uow.session.scalars(
                    select(DeliveryRow)
                    .where(DeliveryRow.id.in_([item.delivery_id for item, _ in results]))
                    .with_for_update(of=DeliveryRow)
                )
            }
            for item, result in results:
                row = rows.get(item.delivery_id)
                if row is None:
                    continue
                if not already_final:
                    if row.status != DeliveryStatus.SENDING.value or row.attempts != item.attempts:
                        # Our lease ran out and another loop took the delivery over; its outcome wins.
                        logger.warning("delivery %s was taken over; outcome of this attempt dropped", row.id)
                        continue
                    delivery = Delivery(DeliveryStatus(row.status), row.attempts, _aware(row.next_attempt_at))
                    delivery.record(
                        result.outcome,
                        now,
                        max_attempts=self.policy.max_attempts,
                        retry_base_seconds=self.policy.retry_base_seconds,
                        retry_max_seconds=self.policy.retry_max_seconds,
                    )
                    row.status, row.next_attempt_at = delivery.status.value, delivery.next_attempt_at
                    row.smtp_status = result.smtp_status
                    row.last_error = result.reason or None
                status = DeliveryStatus(row.status)
                if status is DeliveryStatus.DELIVERED:
                    row.delivered_at = now
                    row.last_error = None
                    self._publish_sent(uow, item, row, now)
                    NOTIFICATIONS.labels(SERVICE, "sent").inc()
                elif status is DeliveryStatus.PERMANENT_FAILURE:
                    row.failed_at = now
                    self._publish_failed(uow, item, row, result, now)
                    NOTIFICATIONS.labels(SERVICE, "failed").inc()
                    logger.warning(
                        "notification %s delivery %d failed for good after %d attempt(s): %s",
                        item.notification_id, row.number, row.attempts, result.reason or result.outcome,
                    )  # fmt: skip
                else:
                    NOTIFICATIONS.labels(SERVICE, "retried").inc()
                    logger.info(
                        "notification %s delivery %d attempt %d failed (%s); next attempt at %s",
                        item.notification_id, row.number, row.attempts, result.reason, row.next_attempt_at,
                    )  # fmt: skip
            uow.commit()

    @staticmethod
    def _outcome(item: _Claimed, row: DeliveryRow) -> dict[str, Any]:
        """What ``notification.sent`` and ``notification.failed`` both say of a delivery."""
        return {
            "notification_id": item.notification_id,
            "trigger_event_id": item.event_id,
            "trigger_event_type": item.event_type,
            "template": item.event_type,
            "template_version": item.template_version,
            "language": item.language,
            "delivery": row.number,
            "attempts": max(1, row.attempts),
            "citizen_id": item.citizen_id or None,
        }

    def _publish_sent(self, uow: UnitOfWork, item: _Claimed, row: DeliveryRow, now: datetime) -> None:
        uow.publish(NotificationSent(**self._outcome(item, row), sent_at=now))

    def _publish_failed(
        self, uow: UnitOfWork, item: _Claimed, row: DeliveryRow, result: SendResult, now: datetime
    ) -> None:
        smtp_status = result.smtp_status
        uow.publish(
            NotificationFailed(
                **self._outcome(item, row),
                failure="permanent" if result.outcome is SendOutcome.PERMANENT else "retries_exhausted",
                failed_at=now,
                smtp_status=smtp_status if smtp_status is not None and 400 <= smtp_status <= 599 else None,
            )
        )

    # -- the loop ----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        backoff = 0.0
        logger.info("delivery loop %s started", self.name)
        while not stop.is_set():
            try:
                attempted = self.deliver_due()
                backoff = 0.0
                if attempted == 0:
                    if time.monotonic() - self._last_sent > self.policy.smtp_idle_seconds:
                        self._close_transport()  # do not hold an idle SMTP connection for long
                    self._wakeup.wait(self.policy.wait_seconds, stop)
                elif attempted < self.policy.batch_size:
                    stop.wait(self.policy.idle_seconds)
            except Exception as exc:
                backoff = min(10.0, max(0.5, backoff * 2))
                logger.warning("delivery loop %s paused %.1fs: %s", self.name, backoff, exc.__class__.__name__)
                self._close_transport()
                stop.wait(backoff)
        self._close_transport()
        self._wakeup.close()
        logger.info("delivery loop %s stopped", self.name)

    def _close_transport(self) -> None:
        if self._transport is not None:
            try:
                self._transport.close()
            except Exception:  # closing a broken connection may fail; it is discarded either way
                logger.debug("SMTP close failed", exc_info=True)
            self._transport = None


def delivery_wakeup(database: Database, policy: DeliveryPolicy) -> Wakeup:
    """What idle delivery loops wait on: a new row in ``deliveries`` (see migration 0002)."""
    return Wakeup(database, DELIVERIES_CHANNEL, fallback_interval=policy.idle_seconds, gather=policy.gather_seconds)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
