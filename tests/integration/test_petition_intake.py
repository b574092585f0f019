"""Intake on the real platform: a clerk registers petitions received on paper; the petitioner with an
address is mailed the number through Kafka, notify-svc and SMTP; one without gets a printed receipt;
another institution's clerk can do neither; a signed-in citizen lists their own petitions."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from mai_chassis.testing import TokenIssuer
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform

pytestmark = pytest.mark.integration


def _plain_text(message: Any) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def _paper_petition(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "post",
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Indicator rupt",
        "text": "Indicatorul de pe strada Morilor din Brăila este rupt de două săptămâni.",
        "name": "Ion Ionescu",
        "address": "Str. Morilor 12, Brăila",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def test_paper_petitions_are_registered_mailed_or_printed_and_kept_to_their_institution(
    start_platform: Callable[..., Platform],
    mail_sink: SmtpSink,
    token_issuer: TokenIssuer,
    jwks_url: str,
    tmp_path: Path,
) -> None:
    platform = start_platform(["petition", "notify"], extra_env={"JWT_JWKS_URL": jwks_url})
    gateway = platform.gateway_url
    clerk = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGPR', subject='clerk-igpr')}"}
    other_clerk = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGSU', subject='clerk-igsu')}"}

    # Received by e-mail from an address: the petitioner is mailed the number, as for the online form.
    email = f"ion.{uuid.uuid4().hex[:6]}@example.ro"
    mailed = requests.post(
        f"{gateway}/api/v1/petitions/intake",
        json=_paper_petition(channel="email", email=email, address=None),
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert mailed.status_code == 201, mailed.text
    mailed_number = mailed.json()["registration_number"]
    assert mailed.json()["petitioner_mailed"] is True
    mail = mail_sink.wait_for(lambda m: email in m["To"] and mailed_number in _plain_text(m), timeout=45)
    assert mailed_number in mail["Subject"] or mailed_number in _plain_text(mail)

    # Received by post without an e-mail address: nothing to mail; the clerk prints the receipt.
    posted = requests.post(f"{gateway}/api/v1/petitions/intake", json=_paper_petition(), headers=clerk, timeout=10)
    assert posted.status_code == 201, posted.text
    number = posted.json()["registration_number"]
    assert posted.json()["petitioner_mailed"] is False
    receipt = requests.get(f"{gateway}{posted.json()['receipt_url']}", headers=clerk, timeout=10)
    assert receipt.status_code == 200 and receipt.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt.content)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: install Debian's poppler-utils"
    printed = subprocess.run([pdftotext, str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert number in printed
    assert "Inspectoratul General al Poliției Române" in printed
    due = posted.json()["answer_due_on"]  # YYYY-MM-DD, printed DD.MM.YYYY
    assert f"{due[8:10]}.{due[5:7]}.{due[:4]}" in printed

    # Another institution's clerk registers nothing for IGPR and reads no receipt of it.
    refused = requests.post(
        f"{gateway}/api/v1/petitions/intake", json=_paper_petition(), headers=other_clerk, timeout=10
    )
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("application/problem+json")
    assert (
        requests.get(f"{gateway}/api/v1/petitions/{number}/receipt", headers=other_clerk, timeout=10).status_code == 403
    )

    # The clerk's queue finds them by channel.
    queue = requests.get(f"{gateway}/api/v1/petitions?channel=post", headers=clerk, timeout=10).json()
    assert [item["registration_number"] for item in queue["items"]] == [number]

    # A signed-in citizen lists the petitions they sent while signed in, through the gateway.
    citizen_id = str(uuid.uuid4())
    citizen = {"Authorization": f"Bearer {token_issuer.citizen(citizen_id)}"}
    web_form = {key: value for key, value in _paper_petition().items() if key != "channel"}
    sent = requests.post(
        f"{gateway}/api/v1/petitions",
        json={**web_form, "subject": "Trimisă din cont", "email": f"ana.{uuid.uuid4().hex[:6]}@example.ro"},
        headers=citizen,
        timeout=10,
    )
    assert sent.status_code == 201, sent.text
    listed = requests.get(f"{gateway}/api/v1/petitions/mine", headers=citizen, timeout=10)
    assert listed.status_code == 200, listed.text
    assert [item["registration_number"] for item in listed.json()["items"]] == [sent.json()["registration_number"]]
