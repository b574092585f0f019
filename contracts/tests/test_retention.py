"""The retention table: every class well formed, its terms counted in calendar days, its doc in step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mai_contracts
import pytest
from mai_contracts.retention import Term, kept_after_account_deletion, retention_class, retention_classes

DOC = Path(__file__).parents[2] / "docs" / "data-retention.md"


def test_every_class_has_a_known_action_a_term_and_a_basis() -> None:
    for entry in retention_classes():
        assert entry.basis, entry.name
        if entry.service != "kafka":
            Term.parse(entry.term_text)


def test_the_issue_s_classes_are_all_declared() -> None:
    names = {entry.name for entry in retention_classes()}
    assert {
        "closed-petitions", "unconfirmed-accounts", "inactive-accounts", "immigration-documents",
        "expired-certificates", "delivered-notifications", "outbox", "idempotency-records", "kafka-topics",
    } <= names  # fmt: skip


def test_years_and_months_move_the_calendar_date() -> None:
    now = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
    assert Term.parse("P10Y").cutoff(now) == datetime(2016, 3, 15, 4, 0, tzinfo=UTC)
    assert Term.parse("P1M").cutoff(now) == datetime(2026, 2, 15, 4, 0, tzinfo=UTC)
    assert Term.parse("P30D").cutoff(now) == datetime(2026, 2, 13, 4, 0, tzinfo=UTC)
    assert Term.parse("PT24H").cutoff(now) == datetime(2026, 3, 14, 4, 0, tzinfo=UTC)
    assert Term.parse("P1Y").cutoff(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "P", "10Y", "P1W", "P1.5Y", "PT"])
def test_a_malformed_term_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Term.parse(text)


def test_a_setting_overrides_the_declared_term() -> None:
    entry = retention_class("petition-svc", "closed-petitions")
    assert entry.term({}) == Term(years=10)
    assert entry.term({"PETITION_RETENTION": "P5Y"}) == Term(years=5)


def test_chassis_classes_belong_to_every_service() -> None:
    assert retention_class("booking-svc", "outbox").term({}) == Term(days=7)
    with pytest.raises(KeyError):
        retention_class("booking-svc", "unconfirmed-accounts")


def test_kafka_topics_refer_to_the_topic_declaration() -> None:
    entry = retention_class("kafka", "kafka-topics")
    assert "topics.yaml" in entry.basis
    assert all(topic.retention_ms > 0 for topic in mai_contracts.load_topics())


def test_the_document_describes_every_class_with_its_term_and_action() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for entry in retention_classes():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{entry.name}` ")), None)
        assert row is not None, f"docs/data-retention.md has no row for {entry.name}"
        assert f"`{entry.term_text}`" in row and entry.action in row, row
        if entry.setting:
            assert f"`{entry.setting}`" in row, row


def test_the_document_says_what_happens_to_each_class_when_an_account_is_deleted() -> None:
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split("## When a citizen's account is deleted", 1)[1].split("\n## ", 1)[0]
    for entry in retention_classes():
        if entry.on_account_deletion is None:
            continue
        rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
        row = next(("|".join(cells) for cells in rows if f"`{entry.name}`" in cells[1]), None)
        assert row is not None, f"the account-deletion table has no row for {entry.name}"
        assert entry.on_account_deletion in row, row


def test_what_a_deleted_account_leaves_behind_is_declared_with_its_basis() -> None:
    kept = kept_after_account_deletion()
    assert {(entry.service, entry.name) for entry in kept} == {
        ("petition-svc", "closed-petitions"),
        ("record-svc", "expired-certificates"),
    }
    assert all(entry.basis and entry.term_text.startswith("P") for entry in kept)
