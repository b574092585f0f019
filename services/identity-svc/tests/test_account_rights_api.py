"""The citizen's rights through identity-svc's API: delete the account, download their data."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from identity import create_app
from identity.config import Settings
from identity.service import MIGRATIONS
from identity_testing import VALID_CNP, add_signing_key, make_settings
from mai_chassis.migrations import upgrade
from mai_chassis.testing import QuietHandler, send_json, serve_http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _subject_of(authorization: str) -> str:
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


@pytest.fixture
def petitions() -> Iterator[tuple[str, list[str]]]:
    """petition-svc's export endpoint stands in: it answers about the token's subject (or fails on demand)."""
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            seen.append(authorization)
            if "fail" in seen:
                send_json(self, 500, {"title": "down"})
                return
            subject = _subject_of(authorization)
            send_json(self, 200, {"service": "petition-svc", "subject": subject, "data": {"petitions": ["P-1"]}})

    with serve_http(Handler) as url:
        yield url, seen


@pytest.fixture
def settings(tmp_path: Any, petitions: tuple[str, list[str]]) -> Settings:
    url = f"sqlite:///{tmp_path}/identity.db"
    upgrade(url, MIGRATIONS)
    configured = make_settings(url, export_sources=(("petition-svc", petitions[0]),))
    add_signing_key(configured)
    return configured


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["mai_database"].dispose()


def test_the_download_is_one_zip_of_every_part_asked_with_the_callers_token_and_never_cached(
    client: FlaskClient, register_citizen: Callable[..., dict[str, Any]], petitions: tuple[str, list[str]]
) -> None:
    citizen = register_citizen()

    answer = client.get("/api/v1/accounts/me/export", headers=bearer(citizen["access_token"]))

    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    assert answer.headers["Cache-Control"] == "no-store" and "attachment" in answer.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    assert json.loads(archive.read("identity-svc.json"))["data"]["civil_status"]["cnp"] == VALID_CNP
    assert json.loads(archive.read("petition-svc.json"))["data"] == {"petitions": ["P-1"]}
    assert petitions[1] == [f"Bearer {citizen['access_token']}"]


def test_a_service_that_cannot_answer_gives_no_partial_download(
    client: FlaskClient, register_citizen: Callable[..., dict[str, Any]], petitions: tuple[str, list[str]]
) -> None:
    citizen = register_citizen()
    petitions[1].append("fail")

    answer = client.get("/api/v1/accounts/me/export", headers=bearer(citizen["access_token"]))

    assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["service"] == "petition-svc" and answer.headers["Retry-After"] == "60"


def test_deleting_needs_the_password_then_ends_the_account_and_tells_every_service(
    client: FlaskClient,
    register_citizen: Callable[..., dict[str, Any]],
    published: Callable[[str], list[dict[str, Any]]],
) -> None:
    citizen = register_citizen()
    auth = bearer(citizen["access_token"])

    missing = client.delete("/api/v1/accounts/me", json={}, headers=auth)
    wrong = client.delete("/api/v1/accounts/me", json={"password": "not it"}, headers=auth)
    assert missing.status_code == 422 and wrong.status_code == 403
    assert wrong.get_json()["type"].endswith("password-refused") and published("ro.mai.account.deleted.v1") == []

    deleted = client.delete("/api/v1/accounts/me", json={"password": citizen["body"]["password"]}, headers=auth)

    assert deleted.status_code == 200 and deleted.headers["Cache-Control"] == "no-store"
    assert {k["data_class"] for k in deleted.get_json()["kept"]} == {"closed-petitions", "expired-certificates"}
    [event] = published("ro.mai.account.deleted.v1")
    assert event["account_id"] == citizen["citizen_id"] and event["reason"] == "citizen_request"
    assert VALID_CNP not in json.dumps(event)
    login = {"email": citizen["body"]["email"], "password": citizen["body"]["password"]}
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": citizen["refresh_token"]})
    assert refresh.status_code == 401  # every session ended with the account


def test_a_staff_member_cannot_delete_an_account_here(client: FlaskClient, sign_token: Callable[..., str]) -> None:
    answer = client.delete("/api/v1/accounts/me", json={"password": "x"}, headers=bearer(sign_token(kind="staff")))
    assert answer.status_code == 403
