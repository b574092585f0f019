"""Reference data read from the package's data files: application types and offices.

An office's opening hours, counters per slot type and closures live in the database (its schedule,
edited by office managers); ``offices.yaml``'s hours and closed days only seeded it (migration 0002).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from .domain import ApplicationType, DocumentType, Office


@dataclass(frozen=True)
class Catalog:
    application_types: dict[str, ApplicationType]
    document_types: dict[str, DocumentType]
    offices: dict[str, Office]


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files("booking.data").joinpath(name).read_text(encoding="utf-8"))


@functools.cache
def load_catalog() -> Catalog:
    types_file = _read("application_types.yaml")
    documents = {code: DocumentType(code, dict(names)) for code, names in types_file["document_types"].items()}
    application_types = {
        entry["code"]: ApplicationType(
            entry["code"], dict(entry["name"]), tuple(documents[code] for code in entry["required_documents"])
        )
        for entry in types_file["application_types"]
    }
    offices = {
        entry["code"]: Office(
            code=entry["code"],
            name=entry["name"],
            county=entry["county"],
            city=entry["city"],
            counters=tuple(str(c) for c in entry["counters"]),
        )
        for entry in _read("offices.yaml")["offices"]
    }
    return Catalog(application_types, documents, offices)
