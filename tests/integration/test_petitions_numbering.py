"""Registration numbers under load on PostgreSQL: concurrent submits get distinct, gapless numbers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mai_chassis.migrations import upgrade
from petition import create_app
from petition.config import Settings

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"


def test_two_hundred_concurrent_submits_get_two_hundred_gapless_numbers(
    database_factory: Callable[..., str], tmp_path: Path
) -> None:
    url = database_factory("petition")
    upgrade(url, MIGRATIONS)
    app = create_app(Settings(environment="test", database_url=url, attachments_dir=str(tmp_path), log_json=False))

    def submit(i: int) -> tuple[int, str]:
        response = app.test_client().post(
            "/api/v1/petitions",
            json={
                "kind": "petition",
                "institution": "IGPR",
                "field": "road-traffic",
                "subject": f"Sesizare {i}",
                "text": f"Sesizarea numărul {i} despre traficul din cartier.",
                "name": "Ion Ionescu",
                "email": f"ion{i}@example.ro",
            },
        )
        return response.status_code, response.get_json().get("registration_number", "")

    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            results = list(pool.map(submit, range(200)))
    finally:
        app.extensions["mai_database"].dispose()
    assert {status for status, _ in results} == {201}
    numbers = [number for _, number in results]
    assert len(set(numbers)) == 200
    sequences = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequences == list(range(1, 201))
    assert all(number.startswith("IGPR-") for number in numbers)
