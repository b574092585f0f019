"""Backup and restore of the services' databases, as RUNBOOK.md "Restore a database" does it.

Production: CloudNativePG archives every WAL segment to the object store and takes a nightly base
backup; a restore is a new cluster that starts from the base backup and replays the archived WAL
up to a chosen time. Here the same mechanism runs on a PostgreSQL server of the test's own: a base
backup (pg_basebackup, checked with pg_verifybackup), then citizens' petitions, accounts and
certificates written through the services' own APIs (so they exist only in the archived WAL), then
an operator's mistake, the data directory lost, and a point-in-time restore to just before the
mistake that must find every petition, account and certificate again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from local_postgres import PostgresServer
from mai_chassis import TokenVerifier
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer
from sqlalchemy import select

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PETITIONERS = [("Ana Popescu", "ana.popescu@example.ro"), ("Ion Ionescu", "ion.ionescu@example.ro"),
               ("Maria Dumitrescu", "maria.dumitrescu@example.ro")]  # fmt: skip


class Platform:
    """petition-svc, identity-svc and record-svc, each on its own database of one server."""

    def __init__(self, server: PostgresServer, tmp_path: Path, token_issuer: TokenIssuer, jwks_url: str) -> None:
        from identity import create_app as identity_app
        from identity_testing import add_signing_key, make_settings
        from petition import create_app as petition_app
        from petition.config import Settings as PetitionSettings
        from record import create_app as record_app
        from record.config import Settings as RecordSettings
        from record_testing import FakeCivilStatus

        self.identity_settings = make_settings(server.url("identity"))
        add_signing_key(self.identity_settings)
        self.identity = identity_app(self.identity_settings)
        self.petition = petition_app(
            PetitionSettings(
                environment="test",
                log_json=False,
                database_url=server.url("petition"),
                attachments_dir=str(tmp_path / "attachments"),
                jwt_jwks_url=jwks_url,
                jwt_issuer=token_issuer.issuer,
                jwt_audience=token_issuer.audience,
            )
        )
        self.civil_status = FakeCivilStatus()
        self.record = record_app(
            RecordSettings(
                environment="test",
                log_json=False,
                database_url=server.url("record"),
                identity_url="http://127.0.0.1:9",
                registry_hash_key="backup-test-registry-hash-key-0123456789",
                certificates_dir=str(tmp_path / "certificates"),
                development_signing_dir=str(tmp_path / "record-signing"),
                public_base_url="https://e-services.mai.gov.ro",
            ),
            civil_status=self.civil_status,
            token_verifier=TokenVerifier(
                jwks=token_issuer.jwks, issuer=token_issuer.issuer, audience=token_issuer.audience
            ),
        )

    def clients(self) -> tuple[FlaskClient, FlaskClient, FlaskClient]:
        return self.petition.test_client(), self.identity.test_client(), self.record.test_client()

    def dispose(self) -> None:
        self.petition.extensions["mai_database"].dispose()
        self.identity.extensions["mai_database"].dispose()
        self.record.extensions["mai_database"].dispose()


def _register_account(platform: Platform, client: FlaskClient, email: str, cnp: str) -> dict[str, Any]:
    from mai_chassis.sealing import Sealer

    body = {"email": email, "password": "correct horse battery", "last_name": "Popescu", "first_name": "Ana",
            "cnp": cnp}  # fmt: skip
    assert client.post("/api/v1/accounts", json=body).status_code == 202
    with platform.identity.extensions["mai_database"].session() as session:
        payloads = session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.event_type == "ro.mai.account.email_confirmation_requested.v1"
            )
        ).all()
    request = next(d for d in (json.loads(p)["data"] for p in payloads) if d["recipient"]["email"] == email)
    code = Sealer(list(platform.identity_settings.sealing_keys)).open(request["sealed_confirmation"])
    confirmed = client.post(
        "/api/v1/accounts/email-confirmation", json={"citizen_id": request["citizen_id"], "code": code}
    )
    assert confirmed.status_code == 204, confirmed.get_json()
    return body


def _can_log_in(client: FlaskClient, account: dict[str, Any]) -> bool:
    answer = client.post("/api/v1/auth/login", json={"email": account["email"], "password": account["password"]})
    return answer.status_code == 200 and bool(answer.get_json()["access_token"])


def test_every_petition_account_and_certificate_is_found_again_after_a_point_in_time_restore(
    own_postgres: PostgresServer, tmp_path: Path, token_issuer: TokenIssuer, jwks_url: str
) -> None:
    from identity.service import definition as identity_service
    from petition.service import definition as petition_service
    from record.service import definition as record_service
    from record_testing import make_cnp, make_person

    server = own_postgres
    for database, service in (("petition", petition_service), ("identity", identity_service),
                              ("record", record_service)):  # fmt: skip
        server.psql(f"CREATE DATABASE {database}")
        upgrade(server.url(database), service.migrations)

    # The nightly base backup, taken before any citizen's data: everything below lives only in WAL.
    server.take_base_backup()

    platform = Platform(server, tmp_path, token_issuer, jwks_url)
    petitions_api, identity_api, record_api = platform.clients()
    petitions = []
    for name, email in PETITIONERS:
        answer = petitions_api.post("/api/v1/petitions", json={
            "kind": "petition", "institution": "IGPR", "field": "road-traffic", "subject": "Semafor defect",
            "text": "Semaforul de la intersecția străzilor Mihai Vodă și Sfinții Apostoli nu funcționează.",
            "name": name, "email": email})  # fmt: skip
        assert answer.status_code == 201, answer.get_json()
        petitions.append((answer.get_json()["registration_number"], email))
    accounts = [_register_account(platform, identity_api, f"cetatean{i}@example.ro", make_cnp()) for i in range(3)]
    certificates = []
    for i in range(2):
        citizen_id = f"7f0c2b1e-0000-4000-8000-00000000000{i}"
        person = platform.civil_status.add(citizen_id, make_person(email=f"titular{i}@example.ro"))
        headers = {"Authorization": f"Bearer {token_issuer.citizen(citizen_id, verified=True)}"}
        answer = record_api.post("/api/v1/certificates", json={"purpose": "employment"}, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        certificates.append((answer.get_json()["registration_number"], person.cnp))
    platform.dispose()

    # The point to restore to; then an operator's mistake that the restore must undo.
    target_time = server.psql("SELECT clock_timestamp()")
    server.psql("SELECT pg_sleep(0.05)")
    for database in ("petition", "identity", "record"):
        tables = {"petition": "petitions", "identity": "accounts", "record": "certificate_applications"}
        server.psql(f"TRUNCATE {tables[database]} CASCADE", database)
    # The segment holding all this is archived when it is switched out (archive_timeout in production).
    segment = server.psql("SELECT pg_walfile_name(pg_switch_wal())")
    server.wait_until(f"SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver", "t")

    # The server and its data directory are lost; the restore replays the archive up to the target.
    server.lose_data()
    server.restore(target_time)
    server.start()
    server.wait_until("SELECT pg_is_in_recovery()", "f")

    restored = Platform(server, tmp_path, token_issuer, jwks_url)
    try:
        petitions_api, identity_api, record_api = restored.clients()
        for number, email in petitions:
            found = petitions_api.post(
                "/api/v1/petitions/status-lookup", json={"registration_number": number, "email": email}
            )
            assert found.status_code == 200, (number, found.get_json())
            assert found.get_json()["registration_number"] == number
        for account in accounts:
            assert _can_log_in(identity_api, account), account["email"]
        for number, cnp in certificates:
            verified = record_api.post("/api/v1/certificates/verifications", json={"number": number, "cnp": cnp})
            assert verified.status_code == 200, verified.get_json()
            assert verified.get_json()["result"] == "valid", verified.get_json()
    finally:
        restored.dispose()
    # Nothing after the target was replayed: the mistake is not in the restored database.
    assert server.psql("SELECT count(*) FROM petitions", "petition") == str(len(petitions))
    assert server.psql("SELECT count(*) FROM certificate_applications", "record") == str(len(certificates))
