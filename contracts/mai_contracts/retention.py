"""The retention table (retention.yaml): how long each class of personal data is kept, and then what.

retention_classes()            every declared class, in declaration order
retention_class(service, name) one class of a service ("*" classes belong to every service)
kept_after_account_deletion()  the classes a deleted account's data stays in, unlinked (the citizen is told)
Term.parse("P10Y")             an ISO 8601 duration (years, months, days, hours) -> Term
term.cutoff(now)               the moment before which a row has outlived the term
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml

__all__ = [
    "ACCOUNT_DELETION_ACTIONS",
    "ACTIONS",
    "RetentionClass",
    "Term",
    "kept_after_account_deletion",
    "retention_class",
    "retention_classes",
]

ACTIONS: Final = frozenset({"delete", "anonymise", "archive"})
#: What a service does with a class's rows of an account deleted by ``account.deleted``.
ACCOUNT_DELETION_ACTIONS: Final = frozenset({"delete", "unlink"})
_DECLARATION: Final = "retention.yaml"
_DURATION = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?(?:T(?P<hours>\d+)H)?$")


@dataclass(frozen=True)
class Term:
    """A retention term in calendar units: years and months move the date, days and hours the clock."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Term:
        match = _DURATION.match(text.strip())
        if match is None or text.strip() in {"P", "PT"} or not any(match.groupdict().values()):
            raise ValueError(f"not an ISO 8601 duration of years, months, days or hours: {text!r}")
        return cls(**{unit: int(value or 0) for unit, value in match.groupdict().items()})

    def cutoff(self, now: datetime) -> datetime:
        """``now`` minus the term; a row counted from before the result has outlived it.

        29 February minus a year is 28 February (the day the year has).
        """
        month_index = now.year * 12 + (now.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        day = now.day
        while True:
            try:
                moved = now.replace(year=year, month=month + 1, day=day)
                break
            except ValueError:
                day -= 1
        return moved - timedelta(days=self.days, hours=self.hours)


@dataclass(frozen=True)
class RetentionClass:
    service: str
    name: str
    tables: tuple[str, ...]
    counts_from: str
    term_text: str
    setting: str | None
    action: str
    basis: str
    #: False while the class is declared but no job acts on it yet.
    enforced: bool
    #: ``delete`` or ``unlink`` (kept for the term without the account id) when an account is deleted;
    #: None: the class holds no account's data.
    on_account_deletion: str | None = None

    def term(self, environ: Mapping[str, str] | None = None) -> Term:
        """The term: the setting's value when it is set, else the declared default."""
        env = os.environ if environ is None else environ
        if self.setting and env.get(self.setting):
            return Term.parse(env[self.setting])
        return Term.parse(self.term_text)


def _entry(raw: Mapping[str, Any]) -> RetentionClass:
    entry = RetentionClass(
        service=str(raw["service"]),
        name=str(raw["class"]),
        tables=tuple(raw.get("tables") or ()),
        counts_from=str(raw["counts_from"]),
        term_text=str(raw["term"]),
        setting=raw.get("setting"),
        action=str(raw["action"]),
        basis=" ".join(str(raw["basis"]).split()),
        enforced=bool(raw.get("enforced", True)),
        on_account_deletion=raw.get("on_account_deletion"),
    )
    if entry.action not in ACTIONS:
        raise ValueError(f"retention class {entry.name}: unknown action {entry.action!r}")
    if entry.on_account_deletion not in ACCOUNT_DELETION_ACTIONS | {None}:
        raise ValueError(f"retention class {entry.name}: unknown on_account_deletion {entry.on_account_deletion!r}")
    return entry


@cache
def retention_classes() -> tuple[RetentionClass, ...]:
    text = resources.files(__package__).joinpath(_DECLARATION).read_text(encoding="utf-8")
    entries = tuple(_entry(raw) for raw in yaml.safe_load(text)["classes"])
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("retention.yaml declares a class twice")
    return entries


def retention_class(service: str, name: str) -> RetentionClass:
    """The class ``name`` of ``service`` (or of every service); KeyError if it is not declared."""
    for entry in retention_classes():
        if entry.name == name and entry.service in {service, "*"}:
            return entry
    raise KeyError(f"{service} declares no retention class {name!r}")


def kept_after_account_deletion() -> tuple[RetentionClass, ...]:
    """The classes whose rows of a deleted account are kept, unlinked from it, for their term."""
    return tuple(entry for entry in retention_classes() if entry.on_account_deletion == "unlink")
