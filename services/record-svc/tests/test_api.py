"""The certificates API with fakes for identity-svc, on SQLite: apply, download, verify, revoke."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer
from PIL import Image
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from record.registry import CnpHasher, import_registry_csv
from record.tables import CertificateApplication
from record_testing import make_cnp
from sqlalchemy import select


def _apply(client: FlaskClient, citizen: Any, purpose: str = "employment", **body: Any) -> Any:
    return client.post("/api/v1/certificates", json={"purpose": purpose, **body}, headers=citizen.headers)


def _outbox(app: Flask) -> list[dict[str, Any]]:
    with app.extensions["mai_database"].session() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    return [json.loads(row.payload) for row in rows]


def _verify(client: FlaskClient, number: str, cnp: str) -> dict[str, Any]:
    response = client.post("/api/v1/certificates/verifications", json={"number": number, "cnp": cnp})
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def _verify_by_code(client: FlaskClient, number: str, code: str) -> dict[str, Any]:
    response = client.post("/api/v1/certificates/verifications", json={"number": number, "verification_code": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: install Debian's poppler-utils"
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run([pdftotext, str(path), "-"], check=True, capture_output=True, text=True).stdout


def _qr_text(pdf: bytes, tmp_path: Path) -> str:
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: install Debian's poppler-utils"
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "qr")], check=True)
    (code,) = zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    return str(code.text)


PRINTED_CODE = re.compile(r"Verification code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")


def _signature_status(pdf: bytes, signing_dir: Path) -> Any:
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    root = load_cert_from_pemder(str(signing_dir / "chain.pem"))
    return validate_pdf_signature(signature, signer_validation_context=ValidationContext(trust_roots=[root]))


def test_a_verified_citizen_without_registry_entry_gets_a_signed_certificate_at_once(
    client: FlaskClient, new_citizen: Any, signing_dir: Path
) -> None:
    citizen = new_citizen()
    response = _apply(client, citizen)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "valid"
    assert body["registration_number"].startswith("CJ-")
    assert response.headers["Location"] == f"/api/v1/certificates/{body['id']}"

    pdf = client.get(body["download_url"], headers=citizen.headers)
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    status = _signature_status(pdf.data, signing_dir)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


@pytest.mark.toolchain  # poppler-utils reads the PDF
def test_the_qr_code_carries_the_public_page_with_the_printed_verification_code_in_its_fragment(
    app: Flask, client: FlaskClient, new_citizen: Any, tmp_path: Path
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    pdf = client.get(body["download_url"], headers=citizen.headers).data
    printed = PRINTED_CODE.search(_pdf_text(pdf, tmp_path))
    assert printed, "the certificate prints its verification code"
    number = body["registration_number"]
    assert _qr_text(pdf, tmp_path) == (
        f"https://e-services.mai.gov.ro/certificates/verify?number={number}#code={printed.group(1)}"
    )
    assert app.extensions["record_deps"].verification_url(number).endswith(f"/certificates/verify?number={number}")


@pytest.mark.toolchain  # poppler-utils reads the PDF
def test_anyone_with_the_printed_code_verifies_without_the_cnp_and_a_wrong_code_tells_nothing(
    app: Flask, client: FlaskClient, new_citizen: Any, tmp_path: Path
) -> None:
    citizen = new_citizen(first_name="Ion", last_name="Popescu")
    body = _apply(client, citizen).get_json()
    number = body["registration_number"]
    printed = PRINTED_CODE.search(_pdf_text(client.get(body["download_url"], headers=citizen.headers).data, tmp_path))
    assert printed
    code = printed.group(1)
    by_code = _verify_by_code(client, number, code)
    assert by_code == _verify(client, number, citizen.person.cnp)
    assert by_code["result"] == "valid" and by_code["holder"] == "I*** P***"
    assert _verify_by_code(client, number.lower(), code.replace("-", " ").lower())["result"] == "valid"
    wrong = ("1" if code[0] != "1" else "2") + code[1:]
    assert _verify_by_code(client, number, wrong) == {"result": "not_found"}
    assert _verify_by_code(client, "CJ-2031-0000001", code) == {"result": "not_found"}
    with app.extensions["mai_database"].session() as session:
        stored = session.scalar(select(CertificateApplication.verification_code_digest))
    assert stored and code.replace("-", "") not in stored, "only a keyed hash of the code is kept"


@pytest.mark.parametrize(
    "body",
    [
        {"number": "CJ-2025-0000001", "cnp": "1900517125802", "verification_code": "7K2Q-MXPA-9D4T"},
        {"number": "CJ-2025-0000001"},
        {"number": "CJ-2025-0000001", "verification_code": "not-a-code"},
        {"cnp": "1900517125802"},
        {"registration_number": "CJ-2025-0000001", "cnp": "1900517125802"},
    ],
    ids=["both", "neither", "malformed-code", "no-number", "unknown-field"],
)
def test_a_verification_needs_the_number_and_exactly_one_of_cnp_and_code(client: FlaskClient, body: Any) -> None:
    response = client.post("/api/v1/certificates/verifications", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


@pytest.mark.toolchain  # poppler-utils reads the PDF
def test_wrong_cnps_lock_verification_by_cnp_for_a_number_alike_whether_it_exists_or_not(
    client: FlaskClient, new_citizen: Any, clock: Any, tmp_path: Path
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    real, unknown = body["registration_number"], "CJ-2025-9999999"
    code = PRINTED_CODE.search(_pdf_text(client.get(body["download_url"], headers=citizen.headers).data, tmp_path))
    assert code
    answers: dict[str, list[Any]] = {real: [], unknown: []}
    for number in (real, unknown):
        for _ in range(5):
            guess = client.post("/api/v1/certificates/verifications", json={"number": number, "cnp": make_cnp()})
            answers[number].append((guess.status_code, guess.get_json()))
        # Locked now: even the right CNP is not checked, so a lucky guess would tell nothing.
        locked = client.post("/api/v1/certificates/verifications", json={"number": number, "cnp": citizen.person.cnp})
        answers[number].append((locked.status_code, locked.get_json(), locked.headers.get("Retry-After")))
    alike = [
        [(a[0], {k: v for k, v in a[1].items() if k not in ("request_id", "retry_after")}) for a in answers[n]]
        for n in answers
    ]
    assert alike[0] == alike[1], "an existing and an unknown number must answer alike"
    assert abs(int(answers[real][5][2]) - int(answers[unknown][5][2])) <= 1
    assert [a[0] for a in answers[real]] == [200] * 5 + [429]
    assert all(a[1] == {"result": "not_found"} for a in answers[real][:5])
    _, problem, retry_after = answers[real][5]
    assert problem["type"].endswith("/verification-locked") and problem["retry_after"] == int(retry_after)
    assert 23 * 3600 < int(retry_after) <= 24 * 3600

    assert _verify_by_code(client, real, code.group(1))["result"] == "valid", "the code is never locked"
    other = new_citizen()
    other_number = _apply(client, other).get_json()["registration_number"]
    assert _verify(client, other_number, other.person.cnp)["result"] == "valid", "other numbers are not locked"

    clock.advance(timedelta(hours=24, seconds=1))
    assert _verify(client, real, citizen.person.cnp)["result"] == "valid"
    for _ in range(5):
        _verify(client, real, make_cnp())
    again = client.post("/api/v1/certificates/verifications", json={"number": real, "cnp": citizen.person.cnp})
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 47 * 3600, "guessing on after a lock doubles the next one"


@pytest.mark.toolchain  # poppler-utils reads the PDF
def test_the_certificate_prints_only_the_verified_identity(
    client: FlaskClient, new_citizen: Any, tmp_path: Path
) -> None:
    citizen = new_citizen(first_name="Ion", last_name="Popescu")
    body = _apply(client, citizen).get_json()
    text = _pdf_text(client.get(body["download_url"], headers=citizen.headers).data, tmp_path)
    assert "POPESCU" in text and "Ion" in text and citizen.person.cnp in text and "17.05.1990" in text
    for label in ("Locul nașterii", "Place of birth", "părinților", "Parents", "Domiciliul", "Address", "Cetățenia"):
        assert label not in text, f"{label!r} is not verified and must not be printed"
    assert "codul de verificare" in text and "CNP-ul titularului" in text


@pytest.mark.toolchain  # poppler-utils reads the PDF
def test_the_free_purpose_text_is_short_plain_and_printed_as_the_applicants_declaration(
    client: FlaskClient, new_citizen: Any, tmp_path: Path
) -> None:
    citizen = new_citizen()
    too_long = _apply(client, citizen, "other", purpose_text="x" * 101)
    assert too_long.status_code == 422 and "purpose_text" in too_long.get_json()["errors"]
    reversed_words = _apply(client, citizen, "other", purpose_text="angajare \u202eacitilop\u202c")
    assert reversed_words.status_code == 422 and "purpose_text" in reversed_words.get_json()["errors"]
    body = _apply(client, citizen, "other", purpose_text="concurs de admitere").get_json()
    text = _pdf_text(client.get(body["download_url"], headers=citizen.headers).data, tmp_path)
    assert "Declarat de solicitant, neverificat: „concurs de admitere”" in text
    assert "Declared by the applicant, not verified" in text


def test_a_changed_byte_breaks_the_signature(client: FlaskClient, new_citizen: Any, signing_dir: Path) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    pdf = bytearray(client.get(body["download_url"], headers=citizen.headers).data)
    position = pdf.index(b"stream") + 20  # inside the page content, which the signature covers
    pdf[position] ^= 0x01
    try:
        status = _signature_status(bytes(pdf), signing_dir)
    except SignatureValidationError:
        return
    assert not status.intact


def test_application_publishes_requested_and_issued_without_the_cnp(
    client: FlaskClient, new_citizen: Any, app: Flask
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    events = _outbox(app)
    assert [e["type"] for e in events] == ["ro.mai.certificate.requested.v1", "ro.mai.certificate.issued.v1"]
    issued = events[1]["data"]
    assert issued["registration_number"] == body["registration_number"]
    assert issued["recipient"]["email"] == citizen.person.email
    assert all(citizen.person.cnp not in json.dumps(e) for e in events)


def test_an_unverified_citizen_is_told_how_to_verify(client: FlaskClient, new_citizen: Any) -> None:
    response = _apply(client, new_citizen(verified=False))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/identity-not-verified")
    assert {m["method"] for m in problem["verification_methods"]} == {"eid_provider", "counter"}


def test_a_citizen_verified_at_a_counter_may_apply_with_a_plain_token(
    client: FlaskClient, new_citizen: Any, app: Flask
) -> None:
    from mai_chassis.events import Event
    from record.handlers import record_verified_identity

    citizen = new_citizen(verified=False)
    with app.extensions["mai_database"].unit_of_work() as uow:
        record_verified_identity(
            uow,
            Event(
                id="e1",
                type="ro.mai.identity.verified.v1",
                source="identity-svc",
                subject=citizen.id,
                time=None,
                data={
                    "citizen_id": citizen.id,
                    "method": "counter",
                    "unit": "IPJ-CJ",
                    "assurance_level": "high",
                    "verified_at": "2025-03-14T09:10:00Z",
                    "recipient": {"email": citizen.person.email, "name": "Ana Popescu", "language": "ro"},
                },
            ),
        )
        uow.commit()
    assert _apply(client, citizen).status_code == 201


def test_a_second_application_for_the_same_purpose_that_day_returns_the_first(
    client: FlaskClient, new_citizen: Any, app: Flask
) -> None:
    citizen = new_citizen()
    first = _apply(client, citizen)
    second = _apply(client, citizen)
    assert second.status_code == 200
    assert second.get_json()["id"] == first.get_json()["id"]
    assert _apply(client, citizen, "studies").status_code == 201
    assert len(_outbox(app)) == 4


def test_purpose_other_requires_a_description(client: FlaskClient, new_citizen: Any) -> None:
    citizen = new_citizen()
    response = _apply(client, citizen, "other")
    assert response.status_code == 422
    assert "purpose_text" in response.get_json()["errors"]
    assert _apply(client, citizen, "other", purpose_text="concurs de admitere").status_code == 201


def test_unknown_fields_and_purposes_are_rejected(client: FlaskClient, new_citizen: Any) -> None:
    citizen = new_citizen()
    assert _apply(client, citizen, "employment", cnp="1900517125802").status_code == 422
    assert _apply(client, citizen, "bribery").status_code == 422


def test_a_person_with_a_registry_entry_is_referred_to_a_counter_and_gets_no_pdf(
    client: FlaskClient, new_citizen: Any, app: Flask, settings: Any
) -> None:
    citizen = new_citizen()
    import_registry_csv(
        app.extensions["mai_database"],
        CnpHasher(settings.registry_hash_key),
        io.StringIO(f"cnp,unit\n{citizen.person.cnp},IPJ-CJ\n"),
        default_unit="IGPR",
    )
    response = _apply(client, citizen)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "referred"
    assert body["referral"] == {"reason": "registry_entry", "unit": "IPJ-CJ"}
    assert body["download_url"] is None and body["registration_number"] is None
    assert client.get(f"/api/v1/certificates/{body['id']}/pdf", headers=citizen.headers).status_code == 410
    assert not list(Path(settings.certificates_dir).rglob("*.pdf"))
    refused = _outbox(app)[-1]
    assert refused["type"] == "ro.mai.certificate.refused.v1"
    assert refused["data"]["referred_to_unit"] == "IPJ-CJ"


def test_another_citizens_certificate_is_not_found(client: FlaskClient, new_citizen: Any) -> None:
    holder, other = new_citizen(), new_citizen()
    body = _apply(client, holder).get_json()
    assert client.get(f"/api/v1/certificates/{body['id']}/pdf", headers=other.headers).status_code == 404
    assert client.get(f"/api/v1/certificates/{body['id']}", headers=other.headers).status_code == 404
    assert client.get("/api/v1/certificates", headers=other.headers).get_json() == {"items": []}


def test_the_holder_lists_their_certificates(client: FlaskClient, new_citizen: Any) -> None:
    citizen = new_citizen()
    _apply(client, citizen)
    _apply(client, citizen, "studies")
    items = client.get("/api/v1/certificates", headers=citizen.headers).get_json()["items"]
    assert sorted(item["purpose"] for item in items) == ["employment", "studies"]


def test_verification_by_number_and_cnp(client: FlaskClient, new_citizen: Any) -> None:
    citizen = new_citizen(first_name="Ion", last_name="Popescu")
    body = _apply(client, citizen).get_json()
    result = _verify(client, body["registration_number"], citizen.person.cnp)
    assert result["result"] == "valid"
    assert result["holder"] == "I*** P***"
    assert set(result) == {"result", "registration_number", "issued_at", "valid_until", "holder"}
    assert _verify(client, body["registration_number"], new_citizen().person.cnp) == {"result": "not_found"}
    assert _verify(client, "CJ-1999-0000001", citizen.person.cnp) == {"result": "not_found"}


def test_after_six_months_verification_says_expired_and_download_is_gone(
    client: FlaskClient, new_citizen: Any, clock: Any
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    clock.advance(timedelta(days=185))
    assert _verify(client, body["registration_number"], citizen.person.cnp)["result"] == "expired"
    assert client.get(f"/api/v1/certificates/{body['id']}/pdf", headers=citizen.headers).status_code == 410


def test_a_clerk_revokes_and_verification_says_revoked(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer, app: Flask
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    clerk = {"Authorization": f"Bearer {token_issuer.staff('certificate_clerk', 'IGPR-CAZIER')}"}
    url = f"/api/v1/certificates/{body['id']}/revocation"
    assert client.post(url, json={"reason": "registry_updated"}, headers=citizen.headers).status_code == 403
    response = client.post(url, json={"reason": "registry_updated", "note": "sentence registered late"}, headers=clerk)
    assert response.status_code == 200
    assert response.get_json()["unit"] == "IGPR-CAZIER"
    assert _verify(client, body["registration_number"], citizen.person.cnp)["result"] == "revoked"
    assert client.post(url, json={"reason": "other"}, headers=clerk).status_code == 409
    revoked = _outbox(app)[-1]
    assert revoked["type"] == "ro.mai.certificate.revoked.v1"
    assert revoked["data"]["reason"] == "registry_updated"


def test_only_clerks_of_the_issuing_unit_revoke_a_certificate(
    client: FlaskClient, new_citizen: Any, token_issuer: TokenIssuer
) -> None:
    citizen = new_citizen()
    body = _apply(client, citizen).get_json()
    url = f"/api/v1/certificates/{body['id']}/revocation"
    for role, unit in (
        ("certificate_clerk", "IPJ-CJ"),  # a county's clerk, not the issuing unit's
        ("admin", "IGPR-CAZIER"),  # the issuing unit's administrator holds no clerk role
        ("admin", "*"),
    ):
        staff = {"Authorization": f"Bearer {token_issuer.staff(role, unit)}"}
        refused = client.post(url, json={"reason": "registry_updated"}, headers=staff)
        assert refused.status_code == 403, (role, unit)
    clerk = {"Authorization": f"Bearer {token_issuer.staff('certificate_clerk', 'IGPR-CAZIER')}"}
    elsewhere = client.post(url, json={"reason": "registry_updated", "unit": "IPJ-CJ"}, headers=clerk)
    assert elsewhere.status_code == 403
    assert _verify(client, body["registration_number"], citizen.person.cnp)["result"] == "valid"
    assert client.post(url, json={"reason": "registry_updated"}, headers=clerk).status_code == 200


def test_a_retried_application_with_the_same_idempotency_key_is_replayed(client: FlaskClient, new_citizen: Any) -> None:
    citizen = new_citizen()
    headers = {**citizen.headers, "Idempotency-Key": "apply-1"}
    first = client.post("/api/v1/certificates", json={"purpose": "employment"}, headers=headers)
    again = client.post("/api/v1/certificates", json={"purpose": "employment"}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]


def test_purposes_are_public_and_openapi_documents_every_endpoint(client: FlaskClient) -> None:
    purposes = client.get("/api/v1/certificates/purposes").get_json()["items"]
    assert any(p["code"] == "other" and p["requires_text"] for p in purposes)
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/certificates",
        "/api/v1/certificates/purposes",
        "/api/v1/certificates/{certificate_id}",
        "/api/v1/certificates/{certificate_id}/pdf",
        "/api/v1/certificates/verifications",
        "/api/v1/certificates/{certificate_id}/revocation",
        "/api/v1/certificates/numbers/{number}",
        "/api/v1/certificates/numbers/{number}/history",
        "/api/v1/certificates/numbers/{number}/revocation",
        "/api/v1/certificates/referrals",
        "/api/v1/certificates/referrals/{certificate_id}",
        "/api/v1/certificates/referrals/{certificate_id}/outcome",
        "/api/v1/certificates/referrals/{certificate_id}/certificate",
        "/api/v1/certificates/referrals/{certificate_id}/certificate/pdf",
    }
    responses = document["paths"]["/api/v1/certificates"]["post"]["responses"]
    assert "application/problem+json" in responses["403"]["content"]
