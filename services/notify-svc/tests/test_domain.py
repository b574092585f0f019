"""The delivery status machine, retry schedule and SMTP outcome classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from notify.domain import (
    Delivery,
    DeliveryStatus,
    IllegalTransitionError,
    SendOutcome,
    address_is_deliverable,
    classify_smtp_reply,
    message_id_for,
    retry_delay,
)

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
LEASE = timedelta(minutes=2)
RULES = {"max_attempts": 3, "retry_base_seconds": 30.0, "retry_max_seconds": 3600.0}


def claimed(**kwargs: object) -> Delivery:
    delivery = Delivery(**kwargs)  # type: ignore[arg-type]
    delivery.claim(NOW, lease=LEASE, max_attempts=3)
    return delivery


def test_a_new_delivery_is_claimed_into_sending_with_a_lease_and_one_attempt() -> None:
    delivery = claimed()
    assert delivery.status is DeliveryStatus.SENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == NOW + LEASE


def test_an_accepted_mail_is_delivered() -> None:
    delivery = claimed()
    assert delivery.record(SendOutcome.ACCEPTED, NOW, **RULES) is DeliveryStatus.DELIVERED
    assert delivery.is_final and delivery.next_attempt_at is None


def test_a_temporary_failure_is_retried_later_with_exponential_backoff() -> None:
    delivery = claimed()
    delivery.record(SendOutcome.TEMPORARY, NOW, **RULES)
    assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)
    assert not delivery.is_due(NOW)
    later = NOW + timedelta(seconds=30)
    delivery.claim(later, lease=LEASE, max_attempts=3)
    delivery.record(SendOutcome.TEMPORARY, later, **RULES)
    assert delivery.next_attempt_at == later + timedelta(seconds=60)


def test_temporary_failures_end_in_permanent_failure_when_attempts_run_out() -> None:
    delivery = Delivery()
    moment = NOW
    for _ in range(3):
        delivery.claim(moment, lease=LEASE, max_attempts=3)
        delivery.record(SendOutcome.TEMPORARY, moment, **RULES)
        moment += timedelta(hours=2)
    assert delivery.status is DeliveryStatus.PERMANENT_FAILURE
    assert delivery.attempts == 3


def test_a_permanent_refusal_is_not_retried() -> None:
    delivery = claimed()
    assert delivery.record(SendOutcome.PERMANENT, NOW, **RULES) is DeliveryStatus.PERMANENT_FAILURE
    assert not delivery.is_due(NOW + timedelta(days=1))


@pytest.mark.parametrize("final", [DeliveryStatus.DELIVERED, DeliveryStatus.PERMANENT_FAILURE])
def test_a_final_status_never_moves_back(final: DeliveryStatus) -> None:
    delivery = Delivery(status=final, attempts=1)
    with pytest.raises(IllegalTransitionError):
        delivery.claim(NOW, lease=LEASE, max_attempts=3)
    for outcome in SendOutcome:
        with pytest.raises(IllegalTransitionError):
            delivery.record(outcome, NOW, **RULES)
    assert delivery.status is final


def test_an_outcome_cannot_be_recorded_for_a_delivery_nobody_claimed() -> None:
    with pytest.raises(IllegalTransitionError):
        Delivery().record(SendOutcome.ACCEPTED, NOW, **RULES)


def test_a_delivery_being_sent_cannot_be_claimed_by_another_worker_before_its_lease_ends() -> None:
    delivery = claimed()
    with pytest.raises(IllegalTransitionError):
        delivery.claim(NOW + timedelta(seconds=10), lease=LEASE, max_attempts=3)


def test_a_delivery_whose_worker_died_is_claimed_again_after_its_lease() -> None:
    delivery = claimed()
    status = delivery.claim(NOW + LEASE, lease=LEASE, max_attempts=3)
    assert status is DeliveryStatus.SENDING
    assert delivery.attempts == 2


def test_an_interrupted_last_attempt_ends_in_permanent_failure() -> None:
    delivery = Delivery(status=DeliveryStatus.SENDING, attempts=3, next_attempt_at=NOW)
    assert delivery.claim(NOW, lease=LEASE, max_attempts=3) is DeliveryStatus.PERMANENT_FAILURE


def test_retry_delay_doubles_and_is_capped() -> None:
    delays = [retry_delay(n, base_seconds=30, max_seconds=600).total_seconds() for n in range(1, 7)]
    assert delays == [30, 60, 120, 240, 480, 600]


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (250, SendOutcome.ACCEPTED),
        (421, SendOutcome.TEMPORARY),
        (450, SendOutcome.TEMPORARY),
        (452, SendOutcome.TEMPORARY),
        (None, SendOutcome.TEMPORARY),
        (550, SendOutcome.PERMANENT),
        (553, SendOutcome.PERMANENT),
        (554, SendOutcome.PERMANENT),
    ],
)
def test_smtp_replies_are_classified(code: int | None, outcome: SendOutcome) -> None:
    assert classify_smtp_reply(code) is outcome


@pytest.mark.parametrize(
    ("address", "deliverable"),
    [
        ("ana.popescu@example.ro", True),
        ("john+mai@mail.example.co.uk", True),
        ("no-at-sign.example.ro", False),
        ("ana@localhost", False),
        ("ana popescu@example.ro", False),
        ("ana@example.ro\r\nBcc: x@example.ro", False),
        ("<ana@example.ro>", False),
    ],
)
def test_only_addresses_an_smtp_server_could_take_are_deliverable(address: str, deliverable: bool) -> None:
    assert address_is_deliverable(address) is deliverable


def test_the_message_id_derives_from_the_event_and_a_resend_gets_its_own() -> None:
    event_id = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
    first = message_id_for(event_id, delivery_number=1, domain="notify.e-services.mai.gov.ro")
    assert first == f"<{event_id}@notify.e-services.mai.gov.ro>"
    assert first == message_id_for(event_id, delivery_number=1, domain="notify.e-services.mai.gov.ro")
    assert message_id_for(event_id, delivery_number=2, domain="notify.e-services.mai.gov.ro") != first
