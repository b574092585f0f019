"""The ministry's questions, answered from the Parquet archive of the redacted topics.

    mai-analytics archive                     # (worker) keeps var/archive up to date
    mai-archive-questions var/archive --charts var/charts

Reads the archive `mai-analytics archive` writes (``type=<event type>/day=<YYYY-MM-DD>/*.parquet``)
and answers, for the whole history it holds:

- petitions registered per institution per month (``petition.submitted``);
- petitions answered within the legal deadline, per month (``petition.answered``);
- the time taken to answer against the time the law allowed (registration to answer, and
  registration to the answer's due day), per month of answer (``petition.answered``);
- criminal-record certificates issued per day (``certificate.issued``), and how many distinct
  citizens they went to (the citizen is a pseudonym in the archive, but a stable one);
- immigration appointments kept and missed (no-shows), per month of the appointment: an appointment
  booked (``appointment.booked``, or the new one of ``appointment.moved``), neither cancelled nor
  moved away, whose start is past, is kept when its application's visit was recorded
  (``application.ready``, which the office records at the counter) and missed otherwise. "Past" is
  before ``--as-of`` (default: the latest event time in the archive), so that the appointments of
  the last day are not called missed before their office could record them.

Writes ``archive_questions.png`` (five charts) and ``archive_questions.json`` (the numbers) into
the charts folder. An event archived twice (a redaction-stream replay) is counted once, by its id.
Only the day folders of the event types asked about are read, so a year stays cheap.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

__all__ = ["ArchiveFigures", "answer", "archived_events", "draw", "main"]

logger = logging.getLogger(__name__)

SUBMITTED = "ro.mai.petition.submitted.v1"
ANSWERED = "ro.mai.petition.answered.v1"
ISSUED = "ro.mai.certificate.issued.v1"
BOOKED = "ro.mai.appointment.booked.v1"
MOVED = "ro.mai.appointment.moved.v1"
CANCELLED = "ro.mai.appointment.cancelled.v1"
READY = "ro.mai.application.ready.v1"
DAY_SECONDS = 86400
CHART_FILE = "archive_questions.png"
FIGURES_FILE = "archive_questions.json"


@dataclass
class ArchiveFigures:
    """The answers, as plain numbers."""

    petitions_per_institution_per_month: dict[str, dict[str, int]] = field(default_factory=dict)
    answered_per_month: dict[str, dict[str, int]] = field(default_factory=dict)
    #: month of answer -> median and longest days taken, median days the law allowed
    time_to_answer_per_month: dict[str, dict[str, float]] = field(default_factory=dict)
    certificates_issued_per_day: dict[str, int] = field(default_factory=dict)
    distinct_certificate_holders: int = 0
    #: month of the appointment -> {"kept": n, "missed": n}
    appointments_per_month: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the moment before which an appointment counts as past (ISO 8601)
    as_of: str = ""
    events_read: int = 0
    repeats_skipped: int = 0


def archived_events(root: Path, event_type: str, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every archived event of event_type (each id once), with the given columns (absent ones None)."""
    seen: set[str] = set()
    for part in sorted((root / f"type={event_type}").glob("day=*/*.parquet")):
        names = set(pq.read_schema(part).names)
        wanted = ["id", *(c for c in columns if c in names)]
        for row in pq.read_table(part, columns=wanted).to_pylist():
            if row["id"] in seen:
                row["_repeat"] = True
            seen.add(row["id"])
            yield {c: row.get(c) for c in ("id", "_repeat", *columns)}


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # archived times are UTC


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / DAY_SECONDS, 2)


def _latest_event_time(root: Path) -> datetime | None:
    latest: datetime | None = None
    for part in root.glob("type=*/day=*/*.parquet"):
        column = pq.read_table(part, columns=["time"]).column("time")
        for value in column.to_pylist():
            moment = _moment(value)
            if moment is not None and (latest is None or moment > latest):
                latest = moment
    return latest


def _time_to_answer(root: Path, figures: ArchiveFigures) -> None:
    taken: dict[str, list[float]] = defaultdict(list)
    allowed: dict[str, list[float]] = defaultdict(list)
    columns = ["data.registered_at", "data.answered_at", "data.answer_due_on"]
    for row in archived_events(root, ANSWERED, columns):
        if row["_repeat"]:
            continue  # counted (and its repeat noted) by the answers per month
        registered, answered = _moment(row["data.registered_at"]), _moment(row["data.answered_at"])
        if registered is None or answered is None:
            continue
        month = answered.date().isoformat()[:7]
        taken[month].append(_days(registered, answered))
        if row["data.answer_due_on"]:
            due = date.fromisoformat(str(row["data.answer_due_on"]))
            allowed[month].append(float((due - registered.date()).days))
    figures.time_to_answer_per_month = {
        month: {
            "median_days": round(statistics.median(days), 2),
            "longest_days": max(days),
            "median_days_allowed": round(statistics.median(allowed[month]), 2) if allowed[month] else 0.0,
        }
        for month, days in sorted(taken.items())
    }


def _appointments(root: Path, figures: ArchiveFigures, as_of: datetime | None) -> None:
    as_of = as_of or _latest_event_time(root)
    if as_of is None:
        return
    figures.as_of = as_of.isoformat()
    # appointment id -> (application id, start); cancelled or moved-away ones are dropped after.
    appointments: dict[str, tuple[str, datetime]] = {}
    for event_type in (BOOKED, MOVED):
        for row in archived_events(root, event_type, ["data.appointment_id", "data.application_id", "data.starts_at"]):
            starts = _moment(row["data.starts_at"])
            if not row["_repeat"] and starts is not None:
                appointments[str(row["data.appointment_id"])] = (str(row["data.application_id"]), starts)
    for row in archived_events(root, MOVED, ["data.previous_appointment_id"]):
        appointments.pop(str(row["data.previous_appointment_id"]), None)
    for row in archived_events(root, CANCELLED, ["data.appointment_id"]):
        appointments.pop(str(row["data.appointment_id"]), None)
    visited = {str(row["data.application_id"]) for row in archived_events(root, READY, ["data.application_id"])}
    per_month: dict[str, Counter[str]] = defaultdict(Counter)
    for application, starts in appointments.values():
        if starts < as_of:
            per_month[starts.date().isoformat()[:7]]["kept" if application in visited else "missed"] += 1
    figures.appointments_per_month = {
        month: {"kept": counts["kept"], "missed": counts["missed"]} for month, counts in sorted(per_month.items())
    }


def answer(root: Path, *, as_of: datetime | None = None) -> ArchiveFigures:
    """Answer the questions from the archive under root (appointments past ``as_of``: see the module)."""
    figures = ArchiveFigures()
    per_institution: dict[str, Counter[str]] = defaultdict(Counter)
    for row in archived_events(root, SUBMITTED, ["data.institution", "data.registered_at"]):
        if _counted(row, figures):
            per_institution[str(row["data.institution"])][str(row["data.registered_at"])[:7]] += 1
    figures.petitions_per_institution_per_month = {
        institution: dict(sorted(months.items())) for institution, months in sorted(per_institution.items())
    }

    answered: dict[str, Counter[str]] = defaultdict(Counter)
    for row in archived_events(root, ANSWERED, ["data.answered_at", "data.within_deadline"]):
        if _counted(row, figures):
            verdict = "within deadline" if row["data.within_deadline"] else "late"
            answered[str(row["data.answered_at"])[:7]][verdict] += 1
    figures.answered_per_month = {month: dict(counts) for month, counts in sorted(answered.items())}

    per_day: Counter[str] = Counter()
    holders: set[str] = set()
    for row in archived_events(root, ISSUED, ["data.issued_at", "data.citizen_id"]):
        if _counted(row, figures):
            per_day[str(row["data.issued_at"])[:10]] += 1
            if row["data.citizen_id"]:
                holders.add(str(row["data.citizen_id"]))
    figures.certificates_issued_per_day = dict(sorted(per_day.items()))
    figures.distinct_certificate_holders = len(holders)
    _time_to_answer(root, figures)
    _appointments(root, figures, as_of)
    return figures


def _counted(row: dict[str, Any], figures: ArchiveFigures) -> bool:
    if row["_repeat"]:
        figures.repeats_skipped += 1
        return False
    figures.events_read += 1
    return True


def draw(figures: ArchiveFigures, path: Path) -> Path:
    """Five charts in one PNG: petitions per institution per month, answers per month, time to answer
    against the time allowed, certificates per day, appointments kept and missed per month."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, (petitions, answers, durations, certificates, visits) = plt.subplots(
        5, 1, figsize=(11, 19), layout="constrained"
    )
    months = sorted({m for per in figures.petitions_per_institution_per_month.values() for m in per})
    width = 0.8 / max(1, len(figures.petitions_per_institution_per_month))
    for index, (institution, per_month) in enumerate(figures.petitions_per_institution_per_month.items()):
        petitions.bar(
            [m + index * width for m in range(len(months))],
            [per_month.get(month, 0) for month in months],
            width=width,
            label=institution,
        )
    petitions.set_xticks(range(len(months)), months)
    petitions.set_title("Petitions registered per institution per month")
    if figures.petitions_per_institution_per_month:
        petitions.legend()

    answer_months = list(figures.answered_per_month)
    within = [figures.answered_per_month[m].get("within deadline", 0) for m in answer_months]
    late = [figures.answered_per_month[m].get("late", 0) for m in answer_months]
    answers.bar(answer_months, within, label="within the legal deadline", color="tab:green")
    answers.bar(answer_months, late, bottom=within, label="late", color="tab:red")
    answers.set_title("Petitions answered per month")
    if answer_months:
        answers.legend()

    duration_months = list(figures.time_to_answer_per_month)
    timing = figures.time_to_answer_per_month
    durations.plot(
        duration_months, [timing[m]["median_days"] for m in duration_months], "o-", label="median days taken"
    )
    durations.plot(duration_months, [timing[m]["longest_days"] for m in duration_months], "^:", label="longest")
    durations.plot(
        duration_months,
        [timing[m]["median_days_allowed"] for m in duration_months],
        "s--",
        color="tab:red",
        label="median days the law allowed",
    )
    durations.set_title("Time to answer a petition against its legal deadline (days, per month of answer)")
    if duration_months:
        durations.legend()

    days = list(figures.certificates_issued_per_day)
    certificates.bar(days, list(figures.certificates_issued_per_day.values()))
    certificates.set_title(
        f"Criminal-record certificates issued per day ({figures.distinct_certificate_holders} distinct citizens)"
    )
    certificates.tick_params(axis="x", labelrotation=60)

    visit_months = list(figures.appointments_per_month)
    kept = [figures.appointments_per_month[m]["kept"] for m in visit_months]
    missed = [figures.appointments_per_month[m]["missed"] for m in visit_months]
    visits.bar(visit_months, kept, label="kept", color="tab:green")
    visits.bar(visit_months, missed, bottom=kept, label="missed (no-show)", color="tab:orange")
    visits.set_title(f"Immigration appointments kept and missed per month (past {figures.as_of[:10] or '-'})")
    if visit_months:
        visits.legend()
    for axes in (petitions, answers, certificates, visits):
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the archive root in, a chart and the figures out."""
    parser = argparse.ArgumentParser(prog="mai-archive-questions", description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="the archive root written by `mai-analytics archive`")
    parser.add_argument("--charts", type=Path, required=True, help="folder for the chart and the figures")
    parser.add_argument(
        "--as-of",
        type=datetime.fromisoformat,
        help="appointments that started before this moment (ISO 8601, with its offset) are kept or missed; "
        "default: the latest event time in the archive",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.archive.is_dir():
        parser.error(f"{args.archive} is not a directory")
    if args.as_of is not None and args.as_of.tzinfo is None:
        parser.error("--as-of needs a UTC offset (e.g. 2026-04-01T00:00:00+00:00)")
    figures = answer(args.archive, as_of=args.as_of)
    chart = draw(figures, args.charts / CHART_FILE)
    (args.charts / FIGURES_FILE).write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%d archived events read (%d repeats skipped); chart: %s", figures.events_read, figures.repeats_skipped, chart
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
