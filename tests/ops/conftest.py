"""Fixtures for the operations tests: a PostgreSQL server of the test's own, on a free port.

The backup and restore test stops, deletes and restores its server's data directory; it never
touches the shared server that DATABASE_URL names.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The tests import their helpers (local_postgres.py) by name; pytest runs in importlib mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_postgres import PostgresServer


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.remove()
