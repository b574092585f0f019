"""The ministry's questions answered from an archive the archiver wrote (redacted, with one replayed event)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mai_contracts
from mai_analysis.archive_questions import CHART_FILE, FIGURES_FILE, answer, main
from mai_analytics import Archiver
from mai_analytics.redaction import redacted_event
from mai_chassis.events import build_event, decode_event, encode_event

KEY = b"k" * 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def copy_of(event_type: str, when: datetime, **changes: Any) -> bytes:
    """The analytics topic's message for an event at ``when``: built, then redacted as the stream does."""
    data = dict(mai_contracts.schema(event_type)["examples"][0], **changes)
    event = build_event(event_type, source=mai_contracts.topic_for_event_type(event_type).owner,
                        subject=str(uuid.uuid4()), data=data, time=when)  # fmt: skip
    return encode_event(redacted_event(decode_event(encode_event(event)), KEY))


def archive(root: Path, values: list[bytes]) -> None:
    messages = [
        SimpleNamespace(
            topic=mai_contracts.ANALYTICS_PREFIX + mai_contracts.topic_for_event_type(decode_event(v).type).name,
            partition=0,
            offset=n,
            value=v,
        )
        for n, v in enumerate(values)
    ]
    archiver = Archiver(root, bootstrap_servers="unused:9092")
    archiver.write_batch(1, messages[: len(messages) // 2])
    archiver.write_batch(2, messages[len(messages) // 2 :])


def test_petitions_per_institution_per_month_answers_and_certificates_per_day(tmp_path: Path) -> None:
    march, april = datetime(2026, 3, 14, 9, tzinfo=UTC), datetime(2026, 4, 2, 9, tzinfo=UTC)
    submitted = "ro.mai.petition.submitted.v1"
    values = [
        copy_of(submitted, march, institution="IGPR", registered_at=iso(march)),
        copy_of(submitted, march, institution="IGPR", registered_at=iso(march + timedelta(days=3))),
        copy_of(submitted, april, institution="IGPR", registered_at=iso(april)),
        copy_of(submitted, april, institution="IGSU", registered_at=iso(april)),
        copy_of("ro.mai.petition.answered.v1", april, answered_at=iso(april), within_deadline=True),
        copy_of("ro.mai.petition.answered.v1", april, answered_at=iso(april), within_deadline=False),
    ]
    issued = "ro.mai.certificate.issued.v1"
    for n, when in enumerate([march, march + timedelta(hours=2), april]):
        values.append(copy_of(issued, when, issued_at=iso(when), citizen_id=str(uuid.UUID(int=n % 2))))
    values.append(values[-1])  # a redaction-stream replay: the same event id archived twice
    root = tmp_path / "archive"
    archive(root, values)

    figures = answer(root)

    assert figures.petitions_per_institution_per_month == {"IGPR": {"2026-03": 2, "2026-04": 1}, "IGSU": {"2026-04": 1}}
    assert figures.answered_per_month == {"2026-04": {"within deadline": 1, "late": 1}}
    assert figures.certificates_issued_per_day == {"2026-03-14": 2, "2026-04-02": 1}
    assert figures.distinct_certificate_holders == 2  # citizens counted by pseudonym, never named
    assert figures.repeats_skipped == 1 and figures.events_read == 9


def test_time_to_answer_is_set_against_the_days_the_law_allowed_per_month(tmp_path: Path) -> None:
    def answered(registered: datetime, due: str, days: int) -> bytes:
        when = registered + timedelta(days=days)
        return copy_of("ro.mai.petition.answered.v1", when, registered_at=iso(registered), answer_due_on=due,
                       answered_at=iso(when), within_deadline=when.date().isoformat() <= due)  # fmt: skip

    march, may = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 5, 1, 9, tzinfo=UTC)
    # Answered in 10 days (in March) and in 40 (in April) of 30 allowed; in 3 days (in May) of 30.
    values = [answered(march, "2026-04-01", 10), answered(march, "2026-04-01", 40), answered(may, "2026-05-31", 3)]
    values.append(values[0])  # a replayed copy is not a fourth answer
    root = tmp_path / "archive"
    archive(root, values)

    figures = answer(root)

    assert figures.time_to_answer_per_month == {
        "2026-03": {"median_days": 10.0, "longest_days": 10.0, "median_days_allowed": 30.0},
        "2026-04": {"median_days": 40.0, "longest_days": 40.0, "median_days_allowed": 30.0},
        "2026-05": {"median_days": 3.0, "longest_days": 3.0, "median_days_allowed": 30.0},
    }


def test_appointments_are_kept_when_the_visit_was_recorded_and_missed_otherwise(tmp_path: Path) -> None:
    day = datetime(2026, 3, 10, 8, tzinfo=UTC)

    def booking(starts: datetime) -> tuple[str, str, bytes]:
        appointment, application = str(uuid.uuid4()), str(uuid.uuid4())
        value = copy_of(
            "ro.mai.appointment.booked.v1",
            day,
            appointment_id=appointment,
            application_id=application,
            starts_at=iso(starts),
            ends_at=iso(starts + timedelta(minutes=20)),
        )
        return appointment, application, value

    _kept_id, kept_app, kept = booking(day + timedelta(days=1))
    _missed_id, _missed_app, missed = booking(day + timedelta(days=2))
    cancelled_id, _cancelled_app, cancelled = booking(day + timedelta(days=3))
    moved_id, moved_app, moved_from = booking(day + timedelta(days=4))
    _future_id, _future_app, future = booking(datetime(2026, 4, 20, 8, tzinfo=UTC))
    moved_to = str(uuid.uuid4())
    values = [
        kept,
        missed,
        cancelled,
        moved_from,
        future,
        copy_of("ro.mai.application.ready.v1", day + timedelta(days=1, hours=1), application_id=kept_app),
        copy_of("ro.mai.appointment.cancelled.v1", day, appointment_id=cancelled_id),
        # Moved into April and missed there; the March slot it left is no appointment any more.
        copy_of(
            "ro.mai.appointment.moved.v1",
            day,
            appointment_id=moved_to,
            previous_appointment_id=moved_id,
            application_id=moved_app,
            starts_at=iso(datetime(2026, 4, 2, 8, tzinfo=UTC)),
            ends_at=iso(datetime(2026, 4, 2, 8, 20, tzinfo=UTC)),
        ),
    ]
    values.append(missed)  # replayed
    root = tmp_path / "archive"
    archive(root, values)

    figures = answer(root, as_of=datetime(2026, 4, 10, tzinfo=UTC))

    assert figures.appointments_per_month == {"2026-03": {"kept": 1, "missed": 1}, "2026-04": {"kept": 0, "missed": 1}}
    # By default "past" ends at the archive's latest event: nothing after it is called missed.
    assert answer(root).appointments_per_month == {"2026-03": {"kept": 1, "missed": 0}}


def test_the_command_writes_a_chart_and_the_figures(tmp_path: Path) -> None:
    when = datetime(2026, 3, 14, 9, tzinfo=UTC)
    root = tmp_path / "archive"
    archive(root, [copy_of("ro.mai.certificate.issued.v1", when, issued_at=iso(when)) for _ in range(2)])

    assert main([str(root), "--charts", str(tmp_path / "charts")]) == 0

    assert (tmp_path / "charts" / CHART_FILE).read_bytes().startswith(PNG_SIGNATURE)
    figures = json.loads((tmp_path / "charts" / FIGURES_FILE).read_text())
    assert figures["certificates_issued_per_day"] == {"2026-03-14": 2}
    assert "ana.popescu" not in json.dumps(figures)
