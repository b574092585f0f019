"""Intake: the clerk's form for a petition received on paper, the API's refusals beside the fields, the
confirmation, and the receipt as a download nobody caches."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from mai_chassis.testing.samples import sample_pdf

from .conftest import PREFIX, FakeApi, csrf_token_of

NUMBER = "IGPR-2026-000031"
INSTITUTIONS = {
    "items": [
        {
            "code": "IGPR",
            "name": {"ro": "Inspectoratul General al Poliției Române", "en": "Romanian Police"},
            "fields": [{"code": "road-traffic", "name": {"ro": "Circulație rutieră", "en": "Road traffic"}}],
        },
        {
            "code": "IGSU",
            "name": {"ro": "Inspectoratul General pentru Situații de Urgență", "en": "Emergency"},
            "fields": [{"code": "emergencies", "name": {"ro": "Urgențe", "en": "Emergencies"}}],
        },
    ]
}


def taken_in(**changes: Any) -> dict[str, Any]:
    today = date.today()
    body = {
        "registration_number": NUMBER,
        "status": "registered",
        "kind": "petition",
        "institution": INSTITUTIONS["items"][0],
        "registered_at": f"{today.isoformat()}T08:00:00+00:00",
        "answer_due_on": (today + timedelta(days=30)).isoformat(),
        "attachment_count": 0,
        "repeat_of": None,
        "channel": "post",
        "received_on": (today - timedelta(days=2)).isoformat(),
        "petitioner_mailed": False,
        "receipt_url": f"/api/v1/petitions/{NUMBER}/receipt",
    }
    body.update(changes)
    return body


def form_data(token: str, **changes: Any) -> dict[str, Any]:
    data = {
        "csrf_token": token,
        "submission_id": "0" * 32,
        "institution": "IGPR",
        "channel": "post",
        "received_on": (date.today() - timedelta(days=2)).isoformat(),
        "kind": "petition",
        "field": "road-traffic",
        "name": "Ion Ionescu",
        "address": "Str. Morilor 12, Brăila",
        "email": "",
        "phone": "",
        "language": "ro",
        "subject": "Indicator rupt",
        "text": "Indicatorul de pe strada Morilor este rupt.",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def open_form(client: Any, fake_api: FakeApi, query: str = "") -> str:
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    page = client.get(f"{PREFIX}/petitions/intake{query}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return csrf_token_of(page.get_data(as_text=True))


def test_the_form_offers_only_the_clerks_institutions_and_is_linked_from_the_queue(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    fake_api.answer("GET", "/api/v1/petitions", 200, {"items": [], "page": 1, "page_size": 25, "total": 0})
    queue = client.get(f"{PREFIX}/petitions").get_data(as_text=True)
    assert f'href="{PREFIX}/petitions/intake?institution=IGPR"' in queue

    page = client.get(f"{PREFIX}/petitions/intake").get_data(as_text=True)
    assert 'value="IGPR"' in page and 'value="IGSU"' not in page
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page
    assert f'value="{date.today().isoformat()}"' in page  # the day received defaults to today
    assert client.get(f"{PREFIX}/petitions/intake?institution=IGSU").status_code == 403


def test_a_paper_petition_without_e_mail_is_registered_and_its_receipt_downloads(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    token = open_form(client, fake_api)
    fake_api.answer("POST", "/api/v1/petitions/intake", 201, taken_in())

    answer = client.post(f"{PREFIX}/petitions/intake", data=form_data(token))

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/petitions/intake/registered")
    [sent] = fake_api.sent("POST", "/api/v1/petitions/intake")
    assert sent.headers["Idempotency-Key"] == "intake-" + "0" * 32
    assert sent.json() == {
        "channel": "post",
        "received_on": (date.today() - timedelta(days=2)).isoformat(),
        "institution": "IGPR",
        "kind": "petition",
        "field": "road-traffic",
        "subject": "Indicator rupt",
        "text": "Indicatorul de pe strada Morilor este rupt.",
        "name": "Ion Ionescu",
        "language": "ro",
        "address": "Str. Morilor 12, Brăila",
    }
    confirmation = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert NUMBER in confirmation and f"{PREFIX}/petitions/intake/receipts/{NUMBER}" in confirmation

    fake_api.answer(
        "GET", f"/api/v1/petitions/{NUMBER}/receipt", 200, b"%PDF-1.7 receipt", Content_Type="application/pdf"
    )
    receipt = client.get(f"{PREFIX}/petitions/intake/receipts/{NUMBER}")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert receipt.headers["Content-Disposition"] == f'attachment; filename="receipt-{NUMBER}.pdf"'
    assert "no-store" in receipt.headers["Cache-Control"] and receipt.data == b"%PDF-1.7 receipt"


def test_with_an_e_mail_the_confirmation_says_it_is_mailed_and_offers_no_receipt(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    token = open_form(client, fake_api)
    fake_api.answer("POST", "/api/v1/petitions/intake", 201, taken_in(channel="email", petitioner_mailed=True))
    data = form_data(token, channel="email", email="ion@example.ro", address="")
    answer = client.post(f"{PREFIX}/petitions/intake", data=data)
    assert answer.status_code == 303
    sent = fake_api.sent("POST", "/api/v1/petitions/intake")[0].json()
    assert sent["email"] == "ion@example.ro" and "address" not in sent
    confirmation = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="mailed"' in confirmation and "/receipts/" not in confirmation


def test_scanned_pages_go_to_the_api_as_multipart(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    token = open_form(client, fake_api)
    fake_api.answer("POST", "/api/v1/petitions/intake", 201, taken_in(attachment_count=1))
    data = form_data(token, attachments=[(io.BytesIO(sample_pdf()), "scrisoare.pdf")])
    answer = client.post(f"{PREFIX}/petitions/intake", data=data, content_type="multipart/form-data")
    assert answer.status_code == 303
    [sent] = fake_api.sent("POST", "/api/v1/petitions/intake")
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="attachments"; filename="scrisoare.pdf"' in sent.body and b"%PDF-" in sent.body
    assert b'"subject": "Indicator rupt"' in sent.body


def test_the_form_checks_what_it_can_and_sends_nothing(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    token = open_form(client, fake_api)
    too_many = [(io.BytesIO(b"%PDF-1.4"), f"p{i}.pdf") for i in range(6)]
    cases = [  # the pages are in Romanian unless the member chooses English
        (form_data(token, address="", email=""), 'id="address-error-1"', "Introduceți o adresă poștală"),
        (form_data(token, channel="fax"), 'id="channel-error-1"', ""),
        (form_data(token, email="not-an-address"), 'id="email-error-1"', "nume@exemplu.ro"),
        (form_data(token, attachments=too_many), 'id="attachments-error-1"', "Alegeți cel mult 5 fișiere."),
        (form_data(token, csrf_token="forged"), "", ""),  # refused before the page: CSRF
    ]
    for data, marker, message in cases:
        page = client.post(f"{PREFIX}/petitions/intake", data=data, content_type="multipart/form-data")
        html = page.get_data(as_text=True)
        assert page.status_code == 400 and marker in html and message in html, marker
    assert fake_api.sent("POST", "/api/v1/petitions/intake") == []


def test_the_apis_refusals_are_shown_beside_their_fields(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGPR")
    token = open_form(client, fake_api)
    problem = {
        "type": "https://errors.eservicii.mai.gov.ro/problems/implausible-receipt-date",
        "title": "Unprocessable Content",
        "status": 422,
        "errors": {"received_on": ["A petition is registered at most 90 days after it was received."]},
    }
    fake_api.answer("POST", "/api/v1/petitions/intake", 422, problem)
    data = form_data(token, received_on=(date.today() - timedelta(days=200)).isoformat())
    page = client.post(f"{PREFIX}/petitions/intake", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="received_on-error-1"' in html and "at most 90 days" in html
    assert 'href="#received_on"' in html  # the summary links to the field


def test_a_clerk_of_another_institution_is_refused(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGSU")
    token = open_form(client, fake_api)
    assert client.post(f"{PREFIX}/petitions/intake", data=form_data(token)).status_code == 400  # not a choice
    assert fake_api.sent("POST", "/api/v1/petitions/intake") == []


def test_the_form_is_for_petition_clerks_only(signed_in) -> None:
    officer = signed_in("immigration_officer@IGI-CJ", subject="officer-1")
    assert officer.get(f"{PREFIX}/petitions/intake").status_code == 403


def test_a_receipt_the_api_refuses_is_not_found(signed_in, fake_api) -> None:
    client = signed_in("petition_clerk@IGSU")
    forbidden = {"type": "about:blank", "title": "Forbidden", "status": 403}
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}/receipt", 403, forbidden)
    assert client.get(f"{PREFIX}/petitions/intake/receipts/{NUMBER}").status_code == 404
    assert len(fake_api.sent("GET", f"/api/v1/petitions/{NUMBER}/receipt")) == 1
