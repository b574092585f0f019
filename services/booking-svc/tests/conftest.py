"""Fixtures of the component tests: the app on a migrated SQLite file, a fixed clock, a filesystem store in tmp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from booking import create_app
from booking.catalog import load_catalog
from booking.config import Settings
from booking.slot_horizon import generate_between
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.migrations import upgrade

SERVICE_MIGRATIONS = Path(__file__).parents[1] / "src" / "booking" / "migrations"
LINK_KEY = "unit-test-link-key-0123456789abcdef"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 14, 9, 0, tzinfo=UTC))  # a Friday


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'booking.db'}"
    upgrade(url, SERVICE_MIGRATIONS)
    return url


@pytest.fixture
def settings(database_url: str, jwks_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        database_url=database_url,
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        documents_dir=str(tmp_path / "documents"),
        appointment_link_key=LINK_KEY,
        slot_searches_per_minute=1000,
        bookings_per_hour=1000,
    )


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Any:
    application = create_app(settings, clock=clock)
    application.config["TESTING"] = True
    yield application
    application.extensions["mai_database"].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def seed_slots(database_url: str) -> Callable[..., int]:
    def seed(start: date, end: date, offices: tuple[str, ...] = ("IGI-CJ",)) -> int:
        database = Database(database_url)
        created = generate_between(database, load_catalog(), start, end, offices)
        database.dispose()
        return created

    return seed


@pytest.fixture
def documents_dir(settings: Settings) -> Iterator[Path]:
    yield Path(settings.documents_dir)
