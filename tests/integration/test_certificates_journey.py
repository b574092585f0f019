"""Criminal-record certificates end to end: record-svc's web and worker processes behind the gateway,
on the real broker and PostgreSQL, with identity-svc's civil-status endpoint faked on loopback."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
import requests
import zxingcpp
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.testing import TokenIssuer, ensure_topics, read_events, wait_until
from mai_devtools.local_platform import BIN, Platform
from PIL import Image
from record_testing import UNVERIFIED_PROFILE, FakeCivilStatus, make_cnp, make_person, serve_civil_status

pytestmark = pytest.mark.integration

PDFSIG = shutil.which("pdfsig")


@pytest.fixture(scope="module")
def civil_status() -> Iterator[tuple[FakeCivilStatus, str]]:
    fake = FakeCivilStatus()
    with serve_civil_status(fake) as url:
        yield fake, url


@pytest.fixture(scope="module")
def platform(
    kafka_bootstrap_servers: str,
    database_factory: Callable[..., str],
    jwks_url: str,
    civil_status: tuple[FakeCivilStatus, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    running = Platform(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_urls={"record": database_factory("record")},
        smtp_port=9,  # notify-svc is not started here
        services=["record"],
        topic_prefix=prefix,
        extra_env={"JWT_JWKS_URL": jwks_url, "IDENTITY_URL": civil_status[1], "WEB_THREADS": "16"},
        workdir=tmp_path_factory.mktemp("record-platform"),
    )
    try:
        running.start()
    except Exception:
        print(running.logs())
        running.stop()
        raise
    yield running
    running.stop()


class Citizen:
    def __init__(self, issuer: TokenIssuer, fake: FakeCivilStatus, *, verified: bool = True) -> None:
        self.id = str(uuid.uuid4())
        self.person = fake.add(self.id, make_person(first_name="Ion", last_name="Popescu"))
        self.headers = {"Authorization": f"Bearer {issuer.citizen(self.id, verified=verified)}"}


@pytest.fixture
def new_citizen(token_issuer: TokenIssuer, civil_status: tuple[FakeCivilStatus, str]) -> Callable[..., Citizen]:
    return lambda **options: Citizen(token_issuer, civil_status[0], **options)


def _apply(platform: Platform, citizen: Citizen, purpose: str = "employment") -> requests.Response:
    return requests.post(
        f"{platform.gateway_url}/api/v1/certificates", json={"purpose": purpose}, headers=citizen.headers, timeout=30
    )


def _verify(platform: Platform, number: str, cnp: str) -> dict[str, Any]:
    response = requests.post(
        f"{platform.gateway_url}/api/v1/certificates/verifications",
        json={"number": number, "cnp": cnp},
        timeout=10,
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _download(platform: Platform, citizen: Citizen, body: dict[str, Any]) -> bytes:
    response = requests.get(f"{platform.gateway_url}{body['download_url']}", headers=citizen.headers, timeout=10)
    assert response.status_code == 200
    return response.content


def _printed_text(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: install Debian's poppler-utils"
    path = tmp_path / "printed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def _scanned_qr(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftoppm"), "pdftoppm is missing: install Debian's poppler-utils"
    path = tmp_path / "scanned.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "scan")], check=True)
    (symbol,) = zxingcpp.read_barcodes(Image.open(tmp_path / "scan.png"))
    return str(symbol.text)


def _pdfsig(path: Path) -> str:
    assert PDFSIG, "pdfsig is missing: install Debian's poppler-utils"
    return subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, timeout=30).stdout


def test_an_issued_certificate_is_signed_over_the_whole_document_and_tampering_shows(
    platform: Platform, new_citizen: Callable[..., Citizen], tmp_path: Path
) -> None:
    citizen = new_citizen()
    applied = _apply(platform, citizen)
    assert applied.status_code == 201, applied.text
    body = applied.json()
    download = requests.get(f"{platform.gateway_url}{body['download_url']}", headers=citizen.headers, timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"

    original = tmp_path / "certificate.pdf"
    original.write_bytes(download.content)
    report = _pdfsig(original)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report

    tampered = bytearray(download.content)
    tampered[tampered.index(b"stream") + 20] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(tampered))
    assert "Signature is Valid." not in _pdfsig(changed)


def test_issue_publishes_requested_and_issued_events_without_the_cnp(
    platform: Platform, new_citizen: Callable[..., Citizen]
) -> None:
    citizen = new_citizen()
    body = _apply(platform, citizen).json()
    topic = platform.topic_prefix + "certificate.issued"
    events = read_events(platform.kafka, topic, until=lambda got: any(e.subject == body["id"] for e in got), timeout=30)
    issued = next(e for e in events if e.subject == body["id"])
    mai_contracts.validate(issued.type, issued.data)
    assert issued.data["registration_number"] == body["registration_number"]
    assert citizen.person.cnp not in str(issued.data)
    requested = read_events(
        platform.kafka,
        platform.topic_prefix + "certificate.requested",
        until=lambda got: any(e.subject == body["id"] for e in got),
    )
    assert any(e.data["citizen_id"] == citizen.id for e in requested)


def test_verification_says_valid_then_not_found_for_a_wrong_cnp_then_revoked(
    platform: Platform, new_citizen: Callable[..., Citizen], token_issuer: TokenIssuer
) -> None:
    citizen = new_citizen()
    body = _apply(platform, citizen).json()
    number = body["registration_number"]
    valid = _verify(platform, number, citizen.person.cnp)
    assert valid["result"] == "valid" and valid["holder"] == "I*** P***"
    assert _verify(platform, number, make_person().cnp) == {"result": "not_found"}

    clerk = {"Authorization": f"Bearer {token_issuer.staff('certificate_clerk', 'IGPR-CAZIER')}"}
    revoked = requests.post(
        f"{platform.gateway_url}/api/v1/certificates/{body['id']}/revocation",
        json={"reason": "registry_updated"},
        headers=clerk,
        timeout=10,
    )
    assert revoked.status_code == 200
    assert _verify(platform, number, citizen.person.cnp)["result"] == "revoked"
    events = read_events(
        platform.kafka,
        platform.topic_prefix + "certificate.revoked",
        until=lambda got: any(e.subject == body["id"] for e in got),
    )
    assert next(e for e in events if e.subject == body["id"]).data["unit"] == "IGPR-CAZIER"


def test_the_qr_code_opens_the_public_page_with_the_code_in_its_fragment_and_the_code_verifies(
    platform: Platform, new_citizen: Callable[..., Citizen], tmp_path: Path
) -> None:
    citizen = new_citizen()
    body = _apply(platform, citizen).json()
    number = body["registration_number"]
    pdf = _download(platform, citizen, body)
    scanned = _scanned_qr(pdf, tmp_path)
    page, _, fragment = scanned.partition("#")
    assert page.endswith(f"/certificates/verify?number={number}") and fragment.startswith("code=")
    code = fragment.removeprefix("code=")
    assert f"Verification code: {code}" in _printed_text(pdf, tmp_path)
    answer = requests.post(
        f"{platform.gateway_url}/api/v1/certificates/verifications",
        json={"number": number, "verification_code": code},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["result"] == "valid"
    # The code reached no log: it travels in a fragment and a request body only.
    logs = "\n".join(process.log() for process in platform.processes.values())
    assert logs, "the processes' logs were read"
    assert code not in logs and code.replace("-", "") not in logs


def test_the_certificate_prints_the_verified_identity_and_nothing_the_citizen_merely_typed(
    platform: Platform, new_citizen: Callable[..., Citizen], tmp_path: Path
) -> None:
    citizen = new_citizen()
    body = _apply(platform, citizen).json()
    printed = _printed_text(_download(platform, citizen, body), tmp_path)
    assert citizen.person.cnp in printed and "POPESCU" in printed
    for field, value in UNVERIFIED_PROFILE.items():
        if field != "citizenship":
            assert value not in printed, f"{field} is not verified and must not be printed"
    assert "Cetățenia" not in printed


def test_guessing_cnps_locks_a_number_through_the_gateway_the_same_whether_or_not_it_exists(
    platform: Platform, new_citizen: Callable[..., Citizen]
) -> None:
    citizen = new_citizen()
    number = _apply(platform, citizen).json()["registration_number"]
    year = number.split("-")[1]
    for target in (number, f"CJ-{year}-9{uuid.uuid4().int % 10**6:06d}"):
        for _ in range(5):
            assert _verify(platform, target, make_cnp()) == {"result": "not_found"}
        locked = requests.post(
            f"{platform.gateway_url}/api/v1/certificates/verifications",
            json={"number": target, "cnp": citizen.person.cnp},
            timeout=10,
        )
        assert locked.status_code == 429, locked.text
        assert locked.headers["Content-Type"].startswith("application/problem+json")
        assert locked.json()["type"].endswith("/verification-locked")
        assert int(locked.headers["Retry-After"]) > 3600


def test_a_person_with_a_registry_entry_is_referred_and_gets_no_pdf(
    platform: Platform, new_citizen: Callable[..., Citizen], tmp_path: Path
) -> None:
    citizen = new_citizen()
    registry_csv = tmp_path / "registry.csv"
    registry_csv.write_text(f"cnp,unit\n{citizen.person.cnp},IPJ-CJ\n", encoding="utf-8")
    env = {**platform.common_env, "DATABASE_URL": platform.database_urls["record"]}
    imported = subprocess.run(
        [str(BIN / "record-svc"), "import-registry", str(registry_csv)], env=env, capture_output=True, timeout=60
    )
    assert imported.returncode == 0, imported.stderr.decode()

    response = _apply(platform, citizen)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "referred" and body["referral"]["unit"] == "IPJ-CJ"
    pdf = requests.get(
        f"{platform.gateway_url}/api/v1/certificates/{body['id']}/pdf", headers=citizen.headers, timeout=10
    )
    assert pdf.status_code == 410
    events = read_events(
        platform.kafka,
        platform.topic_prefix + "certificate.refused",
        until=lambda got: any(e.subject == body["id"] for e in got),
    )
    assert next(e for e in events if e.subject == body["id"]).data["reason"] == "registry_entry"


def test_a_counter_officer_clears_a_referral_and_issues_the_signed_certificate_which_the_units_clerk_revokes(
    platform: Platform, new_citizen: Callable[..., Citizen], token_issuer: TokenIssuer, tmp_path: Path
) -> None:
    citizen = new_citizen()
    registry_csv = tmp_path / "registry.csv"
    registry_csv.write_text(f"cnp,unit\n{citizen.person.cnp},IPJ-BV\n", encoding="utf-8")
    env = {**platform.common_env, "DATABASE_URL": platform.database_urls["record"]}
    imported = subprocess.run(
        [str(BIN / "record-svc"), "import-registry", str(registry_csv)], env=env, capture_output=True, timeout=60
    )
    assert imported.returncode == 0, imported.stderr.decode()
    referral_id = _apply(platform, citizen).json()["id"]
    api = f"{platform.gateway_url}/api/v1/certificates"

    def staff(role: str, unit: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_issuer.staff(role, unit)}"}

    officer, elsewhere = staff("counter_clerk", "IPJ-BV"), staff("counter_clerk", "IPJ-CJ")
    assert requests.get(f"{api}/referrals/{referral_id}", headers=elsewhere, timeout=10).status_code == 404
    listed = requests.get(f"{api}/referrals", headers=officer, timeout=10).json()["items"]
    assert [r["id"] for r in listed] == [referral_id]
    decided = requests.post(
        f"{api}/referrals/{referral_id}/outcome", json={"outcome": "cleared"}, headers=officer, timeout=10
    )
    assert decided.status_code == 200, decided.text
    person = citizen.person
    document = {
        "cnp": person.cnp,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date.isoformat(),
    }
    issued = requests.post(f"{api}/referrals/{referral_id}/certificate", json=document, headers=officer, timeout=30)
    assert issued.status_code == 201, issued.text
    number = issued.json()["registration_number"]

    mine = requests.get(f"{api}/{referral_id}", headers=citizen.headers, timeout=10).json()
    pdf = tmp_path / "counter.pdf"
    pdf.write_bytes(_download(platform, citizen, mine))
    assert "Signature Validation: Signature is Valid." in _pdfsig(pdf)
    for topic in ("certificate.referral_decided", "certificate.issued"):
        events = read_events(
            platform.kafka, platform.topic_prefix + topic, until=lambda got: any(e.subject == referral_id for e in got)
        )
        event = next(e for e in events if e.subject == referral_id)
        mai_contracts.validate(event.type, event.data)
        assert person.cnp not in str(event.data)

    county_clerk, issuing_clerk = staff("certificate_clerk", "IPJ-BV"), staff("certificate_clerk", "IGPR-CAZIER")
    assert requests.get(f"{api}/numbers/{number}", headers=issuing_clerk, timeout=10).status_code == 404
    revoked = requests.post(
        f"{api}/numbers/{number}/revocation", json={"reason": "registry_updated"}, headers=county_clerk, timeout=10
    )
    assert revoked.status_code == 200, revoked.text
    history = requests.get(f"{api}/numbers/{number}/history", headers=county_clerk, timeout=10).json()
    assert [e["event"] for e in history["events"]] == ["requested", "referred", "referral_decided", "issued", "revoked"]
    assert _verify(platform, number, person.cnp)["result"] == "revoked"


def test_another_citizens_certificate_cannot_be_downloaded(
    platform: Platform, new_citizen: Callable[..., Citizen]
) -> None:
    holder, other = new_citizen(), new_citizen()
    body = _apply(platform, holder).json()
    response = requests.get(f"{platform.gateway_url}{body['download_url']}", headers=other.headers, timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_a_hundred_concurrent_applications_get_a_hundred_distinct_numbers(
    platform: Platform, new_citizen: Callable[..., Citizen]
) -> None:
    citizens = [new_citizen() for _ in range(100)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda c: _apply(platform, c), citizens))
    assert [r.status_code for r in responses] == [201] * 100
    numbers = {r.json()["registration_number"] for r in responses}
    assert len(numbers) == 100


def test_a_citizen_verified_at_a_counter_can_apply_once_identity_verified_arrives(
    platform: Platform, new_citizen: Callable[..., Citizen]
) -> None:
    citizen = new_citizen(verified=False)  # the token says nothing about assurance
    refused = _apply(platform, citizen)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/identity-not-verified")

    event = build_event(
        "ro.mai.identity.verified.v1",
        source="identity-svc",
        subject=citizen.id,
        data={
            "citizen_id": citizen.id,
            "method": "counter",
            "unit": "IPJ-CJ",
            "assurance_level": "high",
            "verified_at": "2025-03-14T09:10:00Z",
            "recipient": {"email": citizen.person.email, "name": "Ion Popescu", "language": "ro"},
        },
    )
    producer = kafka_clients.producer(platform.kafka)
    try:
        producer.send(
            platform.topic_prefix + "identity.verified", key=citizen.id.encode(), value=encode_event(event)
        ).get(timeout=30)
    finally:
        producer.close()
    wait_until(
        lambda: _apply(platform, citizen).status_code == 201, timeout=30, interval=0.5, what="counter verification"
    )
