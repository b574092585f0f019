"""The purpose catalogue shipped with the service (``purposes.json``), loaded once."""

from __future__ import annotations

import functools
import json
from importlib import resources

from .domain import PurposeCatalogue

__all__ = ["purpose_catalogue"]


@functools.cache
def purpose_catalogue() -> PurposeCatalogue:
    raw = resources.files(__package__).joinpath("purposes.json").read_text(encoding="utf-8")
    return PurposeCatalogue.from_mapping(json.loads(raw))
