"""The example analysis on a small, realistic, contract-valid set of exported events."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from mai_analysis.service_figures import CHART_FILES, compute_figures, load_rows, main
from mai_chassis.events import build_event, encode_event
from mai_eventtool import EventRecord, record_from_message, write_records

SUBMITTED = "ro.mai.petition.submitted.v1"
ANSWERED = "ro.mai.petition.answered.v1"
ISSUED = "ro.mai.certificate.issued.v1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
# (institution, day offset, hour, days until answered or None)
PETITIONS = [
    ("IGPR", 0, 9, 12.0),
    ("IGPR", 0, 11, 3.5),
    ("IGPR", 1, 10, None),
    ("IGSU", 0, 14, 31.0),  # answered late
    ("IGSU", 2, 9, 20.0),
    ("DGP", 1, 15, 8.0),
]
CERTIFICATES_AT = [(9, 5), (9, 40), (9, 59), (10, 1), (12, 30)]  # (hour, minute) on START's day


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def exported(event_type: str, data: dict[str, Any], offset: int) -> EventRecord:
    topic = mai_contracts.topic_for_event_type(event_type)
    event = build_event(event_type, source=topic.owner, subject=str(data[topic.key]), data=data)  # validates
    found = record_from_message(topic.name, 0, offset, encode_event(event), contract_topic=topic)
    assert isinstance(found, EventRecord) and found.valid
    return found


def petition_events() -> tuple[list[EventRecord], list[EventRecord]]:
    submitted, answered = [], []
    base_submitted = mai_contracts.schema(SUBMITTED)["examples"][0]
    base_answered = mai_contracts.schema(ANSWERED)["examples"][0]
    for number, (institution, day, hour, answer_days) in enumerate(PETITIONS):
        petition_id = str(uuid.uuid4())
        registered = START.replace(hour=hour) + timedelta(days=day)
        common = {
            "petition_id": petition_id,
            "registration_number": f"{institution}-2025-{number:06d}",
            "institution": institution,
            "registered_at": iso(registered),
            "answer_due_on": (registered + timedelta(days=30)).date().isoformat(),
        }
        submitted.append(exported(SUBMITTED, dict(base_submitted, **common), number))
        if answer_days is not None:
            answered_at = registered + timedelta(days=answer_days)
            data = dict(base_answered, **common, answered_at=iso(answered_at), within_deadline=answer_days <= 30)
            answered.append(exported(ANSWERED, data, len(answered)))
    return submitted, answered


def certificate_events() -> list[EventRecord]:
    base = mai_contracts.schema(ISSUED)["examples"][0]
    records = []
    for number, (hour, minute) in enumerate(CERTIFICATES_AT):
        issued = START.replace(hour=hour, minute=minute)
        data = dict(
            base,
            certificate_id=str(uuid.uuid4()),
            registration_number=f"CJ-2025-{number:06d}",
            issued_at=iso(issued),
            valid_until=iso(issued + timedelta(days=183)),
        )
        records.append(exported(ISSUED, data, number))
    return records


@pytest.fixture
def exports(tmp_path: Path) -> list[Path]:
    """Petitions as Parquet, answers and certificates as JSON lines: the analysis reads either."""
    submitted, answered = petition_events()
    random.Random(7).shuffle(answered)  # order on the topic must not matter
    files = [
        (submitted, "petition.submitted.parquet", "parquet", SUBMITTED),
        (answered, "petition.answered.jsonl", "jsonl", ANSWERED),
        (certificate_events(), "certificate.issued.jsonl", "jsonl", ISSUED),
    ]
    paths = []
    for records, name, export_format, event_type in files:
        path = tmp_path / name
        write_records(records, path, export_format, event_type)  # type: ignore[arg-type]
        paths.append(path)
    return paths


def test_figures_count_petitions_per_institution_and_day_time_answers_and_certificates_per_hour(
    exports: list[Path],
) -> None:
    figures = compute_figures(load_rows(exports))
    assert figures.petitions_per_institution_per_day == {
        "DGP": {"2025-03-11": 1},
        "IGPR": {"2025-03-10": 2, "2025-03-11": 1},
        "IGSU": {"2025-03-10": 1, "2025-03-12": 1},
    }
    assert figures.answer_days == [3.5, 8.0, 12.0, 20.0, 31.0]
    assert figures.median_answer_days == 12.0
    assert figures.answered_within_deadline == 4
    assert figures.answered_without_submission == 0
    assert figures.certificates_issued_per_hour == {
        "2025-03-10T09:00Z": 3,
        "2025-03-10T10:00Z": 1,
        "2025-03-10T11:00Z": 0,
        "2025-03-10T12:00Z": 1,
    }


def test_an_event_breaking_its_contract_is_left_out_and_counted(exports: list[Path]) -> None:
    rows = load_rows(exports)
    rows.append({**rows[0], "valid": False})
    figures = compute_figures(rows)
    assert figures.left_out_invalid == 1
    assert sum(sum(per_day.values()) for per_day in figures.petitions_per_institution_per_day.values()) == 6


def test_the_command_draws_three_real_png_charts_and_writes_its_figures(exports: list[Path], tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    assert main([*map(str, exports), "--charts", str(charts)]) == 0
    from matplotlib import image

    for name in CHART_FILES:
        png = charts / name
        assert png.read_bytes()[:8] == PNG_SIGNATURE, name
        height, width = image.imread(png).shape[:2]
        assert (width, height) == (1000, 500), name
    figures = json.loads((charts / "figures.json").read_text(encoding="utf-8"))
    assert figures["median_answer_days"] == 12.0
    assert sum(figures["certificates_issued_per_hour"].values()) == len(CERTIFICATES_AT)
