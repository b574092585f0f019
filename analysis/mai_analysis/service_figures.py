"""Example analysis of exported events: petitions per institution and day, time to answer, certificates per hour.

    mai-events export petition.submitted --format parquet --output var/petition.submitted.parquet
    mai-events export petition.answered  --format parquet --output var/petition.answered.parquet
    mai-events export certificate.issued --format jsonl   --output var/certificate.issued.jsonl
    mai-analysis var/*.parquet var/*.jsonl --charts var/charts

Reads JSON-lines or Parquet exports (any mix, one topic per file), writes three PNG charts and
`figures.json` (the numbers behind them) into the charts folder. Only events that keep their
contract are counted; the rest are reported and left out.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mai_eventtool import read_rows

__all__ = ["ServiceFigures", "compute_figures", "draw_charts", "load_rows", "main"]

logger = logging.getLogger(__name__)

SUBMITTED = "ro.mai.petition.submitted.v1"
ANSWERED = "ro.mai.petition.answered.v1"
ISSUED = "ro.mai.certificate.issued.v1"
ANSWER_DEADLINE_DAYS = 30  # OG 27/2002, before any extension
CHART_FILES = (
    "petitions_per_institution_per_day.png",
    "time_to_answer.png",
    "certificates_issued_per_hour.png",
)


@dataclass
class ServiceFigures:
    """The numbers behind the charts."""

    petitions_per_institution_per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    answer_days: list[float] = field(default_factory=list)
    answered_without_submission: int = 0
    answered_within_deadline: int = 0
    certificates_issued_per_hour: dict[str, int] = field(default_factory=dict)
    left_out_invalid: int = 0

    @property
    def median_answer_days(self) -> float | None:
        return statistics.median(self.answer_days) if self.answer_days else None

    def as_json(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["median_answer_days"] = self.median_answer_days
        return figures


def _as_datetime(value: Any) -> datetime:
    # Parquet gives datetimes; JSON lines and CSV give ISO 8601 text.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_valid(row: Mapping[str, Any]) -> bool:
    return row.get("valid") in (True, "true", "True")


def load_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every row of every export file."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        found = read_rows(path)
        logger.info("read %d events from %s", len(found), path)
        rows.extend(found)
    return rows


def compute_figures(rows: Sequence[Mapping[str, Any]]) -> ServiceFigures:
    """Count petitions per institution and day, time each answer, count certificates per hour."""
    figures = ServiceFigures()
    per_institution_day: Counter[tuple[str, date]] = Counter()
    registered: dict[str, datetime] = {}
    answered: dict[str, datetime] = {}
    per_hour: Counter[datetime] = Counter()
    for row in rows:
        if not _is_valid(row):
            figures.left_out_invalid += 1
            continue
        if row["type"] == SUBMITTED:
            moment = _as_datetime(row["data.registered_at"])
            per_institution_day[(str(row["data.institution"]), moment.date())] += 1
            registered[str(row["data.petition_id"])] = moment
        elif row["type"] == ANSWERED:
            # A redelivered event must not count twice: the petition id is the key.
            answered[str(row["data.petition_id"])] = _as_datetime(row["data.answered_at"])
        elif row["type"] == ISSUED:
            per_hour[_as_datetime(row["data.issued_at"]).replace(minute=0, second=0, microsecond=0)] += 1
    for (institution, day), count in sorted(per_institution_day.items()):
        figures.petitions_per_institution_per_day.setdefault(institution, {})[day.isoformat()] = count
    for petition_id, answered_at in answered.items():
        if petition_id not in registered:
            figures.answered_without_submission += 1
            continue
        days = (answered_at - registered[petition_id]).total_seconds() / 86_400
        figures.answer_days.append(round(days, 3))
        if days <= ANSWER_DEADLINE_DAYS:
            figures.answered_within_deadline += 1
    figures.answer_days.sort()
    if per_hour:  # every hour of the span, quiet ones as zero, so the chart's axis is true time
        hour, last = min(per_hour), max(per_hour)
        while hour <= last:
            figures.certificates_issued_per_hour[hour.strftime("%Y-%m-%dT%H:00Z")] = per_hour[hour]
            hour += timedelta(hours=1)
    return figures


def draw_charts(figures: ServiceFigures, folder: Path) -> list[Path]:
    """Draw the three charts as PNG files into folder; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []

    days = sorted({day for per_day in figures.petitions_per_institution_per_day.values() for day in per_day})
    figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
    bottoms = [0] * len(days)
    for institution, per_day in sorted(figures.petitions_per_institution_per_day.items()):
        counts = [per_day.get(day, 0) for day in days]
        axes.bar(days, counts, bottom=bottoms, label=institution)
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    axes.set_title("Petitions registered per institution per day")
    axes.set_xlabel("Day of registration")
    axes.set_ylabel("Petitions")
    axes.legend(title="Institution")
    axes.tick_params(axis="x", labelrotation=45)
    written.append(_save(figure, folder / CHART_FILES[0]))

    figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
    if figures.answer_days:
        axes.hist(figures.answer_days, bins=range(0, max(ANSWER_DEADLINE_DAYS, int(max(figures.answer_days))) + 2))
        median = figures.median_answer_days
        axes.axvline(median or 0, color="black", linestyle="--", label=f"median {median:.1f} days")
    axes.axvline(ANSWER_DEADLINE_DAYS, color="red", label=f"legal deadline ({ANSWER_DEADLINE_DAYS} days)")
    within = figures.answered_within_deadline
    axes.set_title(f"Time to answer a petition ({within} of {len(figures.answer_days)} within the deadline)")
    axes.set_xlabel("Days from registration to answer")
    axes.set_ylabel("Petitions")
    axes.legend()
    written.append(_save(figure, folder / CHART_FILES[1]))

    hours = list(figures.certificates_issued_per_hour)
    figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
    axes.bar([h[5:13].replace("T", " ") + "h" for h in hours], list(figures.certificates_issued_per_hour.values()))
    axes.set_title("Criminal-record certificates issued per hour (UTC)")
    axes.set_xlabel("Hour")
    axes.set_ylabel("Certificates")
    axes.tick_params(axis="x", labelrotation=60)
    written.append(_save(figure, folder / CHART_FILES[2]))
    return written


def _save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    for axes in figure.axes:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole numbers

    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: exported files in, charts and figures.json out."""
    parser = argparse.ArgumentParser(prog="mai-analysis", description=__doc__.split("\n\n")[0])
    parser.add_argument("exports", nargs="+", type=Path, help="files written by `mai-events export`")
    parser.add_argument("--charts", type=Path, required=True, help="folder for the PNG charts and figures.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    figures = compute_figures(load_rows(args.exports))
    charts = draw_charts(figures, args.charts)
    (args.charts / "figures.json").write_text(json.dumps(figures.as_json(), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%d petitions answered (median %s days), %d certificates, %d invalid events left out; charts: %s",
        len(figures.answer_days),
        figures.median_answer_days,
        sum(figures.certificates_issued_per_hour.values()),
        figures.left_out_invalid,
        ", ".join(str(c) for c in charts),
    )
    return 0
