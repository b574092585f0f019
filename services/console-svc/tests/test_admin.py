"""Administrators' pages: notifications found by recipient or reference and sent again, the audit
trail filtered, staff accounts with roles granted and revoked, and a lost second factor reset."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from .conftest import PREFIX, FakeApi, csrf_token_of

ADDRESS = "ana.popescu@example.ro"
NOTIFICATION = "3f2b8c1e-0d4a-4e7b-9c55-1a2b3c4d5e6f"
MEMBER = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"


def found_page(status: str = "delivered") -> dict:
    delivery = {"number": 1, "status": status, "attempts": 2, "created_at": "2026-03-02T09:00:00+00:00"}
    item = {
        "id": NOTIFICATION,
        "event_type": "ro.mai.petition.answered.v1",
        "subject": "Răspuns la petiția IGPR-2026-000123",
        "language": "ro",
        "sent_to": ADDRESS,
        "status": status,
        "created_at": "2026-03-02T09:00:00+00:00",
        "deliveries": [delivery],
        "reference": "IGPR-2026-000123",
        "about": "0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10",
    }
    return {"items": [item], "page": 1, "per_page": 20, "total": 1}


def member(**changes) -> dict:
    return {
        "staff_id": MEMBER,
        "email": "ion.clerk@mai.gov.ro",
        "name": "Ion Funcționar",
        "roles": [{"role": "petition_clerk", "unit": "IGPR"}],
        "created_at": "2026-03-02T09:00:00+00:00",
        "second_factor_enrolled": True,
        "password_set": True,
    } | changes


def token_of(client: FlaskClient, path: str) -> str:
    return csrf_token_of(client.get(f"{PREFIX}{path}").get_data(as_text=True))


@pytest.mark.parametrize("path", ["/notifications", "/audit", "/staff-accounts", "/staff-accounts/new"])
def test_the_administrators_pages_are_refused_to_a_clerk(signed_in, path: str) -> None:
    client = signed_in("petition_clerk@IGPR")
    assert client.get(f"{PREFIX}{path}").status_code == 403


def test_the_header_offers_the_administrators_tools(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    header = client.get(f"{PREFIX}/").get_data(as_text=True)
    for path in ("/notifications", "/audit", "/staff-accounts"):
        assert f'href="{PREFIX}{path}"' in header


def test_an_address_is_searched_in_a_post_body_and_never_in_an_address(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("POST", "/api/v1/notifications/searches", 200, found_page())

    page = client.post(
        f"{PREFIX}/notifications", data={"csrf_token": token_of(client, "/notifications"), "recipient": ADDRESS}
    )

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "IGPR-2026-000123" in html and "încercări la ultima: 2" in html and 'name="notification_id"' in html
    [sent] = fake_api.sent("POST", "/api/v1/notifications/searches")
    assert sent.json() == {"recipient": ADDRESS, "page": 1, "per_page": 20}
    assert all(ADDRESS not in r.path for r in fake_api.requests)


def test_a_search_needs_one_criterion_said_beside_the_field(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    token = token_of(client, "/notifications")

    empty = client.post(f"{PREFIX}/notifications", data={"csrf_token": token})
    both = client.post(
        f"{PREFIX}/notifications", data={"csrf_token": token, "recipient": ADDRESS, "reference": "IGPR-2026-000123"}
    )
    malformed = client.post(f"{PREFIX}/notifications", data={"csrf_token": token, "recipient": "not an address"})

    for page in (empty, both, malformed):
        assert page.status_code == 400
        assert 'href="#recipient"' in page.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/notifications/searches") == []
    assert client.post(f"{PREFIX}/notifications", data={"recipient": ADDRESS}).status_code == 400  # no CSRF token


def test_a_resend_from_the_results_shows_the_same_results_again_with_one_key(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("POST", "/api/v1/notifications/searches", 200, found_page())
    fake_api.answer("POST", f"/api/v1/notifications/{NOTIFICATION}/resend", 202, {"status": "created"})
    results = client.post(
        f"{PREFIX}/notifications",
        data={"csrf_token": token_of(client, "/notifications"), "reference": "IGPR-2026-000123"},
    ).get_data(as_text=True)
    key = results.split('name="idempotency_key" value="')[1].split('"')[0]

    form = {
        "csrf_token": csrf_token_of(results),
        "notification_id": NOTIFICATION,
        "reference": "IGPR-2026-000123",
        "page": "1",
        "idempotency_key": key,
    }
    first = client.post(f"{PREFIX}/notifications/resend", data=form)
    client.post(f"{PREFIX}/notifications/resend", data=form)

    assert first.status_code == 200 and "IGPR-2026-000123" in first.get_data(as_text=True)
    keys = {
        r.headers.get("Idempotency-Key") for r in fake_api.sent("POST", f"/api/v1/notifications/{NOTIFICATION}/resend")
    }
    assert keys == {key}
    assert fake_api.sent("POST", "/api/v1/notifications/searches")[-1].json()["reference"] == "IGPR-2026-000123"


def test_a_resend_while_a_delivery_is_under_way_is_explained_beside_the_id(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("POST", f"/api/v1/notifications/{NOTIFICATION}/resend", 409, {"status": 409, "type": "x/busy"})

    page = client.post(
        f"{PREFIX}/notifications/resend",
        data={"csrf_token": token_of(client, "/notifications"), "notification_id": NOTIFICATION},
    )

    assert page.status_code == 400 and 'href="#notification_id"' in page.get_data(as_text=True)


def test_the_audit_trail_is_read_with_the_filters_and_a_day_range_in_bucharest_time(
    signed_in, fake_api: FakeApi
) -> None:
    client = signed_in("admin@*")
    record = {
        "seq": 7,
        "service": "petition-svc",
        "actor_id": MEMBER,
        "role": "petition_clerk",
        "unit": "IGPR",
        "action": "petition.answer",
        "subject": {"type": "petition", "id": "p-1", "number": "IGPR-2026-000123"},
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "outcome": "succeeded",
    }
    fake_api.answer("GET", "/api/v1/audit/actions", 200, {"records": [record], "next_before": 7})

    page = client.get(
        f"{PREFIX}/audit?actor={MEMBER}&service=petition-svc&action=petition.answer"
        "&reference=IGPR-2026-000123&date_from=2026-03-01&date_to=2026-03-02"
    )

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "petition.answer" in html and "IGPR-2026-000123" in html and "before=7" in html
    [sent] = fake_api.sent("GET", "/api/v1/audit/actions")
    query = {k: v[0] for k, v in parse_qs(urlsplit(sent.path).query).items()}
    assert query == {
        "limit": "50",
        "actor": MEMBER,
        "service": "petition-svc",
        "action": "petition.answer",
        "reference": "IGPR-2026-000123",
        "from": "2026-03-01T00:00:00+02:00",
        "to": "2026-03-03T00:00:00+02:00",
    }


def test_a_malformed_audit_filter_is_said_beside_its_field_and_not_sent(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")

    page = client.get(f"{PREFIX}/audit?actor=nobody&date_from=2026-03-05&date_to=2026-03-01")

    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'href="#actor"' in html and 'href="#date_to"' in html
    assert fake_api.sent("GET", "/api/v1/audit/actions") == []


def test_an_administrator_creates_a_member_with_a_role_and_an_idempotency_key(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@IGPR")
    fake_api.answer("POST", "/api/v1/staff/accounts", 201, member())

    answer = client.post(
        f"{PREFIX}/staff-accounts/new",
        data={
            "csrf_token": token_of(client, "/staff-accounts/new"),
            "name": "Ion Funcționar",
            "email": "ion.clerk@mai.gov.ro",
            "language": "ro",
            "role": "petition_clerk",
            "unit": "IGPR",
        },
    )

    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/staff-accounts/{MEMBER}")
    [sent] = fake_api.sent("POST", "/api/v1/staff/accounts")
    assert sent.headers.get("Idempotency-Key")
    assert sent.json()["roles"] == [{"role": "petition_clerk", "unit": "IGPR"}]


def test_a_taken_address_and_a_refused_unit_are_said_beside_their_fields(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@IGPR")
    form = {"name": "Ion", "email": "ion@mai.gov.ro", "language": "ro", "role": "petition_clerk", "unit": "IGSU"}
    fake_api.answer("POST", "/api/v1/staff/accounts", 403, {"status": 403, "type": "x/forbidden"})
    refused = client.post(
        f"{PREFIX}/staff-accounts/new", data={**form, "csrf_token": token_of(client, "/staff-accounts/new")}
    )
    assert refused.status_code == 400 and 'href="#unit"' in refused.get_data(as_text=True)

    fake_api.answers.clear()
    fake_api.answer("POST", "/api/v1/staff/accounts", 409, {"status": 409, "type": "x/account-exists"})
    taken = client.post(
        f"{PREFIX}/staff-accounts/new", data={**form, "csrf_token": token_of(client, "/staff-accounts/new")}
    )
    assert taken.status_code == 400 and 'href="#email"' in taken.get_data(as_text=True)


def test_a_unit_administrator_is_not_offered_the_administrator_role(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@IGPR")
    html = client.get(f"{PREFIX}/staff-accounts/new").get_data(as_text=True)
    assert 'value="petition_clerk"' in html and 'value="admin"' not in html


def test_the_list_shows_members_and_a_unit_the_admin_does_not_administer_is_said(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("GET", "/api/v1/staff/accounts", 200, {"items": [member()], "page": 1, "per_page": 50, "total": 1})
    listed = client.get(f"{PREFIX}/staff-accounts?unit=IGPR")
    assert listed.status_code == 200 and "Ion Funcționar" in listed.get_data(as_text=True)
    assert "unit=IGPR" in fake_api.sent("GET", "/api/v1/staff/accounts")[0].path

    fake_api.answers.clear()
    fake_api.answer("GET", "/api/v1/staff/accounts", 403, {"status": 403, "type": "x/forbidden"})
    refused = client.get(f"{PREFIX}/staff-accounts?unit=IGSU")
    assert refused.status_code == 400 and 'href="#unit"' in refused.get_data(as_text=True)


def test_a_role_is_granted_and_revoked_from_the_members_page(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("GET", f"/api/v1/staff/accounts/{MEMBER}", 200, member())
    fake_api.answer("POST", f"/api/v1/staff/accounts/{MEMBER}/roles", 200, member())
    fake_api.answer("DELETE", f"/api/v1/staff/accounts/{MEMBER}/roles/petition_clerk/IGPR", 200, member(roles=[]))
    token = token_of(client, f"/staff-accounts/{MEMBER}")

    granted = client.post(
        f"{PREFIX}/staff-accounts/{MEMBER}/roles", data={"csrf_token": token, "role": "phone_operator", "unit": "IGPR"}
    )
    revoked = client.post(
        f"{PREFIX}/staff-accounts/{MEMBER}/roles/revoke",
        data={"csrf_token": token, "role": "petition_clerk", "unit": "IGPR"},
    )

    assert granted.status_code == revoked.status_code == 303
    assert fake_api.sent("POST", f"/api/v1/staff/accounts/{MEMBER}/roles")[0].json() == {
        "role": "phone_operator",
        "unit": "IGPR",
    }
    assert len(fake_api.sent("DELETE", f"/api/v1/staff/accounts/{MEMBER}/roles/petition_clerk/IGPR")) == 1


def test_a_second_factor_reset_needs_the_confirmation_and_ones_own_is_refused(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@*")
    fake_api.answer("GET", f"/api/v1/staff/accounts/{MEMBER}", 200, member())
    fake_api.answer("DELETE", f"/api/v1/staff/accounts/{MEMBER}/second-factor", 204)
    token = token_of(client, f"/staff-accounts/{MEMBER}")

    unconfirmed = client.post(f"{PREFIX}/staff-accounts/{MEMBER}/second-factor", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and 'href="#confirmed"' in unconfirmed.get_data(as_text=True)
    assert fake_api.sent("DELETE", f"/api/v1/staff/accounts/{MEMBER}/second-factor") == []

    done = client.post(f"{PREFIX}/staff-accounts/{MEMBER}/second-factor", data={"csrf_token": token, "confirmed": "y"})
    assert done.status_code == 303
    assert len(fake_api.sent("DELETE", f"/api/v1/staff/accounts/{MEMBER}/second-factor")) == 1

    fake_api.answers.clear()
    fake_api.answer("GET", f"/api/v1/staff/accounts/{MEMBER}", 200, member())
    fake_api.answer("DELETE", f"/api/v1/staff/accounts/{MEMBER}/second-factor", 409, {"status": 409, "type": "x/own"})
    own = client.post(f"{PREFIX}/staff-accounts/{MEMBER}/second-factor", data={"csrf_token": token, "confirmed": "y"})
    assert own.status_code == 400 and 'href="#confirmed"' in own.get_data(as_text=True)


def test_a_member_outside_the_admins_units_is_not_found(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("admin@IGPR")
    fake_api.answer("GET", f"/api/v1/staff/accounts/{MEMBER}", 404, {"status": 404, "type": "x/not-found"})
    assert client.get(f"{PREFIX}/staff-accounts/{MEMBER}").status_code == 404
    assert client.get(f"{PREFIX}/staff-accounts/not-an-id").status_code == 404
