"""Security keys in the console: the page that lists, registers and removes them, and the sign-in's
choice of a key or a code — identity-svc's answers scripted on the fake API. (The browser's part,
navigator.credentials with a virtual authenticator, is tested in tests/browser/console.)"""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from .conftest import PREFIX, SECOND_FACTOR_CHALLENGE, FakeApi, csrf_token_of, sign_in_as, staff_token, tokens

KEYS = "/api/v1/auth/second-factor/security-keys"
KEY = {
    "id": "0b9c3c1e-8f37-4c35-9a43-3f4b0b8e2f11",
    "name": "Cheia albastră",
    "created_at": "2026-12-07T09:15:00+00:00",
    "last_used_at": None,
}
REGISTRATION = {"public_key": {"challenge": "Y2hhbGxlbmdl", "rp": {"id": "localhost"}}, "ceremony_token": "c" * 40}
ANSWER = {"id": "a2V5", "rawId": "a2V5", "type": "public-key", "response": {"clientDataJSON": "e30"}}
WITH_KEY = {**SECOND_FACTOR_CHALLENGE, "methods": ["totp", "recovery_code", "security_key"]}
PROBLEM = "https://errors/"


def _body(request) -> dict:
    return json.loads(request.body)


def test_the_page_lists_the_members_keys_with_a_remove_button_and_offers_to_add_one(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in_as(client, fake_api, "petition_clerk@IGPR")
    fake_api.answer("GET", KEYS, 200, {"keys": [KEY]})

    page = client.get(f"{PREFIX}/security-keys").get_data(as_text=True)

    assert "Cheia albastră" in page and "Încă nu" in page  # never used yet
    assert f'action="{PREFIX}/security-keys/{KEY["id"]}/remove"' in page
    assert 'data-webauthn="create"' in page and "security-keys.js" in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_registering_sends_the_browsers_answer_with_the_ceremony_token_kept_in_the_session(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in_as(client, fake_api, "petition_clerk@IGPR")
    fake_api.answer("GET", KEYS, 200, {"keys": []})
    token = csrf_token_of(client.get(f"{PREFIX}/security-keys").get_data(as_text=True))
    fake_api.answer("POST", f"{KEYS}/registration", 201, REGISTRATION)

    options = client.post(f"{PREFIX}/security-keys/options", data={"csrf_token": token})
    assert options.status_code == 200 and options.json == {"publicKey": REGISTRATION["public_key"]}
    assert REGISTRATION["ceremony_token"] not in options.get_data(as_text=True)

    fake_api.answer("POST", KEYS, 201, KEY)
    sent = client.post(
        f"{PREFIX}/security-keys",
        data={"csrf_token": token, "name": " Cheia albastră ", "credential": json.dumps(ANSWER)},
    )

    assert sent.status_code == 303 and sent.headers["Location"] == f"{PREFIX}/security-keys"
    assert _body(fake_api.sent("POST", KEYS)[-1]) == {
        "ceremony_token": REGISTRATION["ceremony_token"],
        "name": "Cheia albastră",
        "credential": ANSWER,
    }


def test_without_a_script_the_page_says_a_key_needs_javascript(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in_as(client, fake_api, "petition_clerk@IGPR")
    fake_api.answer("GET", KEYS, 200, {"keys": []})
    token = csrf_token_of(client.get(f"{PREFIX}/security-keys").get_data(as_text=True))

    sent = client.post(f"{PREFIX}/security-keys", data={"csrf_token": token, "name": "Cheia albastră"})

    assert sent.status_code == 400
    assert "JavaScript" in sent.get_data(as_text=True) and not fake_api.sent("POST", KEYS)


def test_a_name_already_used_is_explained_beside_the_name(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in_as(client, fake_api, "petition_clerk@IGPR")
    fake_api.answer("GET", KEYS, 200, {"keys": [KEY]})
    token = csrf_token_of(client.get(f"{PREFIX}/security-keys").get_data(as_text=True))
    fake_api.answer("POST", f"{KEYS}/registration", 201, REGISTRATION)
    client.post(f"{PREFIX}/security-keys/options", data={"csrf_token": token})
    fake_api.answer("POST", KEYS, 409, {"type": PROBLEM + "security-key-name-taken", "status": 409, "title": "x"})

    sent = client.post(
        f"{PREFIX}/security-keys", data={"csrf_token": token, "name": KEY["name"], "credential": json.dumps(ANSWER)}
    )

    assert sent.status_code == 400 and "Aveți deja o cheie cu acest nume" in sent.get_data(as_text=True)


def test_a_member_removes_a_key(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in_as(client, fake_api, "petition_clerk@IGPR")
    fake_api.answer("GET", KEYS, 200, {"keys": [KEY]})
    token = csrf_token_of(client.get(f"{PREFIX}/security-keys").get_data(as_text=True))
    fake_api.answer("DELETE", f"{KEYS}/{KEY['id']}", 204)

    removed = client.post(f"{PREFIX}/security-keys/{KEY['id']}/remove", data={"csrf_token": token})

    assert removed.status_code == 303 and len(fake_api.sent("DELETE", f"{KEYS}/{KEY['id']}")) == 1
    assert client.post(f"{PREFIX}/security-keys/not-a-key/remove", data={"csrf_token": token}).status_code == 404


def _password(client: FlaskClient, fake_api: FakeApi, answer: dict) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, answer)
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in").get_data(as_text=True))
    sent = client.post(
        f"{PREFIX}/sign-in", data={"csrf_token": token, "email": "clerk@mai.gov.ro", "password": "correct horse"}
    )
    assert sent.headers["Location"] == f"{PREFIX}/sign-in/code"


def test_a_member_with_a_key_chooses_the_key_or_the_code_and_the_code_works_without_a_script(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    _password(client, fake_api, WITH_KEY)

    page = client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True)

    assert 'data-webauthn="get"' in page and 'autocomplete="one-time-code"' in page
    assert page.count('name="csrf_token"') == 2 and page.count('id="csrf_token"') == 1
    fake_api.answer("POST", "/api/v1/auth/second-factor", 200, tokens(access=staff_token("petition_clerk@IGPR")))
    by_code = client.post(f"{PREFIX}/sign-in/code", data={"csrf_token": csrf_token_of(page), "code": "123456"})
    assert by_code.status_code == 303 and by_code.headers["Location"] == f"{PREFIX}/"


def test_the_key_ends_the_sign_in_with_its_ceremony_answered_once(client: FlaskClient, fake_api: FakeApi) -> None:
    _password(client, fake_api, WITH_KEY)
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True))
    ceremony = {"public_key": {"challenge": "Y2hhbGxlbmdl", "rpId": "localhost"}, "ceremony_token": "s" * 40}
    fake_api.answer("POST", "/api/v1/auth/second-factor/security-key/options", 200, ceremony)

    options = client.post(f"{PREFIX}/sign-in/security-key/options", data={"csrf_token": token})
    assert options.json == {"publicKey": ceremony["public_key"]}
    assert _body(fake_api.sent("POST", "/api/v1/auth/second-factor/security-key/options")[-1]) == {
        "challenge_token": WITH_KEY["challenge_token"]
    }
    refused = {"type": PROBLEM + "second-factor-refused", "status": 401, "title": "x"}
    fake_api.answer("POST", "/api/v1/auth/second-factor/security-key", 401, refused)
    fake_api.answer(
        "POST", "/api/v1/auth/second-factor/security-key", 200, tokens(access=staff_token("petition_clerk@IGPR"))
    )

    wrong = client.post(f"{PREFIX}/sign-in/security-key", data={"csrf_token": token, "credential": json.dumps(ANSWER)})
    assert wrong.status_code == 400 and "Cheia de securitate nu a fost acceptată" in wrong.get_data(as_text=True)
    again = client.post(f"{PREFIX}/sign-in/security-key", data={"csrf_token": token, "credential": json.dumps(ANSWER)})
    assert again.status_code == 400  # the refused ceremony is not sent twice: the script asks for new options
    assert len(fake_api.sent("POST", "/api/v1/auth/second-factor/security-key")) == 1

    client.post(f"{PREFIX}/sign-in/security-key/options", data={"csrf_token": token})
    signed_in = client.post(
        f"{PREFIX}/sign-in/security-key", data={"csrf_token": token, "credential": json.dumps(ANSWER)}
    )

    assert signed_in.status_code == 303 and signed_in.headers["Location"] == f"{PREFIX}/"
    assert _body(fake_api.sent("POST", "/api/v1/auth/second-factor/security-key")[-1]) == {
        "challenge_token": WITH_KEY["challenge_token"],
        "ceremony_token": ceremony["ceremony_token"],
        "credential": ANSWER,
    }
    assert client.get(f"{PREFIX}/").status_code == 200


def test_a_member_with_only_a_code_is_offered_no_key(client: FlaskClient, fake_api: FakeApi) -> None:
    _password(client, fake_api, SECOND_FACTOR_CHALLENGE)

    page = client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True)

    assert "data-webauthn" not in page and "security-keys.js" not in page
