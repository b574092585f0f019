"""docs/data-dictionary.md: generated from the contracts, current, and complete."""

from __future__ import annotations

from pathlib import Path

import mai_contracts
from mai_eventtool.dictionary import field_entries, render_data_dictionary

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "docs" / "data-dictionary.md"


def test_the_committed_data_dictionary_is_what_the_generator_produces_now() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_data_dictionary(), (
        "docs/data-dictionary.md is stale: run `mai-events dictionary > docs/data-dictionary.md`"
    )


def test_every_topic_has_a_section_with_its_owner_key_partitions_retention_and_consumers() -> None:
    text = render_data_dictionary()
    for topic in mai_contracts.load_topics(include_dlq=False):
        section = text.split(f"\n## {topic.name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**Owner:** {topic.owner}" in section
        assert f"**Key:** `{topic.key}`; **partitions:** {topic.partitions}" in section
        assert f"**classification:** {topic.classification}" in section
        for consumer in topic.consumers:
            assert consumer in section


def test_fields_carry_type_requirement_and_pii_flag_nested_ones_included() -> None:
    entries = {e.name: e for e in field_entries("ro.mai.petition.submitted.v1")}
    assert entries["petition_id"].type == "string (uuid)" and entries["petition_id"].required == "yes"
    assert entries["citizen_id"].required == "no"
    # Nested: required inside `recipient`, which a petition received on paper without an address lacks.
    assert entries["recipient.email"].pii and entries["recipient.email"].required == "no"
    assert not entries["recipient.language"].pii


def test_a_field_required_only_under_a_condition_says_when() -> None:
    entries = {e.name: e for e in field_entries("ro.mai.identity.verified.v1")}
    assert entries["provider"].required == "when `method` = `eid_provider`"
    assert entries["unit"].required == "when `method` = `counter`"
