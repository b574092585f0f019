"""The account pages: register, confirm the e-mail address, forgotten password, profile."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import FakeApi, csrf_token_of, tokens

CNP = "1800101221144"
PROFILE = {
    "citizen_id": "7d4c2b1e-0000-4000-8000-000000000001",
    "email": "ana@example.ro",
    "last_name": "Popescu",
    "first_name": "Ana",
    "cnp_last_digits": "1144",
    "birth_date": "1980-01-01",
    "birth_place": None,
    "father_first_name": None,
    "mother_first_name": None,
    "citizenship": "RO",
    "address": None,
    "assurance_level": "none",
    "verified": False,
    "verified_at": None,
}


def problem(kind: str, status: int, **extra: Any) -> dict[str, Any]:
    return {"type": f"https://e-services.mai.gov.ro/problems/{kind}", "title": kind, "status": status, **extra}


def post_form(client: FlaskClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def register(client: FlaskClient, **overrides: str):  # type: ignore[no-untyped-def]
    fields = {
        "last_name": "Popescu",
        "first_name": "Ana",
        "cnp": CNP,
        "email": "ana@example.ro",
        "password": "correct horse battery",
        "password_again": "correct horse battery",
        **overrides,
    }
    return post_form(client, "/account/register", **fields)


def sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    answer = post_form(client, "/sign-in", email="ana@example.ro", password="correct horse battery")
    assert answer.status_code == 303


# --- register ------------------------------------------------------------------------------------


def test_registering_sends_the_account_to_the_api_and_asks_to_check_the_mail(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/accounts", 202, {"status": "accepted", "detail": "..."})

    answer = register(client, cnp="1800101 221144")

    assert answer.status_code == 303 and answer.headers["Location"] == "/account/register/check-email"
    [sent] = fake_api.sent("POST", "/api/v1/accounts")
    assert sent.json() == {
        "last_name": "Popescu",
        "first_name": "Ana",
        "cnp": CNP,
        "email": "ana@example.ro",
        "password": "correct horse battery",
        "language": "ro",
    }
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "ana@example.ro" in page


@pytest.mark.parametrize(
    ("cnp", "message"),
    [
        ("180010122114", "Un CNP are exact 13 cifre"),
        ("1800101221145", "Ultima cifră a acestui CNP nu se potrivește"),
        ("1801301221148", "dată de naștere sau un cod de județ imposibil"),
    ],
)
def test_a_wrong_cnp_is_explained_beside_the_field_and_nothing_is_sent(
    client: FlaskClient, fake_api: FakeApi, cnp: str, message: str
) -> None:
    answer = register(client, cnp=cnp)

    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page
    assert 'href="#cnp"' in page  # the error summary links to the field
    assert 'aria-invalid="true"' in page
    assert fake_api.sent("POST", "/api/v1/accounts") == []
    assert "correct horse battery" not in page  # the password is never sent back


def test_the_apis_refusal_of_a_field_is_shown_beside_it_in_the_pages_language(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer(
        "POST",
        "/api/v1/accounts",
        422,
        problem("validation-error", 422, errors={"cnp": ["The CNP's check digit is wrong."]}),
    )
    client.set_cookie("lang", "en")

    page = register(client).get_data(as_text=True)

    assert "Check your CNP: it is not a valid personal numeric code" in page
    assert "check digit is wrong" not in page


CHALLENGE = {"kind": "proof-of-work", "challenge": "v1.20.1.abc.def", "bits": 20, "header": "Proof-Of-Work"}


@pytest.mark.parametrize(
    ("page", "path", "fields"),
    [
        ("/account/register", "/api/v1/accounts", None),
        ("/account/confirm-email/new-code", "/api/v1/accounts/email-confirmation/resend", {"email": "ana@example.ro"}),
        ("/account/forgot-password", "/api/v1/auth/password-reset", {"email": "ana@example.ro"}),
    ],
    ids=["registration", "confirmation-resend", "password-reset"],
)
def test_when_the_api_asks_this_connection_for_a_challenge_the_page_says_to_try_later(
    client: FlaskClient, fake_api: FakeApi, page: str, path: str, fields: dict[str, str] | None
) -> None:
    fake_api.answer("POST", path, 428, problem("challenge-required", 428, challenge=CHALLENGE))

    answer = register(client) if fields is None else post_form(client, page, **fields)

    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "s-au cerut recent prea multe conturi sau e-mailuri" in text
    assert "Nu s-a trimis nimic" in text
    assert len(fake_api.sent("POST", path)) == 1


def test_the_two_passwords_must_be_the_same(client: FlaskClient, fake_api: FakeApi) -> None:
    page = register(client, password_again="another horse battery").get_data(as_text=True)

    assert "Cele două parole nu sunt la fel" in page
    assert fake_api.sent("POST", "/api/v1/accounts") == []


def test_the_register_page_checks_the_cnp_as_typed_with_its_own_script(client: FlaskClient) -> None:
    page = client.get("/account/register").get_data(as_text=True)

    assert '<script src="/static/account/cnp-check.js" defer></script>' in page
    assert 'data-cnp-message="cnp-check"' in page
    script = client.get("/static/account/cnp-check.js")
    script.close()
    assert script.status_code == 200 and script.mimetype == "text/javascript"


# --- confirm the e-mail address --------------------------------------------------------------------


def test_the_mailed_link_confirms_nothing_and_its_code_leaves_the_address_bar(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    opened = client.get(f"/account/confirm-email?citizen_id={PROFILE['citizen_id']}&code=K7QM3XPA")

    assert opened.status_code == 303 and opened.headers["Location"] == "/account/confirm-email"
    page = client.get("/account/confirm-email")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'value="K7QM3XPA"' in html and "Confirmați adresa de e-mail" in html
    assert fake_api.requests == []  # opening the link (a mail scanner does) confirmed nothing


def test_pressing_the_button_confirms_and_leads_to_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/accounts/email-confirmation", 204)
    client.get(f"/account/confirm-email?citizen_id={PROFILE['citizen_id']}&code=K7QM3XPA")

    confirmed = post_form(client, "/account/confirm-email", code="K7QM3XPA")

    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/sign-in"
    [sent] = fake_api.sent("POST", "/api/v1/accounts/email-confirmation")
    assert sent.json() == {"citizen_id": PROFILE["citizen_id"], "code": "K7QM3XPA"}
    assert "Adresa de e-mail este confirmată" in client.get("/sign-in").get_data(as_text=True)


def test_a_refused_code_is_explained_with_a_way_to_get_a_new_one(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/accounts/email-confirmation", 400, problem("code-refused", 400))
    client.get(f"/account/confirm-email?citizen_id={PROFILE['citizen_id']}&code=WRONG123")
    client.set_cookie("lang", "en")

    refused = post_form(client, "/account/confirm-email", code="WRONG123")

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "This code is wrong, has expired or was used too many times" in page
    assert 'href="#code"' in page and 'href="/account/confirm-email/new-code"' in page


def test_without_the_link_the_page_says_to_open_it(client: FlaskClient) -> None:
    page = client.get("/account/confirm-email").get_data(as_text=True)

    assert "Deschideți linkul din e-mailul" in page
    assert "<button" not in page.split("<main", 1)[1].split("</main>")[0]


# --- forgotten password ----------------------------------------------------------------------------


def test_a_forgotten_password_asks_for_a_mail_without_telling_whether_the_account_exists(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/auth/password-reset", 202, {"status": "accepted", "detail": "..."})

    answer = post_form(client, "/account/forgot-password", email="ana@example.ro")

    assert answer.status_code == 200
    assert fake_api.sent("POST", "/api/v1/auth/password-reset")[0].json() == {"email": "ana@example.ro"}
    assert "Dacă ana@example.ro are un cont" in answer.get_data(as_text=True)


def test_the_reset_link_fills_the_code_and_the_new_password_is_set(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/password-reset/confirm", 204)

    opened = client.get("/account/reset-password?code=R3SETC0D")
    assert opened.status_code == 303 and opened.headers["Location"] == "/account/reset-password"
    assert 'value="R3SETC0D"' in client.get("/account/reset-password").get_data(as_text=True)
    done = post_form(
        client,
        "/account/reset-password",
        email="ana@example.ro",
        code="R3SETC0D",
        new_password="a brand new password",
        new_password_again="a brand new password",
    )

    assert done.status_code == 303 and done.headers["Location"] == "/sign-in"
    assert fake_api.sent("POST", "/api/v1/auth/password-reset/confirm")[0].json() == {
        "email": "ana@example.ro",
        "code": "R3SETC0D",
        "new_password": "a brand new password",
    }


def test_a_refused_reset_code_is_shown_beside_the_code(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/password-reset/confirm", 400, problem("code-refused", 400))

    refused = post_form(
        client,
        "/account/reset-password",
        email="ana@example.ro",
        code="R3SETC0D",
        new_password="a brand new password",
        new_password_again="a brand new password",
    )

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Acest cod este greșit" in page and 'href="#code"' in page
    assert "a brand new password" not in page


# --- profile -----------------------------------------------------------------------------------------


def test_the_profile_needs_a_signed_in_citizen(client: FlaskClient) -> None:
    answer = client.get("/account")

    assert answer.status_code == 303 and answer.headers["Location"].startswith("/sign-in?next=/account")


def test_the_profile_shows_the_citizens_data_without_the_cnp_and_is_never_cached(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/profiles/me", 200, PROFILE)

    answer = client.get("/account")

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert "Ana Popescu" in page and "ana@example.ro" in page
    assert "se termină în 1144" in page and "1 ianuarie 1980" in page
    assert 'href="/account/verification"' in page  # not verified yet: how to verify
    assert fake_api.sent("GET", "/api/v1/identity/profiles/me")[0].headers["Authorization"] == "Bearer access-token-1"


def test_a_verified_citizen_changes_only_the_address(
    client: FlaskClient, fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/identity/profiles/me", 200, {**PROFILE, "verified": True})
    sent: list[tuple[str, str, Any]] = []

    from portal.areas import account

    real_call_api = account.call_api

    def call_api(method: str, path: str, **options: Any) -> Any:
        if method == "PATCH":  # the fake gateway answers GET and POST only
            sent.append((method, path, options.get("json")))
            return None
        return real_call_api(method, path, **options)

    monkeypatch.setattr(account, "call_api", call_api)
    form = client.get("/account/details").get_data(as_text=True)
    assert 'name="birth_place"' not in form and 'name="address"' in form

    saved = post_form(client, "/account/details", address="Str. Lungă nr. 1, Iași", birth_place="Cluj")

    assert saved.status_code == 303 and saved.headers["Location"] == "/account"
    assert sent == [("PATCH", "/api/v1/identity/profiles/me", {"address": "Str. Lungă nr. 1, Iași"})]
