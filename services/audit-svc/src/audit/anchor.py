"""The audit trail's external anchor: signed checkpoints of the chain's head, kept on the broker.

The hash chain shows a removed or altered row anywhere but at the end: removing the newest rows
leaves a shorter chain that still checks out. So ``audit-svc anchor`` (hourly) publishes the head
of the chain — its position ``seq`` and ``row_hash`` — as a ``audit.checkpoint`` event, signed
with HMAC-SHA256 under a key the database does not hold (``AUDIT_CHECKPOINT_KEYS``), onto a topic
only audit-svc may write and the broker keeps for ten years. ``audit-svc verify-audit`` reads the
newest checkpoints back and fails when the table no longer holds an anchored row with the anchored
hash; a checkpoint whose signature does not check out is reported and never trusted.

The signature covers the sorted compact JSON of every field but itself; the first key signs, all
of them check (newest first, so a key can rotate), and ``key_fingerprint`` says which one signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from mai_chassis import Database, DomainEvent, Event, UnitOfWork
from mai_chassis.metrics import CallbackGauge, register_collector
from mai_chassis.tables import OutboxEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from .chain import GENESIS, _instant
from .deps import AuditDeps
from .tables import AuditRecord

__all__ = [
    "CHAIN",
    "CHECKPOINT_TOPIC",
    "CHECKPOINT_TYPE",
    "AnchorChain",
    "AnchorFinding",
    "AnchorReport",
    "AuditCheckpointed",
    "CheckAnchors",
    "CheckpointSigner",
    "anchor_chain",
    "check_anchors",
    "missing_rows",
    "read_checkpoints",
    "register_checkpoint_gauges",
]

logger = logging.getLogger(__name__)

#: The one chain audit-svc keeps: the checkpoints' Kafka key, so they stay on one partition, in order.
CHAIN = uuid.uuid5(uuid.NAMESPACE_URL, "https://e-services.mai.gov.ro/audit-svc/audit-trail")
CHECKPOINT_TYPE = "ro.mai.audit.checkpoint.v1"
CHECKPOINT_TOPIC = "audit.checkpoint"
#: A key shorter than this is refused: HMAC-SHA256 wants at least 256 bits of secret.
MIN_KEY_LENGTH = 32
_SIGNED_FIELDS = ("anchored_at", "chain_id", "key_fingerprint", "row_hash", "seq")


@dataclass(frozen=True)
class AuditCheckpointed(DomainEvent):
    """The chain's head at ``anchored_at``: row ``seq`` had hash ``row_hash`` (signed)."""

    type: ClassVar[str] = CHECKPOINT_TYPE
    subject_field: ClassVar[str] = "chain_id"

    chain_id: uuid.UUID
    seq: int
    row_hash: str
    #: UTC with microseconds and a ``Z``, exactly as signed.
    anchored_at: str
    #: Which key signed: the first 16 hexadecimal digits of its SHA-256.
    key_fingerprint: str
    signature: str


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _signed_bytes(fields: Mapping[str, Any]) -> bytes:
    values = {name: fields[name] for name in _SIGNED_FIELDS}
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class CheckpointSigner:
    """Signs checkpoints with the first key and checks them with any of ``keys`` (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one checkpoint key is required")
        if any(len(key) < MIN_KEY_LENGTH for key in keys):
            raise ValueError(f"every checkpoint key must be at least {MIN_KEY_LENGTH} characters")
        self._keys = {_fingerprint(key.encode()): key.encode() for key in keys}
        self._signing_fingerprint = _fingerprint(keys[0].encode())

    def sign(self, *, seq: int, row_hash: str, anchored_at: datetime, chain_id: uuid.UUID = CHAIN) -> AuditCheckpointed:
        fields: dict[str, Any] = {
            "chain_id": str(chain_id),
            "seq": seq,
            "row_hash": row_hash,
            "anchored_at": _instant(anchored_at),
            "key_fingerprint": self._signing_fingerprint,
        }
        signature = hmac.new(self._keys[self._signing_fingerprint], _signed_bytes(fields), hashlib.sha256).hexdigest()
        return AuditCheckpointed(**{**fields, "chain_id": chain_id}, signature=signature)

    def is_genuine(self, data: Mapping[str, Any]) -> bool:
        """Whether ``data`` (a checkpoint event's data) carries a signature one of the keys made."""
        try:
            key = self._keys.get(str(data["key_fingerprint"]))
            signed = _signed_bytes(data)
            signature = str(data["signature"])
        except (KeyError, TypeError, ValueError):
            return False
        if key is None:
            return False
        return hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).hexdigest(), signature)


@dataclass(frozen=True)
class AnchorChain:
    """Anchor the chain's current head (``audit-svc anchor``)."""


def anchor_chain(uow: UnitOfWork, deps: AuditDeps, command: AnchorChain) -> AuditCheckpointed:
    """Publish the signed head of the chain (through the outbox: the worker's relay sends it).

    A checkpoint is published even when the head has not moved since the last one: the alert on
    a missing checkpoint tells a stopped anchor from a quiet trail that way.
    """
    signer = deps.checkpoint_signer()
    last = uow.session.execute(
        select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, head = (int(last.seq), str(last.row_hash)) if last is not None else (0, GENESIS)
    checkpoint = signer.sign(seq=seq, row_hash=head, anchored_at=uow.clock.now())
    uow.publish(checkpoint)
    uow.commit()
    logger.info("audit chain anchored at row %d", seq)
    return checkpoint


@dataclass(frozen=True)
class AnchorFinding:
    """A checkpoint the table does not match, or one whose signature is refused."""

    seq: int
    anchored_at: str
    problem: str

    def __str__(self) -> str:
        return f"checkpoint of row {self.seq} ({self.anchored_at}): {self.problem}"


@dataclass(frozen=True)
class AnchorReport:
    #: Checkpoints whose signature checked out and whose row the table holds with the anchored hash.
    confirmed: int
    #: The newest genuine checkpoint's position (None: no genuine checkpoint was read).
    newest_seq: int | None
    findings: tuple[AnchorFinding, ...]

    @property
    def holds(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class CheckAnchors:
    #: The data of the checkpoint events read back from the broker (any order).
    checkpoints: Sequence[Mapping[str, Any]]


def missing_rows(anchored_seq: int, last_stored_seq: int) -> str:
    """The rows an anchor saw that the table no longer has: ``"7"`` or ``"5-7"``."""
    first = last_stored_seq + 1
    return f"{first}" if first == anchored_seq else f"{first}-{anchored_seq}"


def check_anchors(uow: UnitOfWork, deps: AuditDeps, command: CheckAnchors) -> AnchorReport:
    """Check each checkpoint's signature, then that the table holds its row with its hash."""
    signer = deps.checkpoint_signer()
    findings: list[AnchorFinding] = []
    confirmed, newest = 0, None
    stored = _stored_hashes(uow.session, {_seq_of(c) for c in command.checkpoints if _seq_of(c) > 0})
    last_stored = uow.session.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    for data in sorted(command.checkpoints, key=_seq_of):
        seq, at = _seq_of(data), str(data.get("anchored_at", "?"))
        if not signer.is_genuine(data):
            findings.append(AnchorFinding(seq, at, "its signature is refused (not made by a checkpoint key)"))
            continue
        newest = seq if newest is None else max(newest, seq)
        if seq == 0:
            confirmed += 1
        elif seq not in stored:
            gone = missing_rows(seq, last_stored) if seq > last_stored else f"{seq}"
            rows = f"rows {gone} are" if "-" in gone else f"row {gone} is"
            findings.append(AnchorFinding(seq, at, f"{rows} missing (removed after the checkpoint was made)"))
        elif stored[seq] != data.get("row_hash"):
            findings.append(AnchorFinding(seq, at, f"row {seq} has another hash than anchored (rewritten)"))
        else:
            confirmed += 1
    return AnchorReport(confirmed=confirmed, newest_seq=newest, findings=tuple(findings))


def _seq_of(data: Mapping[str, Any]) -> int:
    try:
        return int(data.get("seq", -1))
    except (TypeError, ValueError):
        return -1


def _stored_hashes(session: Session, positions: Iterable[int]) -> dict[int, str]:
    wanted = sorted(positions)
    if not wanted:
        return {}
    rows = session.execute(select(AuditRecord.seq, AuditRecord.row_hash).where(AuditRecord.seq.in_(wanted)))
    return {int(row.seq): str(row.row_hash) for row in rows}


def read_checkpoints(
    *,
    bootstrap_servers: str,
    topic_prefix: str = "",
    security: Mapping[str, Any] | None = None,
    newest: int | None = 24,
    timeout: float = 15.0,
) -> list[Event]:
    """The newest ``newest`` checkpoint events of each partition of the checkpoint topic (None: all).

    Reads without a consumer group (nothing is committed); raises ``RuntimeError`` when the topic
    cannot be read within ``timeout`` seconds.
    """
    from kafka import TopicPartition
    from mai_chassis import kafka_clients
    from mai_chassis.events import EventDecodeError, decode_event

    topic = topic_prefix + CHECKPOINT_TOPIC
    consumer = kafka_clients.consumer(
        bootstrap_servers=bootstrap_servers,
        security=security,
        group_id=None,
        enable_auto_commit=False,
        client_id="audit-svc-verify",
        request_timeout_ms=int(timeout * 1000) + 1000,
    )
    try:
        deadline = time.monotonic() + timeout
        partitions = None
        while partitions is None and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                time.sleep(0.2)
        if not partitions:
            raise RuntimeError(f"the checkpoint topic {topic} cannot be read")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        ends = consumer.end_offsets(assigned)
        starts = consumer.beginning_offsets(assigned)
        for tp in assigned:
            consumer.seek(tp, starts[tp] if newest is None else max(starts[tp], ends[tp] - newest))
        events: list[Event] = []
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the checkpoint topic {topic} was not read to its end in {timeout:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        event = decode_event(record.value, record.key)
                    except EventDecodeError:
                        logger.warning("a message on %s is not a checkpoint event (offset %d)", topic, record.offset)
                        continue
                    if event.type == CHECKPOINT_TYPE:
                        events.append(event)
        return events
    finally:
        consumer.close()


def _newest_published(database: Database) -> Mapping[str, Any] | None:
    """The data of the newest checkpoint the broker acknowledged (the outbox keeps a week of them)."""
    with database.session() as session:
        payload = session.scalar(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == CHECKPOINT_TYPE, OutboxEvent.published_at.is_not(None))
            .order_by(OutboxEvent.seq.desc())
            .limit(1)
        )
    if payload is None:
        return None
    data: Mapping[str, Any] = json.loads(payload)["data"]
    return data


def register_checkpoint_gauges(database: Database) -> None:
    """The worker's gauges of the newest checkpoint on the broker: its row and when it was made.

    ``audit_checkpoint_last_timestamp_seconds`` is 0 before the first one, so that the alert on a
    missing checkpoint fires for an anchor that never ran as well.
    """

    def last_seq() -> float:
        newest = _newest_published(database)
        return float(newest["seq"]) if newest is not None else float("nan")

    def last_time() -> float:
        newest = _newest_published(database)
        if newest is None:
            return 0.0
        return datetime.fromisoformat(str(newest["anchored_at"])).astimezone(UTC).timestamp()

    labels = {"service": "audit-svc"}
    register_collector(
        CallbackGauge(
            "audit_checkpoint_last_seq",
            "Position of the audit chain's row in the newest checkpoint the broker acknowledged.",
            labels,
            last_seq,
        )
    )
    register_collector(
        CallbackGauge(
            "audit_checkpoint_last_timestamp_seconds",
            "When the newest checkpoint the broker acknowledged was made (Unix time; 0: none yet).",
            labels,
            last_time,
        )
    )
