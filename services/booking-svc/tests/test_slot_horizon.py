"""Slots kept generated weeks ahead (the scheduled ``generate-slots --weeks N``), on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from booking.catalog import load_catalog
from booking.domain import OFFICE_TIME_ZONE
from booking.slot_horizon import SlotHorizon, generate_ahead, last_slot_starts
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "booking" / "migrations"
MONDAY = date(2025, 3, 10)  # no holiday in the four weeks after it
ALL = tuple(load_catalog().offices)


@pytest.fixture
def database_url(database_factory: Callable[..., str]) -> str:
    url = database_factory("booking")
    upgrade(url, MIGRATIONS)
    return url


def slot_days(database_url: str) -> tuple[int, date, date]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count, first, last = connection.execute(
            text("SELECT count(*), min(starts_at), max(starts_at) FROM slots")
        ).one()
    engine.dispose()
    return count, first.astimezone(OFFICE_TIME_ZONE).date(), last.astimezone(OFFICE_TIME_ZONE).date()


def test_a_second_run_adds_nothing_and_the_horizon_moves_with_the_days(database_url: str) -> None:
    database = Database(database_url, pool_size=2)
    catalog = load_catalog()
    try:
        created = generate_ahead(database, catalog, today=MONDAY, weeks=2, offices=ALL)
        count, first, last = slot_days(database_url)
        assert created == count > 0
        # Every office open on weekdays: the calendar runs from today to the Friday two weeks on.
        assert (first, last) == (MONDAY, MONDAY + timedelta(days=11))

        assert generate_ahead(database, catalog, today=MONDAY, weeks=2, offices=ALL) == 0
        assert slot_days(database_url)[0] == count

        # A week later the horizon is a week further: only that new week is added.
        added = generate_ahead(database, catalog, today=MONDAY + timedelta(weeks=1), weeks=2, offices=ALL)
        new_count, _, new_last = slot_days(database_url)
        assert new_last == MONDAY + timedelta(days=18)
        assert added == new_count - count
        # Weeks are alike (same opening hours, no holiday), so the new week has as many slots as each old one.
        assert added * 2 == count
    finally:
        database.dispose()


def test_runs_in_several_pods_at_once_create_each_slot_once(database_url: str) -> None:
    catalog = load_catalog()
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def one_pod() -> None:
        database = Database(database_url, pool_size=1, max_overflow=0)
        try:
            start.wait()
            results.append(generate_ahead(database, catalog, today=MONDAY, weeks=3, offices=ALL))
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    pods = [threading.Thread(target=one_pod) for _ in range(3)]
    for pod in pods:
        pod.start()
    for pod in pods:
        pod.join(timeout=120)
    assert not errors
    count, _, _ = slot_days(database_url)
    # One run did the work, the others found it done.
    assert sorted(results) == [0, 0, count]


def test_the_worker_metric_gives_each_office_its_last_slot(database_url: str) -> None:
    database = Database(database_url, pool_size=1)
    catalog = load_catalog()
    try:
        generate_ahead(database, catalog, today=MONDAY, weeks=1, offices=["IGI-CJ", "IGI-B"])
        starts = last_slot_starts(database, catalog)
        samples = {
            s.labels["office"]: s.value for family in SlotHorizon(database, catalog).collect() for s in family.samples
        }
    finally:
        database.dispose()
    assert set(samples) == set(catalog.offices)
    # IGI-CJ has the default hours (Friday 08:30-12:00 in 20-minute slots: the last starts at 11:30);
    # Bucharest's office is open until 13:30 on Fridays (last slot 13:10).
    assert starts["IGI-CJ"] == datetime(2025, 3, 14, 11, 30, tzinfo=OFFICE_TIME_ZONE)
    assert samples["IGI-CJ"] == datetime(2025, 3, 14, 11, 30, tzinfo=OFFICE_TIME_ZONE).timestamp()
    assert samples["IGI-B"] == datetime(2025, 3, 14, 13, 10, tzinfo=OFFICE_TIME_ZONE).astimezone(UTC).timestamp()
    assert samples["IGI-AB"] == 0  # no slot generated yet: the alert's signal


def test_the_scheduled_command_keeps_the_horizon_and_is_idempotent(database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "APPOINTMENT_LINK_KEY": "k" * 32,
        "LOG_JSON": "false",
    }
    command = [str(Path(sys.executable).parent / "booking-svc"), "generate-slots", "--weeks", "1", "--office", "IGI-CJ"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    count, first_day, last_day = slot_days(database_url)
    today = datetime.now(OFFICE_TIME_ZONE).date()
    last_day_covered = today + timedelta(days=6)
    assert first.stdout.strip() == f"booking-svc: {count} new slots from {today} to {last_day_covered}"
    assert today <= first_day and last_day <= last_day_covered
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().startswith("booking-svc: 0 new slots")
    assert slot_days(database_url)[0] == count

    both = subprocess.run([*command, "--from", "2025-03-10"], env=env, capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and "exclude each other" in both.stderr
    half = subprocess.run([*command[:2], "--from", "2025-03-10"], env=env, capture_output=True, text=True, timeout=60)
    assert half.returncode == 2 and "both --from and --to" in half.stderr
    # Without --weeks the horizon is the SLOT_WEEKS setting (the web pods' too).
    by_setting = [*command[:2], "--office", "IGI-CJ"]
    neither = subprocess.run(by_setting, env={**env, "SLOT_WEEKS": "1"}, capture_output=True, text=True, timeout=60)
    assert neither.returncode == 0, neither.stderr
    assert neither.stdout.strip() == f"booking-svc: 0 new slots from {today} to {last_day_covered}"
