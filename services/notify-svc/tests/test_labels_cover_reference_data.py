"""Every office, application type and document type booking-svc can put in an event has words."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

TOOL = Path(__file__).resolve().parents[1] / "tools" / "sync_labels.py"
LABELS = Path(__file__).resolve().parents[1] / "src" / "notify" / "templates" / "_labels"


def _booking_labels() -> dict:  # type: ignore[type-arg]
    spec = importlib.util.spec_from_file_location("sync_labels", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.booking_labels()  # type: ignore[no-any-return]


@pytest.mark.parametrize("language", ["ro", "en"])
def test_every_booking_code_has_a_label(language: str) -> None:
    expected = _booking_labels()[language]
    labels = yaml.safe_load((LABELS / f"{language}.yaml").read_text(encoding="utf-8"))
    for section, codes in expected.items():
        missing = sorted(set(codes) - set(labels.get(section, {})))
        assert not missing, f"{language} {section} labels missing (run tools/sync_labels.py): {missing}"
