"""The petition form, its confirmation, and the public status lookup (the e-mail never in a URL)."""

from __future__ import annotations

import io
import json
from typing import Any

from flask.testing import FlaskClient

from .conftest import FakeApi, csrf_token_of
from .directory_data import serve_directory

REGISTERED = {
    "registration_number": "IGPR-2026-000007",
    "status": "registered",
    "kind": "petition",
    "institution": {"code": "IGPR", "name": {"ro": "Inspectoratul General al Poliției Române", "en": "Police"}},
    "registered_at": "2026-12-07T01:00:00+00:00",
    "answer_due_on": "2027-01-06",
    "attachment_count": 1,
    "repeat_of": None,
}
STATUS = {
    "registration_number": "IGPR-2026-000007",
    "kind": "petition",
    "status": "answered",
    "outcome": "answered",
    "institution": REGISTERED["institution"],
    "field": "public-order",
    "registered_at": "2026-12-07T01:00:00+00:00",
    "answer_due_on": "2027-01-06",
    "deadline_extended": False,
    "forwarded_from": None,
    "forwarded_at": None,
    "answered_at": "2026-12-08T10:00:00+00:00",
    "answer": "The patrol was sent.\nThank you.",
    "closed_at": None,
    "joined_to": None,
    "repeat_of": None,
}


def petition_fields(**changes: Any) -> dict[str, Any]:
    fields = {
        "institution": "IGPR",
        "kind": "petition",
        "field": "public-order",
        "subject": "Noise at night",
        "text": "Loud music every night after midnight.",
        "name": "Ana Popescu",
        "email": "ana@example.ro",
        "phone": "",
        "address": "",
    }
    fields.update(changes)
    return fields


def post_petition(client: FlaskClient, **changes: Any):  # type: ignore[no-untyped-def]
    page = client.get("/petitions/new").get_data(as_text=True)
    submission_id = page.split('name="submission_id" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = {"csrf_token": csrf_token_of(page), "submission_id": submission_id, **petition_fields(**changes)}
    return client.post("/petitions/new", data=data, content_type="multipart/form-data"), submission_id


def test_the_form_offers_every_institution_with_its_competencies(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)

    html = client.get("/petitions/new").get_data(as_text=True)

    assert html.count('name="institution" type="radio"') == 3
    assert "Apărarea vieții și proprietății." in html
    assert 'enctype="multipart/form-data"' in html


def test_searching_from_the_form_narrows_the_institutions_and_keeps_the_choice(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    serve_directory(fake_api)

    html = client.get("/petitions/new?q=pasapoarte&institution=MAI").get_data(as_text=True)

    assert 'value="DGP"' in html
    assert 'value="IGPR"' not in html
    assert 'value="MAI" checked' in html  # chosen before the search, still there
    assert "1 instituție se potrivește căutării." in html


def test_a_petition_goes_to_the_api_as_multipart_with_its_files_and_an_idempotency_key(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    serve_directory(fake_api)
    fake_api.answer("POST", "/api/v1/petitions", 201, REGISTERED)
    page = client.get("/petitions/new").get_data(as_text=True)
    submission_id = page.split('name="submission_id" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = {
        "csrf_token": csrf_token_of(page),
        "submission_id": submission_id,
        **petition_fields(),
        "attachments": [(io.BytesIO(b"%PDF-1.4 test"), "photo.pdf", "application/pdf")],
    }

    sent = client.post("/petitions/new", data=data, content_type="multipart/form-data")

    assert sent.status_code == 303
    assert sent.headers["Location"] == "/petitions/confirmation"
    [request] = fake_api.sent("POST", "/api/v1/petitions")
    assert request.headers["Idempotency-Key"] == submission_id
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'filename="photo.pdf"' in request.body and b"%PDF-1.4 test" in request.body
    part = request.body.split(b'name="petition"\r\n\r\n', 1)[1].split(b"\r\n--", 1)[0]
    assert json.loads(part) == {
        "kind": "petition",
        "institution": "IGPR",
        "field": "public-order",
        "subject": "Noise at night",
        "text": "Loud music every night after midnight.",
        "name": "Ana Popescu",
        "email": "ana@example.ro",
        "language": "ro",
    }
    confirmation = client.get("/petitions/confirmation").get_data(as_text=True)
    assert "IGPR-2026-000007" in confirmation
    assert "6 ianuarie 2027" in confirmation
    assert 'href="/petitions/status?registration_number=IGPR-2026-000007"' in confirmation


def test_missing_answers_are_listed_and_nothing_is_sent(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)

    refused, _ = post_petition(client, institution="", name="", email="not-an-address")

    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert '<a href="#institution-0">Alegeți instituția căreia îi adresați petiția</a>' in html
    assert '<a href="#name">' in html and '<a href="#email">' in html
    assert fake_api.sent("POST", "/api/v1/petitions") == []
    assert "Loud music every night after midnight." in html  # what was typed is kept


def test_the_apis_field_errors_appear_beside_the_fields(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)
    fake_api.answer(
        "POST",
        "/api/v1/petitions",
        415,
        {
            "type": "https://e-services.mai.gov.ro/problems/unsupported-attachment-type",
            "status": 415,
            "detail": "Only PDF, JPEG or PNG.",
            "errors": {"attachments": ["Only PDF, JPEG or PNG files are accepted."]},
        },
    )

    refused, _ = post_petition(client)

    html = refused.get_data(as_text=True)
    assert refused.status_code == 415
    assert '<a href="#attachments">Only PDF, JPEG or PNG files are accepted.</a>' in html


def test_more_than_five_attachments_are_refused_before_the_api(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)
    page = client.get("/petitions/new").get_data(as_text=True)
    files = [(io.BytesIO(b"%PDF-1.4"), f"f{n}.pdf", "application/pdf") for n in range(6)]
    data = {"csrf_token": csrf_token_of(page), **petition_fields(), "attachments": files}

    refused = client.post("/petitions/new", data=data, content_type="multipart/form-data")

    assert refused.status_code == 400
    assert "Alegeți cel mult 5 fișiere." in refused.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/petitions") == []


def test_the_mails_link_prefills_the_number_and_asks_for_the_e_mail(client: FlaskClient) -> None:
    html = client.get("/petitions/status?registration_number=igpr-2026-000007").get_data(as_text=True)

    assert 'id="registration_number"' in html and 'value="IGPR-2026-000007"' in html
    assert 'id="email"' in html and 'name="email" required spellcheck="false" type="email" value=""' in html


def test_the_status_is_shown_after_a_lookup_without_the_e_mail_in_any_url(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/petitions/status-lookup", 200, STATUS)
    page = client.get("/petitions/status?registration_number=IGPR-2026-000007").get_data(as_text=True)

    looked_up = client.post(
        "/petitions/status",
        data={"csrf_token": csrf_token_of(page), "registration_number": "IGPR-2026-000007", "email": "ana@example.ro"},
    )

    assert looked_up.status_code == 303
    assert looked_up.headers["Location"] == "/petitions/status/result"
    result = client.get("/petitions/status/result").get_data(as_text=True)
    assert "Soluționată" in result
    assert "The patrol was sent." in result
    assert all(
        r.json() == {"registration_number": "IGPR-2026-000007", "email": "ana@example.ro"}
        for r in fake_api.sent("POST", "/api/v1/petitions/status-lookup")
    )
    assert all("ana@example.ro" not in r.path for r in fake_api.requests)


def test_a_wrong_number_or_e_mail_is_explained_without_saying_which(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/petitions/status-lookup", 404, {"type": "about:blank", "status": 404})
    page = client.get("/petitions/status").get_data(as_text=True)

    refused = client.post(
        "/petitions/status",
        data={"csrf_token": csrf_token_of(page), "registration_number": "IGPR-2026-000008", "email": "ana@example.ro"},
    )

    assert refused.status_code == 404
    assert "Nu am găsit nicio petiție cu acest număr și această adresă de e-mail." in refused.get_data(as_text=True)


def test_the_result_page_without_a_lookup_sends_back_to_the_form(client: FlaskClient) -> None:
    answer = client.get("/petitions/status/result")

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/petitions/status"


def test_a_petition_without_files_goes_to_the_api_as_json(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)
    fake_api.answer("POST", "/api/v1/petitions", 201, {**REGISTERED, "attachment_count": 0})

    sent, _ = post_petition(client)

    assert sent.status_code == 303
    [request] = fake_api.sent("POST", "/api/v1/petitions")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json()["subject"] == "Noise at night"


def test_a_signed_in_citizen_sees_their_own_petitions(client: FlaskClient, fake_api: FakeApi) -> None:
    from .conftest import tokens

    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    fake_api.answer("GET", "/api/v1/petitions/mine", 200, {"items": [STATUS]})
    page = client.get("/sign-in").get_data(as_text=True)
    client.post(
        "/sign-in", data={"csrf_token": csrf_token_of(page), "email": "ana@example.ro", "password": "correct horse"}
    )

    html = client.get("/petitions/mine").get_data(as_text=True)

    assert "IGPR-2026-000007" in html
    assert "Soluționată" in html
    assert fake_api.sent("GET", "/api/v1/petitions/mine")[0].headers["Authorization"] == "Bearer access-token-1"


def test_own_petitions_ask_to_sign_in_first(client: FlaskClient) -> None:
    answer = client.get("/petitions/mine")

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sign-in?next=/petitions/mine"


def test_the_forms_shared_parts_are_drawn_once_per_language_and_never_hold_a_choice_or_a_token(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    serve_directory(fake_api)

    first = client.get("/petitions/new").get_data(as_text=True)
    chosen = client.get("/petitions/new?institution=MAI").get_data(as_text=True)
    again = client.get("/petitions/new").get_data(as_text=True)
    client.get("/language/en?next=/petitions/new")
    english = client.get("/petitions/new").get_data(as_text=True)

    assert 'value="MAI" checked' in chosen  # a choice is drawn anew, not taken from the shared radios
    assert " checked" not in first and " checked" not in again  # nor left in them for the next visitor
    # Each page has its own submission id; the shared parts hold none.
    ids = [page.split('name="submission_id" type="hidden" value="', 1)[1][:32] for page in (first, again)]
    assert ids[0] != ids[1]
    assert "Apărarea vieții și proprietății." in again
    assert "Which institution is it for?" in english and "What are you sending?" in english
    assert "Ce trimiteți?" not in english and "Ce trimiteți?" in again
