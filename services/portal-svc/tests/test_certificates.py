"""Certificates: apply with the verified data, the certificate and its PDF, the public check."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from .conftest import FakeApi, csrf_token_of
from .test_account import PROFILE, problem, sign_in
from .test_verification import UNITS

PURPOSES = {
    "items": [
        {"code": "employment", "label_ro": "Angajare", "label_en": "Employment", "requires_text": False},
        {"code": "other", "label_ro": "Alt scop", "label_en": "Other purpose", "requires_text": True},
    ]
}
CERTIFICATE_ID = "5f0e5c9a-0000-4000-8000-000000000003"
ISSUED = {
    "id": CERTIFICATE_ID,
    "status": "valid",
    "purpose": "employment",
    "purpose_text": None,
    "requested_at": "2026-12-07T00:10:00Z",
    "registration_number": "CJ-2026-0000123",
    "issued_at": "2026-12-07T00:10:01Z",
    "valid_until": "2027-06-07T00:10:01Z",
    "download_url": f"/api/v1/certificates/{CERTIFICATE_ID}/pdf",
    "referral": None,
}
GENUINE = {
    "result": "valid",
    "registration_number": "CJ-2026-0000123",
    "issued_at": "2026-12-07T00:10:01Z",
    "valid_until": "2027-06-07T00:10:01Z",
    "holder": "A*** P***",
}


def signed_in_and_verified(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/profiles/me", 200, {**PROFILE, "verified": True})
    fake_api.answer("GET", "/api/v1/certificates/purposes", 200, PURPOSES)


def test_applying_shows_the_verified_data_and_sends_the_purpose_once(client: FlaskClient, fake_api: FakeApi) -> None:
    signed_in_and_verified(client, fake_api)
    fake_api.answer("POST", "/api/v1/certificates", 201, ISSUED)
    form = client.get("/certificates/new").get_data(as_text=True)
    assert "Ana Popescu" in form and "se termină în 1144" in form and "Angajare" in form
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', form)
    assert key

    applied = client.post(
        "/certificates/new",
        data={"csrf_token": csrf_token_of(form), "purpose": "employment", "request_key": key.group(1)},
    )

    assert applied.status_code == 303 and applied.headers["Location"] == f"/certificates/{CERTIFICATE_ID}"
    [sent] = fake_api.sent("POST", "/api/v1/certificates")
    assert sent.json() == {"purpose": "employment", "purpose_text": None, "language": "ro"}
    assert sent.headers["Idempotency-Key"] == key.group(1)  # a second press of the button is the same application


def test_the_other_purpose_needs_words(client: FlaskClient, fake_api: FakeApi) -> None:
    signed_in_and_verified(client, fake_api)
    form = client.get("/certificates/new").get_data(as_text=True)

    refused = client.post("/certificates/new", data={"csrf_token": csrf_token_of(form), "purpose": "other"})

    assert refused.status_code == 400
    assert 'href="#purpose_text"' in refused.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/certificates") == []


def test_an_unverified_citizen_is_sent_to_verify_first(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/profiles/me", 200, PROFILE)
    fake_api.answer("GET", "/api/v1/certificates/purposes", 200, PURPOSES)

    page = client.get("/certificates/new").get_data(as_text=True)

    assert 'href="/account/verification"' in page and 'name="purpose"' not in page


def test_the_certificate_page_offers_the_pdf_which_comes_through_the_portal(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    signed_in_and_verified(client, fake_api)
    fake_api.answer("GET", f"/api/v1/certificates/{CERTIFICATE_ID}", 200, ISSUED)
    page = client.get(f"/certificates/{CERTIFICATE_ID}")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "CJ-2026-0000123" in html and f'href="/certificates/{CERTIFICATE_ID}/pdf"' in html
    assert 'href="/certificates/verify?number=CJ-2026-0000123"' in html

    fake_api.answer("GET", f"/api/v1/certificates/{CERTIFICATE_ID}/pdf", 200, None)
    pdf = client.get(f"/certificates/{CERTIFICATE_ID}/pdf")

    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "private, no-store"
    assert (
        fake_api.sent("GET", f"/api/v1/certificates/{CERTIFICATE_ID}/pdf")[0]
        .headers["Authorization"]
        .startswith("Bearer ")
    )


def test_a_referred_application_links_to_the_counter_unit(client: FlaskClient, fake_api: FakeApi) -> None:
    signed_in_and_verified(client, fake_api)
    referred = {
        **ISSUED,
        "status": "referred",
        "registration_number": None,
        "issued_at": None,
        "valid_until": None,
        "download_url": None,
        "referral": {"reason": "registry_entry", "unit": "IPJ-CJ"},
    }
    fake_api.answer("GET", f"/api/v1/certificates/{CERTIFICATE_ID}", 200, referred)

    html = client.get(f"/certificates/{CERTIFICATE_ID}").get_data(as_text=True)

    assert 'href="/units/IPJ-CJ"' in html and "/pdf" not in html


def test_another_citizens_certificate_is_not_found(client: FlaskClient, fake_api: FakeApi) -> None:
    signed_in_and_verified(client, fake_api)
    fake_api.answer("GET", f"/api/v1/certificates/{CERTIFICATE_ID}", 404, problem("not-found", 404))

    assert client.get(f"/certificates/{CERTIFICATE_ID}").status_code == 404


# --- the public check ----------------------------------------------------------------------------


def test_the_qr_link_prefills_the_number_and_loads_the_script_that_reads_the_code(client: FlaskClient) -> None:
    page = client.get("/certificates/verify?number=CJ-2026-0000123").get_data(as_text=True)

    assert 'value="CJ-2026-0000123"' in page
    assert '<script src="/static/certificates/verify-code.js" defer></script>' in page
    assert 'id="verification_code"' in page
    assert 'value="CJ-2026-0000124"' in client.get("/certificates/verify?registration_number=CJ-2026-0000124").get_data(
        as_text=True
    )


def test_checking_with_the_cnp_shows_only_what_the_api_shows_and_not_the_cnp(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/certificates/verifications", 200, GENUINE)
    form = client.get("/certificates/verify?number=CJ-2026-0000123").get_data(as_text=True)

    answer = client.post(
        "/certificates/verify",
        data={"csrf_token": csrf_token_of(form), "number": "CJ-2026-0000123", "cnp": "1800101221144"},
    )

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Valabil" in html and "A*** P***" in html and "7 iunie 2027" in html
    assert "1800101221144" not in html
    assert fake_api.sent("POST", "/api/v1/certificates/verifications")[0].json() == {
        "number": "CJ-2026-0000123",
        "cnp": "1800101221144",
    }


def test_checking_with_the_printed_code(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/certificates/verifications", 200, {"result": "not_found"})
    form = client.get("/certificates/verify").get_data(as_text=True)

    answer = client.post(
        "/certificates/verify",
        data={"csrf_token": csrf_token_of(form), "number": "CJ-2026-0000123", "verification_code": "7k2q-mxpa-9d4t"},
    )

    assert "Niciun certificat nu are acest număr" in answer.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/certificates/verifications")[0].json() == {
        "number": "CJ-2026-0000123",
        "verification_code": "7k2q-mxpa-9d4t",
    }


def test_a_paused_check_is_explained(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer(
        "POST", "/api/v1/certificates/verifications", 429, problem("verification-locked", 429), **{"Retry-After": "60"}
    )
    form = client.get("/certificates/verify").get_data(as_text=True)

    answer = client.post(
        "/certificates/verify",
        data={"csrf_token": csrf_token_of(form), "number": "CJ-2026-0000123", "cnp": "1800101221144"},
    )

    assert answer.status_code == 400
    assert "verificarea este oprită pentru o vreme" in answer.get_data(as_text=True)


def test_the_cnp_or_the_code_is_needed_and_a_typed_cnp_wins_over_a_filled_code(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/certificates/verifications", 200, GENUINE)
    form = client.get("/certificates/verify").get_data(as_text=True)

    neither = client.post("/certificates/verify", data={"csrf_token": csrf_token_of(form), "number": "CJ-1"})
    assert neither.status_code == 400 and 'href="#cnp"' in neither.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/certificates/verifications") == []

    both = client.post(
        "/certificates/verify",
        data={"csrf_token": csrf_token_of(form), "number": "CJ-1", "cnp": "1800101221144", "verification_code": "X"},
    )
    assert both.status_code == 200
    assert fake_api.sent("POST", "/api/v1/certificates/verifications")[0].json() == {
        "number": "CJ-1",
        "cnp": "1800101221144",
    }


# --- counter units -------------------------------------------------------------------------------


def test_the_referral_page_shows_the_units_address_hours_and_what_to_bring(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer(
        "GET", "/api/v1/identity/counter-units/IPJ-CJ", 200, {**UNITS["items"][0], "accepted_documents": ["passport"]}
    )

    page = client.get("/units/IPJ-CJ").get_data(as_text=True)

    assert "Inspectoratul de Poliție Județean Cluj" in page and "Str. Traian nr. 27, Cluj-Napoca" in page
    assert "Luni" in page and "08:30\u201312:30" in page and "pașaportul" in page


def test_an_unknown_unit_answers_404_with_every_counter_listed(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("GET", "/api/v1/identity/counter-units/NOWHERE", 404, problem("not-found", 404))
    fake_api.answer("GET", "/api/v1/identity/counter-units", 200, UNITS)

    unknown = client.get("/units/NOWHERE")

    assert unknown.status_code == 404
    assert "NOWHERE" in unknown.get_data(as_text=True) and 'href="/units/IPJ-CJ"' in unknown.get_data(as_text=True)
    assert client.get("/units/..%2F..%2Fapi").status_code == 404


def test_the_certificates_page_explains_the_service_and_lists_the_citizens_certificates(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("GET", "/api/v1/certificates/purposes", 200, PURPOSES)
    public = client.get("/certificates").get_data(as_text=True)
    assert "Angajare" in public and 'href="/sign-in?next=/certificates/new"' in public

    signed_in_and_verified(client, fake_api)
    fake_api.answer("GET", "/api/v1/certificates", 200, {"items": [ISSUED]})
    mine = client.get("/certificates").get_data(as_text=True)

    assert f'href="/certificates/{CERTIFICATE_ID}"' in mine and "CJ-2026-0000123" in mine and "Valabil" in mine


def test_the_counters_page_lists_every_unit_with_its_hours(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("GET", "/api/v1/identity/counter-units", 200, UNITS)

    page = client.get("/units").get_data(as_text=True)

    assert 'href="/units/IPJ-CJ"' in page and "Str. Traian nr. 27" in page and "cartea de identitate" in page
