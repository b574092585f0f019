"""The audit trail's hash chain: each row's hash covers the previous row's hash and the row itself.

``row_hash = SHA-256(previous row_hash ‖ canonical row)``, the canonical row being its fields as
JSON with sorted keys and no spaces (instants in UTC, ``Z``), and the first row's previous hash 64
zeros. The position ``seq`` (1, 2, 3 … with no gap) is one of the fields, so a row removed from the
middle breaks the chain at the next row, a changed field breaks it at that row, and a row slipped
in anywhere breaks it too. Pure functions: no database here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["GENESIS", "HASHED_FIELDS", "ChainBreak", "canonical_row", "find_break", "row_hash"]

GENESIS = "0" * 64
#: The fields a row's hash covers, in the canonical form's (sorted) order.
HASHED_FIELDS = (
    "action",
    "actor_id",
    "event_id",
    "occurred_at",
    "outcome",
    "recorded_at",
    "role",
    "seq",
    "service",
    "subject_id",
    "subject_number",
    "subject_type",
    "unit",
)


def _instant(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_row(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: its hashed fields as sorted, compact JSON (UTF-8)."""
    values = {}
    for name in HASHED_FIELDS:
        value = row[name]
        values[name] = _instant(value) if isinstance(value, datetime) else value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def row_hash(previous_hash: str, row: Mapping[str, Any]) -> str:
    """H(previous hash ‖ canonical row), as 64 hexadecimal digits."""
    return hashlib.sha256(bytes.fromhex(previous_hash) + canonical_row(row)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored trail is not what was appended."""

    #: The position where the break shows (the row found there, or the one expected there).
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.reason}"


def find_break(
    rows: Iterable[Mapping[str, Any]], *, previous_hash: str = GENESIS, first_seq: int = 1
) -> ChainBreak | None:
    """Walk rows in ``seq`` order and return the first break, or None when every row checks out.

    ``previous_hash`` and ``first_seq`` continue a walk begun in an earlier batch.
    """
    expected_seq = first_seq
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            return ChainBreak(expected_seq, f"missing (rows {missing} were removed; the next stored row is {seq})")
        if row["prev_hash"] != previous_hash:
            return ChainBreak(seq, "its previous hash is not the hash of the row before it")
        if row_hash(previous_hash, row) != row["row_hash"]:
            return ChainBreak(seq, "its content does not match its hash (the row was altered)")
        previous_hash = str(row["row_hash"])
        expected_seq = seq + 1
    return None
