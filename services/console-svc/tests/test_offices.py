"""Office managers: the office's hours and counters, and a closure previewed before it is declared."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .conftest import PREFIX, FakeApi, csrf_token_of

SCHEDULE: dict[str, Any] = {
    "code": "IGI-CJ",
    "name": "IGI Cluj",
    "county": "Cluj",
    "city": "Cluj-Napoca",
    "counters": ["1", "2", "3"],
    "opening_hours": {"monday": ["08:30-12:30", "13:00-16:00"], "tuesday": ["08:30-16:00"]},
    "closed_days": [],
    "slot_minutes": 20,
    "capacity": {"visit": 2},
    "closures": [],
    "public_holidays": ["2026-12-25"],
    "slots_created": 0,
    "slots_withdrawn": 0,
}
SCHEDULE_PATH = "/api/v1/offices/IGI-CJ/schedule"


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_the_office_page_shows_the_hours_and_counters_to_edit(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)

    page = client.get(f"{PREFIX}/offices/IGI-CJ")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="08:30-12:30, 13:00-16:00"' in html and 'name="visit"' in html and 'value="2"' in html


def test_a_manager_of_one_office_is_taken_to_it_and_refused_another(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")

    assert client.get(f"{PREFIX}/offices").headers["Location"].endswith("/offices/IGI-CJ")
    assert client.get(f"{PREFIX}/offices/IGI-BV").status_code == 403
    assert fake_api.sent("GET", "/api/v1/offices/IGI-BV/schedule") == []


def test_a_member_without_the_role_is_refused_every_office_page(signed_in) -> None:
    client = signed_in("immigration_officer@IGI-CJ")

    assert client.get(f"{PREFIX}/offices").status_code == 403
    assert client.get(f"{PREFIX}/offices/IGI-CJ").status_code == 403


def test_the_hours_are_sent_per_weekday_and_the_apis_objection_stands_beside_the_day(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)
    fake_api.answer(
        "PUT",
        "/api/v1/offices/IGI-CJ/schedule/opening-hours",
        422,
        {
            "type": "https://errors.mai.gov.ro/problems/invalid-opening-hours",
            "title": "Invalid",
            "status": 422,
            "detail": "friday: 14:00-13:00 closes before it opens.",
        },
    )
    token = csrf_token_of(client.get(f"{PREFIX}/offices/IGI-CJ").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/offices/IGI-CJ/opening-hours",
        data={"csrf_token": token, "monday": "08:30-12:30, 13:00 - 16:00", "friday": "14:00-13:00"},
    )

    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'href="#friday"' in html and 'id="friday-error-1"' in html
    [sent] = fake_api.sent("PUT", "/api/v1/offices/IGI-CJ/schedule/opening-hours")
    assert sent.json() == {"opening_hours": {"monday": ["08:30-12:30", "13:00-16:00"], "friday": ["14:00-13:00"]}}


def test_hours_not_written_as_intervals_are_refused_here(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)
    token = csrf_token_of(client.get(f"{PREFIX}/offices/IGI-CJ").get_data(as_text=True))

    answer = client.post(f"{PREFIX}/offices/IGI-CJ/opening-hours", data={"csrf_token": token, "monday": "all day"})

    assert answer.status_code == 400 and 'href="#monday"' in answer.get_data(as_text=True)
    assert fake_api.sent("PUT", "/api/v1/offices/IGI-CJ/schedule/opening-hours") == []


def test_the_counters_per_slot_type_are_saved(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)
    fake_api.answer("PUT", "/api/v1/offices/IGI-CJ/schedule/capacity", 200, {**SCHEDULE, "slots_created": 40})
    token = csrf_token_of(client.get(f"{PREFIX}/offices/IGI-CJ").get_data(as_text=True))

    answer = client.post(f"{PREFIX}/offices/IGI-CJ/capacity", data={"csrf_token": token, "visit": "3"})

    assert answer.status_code == 303
    [sent] = fake_api.sent("PUT", "/api/v1/offices/IGI-CJ/schedule/capacity")
    assert sent.json() == {"capacity": {"visit": 3}}


def test_a_closure_is_previewed_with_what_happens_to_each_appointment_before_it_is_declared(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)
    booked = {
        "appointment_id": "a-1",
        "application_id": "app-1",
        "office": "IGI-CJ",
        "counter": "1",
        "starts_at": f"{_day(3)}T10:00:00+02:00",
        "ends_at": f"{_day(3)}T10:20:00+02:00",
        "status": "booked",
        "rescheduled_from": None,
    }
    slot = {
        "slot_id": 9,
        "office": "IGI-CJ",
        "counter": "2",
        "slot_type": "visit",
        "starts_at": f"{_day(5)}T08:30:00+02:00",
        "ends_at": f"{_day(5)}T08:50:00+02:00",
    }
    fake_api.answer(
        "GET",
        "/api/v1/offices/IGI-CJ/closures/preview",
        200,
        {
            "first_day": _day(3),
            "last_day": _day(4),
            "moved": 1,
            "cancelled": 1,
            "appointments": [
                {"appointment": booked, "outcome": "moved", "moves_to": slot},
                {"appointment": {**booked, "application_id": "app-2"}, "outcome": "cancelled", "moves_to": None},
            ],
        },
    )
    token = csrf_token_of(client.get(f"{PREFIX}/offices/IGI-CJ").get_data(as_text=True))
    form = {"csrf_token": token, "first_day": _day(3), "last_day": _day(4), "reason": "Renovation"}

    preview = client.post(f"{PREFIX}/offices/IGI-CJ/closures", data={**form, "step": "preview"})

    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "app-1" in html and "app-2" in html and 'name="step" value="confirm"' in html
    [asked] = fake_api.sent("GET", "/api/v1/offices/IGI-CJ/closures/preview")
    assert f"first_day={_day(3)}" in asked.path and f"last_day={_day(4)}" in asked.path
    assert fake_api.sent("POST", "/api/v1/offices/IGI-CJ/closures") == []

    closure = {
        "closure_id": "c-1",
        "office": "IGI-CJ",
        "first_day": _day(3),
        "last_day": _day(4),
        "reason": "Renovation",
        "created_at": "2026-12-07T10:00:00Z",
        "created_by": "staff-1",
        "moved": 0,
        "cancelled": 1,
    }
    fake_api.answer(
        "POST", "/api/v1/offices/IGI-CJ/closures", 201, {"closure": closure, "moved": [], "cancelled": [booked]}
    )
    done = client.post(f"{PREFIX}/offices/IGI-CJ/closures", data={**form, "step": "confirm"})

    assert done.status_code == 200 and 'id="cancelled"' in done.get_data(as_text=True)
    [sent] = fake_api.sent("POST", "/api/v1/offices/IGI-CJ/closures")
    assert sent.json() == {"first_day": _day(3), "last_day": _day(4), "reason": "Renovation"}


def test_a_closure_in_the_past_or_without_a_reason_is_refused_beside_its_fields(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)
    token = csrf_token_of(client.get(f"{PREFIX}/offices/IGI-CJ").get_data(as_text=True))

    answer = client.post(
        f"{PREFIX}/offices/IGI-CJ/closures", data={"csrf_token": token, "first_day": _day(-1), "reason": ""}
    )

    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'href="#reason"' in html
    assert fake_api.sent("GET", "/api/v1/offices/IGI-CJ/closures/preview") == []


def test_a_closure_without_the_csrf_token_is_refused(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("office_manager@IGI-CJ")
    fake_api.answer("GET", SCHEDULE_PATH, 200, SCHEDULE)

    answer = client.post(
        f"{PREFIX}/offices/IGI-CJ/closures", data={"first_day": _day(3), "reason": "Renovation", "step": "confirm"}
    )

    assert answer.status_code == 400
    assert fake_api.sent("POST", "/api/v1/offices/IGI-CJ/closures") == []
