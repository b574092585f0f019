"""Fixtures for the chassis' own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mai_chassis.db import Database
from mai_chassis.migrations import upgrade


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database with the chassis tables, for fast unit tests."""
    url = f"sqlite:///{tmp_path / 'chassis.db'}"
    upgrade(url, None)
    database = Database(url)
    yield database
    database.dispose()
