"""The second factor of a staff sign-in in the console: the code page, the enrolment page with its
QR code, and the recovery codes shown once — identity-svc's answers scripted on the fake API."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from .conftest import PREFIX, SECOND_FACTOR_CHALLENGE, FakeApi, csrf_token_of, staff_token, tokens

ENROLMENT_CHALLENGE = {**SECOND_FACTOR_CHALLENGE, "step": "enrolment", "methods": ["totp_enrolment"]}
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ENROLMENT = {
    "secret": SECRET,
    "otpauth_uri": f"otpauth://totp/MAI%20e-services:clerk%40mai.gov.ro?secret={SECRET}&issuer=MAI%20e-services",
    "qr_svg": '<svg xmlns="http://www.w3.org/2000/svg"><title>MAI e-services</title><path d="M0 0h1"/></svg>',
}
RECOVERY = [f"abcde-{n:05d}" for n in range(10)]


def _password(client: FlaskClient, fake_api: FakeApi, answer: dict) -> str:
    fake_api.answer("POST", "/api/v1/auth/login", 200, answer)
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in").get_data(as_text=True))
    sent = client.post(
        f"{PREFIX}/sign-in", data={"csrf_token": token, "email": "clerk@mai.gov.ro", "password": "correct horse"}
    )
    assert sent.status_code == 303
    return sent.headers["Location"]


def _body(request) -> dict:
    return json.loads(request.body)


def test_a_right_password_leads_to_the_code_page_and_the_code_ends_the_sign_in(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    assert _password(client, fake_api, SECOND_FACTOR_CHALLENGE) == f"{PREFIX}/sign-in/code"
    assert client.get(f"{PREFIX}/").status_code == 303  # no session before the code

    page = client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and SECOND_FACTOR_CHALLENGE["challenge_token"] not in page
    fake_api.answer("POST", "/api/v1/auth/second-factor", 200, tokens(access=staff_token("petition_clerk@IGPR")))
    answer = client.post(f"{PREFIX}/sign-in/code", data={"csrf_token": csrf_token_of(page), "code": "123 456"})

    assert answer.status_code == 303 and answer.headers["Location"] == f"{PREFIX}/"
    [sent] = fake_api.sent("POST", "/api/v1/auth/second-factor")
    assert _body(sent) == {"challenge_token": SECOND_FACTOR_CHALLENGE["challenge_token"], "code": "123 456"}
    assert client.get(f"{PREFIX}/").status_code == 200


def test_a_wrong_code_is_explained_and_a_recovery_code_is_accepted_instead(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    _password(client, fake_api, SECOND_FACTOR_CHALLENGE)
    refused = {"type": "https://errors/second-factor-refused", "status": 401, "title": "x"}
    fake_api.answer("POST", "/api/v1/auth/second-factor", 401, refused)
    fake_api.answer("POST", "/api/v1/auth/second-factor", 200, tokens(access=staff_token("petition_clerk@IGPR")))
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True))

    wrong = client.post(f"{PREFIX}/sign-in/code", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400
    assert 'class="error-summary"' in wrong.get_data(as_text=True) and 'value="000000"' not in wrong.get_data(
        as_text=True
    )
    both = client.post(
        f"{PREFIX}/sign-in/code", data={"csrf_token": token, "code": "111111", "recovery_code": RECOVERY[0]}
    )
    assert both.status_code == 400  # one or the other

    answer = client.post(f"{PREFIX}/sign-in/code", data={"csrf_token": token, "recovery_code": RECOVERY[0]})
    assert answer.status_code == 303
    assert _body(fake_api.sent("POST", "/api/v1/auth/second-factor")[-1])["recovery_code"] == RECOVERY[0]


def test_the_code_page_without_a_password_step_sends_back_to_sign_in(client: FlaskClient) -> None:
    answer = client.get(f"{PREFIX}/sign-in/code")

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/sign-in")


def test_a_member_without_an_authenticator_enrols_and_sees_the_recovery_codes_once(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    assert _password(client, fake_api, ENROLMENT_CHALLENGE) == f"{PREFIX}/sign-in/authenticator"
    fake_api.answer("POST", "/api/v1/auth/second-factor/totp/enrolment", 201, ENROLMENT)
    fake_api.answer(
        "POST",
        "/api/v1/auth/second-factor/totp/enrolment/confirmation",
        200,
        {"recovery_codes": RECOVERY, "tokens": tokens(access=staff_token("petition_clerk@IGPR"))},
    )

    page = client.get(f"{PREFIX}/sign-in/authenticator").get_data(as_text=True)
    assert ENROLMENT["qr_svg"] in page and 'role="img"' in page
    assert "JBSW Y3DP EHPK 3PXP" in page
    assert client.get(f"{PREFIX}/sign-in/authenticator").get_data(as_text=True).count(SECRET) == 1  # started once
    assert len(fake_api.sent("POST", "/api/v1/auth/second-factor/totp/enrolment")) == 1
    assert _body(fake_api.sent("POST", "/api/v1/auth/second-factor/totp/enrolment")[0]) == {
        "challenge_token": ENROLMENT_CHALLENGE["challenge_token"]
    }

    confirmed = client.post(
        f"{PREFIX}/sign-in/authenticator", data={"csrf_token": csrf_token_of(page), "code": "654321"}
    )

    assert confirmed.status_code == 303 and confirmed.headers["Location"] == f"{PREFIX}/authenticator/recovery-codes"
    codes = client.get(f"{PREFIX}/authenticator/recovery-codes")
    assert codes.headers["Cache-Control"] == "no-store"
    assert all(code in codes.get_data(as_text=True) for code in RECOVERY)
    assert client.get(f"{PREFIX}/authenticator/recovery-codes").status_code == 303  # shown once
    assert client.get(f"{PREFIX}/").status_code == 200  # signed in
