"""The hash chain: each row's hash covers the row before it, so removals and changes show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit.chain import GENESIS, canonical_row, find_break, row_hash

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _chain(length: int) -> list[dict[str, Any]]:
    rows, previous = [], GENESIS
    for seq in range(1, length + 1):
        row: dict[str, Any] = {
            "seq": seq,
            "event_id": f"event-{seq}",
            "service": "petition-svc",
            "actor_id": "clerk-1",
            "role": "petition_clerk",
            "unit": "IGPR",
            "action": "petition.answer",
            "subject_type": "petition",
            "subject_id": f"petition-{seq}",
            "subject_number": f"IGPR-2026-{seq:06d}",
            "occurred_at": START + timedelta(minutes=seq),
            "outcome": "succeeded",
            "recorded_at": START + timedelta(minutes=seq, seconds=1),
        }
        row["prev_hash"], row["row_hash"] = previous, row_hash(previous, row)
        previous = row["row_hash"]
        rows.append(row)
    return rows


def test_an_untouched_chain_checks_out() -> None:
    assert find_break(_chain(5)) is None


def test_a_row_removed_from_the_middle_is_named() -> None:
    rows = _chain(5)
    del rows[2]
    broken = find_break(rows)
    assert broken is not None and broken.seq == 3
    assert "missing" in broken.reason


def test_an_altered_field_breaks_the_chain_at_that_row() -> None:
    rows = _chain(5)
    rows[3]["action"] = "petition.close"
    broken = find_break(rows)
    assert broken is not None and (broken.seq, "altered" in broken.reason) == (4, True)


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_chain_at_the_next_row() -> None:
    rows = _chain(5)
    rows[1]["actor_id"] = "someone-else"
    rows[1]["row_hash"] = row_hash(rows[1]["prev_hash"], rows[1])
    broken = find_break(rows)
    assert broken is not None and broken.seq == 3
    assert "previous hash" in broken.reason


def test_the_first_row_must_start_from_the_genesis_hash() -> None:
    rows = _chain(3)[1:]
    broken = find_break(rows)
    assert broken is not None and broken.seq == 1


def test_a_walk_continues_from_an_earlier_batch() -> None:
    rows = _chain(6)
    assert find_break(rows[3:], previous_hash=rows[2]["row_hash"], first_seq=4) is None


def test_the_canonical_row_is_stable_whatever_the_time_zone_of_its_instants() -> None:
    row = _chain(1)[0]
    bucharest = dict(
        row, occurred_at=row["occurred_at"].astimezone(__import__("zoneinfo").ZoneInfo("Europe/Bucharest"))
    )
    naive_utc = dict(row, recorded_at=row["recorded_at"].replace(tzinfo=None))
    assert canonical_row(row) == canonical_row(bucharest) == canonical_row(naive_utc)
    assert b'"occurred_at":"2026-03-02T09:01:00.000000Z"' in canonical_row(row)
