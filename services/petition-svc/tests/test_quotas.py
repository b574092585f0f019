"""What anyone can make petition-svc store is bounded: petitions with attachments per client and per
recipient address, the attachment store's budget, and a challenge for anonymous clients past a threshold."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.challenges import PROOF_OF_WORK_HEADER, client_key, solve_proof_of_work
from mai_chassis.testing import TokenIssuer
from petition import create_app
from petition.config import Settings
from petition.tables import Petition
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from .conftest import PDF, PNG, petition_body

SUBMIT = "/api/v1/petitions"
CHALLENGE_KEY = "unit-tests-only-challenge-key-0123456789abcdef"


@pytest.fixture
def make_app(tmp_path: Path, migrated_template: Path, jwks_url: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        database_file = tmp_path / f"petition-{len(apps)}.db"
        shutil.copy(migrated_template, database_file)
        settings = Settings(
            environment="test",
            database_url=f"sqlite:///{database_file}",
            attachments_dir=str(tmp_path / f"attachments-{len(apps)}"),
            jwt_jwks_url=jwks_url,
            jwt_issuer="mai-identity",
            jwt_audience="mai-eservices",
            log_json=False,
            **overrides,
        )
        apps.append(create_app(settings))
        return apps[-1]

    yield build
    for app in apps:
        app.extensions["mai_database"].dispose()


def send(
    client: FlaskClient,
    *,
    address: str = "198.51.100.7",
    files: tuple[bytes, ...] = (PDF,),
    headers: dict[str, str] | None = None,
    **changes: Any,
) -> Any:
    data: dict[str, Any] = {"petition": json.dumps(petition_body(**changes))}
    if files:
        data["attachments"] = [(io.BytesIO(content), f"scan-{i}.pdf") for i, content in enumerate(files)]
    return client.post(
        SUBMIT,
        data=data,
        content_type="multipart/form-data",
        headers=headers or {},
        environ_base={"REMOTE_ADDR": address},
    )


def petitions(app: Flask) -> int:
    with app.extensions["mai_database"].session() as session:
        return int(session.scalar(select(func.count()).select_from(Petition)) or 0)


def refused(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("petition_submissions_refused_total", {"service": "petition-svc", "reason": reason})
        or 0.0
    )


def test_one_client_gets_its_quota_of_petitions_with_attachments_then_a_429_and_nothing_stored(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(attachment_petitions_per_client=2)
    client = app.test_client()
    before = refused("client-quota")
    for n in range(2):
        assert send(client, email=f"p{n}@example.ro").status_code == 201
    over = send(client, email="p3@example.ro", files=(PNG,))
    assert over.status_code == 429 and over.mimetype == "application/problem+json"
    problem = over.get_json()
    assert problem["type"].endswith("/submission-quota-exceeded") and problem["quota"] == "client"
    assert 86000 < int(over.headers["Retry-After"]) <= 86400 and problem["retry_after"] == int(
        over.headers["Retry-After"]
    )
    assert petitions(app) == 2
    stored = {path.name for path in Path(app.extensions["petition"].store.root).rglob("*") if path.is_file()}
    assert hashlib.sha256(PNG).hexdigest() not in stored, "the refused attachment was not stored"
    assert refused("client-quota") - before == 1
    # Other clients, and this client's petitions without attachments, go on.
    assert send(client, address="198.51.100.8", email="p4@example.ro").status_code == 201
    assert send(client, files=(), email="p5@example.ro").status_code == 201


def test_a_client_cannot_send_more_attachment_bytes_than_its_quota(make_app: Callable[..., Flask]) -> None:
    app = make_app(attachment_bytes_per_client=len(PDF) * 2)
    client = app.test_client()
    assert send(client, files=(PDF, PDF), email="a@example.ro").status_code == 201
    assert send(client, files=(PNG,), email="b@example.ro").status_code == 429


def test_one_address_receives_at_most_its_quota_of_petitions_with_attachments_from_any_clients(
    make_app: Callable[..., Flask], token_issuer: TokenIssuer
) -> None:
    app = make_app(attachment_petitions_per_recipient=2)
    client = app.test_client()
    for n in range(2):
        assert send(client, address=f"203.0.113.{n}", email="Tinta@Example.ro").status_code == 201
    over = send(client, address="203.0.113.99", email="tinta@example.ro")
    assert over.status_code == 429 and over.get_json()["quota"] == "recipient"
    # The address's owner, signed in, is limited as a client only.
    owner = {"Authorization": f"Bearer {token_issuer.citizen(str(uuid.uuid4()), email='tinta@example.ro')}"}
    assert send(client, address="203.0.113.100", email="tinta@example.ro", headers=owner).status_code == 201


def test_an_ipv6_subscriber_network_counts_as_one_client() -> None:
    assert client_key(None, "2001:db8:1:2::1") == client_key(None, "2001:db8:1:2:ffff::9")
    assert client_key(None, "2001:db8:1:2::1") != client_key(None, "2001:db8:1:3::1")
    assert client_key(None, "::ffff:198.51.100.7") == client_key(None, "198.51.100.7")
    assert client_key("citizen-1", "198.51.100.7") != client_key(None, "198.51.100.7")


def test_attachments_are_refused_once_the_store_would_pass_its_budget_and_the_gauge_shows_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(attachment_storage_budget_bytes=len(PDF) + len(PNG) // 2)
    client = app.test_client()
    assert send(client, email="x@example.ro").status_code == 201
    full = send(client, files=(PNG,), email="y@example.ro", address="192.0.2.10")
    assert full.status_code == 503 and full.get_json()["type"].endswith("/attachment-storage-full")
    assert full.headers["Retry-After"]
    assert send(client, files=(), email="y@example.ro", address="192.0.2.10").status_code == 201
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'petition_attachment_store_bytes{{service="petition-svc"}} {float(len(PDF))}' in metrics
    budget = float(len(PDF) + len(PNG) // 2)
    assert f'petition_attachment_store_budget_bytes{{service="petition-svc"}} {budget}' in metrics


def test_past_the_threshold_an_anonymous_client_solves_a_proof_of_work_once_per_petition(
    make_app: Callable[..., Flask], token_issuer: TokenIssuer
) -> None:
    app = make_app(
        submission_challenge="proof-of-work",
        submission_challenge_after=1,
        submission_challenge_key=CHALLENGE_KEY,
        proof_of_work_bits=8,
    )
    client = app.test_client()
    assert send(client, email="first@example.ro").status_code == 201
    asked = send(client, email="second@example.ro")
    assert asked.status_code == 428
    problem = asked.get_json()
    assert problem["type"].endswith("/challenge-required") and problem["challenge"]["kind"] == "proof-of-work"
    assert petitions(app) == 1
    solution = solve_proof_of_work(problem["challenge"])
    assert send(client, email="second@example.ro", headers={PROOF_OF_WORK_HEADER: solution}).status_code == 201
    again = send(client, email="third@example.ro", headers={PROOF_OF_WORK_HEADER: solution})
    assert again.status_code == 428, "a solution is accepted once"
    forged = solution.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef:1"
    assert send(client, email="third@example.ro", headers={PROOF_OF_WORK_HEADER: forged}).status_code == 428
    citizen = {"Authorization": f"Bearer {token_issuer.citizen(str(uuid.uuid4()))}"}
    assert send(client, email="third@example.ro", headers=citizen).status_code == 201, "signed-in clients are not asked"


def test_the_challenge_is_off_unless_configured_and_then_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from mai_chassis import ConfigurationError

    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    assert Settings.from_env().submission_challenge == "off"
    monkeypatch.setenv("SUBMISSION_CHALLENGE", "proof-of-work")
    with pytest.raises(ConfigurationError, match="SUBMISSION_CHALLENGE_KEY"):
        Settings.from_env()
    monkeypatch.setenv("SUBMISSION_CHALLENGE_KEY", CHALLENGE_KEY)
    assert Settings.from_env().submission_challenge_key == CHALLENGE_KEY
