"""Document officers: documents are shown as images rendered here, and each is accepted or rejected."""

from __future__ import annotations

import base64
import re

import pytest
from console.documents import PageRenderer, RenderFailed
from mai_chassis.testing.samples import sample_pdf

from .conftest import PREFIX, FakeApi, csrf_token_of

APPLICATION = "0b0f8a64-8f4e-4c1c-9d53-5e1c2b8c9a11"
TYPES = {
    "items": [
        {
            "code": "travel-document",
            "name": {"ro": "Document de călătorie", "en": "Travel document"},
            "required_documents": [
                {"code": "photo", "name": {"ro": "Fotografie", "en": "Photo"}},
                {"code": "fee-receipt", "name": {"ro": "Chitanța taxei", "en": "Fee receipt"}},
            ],
        }
    ]
}


def application(status: str = "submitted") -> dict[str, object]:
    return {
        "application_id": APPLICATION,
        "application_type": "travel-document",
        "office": "IGI-CJ",
        "status": status,
        "submission_number": "IGI-CJ-2026-000001",
        "submitted_at": "2026-12-01T09:00:00+00:00",
        "documents": [
            {"document_type": "photo", "status": "uploaded", "media_type": "application/pdf"},
            {"document_type": "fee-receipt", "status": "uploaded", "media_type": "application/pdf"},
        ],
    }


def test_a_pdf_becomes_png_pages_and_nothing_else() -> None:
    pages = PageRenderer().render(sample_pdf(), "application/pdf")

    assert len(pages) >= 1
    assert all(page.png.startswith(b"\x89PNG\r\n\x1a\n") for page in pages)
    assert pages[0].data_uri.startswith("data:image/png;base64,")


def test_a_damaged_pdf_is_refused_not_passed_on() -> None:
    with pytest.raises(RenderFailed):
        PageRenderer().render(b"%PDF-1.7\nthis is not a PDF", "application/pdf")
    with pytest.raises(RenderFailed):
        PageRenderer().render(b"<html>", "text/html")


@pytest.fixture
def officer(signed_in, fake_api: FakeApi):  # type: ignore[no-untyped-def]
    fake_api.answer("GET", "/api/v1/immigration/application-types", 200, TYPES)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION}", 200, application())
    for code in ("photo", "fee-receipt"):
        fake_api.answer(
            "GET",
            f"/api/v1/immigration/applications/{APPLICATION}/documents/{code}/content",
            200,
            sample_pdf(),
            Content_Type="application/pdf",
        )
    return signed_in("immigration_officer@IGI-CJ")


def test_the_application_page_shows_each_document_as_images_only(officer, fake_api: FakeApi) -> None:
    html = officer.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True)

    images = re.findall(r'<img class="document-page" src="([^"]+)"', html)
    assert len(images) >= 2
    for source in images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG")
    assert "%PDF" not in html and "application/pdf" not in html.split("<main", 1)[1].split("Status", 1)[0]


def test_a_rejection_without_feedback_is_refused_here(officer, fake_api: FakeApi) -> None:
    token = csrf_token_of(officer.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True))

    answer = officer.post(
        f"{PREFIX}/documents/{APPLICATION}/review",
        data={"csrf_token": token, "decision-photo": "rejected", "decision-fee-receipt": "accepted"},
    )

    assert answer.status_code == 400
    assert 'href="#decision-photo-0"' in answer.get_data(as_text=True)
    assert fake_api.sent("POST", f"/api/v1/immigration/applications/{APPLICATION}/review") == []


def test_the_decisions_are_sent_together(officer, fake_api: FakeApi) -> None:
    fake_api.answer(
        "POST", f"/api/v1/immigration/applications/{APPLICATION}/review", 200, application("changes_requested")
    )
    token = csrf_token_of(officer.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True))

    answer = officer.post(
        f"{PREFIX}/documents/{APPLICATION}/review",
        data={
            "csrf_token": token,
            "decision-photo": "rejected",
            "feedback-photo": "  Fotografia este neclară.  ",
            "decision-fee-receipt": "accepted",
        },
    )

    assert answer.status_code == 303
    [sent] = fake_api.sent("POST", f"/api/v1/immigration/applications/{APPLICATION}/review")
    assert sent.json() == {
        "documents": [
            {"document_type": "photo", "decision": "rejected", "feedback": "Fotografia este neclară."},
            {"document_type": "fee-receipt", "decision": "accepted"},
        ]
    }


def test_an_application_of_another_office_is_not_found(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("immigration_officer@IGI-CJ")
    other = "9d7e3b1c-2f4a-4c1c-8d53-5e1c2b8c9a22"
    fake_api.answer("GET", f"/api/v1/immigration/applications/{other}", 404, {"status": 404, "type": "x/not-found"})

    assert client.get(f"{PREFIX}/documents/{other}").status_code == 404
    assert fake_api.sent("GET", f"/api/v1/immigration/applications/{other}/documents/photo/content") == []
