"""Brings the offices, application types and document types of booking-svc's reference data into
notify-svc's label files, so that every code an immigration e-mail shows reads as words.

Run from the repository root after booking-svc's data changes:
    .venv/bin/python services/notify-svc/tools/sync_labels.py
notify-svc's tests fail while a booking code has no label.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
BOOKING_DATA = ROOT / "services" / "booking-svc" / "src" / "booking" / "data"
LABELS = ROOT / "services" / "notify-svc" / "src" / "notify" / "templates" / "_labels"
HEADERS = {
    "ro": "# Codes that events carry, in words a citizen understands (Romanian). Unknown codes are shown as is.\n",
    "en": "# Codes that events carry, in words a citizen understands (English). Unknown codes are shown as is.\n",
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def booking_labels() -> dict[str, dict[str, dict[str, str]]]:
    offices = yaml.safe_load((BOOKING_DATA / "offices.yaml").read_text(encoding="utf-8"))["offices"]
    types = yaml.safe_load((BOOKING_DATA / "application_types.yaml").read_text(encoding="utf-8"))
    labels: dict[str, dict[str, dict[str, str]]] = {"ro": {}, "en": {}}
    for language in labels:
        labels[language]["office"] = {
            office["code"]: office["name"]
            if language == "ro"
            else (
                "Bucharest Immigration Directorate"
                if office["county"] == "București"
                else f"Immigration Service of {office['county']} County"
            )
            for office in offices
        }
        labels[language]["application_type"] = {
            item["code"]: _lower_first(item["name"][language]) for item in types["application_types"]
        }
        labels[language]["document_type"] = {
            code: _lower_first(names[language]) for code, names in types["document_types"].items()
        }
    return labels


def main() -> None:
    for language, sections in booking_labels().items():
        path = LABELS / f"{language}.yaml"
        current = yaml.safe_load(path.read_text(encoding="utf-8"))
        current.update(sections)
        path.write_text(
            HEADERS[language] + yaml.safe_dump(current, allow_unicode=True, sort_keys=False, width=120),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
