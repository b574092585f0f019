"""Views on the convention: ``unit_of_work()`` for the request, domain errors rendered by the PROBLEMS table."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from flask import Flask, jsonify
from mai_chassis import Database, DomainError, DomainEvent, FixedClock, ProblemType, ServiceSettings, create_service_app
from mai_chassis.problems import PROBLEM_JSON
from mai_chassis.tables import OutboxEvent
from mai_chassis.web import unit_of_work
from sqlalchemy import select

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@dataclass(frozen=True, kw_only=True)
class ViewSettings(ServiceSettings):
    service_name: ClassVar[str] = "views-test-svc"


@dataclass(frozen=True)
class PetitionClosed(DomainEvent):
    type: ClassVar[str] = "ro.mai.petition.closed.v1"
    subject_field: ClassVar[str] = "petition_id"

    petition_id: uuid.UUID
    registration_number: str
    institution: str
    field: str
    kind: str
    outcome: str
    registered_at: datetime
    closed_at: datetime


class PetitionNotFound(DomainError):
    pass


class NotYourPetition(PetitionNotFound):
    pass


class ThrottledError(DomainError):
    def __init__(self, seconds: int) -> None:
        super().__init__(
            f"Too many attempts; try again in {seconds} seconds.",
            extensions={"retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )


PROBLEMS = {
    PetitionNotFound: ProblemType(404, "petition-not-found"),
    ThrottledError: ProblemType(429, "too-many-attempts"),
}


@pytest.fixture
def app(sqlite_database: Database) -> Flask:
    settings = ViewSettings(database_url=sqlite_database.url, kafka_bootstrap_servers="127.0.0.1:1", log_json=False)
    app = create_service_app(
        settings, import_name=__name__, database=sqlite_database, problems=PROBLEMS, clock=FixedClock(NOW)
    )

    @app.post("/petitions/<petition_id>/closure")
    def close(petition_id: str):  # type: ignore[no-untyped-def]
        with unit_of_work() as uow:
            uow.publish(
                PetitionClosed(
                    petition_id=uuid.UUID(petition_id),
                    registration_number="IGPR-2026-000123",
                    institution="IGPR",
                    field="road-traffic",
                    kind="petition",
                    outcome="answered",
                    registered_at=NOW,
                    closed_at=uow.clock.now(),
                )
            )
            uow.commit()
        return jsonify(closed=True), 201

    @app.get("/petitions/<petition_id>")
    def show(petition_id: str):  # type: ignore[no-untyped-def]
        raise NotYourPetition(f"No petition {petition_id}.")

    @app.get("/sign-in")
    def sign_in():  # type: ignore[no-untyped-def]
        raise ThrottledError(30)

    @app.get("/unmapped")
    def unmapped():  # type: ignore[no-untyped-def]
        raise DomainError("internal wording")

    return app


def test_a_view_publishes_through_the_unit_of_work_as_this_service_within_the_request_trace(
    app: Flask, sqlite_database: Database
) -> None:
    petition_id = uuid.uuid4()
    response = app.test_client().post(
        f"/petitions/{petition_id}/closure", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    )
    assert response.status_code == 201
    with sqlite_database.session() as session:
        [row] = session.scalars(select(OutboxEvent)).all()
    envelope = json.loads(row.payload)
    assert row.key == str(petition_id) and row.topic == "petition.closed"
    assert envelope["source"] == "views-test-svc"
    assert envelope["subject"] == str(petition_id)
    assert envelope["traceparent"].split("-")[1] == TRACE_ID
    assert envelope["data"]["closed_at"] == "2026-03-14T09:30:00Z"  # the app's clock, not the machine's


def test_a_domain_error_is_rendered_by_the_nearest_entry_of_the_problems_table(app: Flask) -> None:
    response = app.test_client().get("/petitions/P-1")
    assert response.status_code == 404
    assert response.content_type == PROBLEM_JSON
    body = response.get_json()
    assert body["type"] == "https://e-services.mai.gov.ro/problems/petition-not-found"
    assert body["detail"] == "No petition P-1."
    assert body["instance"] == "/petitions/P-1"


def test_a_domain_error_brings_its_extensions_and_headers(app: Flask) -> None:
    response = app.test_client().get("/sign-in")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["retry_after"] == 30


def test_a_domain_error_the_table_does_not_name_is_a_500_without_its_wording(app: Flask) -> None:
    response = app.test_client().get("/unmapped")
    assert response.status_code == 500
    assert "internal wording" not in response.get_data(as_text=True)


def test_a_problems_table_with_something_else_than_domain_errors_is_refused(sqlite_database: Database) -> None:
    settings = ViewSettings(database_url=sqlite_database.url, kafka_bootstrap_servers="127.0.0.1:1", log_json=False)
    with pytest.raises(TypeError, match="DomainError subclasses"):
        create_service_app(
            settings,
            import_name=__name__,
            database=sqlite_database,
            problems={KeyError: ProblemType(404, "missing")},  # type: ignore[dict-item]
        )
