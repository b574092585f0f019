"""Immigration officers at the counter: the day's appointments, the visit and the pickup."""

from __future__ import annotations

from datetime import date, timedelta

from .conftest import PREFIX, FakeApi, csrf_token_of
from .test_documents import APPLICATION, TYPES, application


def booked() -> dict[str, object]:
    body = application("appointment_booked")
    body["documents"] = []
    body["appointment"] = {
        "appointment_id": 7,
        "application_id": APPLICATION,
        "office": "IGI-CJ",
        "counter": 2,
        "starts_at": "2026-12-09T10:30:00+02:00",
        "ends_at": "2026-12-09T10:50:00+02:00",
        "status": "booked",
        "rescheduled_from": None,
    }
    return body


def test_the_days_appointments_are_asked_for_the_officers_office(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("immigration_officer@IGI-CJ")
    fake_api.answer("GET", "/api/v1/offices/IGI-CJ/appointments", 200, {"items": [booked()["appointment"]]})

    page = client.get(f"{PREFIX}/appointments?date=2026-12-09")

    assert page.status_code == 200
    assert f'href="{PREFIX}/documents/{APPLICATION}"' in page.get_data(as_text=True)
    [sent] = fake_api.sent("GET", "/api/v1/offices/IGI-CJ/appointments")
    assert "date=2026-12-09" in sent.path


def test_the_visit_sets_the_pickup_date(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("immigration_officer@IGI-CJ")
    fake_api.answer("GET", "/api/v1/immigration/application-types", 200, TYPES)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION}", 200, booked())
    fake_api.answer("POST", f"/api/v1/immigration/applications/{APPLICATION}/visit", 200, booked())
    html = client.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True)
    assert f'action="{PREFIX}/appointments/{APPLICATION}/visit"' in html
    pickup_from = (date.today() + timedelta(days=20)).isoformat()

    answer = client.post(
        f"{PREFIX}/appointments/{APPLICATION}/visit",
        data={"csrf_token": csrf_token_of(html), "pickup_from": pickup_from},
    )

    assert answer.status_code == 303
    [sent] = fake_api.sent("POST", f"/api/v1/immigration/applications/{APPLICATION}/visit")
    assert sent.json() == {"pickup_from": pickup_from}


def test_a_visit_without_a_pickup_date_is_refused_here(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("immigration_officer@IGI-CJ")
    fake_api.answer("GET", "/api/v1/immigration/application-types", 200, TYPES)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION}", 200, booked())
    token = csrf_token_of(client.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True))

    answer = client.post(f"{PREFIX}/appointments/{APPLICATION}/visit", data={"csrf_token": token, "pickup_from": ""})

    assert answer.status_code == 400
    assert 'href="#pickup_from"' in answer.get_data(as_text=True)
    assert fake_api.sent("POST", f"/api/v1/immigration/applications/{APPLICATION}/visit") == []


def test_the_pickup_is_recorded(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("immigration_officer@IGI-CJ")
    ready = {**booked(), "status": "ready_for_pickup", "pickup_from": date.today().isoformat()}
    fake_api.answer("GET", "/api/v1/immigration/application-types", 200, TYPES)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION}", 200, ready)
    fake_api.answer(
        "POST", f"/api/v1/immigration/applications/{APPLICATION}/pickup", 200, {**ready, "status": "closed"}
    )
    token = csrf_token_of(client.get(f"{PREFIX}/documents/{APPLICATION}").get_data(as_text=True))

    answer = client.post(f"{PREFIX}/appointments/{APPLICATION}/pickup", data={"csrf_token": token})

    assert answer.status_code == 303
    assert len(fake_api.sent("POST", f"/api/v1/immigration/applications/{APPLICATION}/pickup")) == 1
