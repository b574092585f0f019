"""The institutions directory, FAQ and preventive recommendations, loaded once from the data files."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["Directory", "Institution", "load_directory"]


@dataclass(frozen=True)
class Institution:
    code: str
    name: dict[str, str]
    competencies: dict[str, str]
    fields: tuple[str, ...]
    contact: dict[str, str]

    def as_dict(self, fields_by_code: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "competencies": self.competencies,
            "fields": [fields_by_code[code] for code in self.fields],
            "contact": self.contact,
        }


@dataclass(frozen=True)
class Directory:
    """What a citizen chooses from: institutions, fields of activity, FAQ and recommendations."""

    fields: dict[str, dict[str, Any]]
    institutions: dict[str, Institution]
    faq: tuple[dict[str, Any], ...]
    recommendations: tuple[dict[str, Any], ...]

    def institution(self, code: str) -> Institution | None:
        return self.institutions.get(code)


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files("petition").joinpath("data", name).read_text(encoding="utf-8"))


@functools.cache
def load_directory() -> Directory:
    """Read and cross-check the data files; a broken file stops the service at start-up."""
    catalogue = _read("institutions.yaml")
    fields = {item["code"]: {"code": item["code"], "name": item["name"]} for item in catalogue["fields"]}
    institutions: dict[str, Institution] = {}
    for item in catalogue["institutions"]:
        unknown = set(item["fields"]) - set(fields)
        if unknown:
            raise ValueError(f"institution {item['code']} names unknown fields {sorted(unknown)}")
        if item["code"] in institutions:
            raise ValueError(f"institution {item['code']} is declared twice")
        institutions[item["code"]] = Institution(
            code=item["code"],
            name=item["name"],
            competencies=item["competencies"],
            fields=tuple(item["fields"]),
            contact=item["contact"],
        )
    faq = tuple(_read("faq.yaml")["faq"])
    recommendations = tuple(_read("recommendations.yaml")["recommendations"])
    for entry in (*faq, *recommendations):
        if entry["field"] not in fields:
            raise ValueError(f"unknown field {entry['field']!r} in the FAQ or recommendations")
    return Directory(fields=fields, institutions=institutions, faq=faq, recommendations=recommendations)
