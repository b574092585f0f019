"""The ministry's questions, answered from the Parquet archive of the redacted topics.

    mai-analytics archive                     # (worker) keeps var/archive up to date
    mai-archive-questions var/archive --charts var/charts

Reads the archive `mai-analytics archive` writes (``type=<event type>/day=<YYYY-MM-DD>/*.parquet``)
and answers, for the whole history it holds:

- petitions registered per institution per month (``petition.submitted``);
- petitions answered within the legal deadline, per month (``petition.answered``);
- criminal-record certificates issued per day (``certificate.issued``), and how many distinct
  citizens they went to (the citizen is a pseudonym in the archive, but a stable one).

Writes ``archive_questions.png`` (three charts) and ``archive_questions.json`` (the numbers) into
the charts folder. An event archived twice (a redaction-stream replay) is counted once, by its id.
Only the day folders of the event types asked about are read, so a year stays cheap.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

__all__ = ["ArchiveFigures", "answer", "archived_events", "draw", "main"]

logger = logging.getLogger(__name__)

SUBMITTED = "ro.mai.petition.submitted.v1"
ANSWERED = "ro.mai.petition.answered.v1"
ISSUED = "ro.mai.certificate.issued.v1"
CHART_FILE = "archive_questions.png"
FIGURES_FILE = "archive_questions.json"


@dataclass
class ArchiveFigures:
    """The answers, as plain numbers."""

    petitions_per_institution_per_month: dict[str, dict[str, int]] = field(default_factory=dict)
    answered_per_month: dict[str, dict[str, int]] = field(default_factory=dict)
    certificates_issued_per_day: dict[str, int] = field(default_factory=dict)
    distinct_certificate_holders: int = 0
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


def answer(root: Path) -> ArchiveFigures:
    """Answer the questions from the archive under root."""
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
    return figures


def _counted(row: dict[str, Any], figures: ArchiveFigures) -> bool:
    if row["_repeat"]:
        figures.repeats_skipped += 1
        return False
    figures.events_read += 1
    return True


def draw(figures: ArchiveFigures, path: Path) -> Path:
    """Three charts in one PNG: petitions per institution per month, answers per month, certificates per day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, (petitions, answers, certificates) = plt.subplots(3, 1, figsize=(11, 12), layout="constrained")
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

    days = list(figures.certificates_issued_per_day)
    certificates.bar(days, list(figures.certificates_issued_per_day.values()))
    certificates.set_title(
        f"Criminal-record certificates issued per day ({figures.distinct_certificate_holders} distinct citizens)"
    )
    certificates.tick_params(axis="x", labelrotation=60)
    for axes in (petitions, answers, certificates):
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.archive.is_dir():
        parser.error(f"{args.archive} is not a directory")
    figures = answer(args.archive)
    chart = draw(figures, args.charts / CHART_FILE)
    (args.charts / FIGURES_FILE).write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%d archived events read (%d repeats skipped); chart: %s", figures.events_read, figures.repeats_skipped, chart
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
