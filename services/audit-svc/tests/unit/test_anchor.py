"""Anchoring the chain's head in signed checkpoints, and checking the trail against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import mai_contracts
import pytest
from audit.anchor import (
    AnchorChain,
    AuditCheckpointed,
    CheckAnchors,
    CheckpointSigner,
    anchor_chain,
    check_anchors,
    missing_rows,
)
from audit.chain import GENESIS
from audit.config import Settings
from audit.deps import AuditDeps
from audit.handlers import append_staff_action
from audit.tables import AuditRecord, Base
from mai_chassis import ConfigurationError, Event
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from sqlalchemy import delete, update

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "k" * 32
OLD_KEY = "o" * 40
DEPS = AuditDeps(settings=Settings(environment="test", log_json=False, audit_checkpoint_keys=(KEY,)))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Base.metadata, clock=FixedClock(AT), source="audit-svc")


@pytest.fixture
def append(uow: FakeUnitOfWork, staff_action_event: Callable[..., Event]) -> Callable[..., None]:
    """``append(count, start=0)``: that many staff actions, a minute apart, at the end of the chain."""

    def appended(count: int, start: int = 0) -> None:
        with uow:
            for minute in range(start, start + count):
                append_staff_action(uow, staff_action_event(minutes=minute))
            uow.commit()

    return appended


def _anchor(uow: FakeUnitOfWork, deps: AuditDeps = DEPS) -> dict[str, object]:
    with uow:
        checkpoint = anchor_chain(uow, deps, AnchorChain())
    return checkpoint.to_data()


def _check(uow: FakeUnitOfWork, *checkpoints: dict[str, object], deps: AuditDeps = DEPS) -> list[str]:
    with uow:
        report = check_anchors(uow, deps, CheckAnchors(checkpoints=list(checkpoints)))
    return [str(finding) for finding in report.findings]


def test_the_anchor_publishes_the_signed_head_of_the_chain_in_the_contracts_shape(
    uow: FakeUnitOfWork, append: Callable[..., None]
) -> None:
    append(3)
    data = _anchor(uow)
    [published] = uow.events_of(AuditCheckpointed)
    with uow:
        head = uow.session.get(AuditRecord, 3)
        assert head is not None
        assert (published.seq, published.row_hash) == (3, head.row_hash)
    assert data["anchored_at"] == "2026-03-02T09:00:00.000000Z"
    mai_contracts.validate("ro.mai.audit.checkpoint.v1", data)
    assert CheckpointSigner([KEY]).is_genuine(data)


def test_an_empty_trail_is_anchored_at_row_0(uow: FakeUnitOfWork) -> None:
    data = _anchor(uow)
    assert (data["seq"], data["row_hash"]) == (0, GENESIS)
    assert _check(uow, data) == []


def test_the_anchor_without_keys_is_refused(uow: FakeUnitOfWork) -> None:
    keyless = AuditDeps(settings=Settings(environment="test", log_json=False))
    with pytest.raises(ConfigurationError, match="AUDIT_CHECKPOINT_KEYS"), uow:
        anchor_chain(uow, keyless, AnchorChain())
    assert uow.published == []


def test_growth_after_an_anchor_keeps_the_checkpoints_holding(uow: FakeUnitOfWork, append: Callable[..., None]) -> None:
    append(2)
    first = _anchor(uow)
    append(3, start=2)
    second = _anchor(uow)
    append(1, start=5)
    assert _check(uow, second, first) == []


def test_removing_the_newest_anchored_rows_names_the_missing_range(
    uow: FakeUnitOfWork, append: Callable[..., None]
) -> None:
    append(5)
    data = _anchor(uow)
    with uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.seq >= 3))
        uow.commit()
    assert _check(uow, data) == [
        "checkpoint of row 5 (2026-03-02T09:00:00.000000Z): "
        "rows 3-5 are missing (removed after the checkpoint was made)"
    ]


def test_removing_only_the_newest_anchored_row_names_it(uow: FakeUnitOfWork, append: Callable[..., None]) -> None:
    append(2)
    data = _anchor(uow)
    with uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
        uow.commit()
    assert _check(uow, data) == [
        "checkpoint of row 2 (2026-03-02T09:00:00.000000Z): row 2 is missing (removed after the checkpoint was made)"
    ]


def test_a_rewritten_anchored_row_is_found_even_with_a_fresh_hash(
    uow: FakeUnitOfWork, append: Callable[..., None]
) -> None:
    append(2)
    data = _anchor(uow)
    with uow:
        uow.session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(row_hash="f" * 64))
        uow.commit()
    assert _check(uow, data) == [
        "checkpoint of row 2 (2026-03-02T09:00:00.000000Z): row 2 has another hash than anchored (rewritten)"
    ]


@pytest.mark.parametrize(
    "change",
    [{"seq": 1}, {"row_hash": "0" * 64}, {"anchored_at": "2026-03-02T10:00:00.000000Z"}, {"signature": "a" * 64}],
)
def test_an_altered_checkpoint_has_its_signature_refused(
    uow: FakeUnitOfWork, append: Callable[..., None], change: dict[str, object]
) -> None:
    append(2)
    forged = {**_anchor(uow), **change}
    [finding] = _check(uow, forged)
    assert "its signature is refused" in finding


def test_a_checkpoint_signed_with_another_key_is_refused_and_an_old_key_still_checks(
    uow: FakeUnitOfWork, append: Callable[..., None]
) -> None:
    append(1)
    old = AuditDeps(settings=replace(DEPS.settings, audit_checkpoint_keys=(OLD_KEY,)))
    by_old_key = _anchor(uow, old)
    assert "its signature is refused" in _check(uow, by_old_key)[0]
    rotated = AuditDeps(settings=replace(DEPS.settings, audit_checkpoint_keys=(KEY, OLD_KEY)))
    assert _check(uow, by_old_key, deps=rotated) == []
    assert _anchor(uow, rotated)["key_fingerprint"] == _anchor(uow)["key_fingerprint"]  # the first key signs


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        CheckpointSigner(["short"])


def test_the_missing_range_is_one_row_or_a_span() -> None:
    assert (missing_rows(7, 6), missing_rows(7, 4)) == ("7", "5-7")


def test_the_settings_read_the_checkpoint_keys_newest_first_and_refuse_a_short_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEYS", f"{KEY}, {OLD_KEY}")
    assert Settings.from_env().audit_checkpoint_keys == (KEY, OLD_KEY)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEYS", f"{KEY},short")
    with pytest.raises(ConfigurationError, match="AUDIT_CHECKPOINT_KEYS"):
        Settings.from_env()
