"""Tokens that must not get in, and signing-key rotation."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from identity.testing import add_signing_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(subject: str, **changes):
    now = int(time.time())
    return {
        "iss": "mai-identity",
        "aud": "mai-eservices",
        "sub": subject,
        "kind": "citizen",
        "roles": [],
        "acr": "none",
        "typ": "access",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        **changes,
    }


def _profile(client, token):
    return client.get("/api/v1/identity/profiles/me", headers={"Authorization": f"Bearer {token}"})


def test_a_real_token_reads_the_own_profile(client, register_citizen):
    session = register_citizen()
    response = _profile(client, session["access_token"])
    assert response.status_code == 200
    assert response.get_json()["cnp_last_digits"] == "1144" and "cnp" not in response.get_json()


def _forgeries(client, session, sign_token):
    subject = session["citizen_id"]
    kid = jwt.get_unverified_header(session["access_token"])["kid"]
    jwks = client.get("/.well-known/jwks.json").get_json()
    public_pem = jwt.PyJWK(jwks["keys"][0]).key.public_bytes(
        encoding=__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM,
        format=__import__("cryptography").hazmat.primitives.serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    header, payload, signature = session["access_token"].split(".")
    tampered_payload = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered_payload["acr"] = "high"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg none": f"{_b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}."
        f"{_b64(json.dumps(_claims(subject)).encode())}.",
        "HMAC signed with the public key": f"{_b64(json.dumps({'alg': 'HS256', 'kid': kid, 'typ': 'JWT'}).encode())}."
        f"{_b64(json.dumps(_claims(subject)).encode())}."
        + _b64(__import__("hmac").new(public_pem, b"x", "sha256").digest()),
        "expired": sign_token(subject=subject, kind="citizen", iat=int(time.time()) - 900, exp=int(time.time()) - 600),
        "wrong audience": sign_token(subject=subject, kind="citizen", aud="another-audience"),
        "wrong issuer": sign_token(subject=subject, kind="citizen", iss="https://evil.example"),
        "tampered payload": f"{header}.{_b64(json.dumps(tampered_payload).encode())}.{signature}",
        "unknown kid": jwt.encode(_claims(subject), stranger, algorithm="RS256", headers={"kid": "not-ours"}),
        "our kid, a stranger's key": jwt.encode(_claims(subject), stranger, algorithm="RS256", headers={"kid": kid}),
        "refresh token as bearer": session["refresh_token"],
    }


CASES = [
    "alg none",
    "HMAC signed with the public key",
    "expired",
    "wrong audience",
    "wrong issuer",
    "tampered payload",
    "unknown kid",
    "our kid, a stranger's key",
    "refresh token as bearer",
]


@pytest.mark.parametrize("case", CASES)
def test_a_forged_or_unfit_token_is_refused(client, register_citizen, sign_token, case):
    session = register_citizen()
    token = _forgeries(client, session, sign_token)[case]
    response = _profile(client, token)
    assert response.status_code == 401, case
    assert response.mimetype == "application/problem+json"


def test_a_new_key_is_published_before_it_signs_and_the_old_one_stays_published(
    client, app, register_citizen, settings
):
    session = register_citizen()
    old_kid = jwt.get_unverified_header(session["access_token"])["kid"]
    new_kid = add_signing_key(settings, publish_lead=timedelta(minutes=10))
    keys = app.extensions["identity_deps"].keys
    keys.refresh()
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old_kid, new_kid} <= published
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).get_json()
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == old_kid  # the new key is not signing yet
    assert _profile(client, session["access_token"]).status_code == 200


def test_the_jwks_holds_only_public_keys(client):
    for key in client.get("/.well-known/jwks.json").get_json()["keys"]:
        assert set(key) >= {"kty", "n", "e", "kid", "alg", "use"}
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
