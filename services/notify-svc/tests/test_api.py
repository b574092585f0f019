"""The HTTP API: a citizen lists their own notifications; an administrator resends one."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator

import mai_contracts
import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis import Database
from mai_chassis.events import build_event, encode_event
from mai_chassis.testing import TokenIssuer
from notify import create_app
from notify.config import Settings
from notify.deps import build_deps
from notify.service import build_consumer
from notify.tables import DeliveryRow, Notification
from notify.template_registry import TemplateRegistry
from sqlalchemy import select

CITIZEN = "6c1d2a8e-90b4-4f0e-8f59-3b7c9d2e4a11"
OTHER_CITIZEN = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"


@pytest.fixture
def app(settings: Settings, database: Database, jwks_url: str) -> Iterator[Flask]:
    yield create_app(dataclasses.replace(settings, jwt_jwks_url=jwks_url), database=database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def record(settings: Settings, database: Database, registry: TemplateRegistry, citizen_id: str, number: str) -> str:
    data = copy.deepcopy(mai_contracts.schema("ro.mai.certificate.issued.v1")["examples"][0])
    data.update(citizen_id=citizen_id, registration_number=number, certificate_id=str(uuid.uuid4()))
    event = build_event("ro.mai.certificate.issued.v1", source="record-svc", subject=data["certificate_id"], data=data)
    consumer = build_consumer(build_deps(settings, registry=registry), database)
    consumer.process("certificate.issued", encode_event(event), None)
    with database.session() as session:
        return session.scalars(select(Notification.id).where(Notification.trigger_event_id == event.get_id())).one()


def finish_latest_delivery(database: Database, notification_id: str, status: str) -> None:
    with database.session() as session, session.begin():
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.notification_id == notification_id)).all()
        rows[-1].status = status


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_citizen_sees_only_their_own_notifications_newest_first(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    record(settings, database, registry, CITIZEN, "CJ-2025-000001")
    record(settings, database, registry, CITIZEN, "CJ-2025-000002")
    record(settings, database, registry, OTHER_CITIZEN, "CJ-2025-000003")
    response = client.get("/api/v1/notifications", headers=bearer(token_issuer.citizen(CITIZEN)))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2
    subjects = [item["subject"] for item in body["items"]]
    assert "CJ-2025-000002" in subjects[0] and "CJ-2025-000001" in subjects[1]
    assert all(item["status"] == "created" for item in body["items"])
    assert body["items"][0]["deliveries"][0]["number"] == 1


def test_the_list_is_paginated(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    for n in range(3):
        record(settings, database, registry, CITIZEN, f"CJ-2025-00001{n}")
    response = client.get("/api/v1/notifications?page=2&per_page=2", headers=bearer(token_issuer.citizen(CITIZEN)))
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (3, 2, 2, 1)


def test_unknown_query_parameters_are_refused_as_a_problem(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    response = client.get("/api/v1/notifications?sort=asc", headers=bearer(token_issuer.citizen(CITIZEN)))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "sort" in response.get_json()["errors"]


def test_the_list_needs_a_citizens_token(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    assert client.get("/api/v1/notifications").status_code == 401
    staff = token_issuer.staff("admin", "*")
    assert client.get("/api/v1/notifications", headers=bearer(staff)).status_code == 403


def test_an_admin_resends_a_finished_notification_as_a_new_delivery(
    client: FlaskClient,
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    token_issuer: TokenIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    notification_id = record(settings, database, registry, CITIZEN, "CJ-2025-000009")
    finish_latest_delivery(database, notification_id, "delivered")
    admin_id = str(uuid.uuid4())
    admin = bearer(token_issuer.staff("admin", "*", subject=admin_id))
    with caplog.at_level("INFO", logger="notify.api"):
        response = client.post(f"/api/v1/notifications/{notification_id}/resend", headers=admin)
    assert response.status_code == 202
    (audit,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit:")]
    assert notification_id in audit and admin_id in audit
    assert "ana.popescu@example.ro" not in audit and "Ana Popescu" not in audit
    deliveries = response.get_json()["deliveries"]
    assert [(d["number"], d["status"]) for d in deliveries] == [(1, "delivered"), (2, "created")]
    with database.session() as session:
        second = session.scalars(select(DeliveryRow).where(DeliveryRow.number == 2)).one()
        assert second.message_id.endswith(".2@notify.e-services.mai.gov.ro>")


def test_a_resend_while_a_delivery_is_under_way_is_a_conflict(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    notification_id = record(settings, database, registry, CITIZEN, "CJ-2025-000010")
    response = client.post(
        f"/api/v1/notifications/{notification_id}/resend", headers=bearer(token_issuer.staff("admin", "*"))
    )
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("/delivery-in-progress")


def test_resend_is_for_administrators_only(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    notification_id = record(settings, database, registry, CITIZEN, "CJ-2025-000011")
    path = f"/api/v1/notifications/{notification_id}/resend"
    assert client.post(path, headers=bearer(token_issuer.citizen(CITIZEN))).status_code == 403
    assert client.post(path, headers=bearer(token_issuer.staff("petition_clerk", "IGPR"))).status_code == 403


def record_petition_mail(settings: Settings, database: Database, registry: TemplateRegistry, institution: str) -> str:
    data = copy.deepcopy(mai_contracts.schema("ro.mai.petition.submitted.v1")["examples"][0])
    data.update(institution=institution)
    event = build_event("ro.mai.petition.submitted.v1", source="petition-svc", subject=str(uuid.uuid4()), data=data)
    consumer = build_consumer(build_deps(settings, registry=registry), database)
    consumer.process("petition.submitted", encode_event(event), None)
    with database.session() as session:
        return session.scalars(select(Notification.id).where(Notification.trigger_event_id == event.get_id())).one()


def test_an_administrator_resends_only_notifications_sent_for_their_units(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    petition_mail = record_petition_mail(settings, database, registry, "IGPR")
    certificate_mail = record(settings, database, registry, CITIZEN, "CJ-2025-000012")  # a national mail
    for notification_id in (petition_mail, certificate_mail):
        finish_latest_delivery(database, notification_id, "delivered")

    def resend(notification_id: str, role: str, unit: str) -> int:
        headers = bearer(token_issuer.staff(role, unit))
        return client.post(f"/api/v1/notifications/{notification_id}/resend", headers=headers).status_code

    assert resend(petition_mail, "admin", "IGSU") == 403
    assert resend(certificate_mail, "admin", "IGPR") == 403
    assert resend(petition_mail, "admin", "IGPR") == 202
    assert resend(certificate_mail, "admin", "*") == 202


def test_resending_an_unknown_notification_is_not_found(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    admin = bearer(token_issuer.staff("admin", "*"))
    for notification_id in (str(uuid.uuid4()), "not-an-id"):
        response = client.post(f"/api/v1/notifications/{notification_id}/resend", headers=admin)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_the_openapi_document_describes_every_api_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    served = {
        (rule.rule.replace("<notification_id>", "{notification_id}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == documented
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "401" in operation["responses"]


def search(client: FlaskClient, token: str, **body: object):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/notifications/searches", headers=bearer(token), json=body)


def test_an_admin_finds_notifications_by_the_whole_recipient_address_in_any_letter_case(
    client: FlaskClient,
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    token_issuer: TokenIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = record(settings, database, registry, CITIZEN, "CJ-2025-000020")
    second = record(settings, database, registry, CITIZEN, "CJ-2025-000021")
    finish_latest_delivery(database, first, "delivered")
    admin = token_issuer.staff("admin", "*")

    with caplog.at_level("DEBUG"):
        found = search(client, admin, recipient="Ana.Popescu@Example.RO")
    assert found.status_code == 200
    body = found.get_json()
    assert (body["total"], [item["id"] for item in body["items"]]) == (2, [second, first])
    assert body["items"][1]["status"] == "delivered" and body["items"][1]["deliveries"][0]["attempts"] == 0
    assert body["items"][0]["reference"] == "CJ-2025-000021"
    assert "ana.popescu@example.ro" not in caplog.text.lower()
    assert search(client, admin, recipient="popescu@example.ro").get_json()["total"] == 0  # no partial match
    paged = search(client, admin, recipient="ana.popescu@example.ro", per_page=1, page=2).get_json()
    assert [item["id"] for item in paged["items"]] == [first]


def test_an_admin_finds_notifications_by_registration_number_or_case_id(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    notification_id = record(settings, database, registry, CITIZEN, "CJ-2025-000030")
    record(settings, database, registry, CITIZEN, "CJ-2025-000031")
    admin = token_issuer.staff("admin", "*")

    by_number = search(client, admin, reference="CJ-2025-000030").get_json()
    assert [item["id"] for item in by_number["items"]] == [notification_id]
    certificate_id = by_number["items"][0]["about"]
    by_id = search(client, admin, reference=certificate_id).get_json()
    assert [item["id"] for item in by_id["items"]] == [notification_id]


def test_a_unit_administrator_finds_only_the_notifications_of_their_units(
    client: FlaskClient, settings: Settings, database: Database, registry: TemplateRegistry, token_issuer: TokenIssuer
) -> None:
    petition_mail = record_petition_mail(settings, database, registry, "IGPR")
    record_petition_mail(settings, database, registry, "IGSU")
    record(settings, database, registry, CITIZEN, "CJ-2025-000040")  # a national mail, same address
    address = mai_contracts.schema("ro.mai.petition.submitted.v1")["examples"][0]["recipient"]["email"]

    igpr = search(client, token_issuer.staff("admin", "IGPR"), recipient=address).get_json()
    assert (igpr["total"], [item["id"] for item in igpr["items"]]) == (1, [petition_mail])
    national = search(client, token_issuer.staff("admin", "*"), recipient=address).get_json()
    assert national["total"] >= 2


def test_the_search_is_for_administrators_and_takes_one_criterion(
    client: FlaskClient, token_issuer: TokenIssuer
) -> None:
    assert search(client, token_issuer.citizen(CITIZEN), recipient="a@example.ro").status_code == 403
    assert search(client, token_issuer.staff("petition_clerk", "IGPR"), recipient="a@example.ro").status_code == 403
    admin = token_issuer.staff("admin", "*")
    for body in ({}, {"recipient": "a@example.ro", "reference": "CJ-2025-000001"}, {"recipient": "not an address"}):
        refused = search(client, admin, **body)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json", body
    assert search(client, admin, reference="../x").status_code == 422
    assert client.post("/api/v1/notifications/searches", json={"recipient": "a@example.ro"}).status_code == 401
