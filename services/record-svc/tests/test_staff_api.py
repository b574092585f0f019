"""The staff API: certificate clerks by number, counter officers on referrals; each unit sees its own."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from record.registry import CnpHasher, import_registry_csv
from record_testing import make_cnp
from sqlalchemy import select


def _staff(issuer: TokenIssuer, role: str, unit: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.staff(role, unit)}"}


def _events(app: Flask) -> list[dict[str, Any]]:
    with app.extensions["mai_database"].session() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    return [json.loads(row.payload) for row in rows]


def _issued(client: FlaskClient, citizen: Any) -> dict[str, Any]:
    response = client.post("/api/v1/certificates", json={"purpose": "employment"}, headers=citizen.headers)
    assert response.status_code == 201
    return response.get_json()  # type: ignore[no-any-return]


def _referred(client: FlaskClient, app: Flask, settings: Any, citizen: Any, unit: str) -> dict[str, Any]:
    import_registry_csv(
        app.extensions["mai_database"],
        CnpHasher(settings.registry_hash_key),
        io.StringIO(f"cnp,unit\n{citizen.person.cnp},{unit}\n"),
        default_unit="IGPR-CAZIER",
    )
    body = _issued(client, citizen)
    assert body["status"] == "referred"
    return body


def test_a_clerk_finds_a_certificate_by_number_reads_its_history_and_revokes_it_with_a_reason(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer, app: Flask
) -> None:
    citizen = new_citizen(first_name="Ion", last_name="Popescu")
    number = _issued(client, citizen)["registration_number"]
    clerk = _staff(token_issuer, "certificate_clerk", "IGPR-CAZIER")
    client.post("/api/v1/certificates/verifications", json={"number": number, "cnp": citizen.person.cnp})

    found = client.get(f"/api/v1/certificates/numbers/{number.lower()}", headers=clerk)
    assert found.status_code == 200
    assert found.get_json()["holder_name"] == "Ion Popescu" and found.get_json()["status"] == "valid"
    assert citizen.person.cnp not in found.get_data(as_text=True)

    url = f"/api/v1/certificates/numbers/{number}/revocation"
    no_reason = client.post(url, json={}, headers=clerk)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    unexplained = client.post(url, json={"reason": "other"}, headers=clerk)
    assert unexplained.status_code == 422 and "note" in unexplained.get_json()["errors"]
    revoked = client.post(url, json={"reason": "issued_in_error", "note": "wrong holder"}, headers=clerk)
    assert revoked.status_code == 200 and revoked.get_json()["unit"] == "IGPR-CAZIER"
    assert client.post(url, json={"reason": "issued_in_error"}, headers=clerk).status_code == 409

    history = client.get(f"/api/v1/certificates/numbers/{number}/history", headers=clerk).get_json()
    assert [e["event"] for e in history["events"]] == ["requested", "issued", "revoked"]
    assert history["events"][-1]["note"] == "wrong holder" and history["verifications"] == 1
    assert _events(app)[-1]["type"] == "ro.mai.certificate.revoked.v1"


def test_another_units_clerk_a_counter_officer_and_the_holder_get_nothing_by_number(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer
) -> None:
    citizen = new_citizen()
    number = _issued(client, citizen)["registration_number"]
    elsewhere = _staff(token_issuer, "certificate_clerk", "IPJ-CJ")
    for path in (f"/api/v1/certificates/numbers/{number}", f"/api/v1/certificates/numbers/{number}/history"):
        refused = client.get(path, headers=elsewhere)
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
        assert client.get(path, headers=_staff(token_issuer, "counter_clerk", "IGPR-CAZIER")).status_code == 403
        assert client.get(path, headers=citizen.headers).status_code == 403
    url = f"/api/v1/certificates/numbers/{number}/revocation"
    assert client.post(url, json={"reason": "registry_updated"}, headers=elsewhere).status_code == 404
    assert (
        client.get(
            f"/api/v1/certificates/numbers/{number}", headers=_staff(token_issuer, "certificate_clerk", "IGPR-CAZIER")
        ).get_json()["status"]
        == "valid"
    )


def test_a_counter_officer_decides_a_referral_and_issues_the_signed_certificate_the_holder_downloads(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer, app: Flask, settings: Any, signing_dir: Path
) -> None:
    citizen = new_citizen(first_name="Maria", last_name="Ionescu")
    referral_id = _referred(client, app, settings, citizen, "IPJ-CJ")["id"]
    officer = _staff(token_issuer, "counter_clerk", "IPJ-CJ")

    listed = client.get("/api/v1/certificates/referrals", headers=officer).get_json()["items"]
    assert [(r["id"], r["state"], r["holder_name"]) for r in listed] == [(referral_id, "awaiting", "Maria Ionescu")]
    base = f"/api/v1/certificates/referrals/{referral_id}"
    person = citizen.person
    identity = {
        "cnp": person.cnp,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date.isoformat(),
    }
    assert client.post(f"{base}/certificate", json=identity, headers=officer).status_code == 409, "not cleared yet"
    assert client.get(f"{base}/certificate/pdf", headers=officer).status_code == 409, "nothing to print yet"
    decided = client.post(f"{base}/outcome", json={"outcome": "cleared", "note": "homonym"}, headers=officer)
    assert decided.status_code == 200 and decided.get_json()["state"] == "cleared"
    assert client.post(f"{base}/outcome", json={"outcome": "withdrawn"}, headers=officer).status_code == 409

    stranger = {**identity, "cnp": make_cnp(person.birth_date)}
    mismatch = client.post(f"{base}/certificate", json=stranger, headers=officer)
    assert mismatch.status_code == 422 and mismatch.get_json()["type"].endswith("/holder-mismatch")
    issued = client.post(f"{base}/certificate", json=identity, headers=officer)
    assert issued.status_code == 201, issued.get_json()
    certificate = issued.get_json()
    assert certificate["issued_in_unit"] == "IPJ-CJ" and certificate["issued_through"] == "counter"

    mine = client.get(f"/api/v1/certificates/{referral_id}", headers=citizen.headers).get_json()
    assert mine["status"] == "valid" and mine["registration_number"] == certificate["registration_number"]
    pdf = client.get(mine["download_url"], headers=citizen.headers).data
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    root = load_cert_from_pemder(str(signing_dir / "chain.pem"))
    status = validate_pdf_signature(signature, signer_validation_context=ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.trusted

    types = [e["type"] for e in _events(app)]
    audited = "ro.mai.record.staff_action.v1"  # the officer's decision and the issue, each on the audit trail
    assert types[-4:] == [audited, "ro.mai.certificate.referral_decided.v1", audited, "ro.mai.certificate.issued.v1"]
    printed = client.get(f"{base}/certificate/pdf", headers=officer)
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    assert printed.headers["Content-Disposition"].startswith("attachment;")
    assert printed.data == pdf, "the counter hands over the holder's own signed copy"
    assert _events(app)[-1]["type"] == audited
    assert _events(app)[-1]["data"]["action"] == "certificate.print_at_counter"
    elsewhere = _staff(token_issuer, "counter_clerk", "IPJ-IS")
    assert client.get(f"{base}/certificate/pdf", headers=elsewhere).status_code == 404
    assert all(person.cnp not in json.dumps(e) for e in _events(app))
    county_clerk = _staff(token_issuer, "certificate_clerk", "IPJ-CJ")
    number = certificate["registration_number"]
    assert client.get(f"/api/v1/certificates/numbers/{number}", headers=county_clerk).status_code == 200


def test_another_units_counter_officer_neither_lists_nor_sees_nor_decides_nor_issues(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer, app: Flask, settings: Any
) -> None:
    citizen = new_citizen()
    referral_id = _referred(client, app, settings, citizen, "IPJ-CJ")["id"]
    elsewhere = _staff(token_issuer, "counter_clerk", "IPJ-IS")
    base = f"/api/v1/certificates/referrals/{referral_id}"
    assert client.get("/api/v1/certificates/referrals", headers=elsewhere).get_json() == {"items": []}
    assert client.get("/api/v1/certificates/referrals?unit=IPJ-CJ", headers=elsewhere).get_json() == {"items": []}
    assert client.get(base, headers=elsewhere).status_code == 404
    assert client.post(f"{base}/outcome", json={"outcome": "cleared"}, headers=elsewhere).status_code == 404
    person = citizen.person
    identity = {
        "cnp": person.cnp,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date.isoformat(),
    }
    assert client.post(f"{base}/certificate", json=identity, headers=elsewhere).status_code == 404
    assert client.get(base, headers=_staff(token_issuer, "certificate_clerk", "IPJ-CJ")).status_code == 403
    assert client.get(base, headers=_staff(token_issuer, "counter_clerk", "IPJ-CJ")).get_json()["state"] == "awaiting"


def test_the_counter_checks_the_document_fields_before_anything_else(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer, app: Flask, settings: Any
) -> None:
    citizen = new_citizen()
    referral_id = _referred(client, app, settings, citizen, "IPJ-CJ")["id"]
    officer = _staff(token_issuer, "counter_clerk", "IPJ-CJ")
    person = citizen.person
    wrong_birth = {
        "cnp": person.cnp,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": "1971-01-01",
    }
    response = client.post(
        f"/api/v1/certificates/referrals/{referral_id}/certificate", json=wrong_birth, headers=officer
    )
    assert response.status_code == 422 and "birth_date" in response.get_json()["errors"]
    assert client.get("/api/v1/certificates/referrals?state=bogus", headers=officer).status_code == 422
