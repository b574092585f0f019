"""Petition clerks: the queue's views as API queries, a petition's page, attachments as downloads, actions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .conftest import PREFIX, FakeApi, csrf_token_of

NUMBER = "IGPR-2026-000007"
INSTITUTIONS = {
    "items": [
        {"code": "IGPR", "name": {"ro": "Inspectoratul General al Poliției Române", "en": "Romanian Police"}},
        {"code": "IGSU", "name": {"ro": "Inspectoratul General pentru Situații de Urgență", "en": "Emergency"}},
    ]
}


def petition(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    body = {
        "registration_number": NUMBER,
        "kind": "petition",
        "status": "registered",
        "outcome": None,
        "institution": {"code": "IGPR", "name": {"ro": "Poliția Română", "en": "Romanian Police"}},
        "field": "public-order",
        "registered_at": f"{today.isoformat()}T08:00:00+00:00",
        "answer_due_on": (today + timedelta(days=30)).isoformat(),
        "deadline_extended": False,
        "forwarded_from": None,
        "forwarded_at": None,
        "answered_at": None,
        "answer": None,
        "closed_at": None,
        "joined_to": None,
        "repeat_of": None,
        "subject": "Zgomot noaptea",
        "text": "Muzică tare <script>alert(1)</script>",
        "channel": "online",
        "petitioner": {"name": "Ana Popescu", "email": "ana@example.ro", "phone": None, "address": None},
        "attachments": [{"position": 1, "media_type": "application/pdf", "size": 2048, "name": "../../dovada.pdf"}],
        "assignee": None,
        "forward_due_on": (today + timedelta(days=5)).isoformat(),
        "extension_reason": None,
        "forwarded_late": False,
        "overdue": False,
    }
    body.update(overrides)
    return body


def queue_page(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items), "page": 1, "page_size": 25, "total": len(items)}


def test_each_queue_view_asks_the_api_for_its_petitions(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR", subject="clerk-42")
    fake_api.answer("GET", "/api/v1/petitions", 200, queue_page(petition()))

    for view in ("new", "mine", "overdue"):
        assert client.get(f"{PREFIX}/petitions?view={view}").status_code == 200

    queries = [r.path.split("?", 1)[1] for r in fake_api.sent("GET", "/api/v1/petitions")]
    assert "status=registered" in queries[0] and "institution=IGPR" in queries[0]
    assert "assignee=clerk-42" in queries[1]
    assert "overdue=true" in queries[2]


def test_due_soon_and_forwarded_late_are_picked_from_the_most_urgent_open_petitions(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("petition_clerk@IGPR")
    today = date.today()
    soon = petition(registration_number="IGPR-2026-000001", answer_due_on=(today + timedelta(days=2)).isoformat())
    later = petition(registration_number="IGPR-2026-000002", answer_due_on=(today + timedelta(days=20)).isoformat())
    late = petition(registration_number="IGPR-2026-000003", forwarded_late=True, overdue=True)
    fake_api.answer("GET", "/api/v1/petitions", 200, queue_page(soon, later, late))

    due = client.get(f"{PREFIX}/petitions?view=due-soon").get_data(as_text=True)
    forwarded = client.get(f"{PREFIX}/petitions?view=forwarded-late").get_data(as_text=True)

    assert "IGPR-2026-000001" in due and "IGPR-2026-000002" not in due and "IGPR-2026-000003" not in due
    assert "IGPR-2026-000003" in forwarded and "IGPR-2026-000001" not in forwarded
    assert "page_size=100" in fake_api.sent("GET", "/api/v1/petitions")[0].path


def test_another_institutions_queue_is_not_offered(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")

    assert client.get(f"{PREFIX}/petitions?institution=IGSU").status_code == 404
    assert fake_api.sent("GET", "/api/v1/petitions") == []


def test_the_petition_page_escapes_the_text_and_shows_the_forwarding_limit(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)

    html = client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "5 days" in html or "5 zile" in html
    assert 'value="IGSU"' in html and 'value="IGPR"' not in html  # not forwarded to itself


def test_an_attachment_is_a_download_with_a_safe_name_never_a_page(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer(
        "GET", f"/api/v1/petitions/{NUMBER}/attachments/1", 200, b"%PDF-1.4 ...", Content_Type="application/pdf"
    )

    download = client.get(f"{PREFIX}/petitions/{NUMBER}/attachments/1")

    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 ..."
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.pdf"')
    assert "/" not in disposition.split("filename=", 1)[1] and ".." not in disposition
    assert download.mimetype == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_an_answer_is_previewed_before_it_is_sent(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    fake_api.answer("POST", f"/api/v1/petitions/{NUMBER}/answer", 200, petition(status="answered"))
    token = csrf_token_of(client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True))

    preview = client.post(
        f"{PREFIX}/petitions/{NUMBER}/answer", data={"csrf_token": token, "text": "Am verificat.", "step": "preview"}
    )

    assert preview.status_code == 200
    assert "Am verificat." in preview.get_data(as_text=True) and "ana@example.ro" in preview.get_data(as_text=True)
    assert fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/answer") == []

    sent = client.post(
        f"{PREFIX}/petitions/{NUMBER}/answer", data={"csrf_token": token, "text": "Am verificat.", "step": "send"}
    )

    assert sent.status_code == 303
    assert fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/answer")[0].json() == {"text": "Am verificat."}


def test_an_extension_needs_a_reason_before_the_api_is_asked(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    token = csrf_token_of(client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True))

    refused = client.post(f"{PREFIX}/petitions/{NUMBER}/extend", data={"csrf_token": token, "days": "10", "reason": ""})

    assert refused.status_code == 400
    assert 'href="#reason"' in refused.get_data(as_text=True)
    assert fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/deadline-extension") == []


def test_the_apis_refusal_of_an_action_is_shown_on_the_petition(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    fake_api.answer(
        "POST",
        f"/api/v1/petitions/{NUMBER}/joined-petitions",
        409,
        {"type": "https://errors/not-open", "status": 409, "detail": "IGPR-2026-000009 is already answered."},
    )
    token = csrf_token_of(client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True))

    answer = client.post(f"{PREFIX}/petitions/{NUMBER}/join", data={"csrf_token": token, "numbers": "igpr-2026-000009"})

    assert answer.status_code == 400
    assert "IGPR-2026-000009 is already answered." in answer.get_data(as_text=True)
    sent = fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/joined-petitions")[0].json()
    assert sent == {"registration_numbers": ["IGPR-2026-000009"]}


def test_another_institutions_petition_opened_by_number_is_not_found(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR")
    fake_api.answer(
        "GET",
        "/api/v1/petitions/IGSU-2026-000001",
        403,
        {
            "type": "https://errors/forbidden",
            "status": 403,
            "detail": "You are not a petition clerk of this institution.",
        },
    )

    page = client.get(f"{PREFIX}/petitions/IGSU-2026-000001")

    assert page.status_code == 404
    assert 'id="registration-number"' not in page.get_data(as_text=True)


COLLEAGUES = {
    "unit": "IGPR",
    "members": [
        {"staff_id": "clerk-7", "name": "Mihai Coleg", "roles": ["petition_clerk"]},
        {"staff_id": "staff-1", "name": "Elena Eu", "roles": ["petition_clerk"]},
    ],
}


def test_a_petition_is_assigned_to_a_colleague_chosen_by_name(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("petition_clerk@IGPR", subject="staff-1")
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition())
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    fake_api.answer("GET", "/api/v1/staff/members", 200, COLLEAGUES)
    fake_api.answer("POST", f"/api/v1/petitions/{NUMBER}/assignment", 200, petition(assignee="clerk-7"))
    html = client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True)
    assert '<option value="clerk-7">Mihai Coleg</option>' in html
    assert 'value="staff-1"' not in html  # oneself is the first choice, not a colleague
    query = fake_api.sent("GET", "/api/v1/staff/members")[0].path.split("?", 1)[1]
    assert "unit=IGPR" in query and "role=petition_clerk" in query
    token = csrf_token_of(html)

    refused = client.post(f"{PREFIX}/petitions/{NUMBER}/assign", data={"csrf_token": token, "assignee": "nobody-9"})
    assert refused.status_code == 400 and 'id="assignee-error-1"' in refused.get_data(as_text=True)
    assert fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/assignment") == []

    assigned = client.post(f"{PREFIX}/petitions/{NUMBER}/assign", data={"csrf_token": token, "assignee": "clerk-7"})
    myself = client.post(f"{PREFIX}/petitions/{NUMBER}/assign", data={"csrf_token": token, "assignee": ""})

    assert assigned.status_code == myself.status_code == 303
    sent = [r.json() for r in fake_api.sent("POST", f"/api/v1/petitions/{NUMBER}/assignment")]
    assert sent == [{"assignee": "clerk-7"}, {"assignee": None}]


def test_assignees_are_named_in_the_queue_and_the_form_still_works_without_the_directory(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("petition_clerk@IGPR", subject="staff-1")
    fake_api.answer("GET", "/api/v1/petitions", 200, queue_page(petition(assignee="clerk-7")))
    fake_api.answer("GET", "/api/v1/staff/members", 200, COLLEAGUES)
    assert "Mihai Coleg" in client.get(f"{PREFIX}/petitions?view=all").get_data(as_text=True)

    fake_api.answers.pop(("GET", "/api/v1/staff/members"))  # the directory cannot be read: 404
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, petition(assignee="clerk-7"))
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    page = client.get(f"{PREFIX}/petitions/{NUMBER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "clerk-7" in html  # the id, for want of a name
    assert html.count("<option", html.index('id="assignee"')) >= 1 and '<option value="clerk-7"' not in html


def test_a_paper_petition_shows_how_it_came_its_receipt_and_that_the_answer_goes_by_post(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("petition_clerk@IGPR")
    paper = petition(
        channel="post",
        received_on="2026-03-02",
        petitioner={"name": "Ion Ionescu", "email": None, "phone": None, "address": "Str. Morilor 12, Brăila"},
    )
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}", 200, paper)
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)

    page = client.get(f"{PREFIX}/petitions/{NUMBER}").get_data(as_text=True)
    assert "Prin poștă, 2 martie 2026" in page and "Str. Morilor 12, Brăila" in page
    assert "None" not in page and f'href="{PREFIX}/petitions/intake/receipts/{NUMBER}"' in page

    token = csrf_token_of(page)
    preview = client.post(
        f"{PREFIX}/petitions/{NUMBER}/answer", data={"csrf_token": token, "text": "Am verificat.", "step": "preview"}
    ).get_data(as_text=True)
    assert 'id="by-post"' in preview and "Str. Morilor 12, Brăila" in preview
