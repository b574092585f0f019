"""The broker users and ACLs derived from the topic declaration: least privilege, nothing more."""

from __future__ import annotations

import mai_contracts
import pytest
from mai_contracts._access import READ_BACK
from mai_contracts._topics import SERVICES

ORIGINALS = mai_contracts.load_topics(include_dlq=False)
ANALYTICS = [t.name for t in mai_contracts.analytics_topics()]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_writes_exactly_the_topics_it_owns_and_the_dead_letters_of_those_it_consumes(service: str) -> None:
    user = mai_contracts.kafka_user(service)
    owned = {t.name for t in ORIGINALS if t.owner == service}
    consumed = {t.name for t in ORIGINALS if service in t.consumers}
    every_topic = [t.name for t in mai_contracts.load_topics()] + ANALYTICS

    writable = {name for name in every_topic if user.may("Write", "topic", name)}
    readable = {name for name in every_topic if user.may("Read", "topic", name)}

    assert writable == owned | {name + ".dlq" for name in consumed}
    # A topic its owner reads back (audit-svc's checkpoints) is the one exception.
    assert readable == consumed | (owned & READ_BACK)


def test_audit_svc_reads_back_its_checkpoints_without_a_group_of_its_own_for_them() -> None:
    audit = mai_contracts.kafka_user("audit-svc")

    assert audit.may("Read", "topic", "audit.checkpoint") and audit.may("Write", "topic", "audit.checkpoint")
    assert not mai_contracts.kafka_user("petition-svc").may("Read", "topic", "audit.checkpoint")
    assert READ_BACK <= {t.name for t in ORIGINALS}


def test_notify_svc_reads_what_it_tells_citizens_about_and_writes_only_its_outcomes() -> None:
    notify = mai_contracts.kafka_user("notify-svc")

    assert notify.may("Read", "topic", "petition.submitted")
    assert notify.may("Write", "topic", "notification.sent")
    assert not notify.may("Write", "topic", "identity.verified")
    assert not notify.may("Read", "topic", "notification.sent")
    assert notify.may("Read", "group", "notify-svc")
    assert not notify.may("Read", "group", "record-svc")


def test_a_service_reads_only_the_topics_it_consumes_under_its_own_group() -> None:
    petition = mai_contracts.kafka_user("petition-svc")

    assert petition.may("Read", "topic", "account.deleted")
    assert not petition.may("Read", "topic", "identity.verified")
    assert not petition.may("Read", "topic", "account.registered")
    assert [g.name for g in petition.grants if g.resource_type == "group"] == ["petition-svc"]


def test_the_analyst_reads_only_the_redacted_topics_and_writes_nothing() -> None:
    analyst = mai_contracts.kafka_user(mai_contracts.ANALYST)

    assert all(analyst.may("Read", "topic", name) for name in ANALYTICS)
    assert not any(analyst.may("Read", "topic", t.name) for t in mai_contracts.load_topics())
    assert not [g for g in analyst.grants if g.operation == "Write"]


def test_the_redaction_stream_writes_only_the_analytics_copies_and_dead_letters() -> None:
    redactor = mai_contracts.kafka_user(mai_contracts.REDACTOR)

    assert all(redactor.may("Read", "topic", t.name) for t in ORIGINALS)
    assert all(redactor.may("Write", "topic", name) for name in ANALYTICS)
    assert not any(redactor.may("Write", "topic", t.name) for t in ORIGINALS)


def test_the_archiver_reads_the_analytics_copies_and_nothing_else() -> None:
    archiver = mai_contracts.kafka_user(mai_contracts.ARCHIVER)

    assert all(archiver.may("Read", "topic", name) for name in ANALYTICS)
    assert not any(archiver.may("Read", "topic", t.name) for t in mai_contracts.load_topics())
    assert not [g for g in archiver.grants if g.operation == "Write"]


def test_a_test_run_prefix_is_part_of_every_resource_name() -> None:
    record = mai_contracts.kafka_user("record-svc", prefix="t0123abcd.")

    assert record.may("Read", "topic", "t0123abcd.identity.verified")
    assert not record.may("Read", "topic", "identity.verified")
    assert record.may("Read", "group", "t0123abcd.record-svc")


def test_an_unknown_user_is_refused() -> None:
    with pytest.raises(KeyError):
        mai_contracts.kafka_user("portal-svc")
