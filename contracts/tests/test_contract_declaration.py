"""Tests of the topic declaration: every topic of the design, its settings and its dead-letter topic."""

from __future__ import annotations

import re

import mai_contracts
import pytest
from mai_contracts import DLQ_SUFFIX, Topic

DESIGN_TOPICS = {
    "petition.submitted": "petition-svc",
    "petition.forwarded": "petition-svc",
    "petition.answered": "petition-svc",
    "petition.closed": "petition-svc",
    "petition.deadline_extended": "petition-svc",
    "petition.deadline_reminder_issued": "petition-svc",
    "account.registered": "identity-svc",
    "identity.verified": "identity-svc",
    "account.email_confirmation_requested": "identity-svc",
    "account.password_reset_requested": "identity-svc",
    "account.registration_repeated": "identity-svc",
    "account.login_throttled": "identity-svc",
    "account.deleted": "identity-svc",
    "certificate.requested": "record-svc",
    "certificate.issued": "record-svc",
    "certificate.refused": "record-svc",
    "certificate.revoked": "record-svc",
    "certificate.referral_decided": "record-svc",
    "application.submitted": "booking-svc",
    "application.reviewed": "booking-svc",
    "appointment.booked": "booking-svc",
    "appointment.cancelled": "booking-svc",
    "appointment.moved": "booking-svc",
    "application.ready": "booking-svc",
    "notification.sent": "notify-svc",
    "notification.failed": "notify-svc",
    "petition.staff_action": "petition-svc",
    "identity.staff_action": "identity-svc",
    "record.staff_action": "record-svc",
    "booking.staff_action": "booking-svc",
    "notify.staff_action": "notify-svc",
    # The audit chain's signed head, outside audit-svc's database.
    "audit.checkpoint": "audit-svc",
}
STAFF_ACTION_TOPICS = {name for name in DESIGN_TOPICS if name.endswith(".staff_action")}
CITIZEN_MUST_HEAR = {
    "petition.submitted",
    "petition.forwarded",
    "petition.answered",
    "petition.deadline_extended",
    "account.registered",
    "identity.verified",
    "account.email_confirmation_requested",
    "account.password_reset_requested",
    "account.registration_repeated",
    "account.login_throttled",
    "account.deleted",
    "certificate.issued",
    "certificate.refused",
    "certificate.revoked",
    "application.reviewed",
    "appointment.booked",
    "appointment.cancelled",
    "appointment.moved",
    "application.ready",
}
MAIN_TOPICS = mai_contracts.load_topics(include_dlq=False)


def test_every_topic_of_the_design_is_declared_once_with_its_owner() -> None:
    # The design's topics stay as they are; a new topic is declared in topics.yaml alone.
    declared = {t.name: t.owner for t in MAIN_TOPICS}
    assert {name: declared.get(name) for name in DESIGN_TOPICS} == DESIGN_TOPICS
    assert len({t.name for t in MAIN_TOPICS}) == len(MAIN_TOPICS)


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_topic_is_named_entity_dot_event_with_a_versioned_event_type(declared: Topic) -> None:
    # The event part may join words with "_" (account.password_reset_requested).
    assert re.fullmatch(r"[a-z]+\.[a-z]+(_[a-z]+)*", declared.name)
    assert declared.event_type == f"ro.mai.{declared.name}.v1"
    if declared.name in STAFF_ACTION_TOPICS:
        assert declared.schema_file == "staff.action.v1.schema.json"
    else:
        assert declared.schema_file == f"{declared.name}.v1.schema.json"


def test_every_service_publishes_its_staff_actions_on_a_topic_of_its_own_for_the_audit_store() -> None:
    staff_topics = [t for t in MAIN_TOPICS if t.schema_file == "staff.action.v1.schema.json"]
    assert {t.name for t in staff_topics} == STAFF_ACTION_TOPICS
    # One owner per topic: the consumer's producer check (source == owner) stays exact.
    assert len({t.owner for t in staff_topics}) == len(staff_topics)
    assert {t.owner for t in staff_topics} == {DESIGN_TOPICS[name] for name in STAFF_ACTION_TOPICS}
    assert all(t.consumers == ("audit-svc",) and t.key == "action_id" for t in staff_topics)


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_topic_is_sized_for_production(declared: Topic) -> None:
    assert declared.partitions in (3, 6)
    assert declared.replication_factor == 3
    assert declared.min_insync_replicas == 2
    assert declared.retention_ms >= 7 * 86_400_000
    assert declared.description


def test_notify_svc_consumes_every_event_a_citizen_must_hear_about_and_no_other() -> None:
    consumed = {t.name for t in MAIN_TOPICS if "notify-svc" in t.consumers}
    assert CITIZEN_MUST_HEAR <= consumed
    # An event is mailed exactly when its data names a recipient (the citizen's name, e-mail, language).
    addressed = {t.name for t in MAIN_TOPICS if "recipient" in _data_properties(t)}
    assert consumed == addressed


def _data_properties(declared: Topic) -> dict:
    schema = mai_contracts.schema(declared.event_type)
    data = schema.get("properties", {}).get("data")
    return (data if isinstance(data, dict) and "properties" in data else schema).get("properties", {})


def test_record_and_booking_services_learn_of_verified_citizens() -> None:
    verified = mai_contracts.topic("identity.verified")
    assert {"record-svc", "booking-svc"} <= set(verified.consumers)


def test_no_service_consumes_its_own_topic() -> None:
    for declared in MAIN_TOPICS:
        assert declared.owner not in declared.consumers, declared.name


def test_every_topic_has_a_dead_letter_topic() -> None:
    dead_letters = {t.name for t in mai_contracts.load_topics() if t.is_dlq}
    # The redaction stream consumes every topic, so every topic has its dead letters.
    assert dead_letters == {t.name + DLQ_SUFFIX for t in MAIN_TOPICS}
    assert "petition.closed.dlq" in dead_letters  # consumed by no service, but by the redaction stream


def test_dead_letter_topic_keeps_its_source_contract_for_longer() -> None:
    source = mai_contracts.topic("identity.verified")
    dlq = mai_contracts.topic("identity.verified.dlq")
    assert dlq.is_dlq and not source.is_dlq
    assert dlq.retention_ms > source.retention_ms
    assert dlq.partitions in (source.partitions, 1)
    assert (dlq.event_type, dlq.schema_file, dlq.key, dlq.classification, dlq.owner) == (
        source.event_type,
        source.schema_file,
        source.key,
        source.classification,
        source.owner,
    )
    assert dlq.consumers == ()


def test_load_topics_lists_dead_letters_only_when_asked() -> None:
    with_dlq = mai_contracts.load_topics()
    assert len(with_dlq) > len(MAIN_TOPICS)
    assert with_dlq[: len(MAIN_TOPICS)] == MAIN_TOPICS


def test_callers_cannot_change_the_cached_declaration() -> None:
    mai_contracts.load_topics().clear()
    assert len(mai_contracts.load_topics(include_dlq=False)) == len(MAIN_TOPICS)
    with pytest.raises(AttributeError):
        mai_contracts.topic("petition.submitted").partitions = 1  # type: ignore[misc]


def test_event_type_leads_to_the_main_topic_not_its_dead_letters() -> None:
    found = mai_contracts.topic_for_event_type("ro.mai.identity.verified.v1")
    assert found.name == "identity.verified"


def test_unknown_names_are_refused_clearly() -> None:
    with pytest.raises(KeyError, match=re.escape("petition.deleted")):
        mai_contracts.topic("petition.deleted")
    with pytest.raises(KeyError, match=re.escape("ro.mai.petition.deleted.v1")):
        mai_contracts.topic_for_event_type("ro.mai.petition.deleted.v1")
