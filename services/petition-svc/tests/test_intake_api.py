"""Intake and receipts over HTTP (on SQLite): what the staff console calls."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from petition.domain import local_date

from .conftest import PDF, PNG

INTAKE = "/api/v1/petitions/intake"


def paper_petition(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "post",
        "kind": "petition",
        "field": "road-traffic",
        "subject": "Indicator rupt",
        "text": "Indicatorul de pe strada Morilor din Brăila este rupt de două săptămâni.",
        "name": "Ion Ionescu",
        "address": "Str. Morilor 12, Brăila",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def test_a_clerk_registers_a_paper_petition_and_prints_its_receipt(
    client: FlaskClient,
    clerk: Callable[..., dict[str, str]],
    outbox: Callable[[], list[tuple[str, str]]],
    tmp_path: Path,
) -> None:
    response = client.post(INTAKE, json=paper_petition(), headers=clerk("IGPR"))
    assert response.status_code == 201, response.get_json()
    taken_in = response.get_json()
    number = taken_in["registration_number"]
    assert (taken_in["channel"], taken_in["petitioner_mailed"]) == ("post", False)
    assert taken_in["institution"]["code"] == "IGPR"
    # Received, by default, on the day of its registration in Romania (not UTC's day: late at night they differ).
    assert taken_in["received_on"] == local_date(datetime.fromisoformat(taken_in["registered_at"])).isoformat()
    events = dict(outbox())  # the petition, and the clerk's action on the audit trail
    assert sorted(events) == ["ro.mai.petition.staff_action.v1", "ro.mai.petition.submitted.v1"]
    action = json.loads(events["ro.mai.petition.staff_action.v1"])["data"]
    assert (action["action"], action["subject"]["number"], action["unit"]) == ("petition.intake", number, "IGPR")
    event_type, payload = "ro.mai.petition.submitted.v1", events["ro.mai.petition.submitted.v1"]
    data = json.loads(payload)["data"]
    assert (event_type, data["channel"], "recipient" in data) == ("ro.mai.petition.submitted.v1", "post", False)

    receipt = client.get(taken_in["receipt_url"], headers=clerk("IGPR"))
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt.data)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: install Debian's poppler-utils"
    text = subprocess.run([pdftotext, str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert number in text and taken_in["answer_due_on"][8:10] + "." in text

    detail = client.get(f"/api/v1/petitions/{number}", headers=clerk("IGPR")).get_json()
    assert (detail["channel"], detail["petitioner"]["email"], detail["registered_by"]) == ("post", None, "clerk-IGPR")
    queue = client.get("/api/v1/petitions?channel=post", headers=clerk("IGPR")).get_json()
    assert [item["registration_number"] for item in queue["items"]] == [number]
    assert queue["items"][0]["due_soon"] is False


def test_an_e_mailed_petition_with_an_address_is_announced_to_be_mailed(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], outbox: Callable[[], list[tuple[str, str]]]
) -> None:
    body = paper_petition(channel="email", email="ion.ionescu@example.ro", address=None)
    taken_in = client.post(INTAKE, json=body, headers=clerk("IGPR")).get_json()
    assert taken_in["petitioner_mailed"] is True
    [data] = [json.loads(payload)["data"] for kind, payload in outbox() if kind == "ro.mai.petition.submitted.v1"]
    assert data["recipient"]["email"] == "ion.ionescu@example.ro" and data["channel"] == "email"


def test_bad_intakes_are_refused_as_problems_and_register_nothing(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], counts: Callable[[], tuple[int, int]]
) -> None:
    refusals = [
        (paper_petition(channel="fax"), 422, "channel"),
        (paper_petition(address=None), 422, "email"),
        (paper_petition(received_on="2999-01-01"), 422, "received_on"),
        (paper_petition(colour="red"), 422, "colour"),
    ]
    for body, status, field in refusals:
        response = client.post(INTAKE, json=body, headers=clerk("IGPR"))
        assert response.status_code == status, body
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], response.get_json()
    assert counts() == (0, 0)


def test_another_institutions_clerk_and_citizens_cannot_register_or_print(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], token_issuer: Any, counts: Callable[[], tuple[int, int]]
) -> None:
    refused = client.post(INTAKE, json=paper_petition(institution="IGPR"), headers=clerk("IGSU"))
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    citizen = {"Authorization": f"Bearer {token_issuer.citizen('4b0c1a5e-3f1d-4d7e-9a7a-0f6b9c3d2e11')}"}
    assert client.post(INTAKE, json=paper_petition(), headers=citizen).status_code == 403
    assert client.post(INTAKE, json=paper_petition()).status_code == 401
    assert counts() == (0, 0)
    number = client.post(INTAKE, json=paper_petition(), headers=clerk("IGPR")).get_json()["registration_number"]
    assert client.get(f"/api/v1/petitions/{number}/receipt", headers=clerk("IGSU")).status_code == 403
    assert client.get(f"/api/v1/petitions/{number}/receipt", headers=citizen).status_code == 403


def test_an_intake_retried_with_its_idempotency_key_registers_once(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], counts: Callable[[], tuple[int, int]]
) -> None:
    headers = {**clerk("IGPR"), "Idempotency-Key": "intake-7f3a"}
    first = client.post(INTAKE, json=paper_petition(), headers=headers)
    again = client.post(INTAKE, json=paper_petition(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["registration_number"] == first.get_json()["registration_number"]
    assert counts() == (1, 2)  # one petition: its submitted event and the clerk's intake on the audit trail


def test_the_queue_shows_mine_and_due_soon_filters(client: FlaskClient, clerk: Callable[..., dict[str, str]]) -> None:
    number = client.post(INTAKE, json=paper_petition(), headers=clerk("IGPR")).get_json()["registration_number"]
    client.post(INTAKE, json=paper_petition(subject="Alt indicator"), headers=clerk("IGPR"))
    assert client.post(f"/api/v1/petitions/{number}/assignment", json={}, headers=clerk("IGPR")).status_code == 200
    mine = client.get("/api/v1/petitions?assignee=me", headers=clerk("IGPR")).get_json()
    assert [item["registration_number"] for item in mine["items"]] == [number]
    assert client.get("/api/v1/petitions?due_soon=true", headers=clerk("IGPR")).get_json()["total"] == 0
    assert client.get("/api/v1/petitions?forwarded_late=true", headers=clerk("IGPR")).get_json()["total"] == 0
    assert client.get("/api/v1/petitions?channel=fax", headers=clerk("IGPR")).status_code == 422


def test_a_paper_petition_is_registered_with_its_scanned_pages(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], outbox: Callable[[], list[tuple[str, str]]]
) -> None:
    response = client.post(
        INTAKE,
        data={
            "petition": json.dumps(paper_petition()),
            "attachments": [(io.BytesIO(PDF), "scrisoare.pdf"), (io.BytesIO(PNG), "plic.png")],
        },
        content_type="multipart/form-data",
        headers=clerk("IGPR"),
    )
    assert response.status_code == 201, response.get_json()
    taken_in = response.get_json()
    assert taken_in["attachment_count"] == 2
    detail = client.get(f"/api/v1/petitions/{taken_in['registration_number']}", headers=clerk("IGPR")).get_json()
    assert [(a["name"], a["media_type"]) for a in detail["attachments"]] == [
        ("scrisoare.pdf", "application/pdf"),
        ("plic.png", "image/png"),
    ]
    [data] = [json.loads(payload)["data"] for kind, payload in outbox() if kind == "ro.mai.petition.submitted.v1"]
    assert data["attachment_count"] == 2


def test_a_scan_that_is_not_pdf_jpeg_or_png_registers_nothing(
    client: FlaskClient, clerk: Callable[..., dict[str, str]], counts: Callable[[], tuple[int, int]]
) -> None:
    response = client.post(
        INTAKE,
        data={"petition": json.dumps(paper_petition()), "attachments": [(io.BytesIO(b"MZ\x90\x00"), "scan.pdf")]},
        content_type="multipart/form-data",
        headers=clerk("IGPR"),
    )
    assert response.status_code == 415 and response.mimetype == "application/problem+json"
    assert counts() == (0, 0)
