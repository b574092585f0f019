"""Office managers' API on the migrated database: the seeded schedule, edits, closures, refusals."""

from __future__ import annotations

from typing import Any

import pytest

SCHEDULE = "/api/v1/offices/IGI-CJ/schedule"
CLOSURES = "/api/v1/offices/IGI-CJ/closures"


def staff(token_issuer: Any, role: str = "office_manager", unit: str = "IGI-CJ") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_issuer.staff(role, unit)}"}


def test_the_schedule_is_seeded_from_the_offices_reference_data(client: Any, token_issuer: Any) -> None:
    answer = client.get(SCHEDULE, headers=staff(token_issuer))

    assert answer.status_code == 200, answer.get_json()
    schedule = answer.get_json()
    assert schedule["opening_hours"]["tuesday"] == ["08:30-12:30", "13:00-16:00"]
    assert "saturday" not in schedule["opening_hours"]
    assert (schedule["slot_minutes"], schedule["capacity"], schedule["closures"]) == (20, {"visit": 4}, [])
    assert "2025-04-18" in schedule["public_holidays"]  # Good Friday, within eight weeks of 14 March 2025
    public = client.get("/api/v1/offices/IGI-CJ").get_json()
    assert public["opening_hours"] == schedule["opening_hours"] and public["closed_days"] == []


def test_a_manager_edits_hours_and_capacity_and_the_public_office_page_follows(client: Any, token_issuer: Any) -> None:
    hours = {"monday": ["09:00-12:00"], "thursday": ["09:00-12:00", "13:00-15:00"]}

    changed = client.put(f"{SCHEDULE}/opening-hours", json={"opening_hours": hours}, headers=staff(token_issuer))
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["opening_hours"] == hours and changed.get_json()["slots_created"] > 0
    capacity = client.put(f"{SCHEDULE}/capacity", json={"capacity": {"visit": 1}}, headers=staff(token_issuer))
    assert capacity.get_json()["capacity"] == {"visit": 1} and capacity.get_json()["slots_withdrawn"] > 0

    citizen = {"Authorization": f"Bearer {token_issuer.citizen()}"}
    monday = client.get("/api/v1/offices/IGI-CJ/slots?from=2025-03-17&to=2025-03-18", headers=citizen).get_json()
    assert len(monday["items"]) == 9  # 09:00-12:00 in 20-minute steps, one counter; Tuesday is closed now
    assert {s["counter"] for s in monday["items"]} == {"1"} and monday["items"][0]["slot_type"] == "visit"
    assert client.get("/api/v1/offices/IGI-CJ").get_json()["opening_hours"] == hours


def test_a_closure_is_listed_and_the_day_offers_no_slot(client: Any, token_issuer: Any) -> None:
    client.put(f"{SCHEDULE}/capacity", json={"capacity": {"visit": 2}}, headers=staff(token_issuer))

    closed = client.post(CLOSURES, json={"first_day": "2025-03-18", "reason": "Power cut"}, headers=staff(token_issuer))

    assert closed.status_code == 201, closed.get_json()
    closure = closed.get_json()["closure"]
    assert (closure["first_day"], closure["last_day"], closure["reason"]) == ("2025-03-18", "2025-03-18", "Power cut")
    assert closed.get_json()["moved"] == closed.get_json()["cancelled"] == []
    listed = client.get(CLOSURES, headers=staff(token_issuer)).get_json()["items"]
    assert [c["closure_id"] for c in listed] == [closure["closure_id"]]
    citizen = {"Authorization": f"Bearer {token_issuer.citizen()}"}
    assert client.get("/api/v1/offices/IGI-CJ/slots?from=2025-03-18&to=2025-03-18", headers=citizen).get_json() == {
        "items": []
    }
    assert client.get("/api/v1/offices/IGI-CJ").get_json()["closed_days"] == ["2025-03-18"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", f"{SCHEDULE}/opening-hours", {"opening_hours": {"moonday": ["08:30-12:30"]}}, "opening_hours"),
        ("put", f"{SCHEDULE}/opening-hours", {"opening_hours": {"monday": ["8-12"]}}, "opening_hours"),
        ("put", f"{SCHEDULE}/capacity", {"capacity": {"visit": -1}}, "capacity"),
        ("put", f"{SCHEDULE}/capacity", {"capacity": {"visit": 2}, "extra": 1}, "extra"),
        ("post", CLOSURES, {"first_day": "18 March", "reason": "Flood"}, "first_day"),
        ("post", CLOSURES, {"first_day": "2025-03-18"}, "reason"),
    ],
)
def test_malformed_input_is_refused_with_the_field_named(
    client: Any, token_issuer: Any, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    answer = getattr(client, method)(path, json=body, headers=staff(token_issuer))

    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert field in answer.get_json()["errors"]


@pytest.mark.parametrize(
    ("method", "path", "body", "kind"),
    [
        ("put", f"{SCHEDULE}/opening-hours", {"opening_hours": {"monday": ["12:00-09:00"]}}, "invalid-opening-hours"),
        ("put", f"{SCHEDULE}/capacity", {"capacity": {"visit": 5}}, "invalid-capacity"),
        ("post", CLOSURES, {"first_day": "2025-03-13", "reason": "Flood"}, "invalid-closure"),
        ("post", CLOSURES, {"first_day": "2025-03-20", "last_day": "2025-03-19", "reason": "x"}, "invalid-closure"),
    ],
)
def test_rules_refuse_with_a_problem_and_change_nothing(
    client: Any, token_issuer: Any, method: str, path: str, body: dict[str, Any], kind: str
) -> None:
    answer = getattr(client, method)(path, json=body, headers=staff(token_issuer))

    assert answer.status_code == 422 and answer.get_json()["type"].endswith(kind), answer.get_json()
    schedule = client.get(SCHEDULE, headers=staff(token_issuer)).get_json()
    assert schedule["capacity"] == {"visit": 4} and schedule["closures"] == []
    assert schedule["opening_hours"]["monday"] == ["08:30-12:30"]


def test_another_offices_manager_gets_404_and_other_staff_403(client: Any, token_issuer: Any) -> None:
    closure = {"first_day": "2025-03-18", "reason": "Flood"}
    elsewhere = staff(token_issuer, unit="IGI-B")
    assert client.get(SCHEDULE, headers=elsewhere).status_code == 404
    assert client.post(CLOSURES, json=closure, headers=elsewhere).status_code == 404
    assert client.put(f"{SCHEDULE}/capacity", json={"capacity": {"visit": 1}}, headers=elsewhere).status_code == 404
    officer = staff(token_issuer, "immigration_officer")
    assert client.post(CLOSURES, json=closure, headers=officer).status_code == 403
    citizen = {"Authorization": f"Bearer {token_issuer.citizen()}"}
    assert client.get(SCHEDULE, headers=citizen).status_code == 403
    assert client.get(SCHEDULE).status_code == 401
    assert client.get("/api/v1/offices/XX-NONE/schedule", headers=staff(token_issuer, unit="*")).status_code == 404
    assert client.get(CLOSURES, headers=staff(token_issuer)).get_json()["items"] == []


def test_a_manager_sees_the_days_appointments_of_the_office_only(client: Any, token_issuer: Any) -> None:
    day = "/api/v1/offices/IGI-CJ/appointments?date=2025-03-18"
    assert client.get(day, headers=staff(token_issuer)).get_json() == {"items": []}
    assert client.get(day, headers=staff(token_issuer, unit="IGI-B")).status_code == 404


def test_a_closure_preview_changes_nothing_and_is_for_the_offices_managers(client: Any, token_issuer: Any) -> None:
    preview = client.get(f"{CLOSURES}/preview?first_day=2025-03-18&last_day=2025-03-19", headers=staff(token_issuer))

    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json() == {
        "first_day": "2025-03-18",
        "last_day": "2025-03-19",
        "moved": 0,
        "cancelled": 0,
        "appointments": [],
    }
    assert client.get(CLOSURES, headers=staff(token_issuer)).get_json()["items"] == []
    elsewhere = staff(token_issuer, unit="IGI-B")
    assert client.get(f"{CLOSURES}/preview?first_day=2025-03-18", headers=elsewhere).status_code == 404
    officer = staff(token_issuer, role="immigration_officer")
    assert client.get(f"{CLOSURES}/preview?first_day=2025-03-18", headers=officer).status_code == 403
    backwards = client.get(f"{CLOSURES}/preview?first_day=2025-03-19&last_day=2025-03-18", headers=staff(token_issuer))
    assert backwards.status_code == 422
    assert client.get(f"{CLOSURES}/preview?first_day=soon", headers=staff(token_issuer)).status_code == 422
