"""Access tokens: only properly signed, current tokens meant for us get in; roles are checked."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify
from mai_chassis import InvalidToken, TokenVerifier, current_principal, require_auth
from mai_chassis.auth import init_auth
from mai_chassis.problems import register_error_handlers
from mai_chassis.testing import TokenIssuer


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture(scope="module")
def verifier(issuer: TokenIssuer) -> TokenVerifier:
    return TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=issuer.jwks)


def _b64(data: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_citizen_token_yields_the_principal(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    principal = verifier.verify(issuer.citizen("c-1"))
    assert principal.subject == "c-1"
    assert principal.kind == "citizen"
    assert principal.is_verified


def test_staff_roles_are_scoped_to_units(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    principal = verifier.verify(issuer.staff("petition_clerk", "IGPR"))
    assert principal.has_role("petition_clerk", "IGPR")
    assert not principal.has_role("petition_clerk", "IGSU")
    assert not principal.has_role("certificate_clerk")


def test_no_role_implies_another_not_even_admin(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    unit_admin = verifier.verify(issuer.staff("admin", "IGPR"))
    assert unit_admin.has_role("admin", "IGPR") and not unit_admin.has_role("admin", "IGSU")
    for role in ("petition_clerk", "phone_operator", "certificate_clerk", "immigration_officer", "counter_clerk"):
        assert not unit_admin.has_role(role)
        assert not unit_admin.has_role(role, "IGPR")
    every_unit_admin = verifier.verify(issuer.staff("admin", "*"))
    assert every_unit_admin.has_role("admin", "IGSU")
    assert not every_unit_admin.has_role("petition_clerk", "IGSU")
    national_clerk = verifier.verify(issuer.staff("certificate_clerk", "*"))
    assert national_clerk.has_role("certificate_clerk", "IPJ-CJ") and not national_clerk.has_role("admin")


def test_unsigned_alg_none_token_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.kid}
    claims = jwt.decode(issuer.citizen(), options={"verify_signature": False})
    with pytest.raises(InvalidToken):
        verifier.verify(f"{_b64(header)}.{_b64(claims)}.")


def test_hmac_token_signed_with_the_public_key_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    public_pem = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(issuer.citizen(), options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}
    import hashlib
    import hmac

    signing_input = f"{_b64(header)}.{_b64(claims)}"
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidToken):
        verifier.verify(f"{signing_input}.{signature.rstrip(b'=').decode()}")


@pytest.mark.parametrize(
    "change",
    [
        {"lifetime": timedelta(seconds=-120)},
        {"aud": "another-audience"},
        {"iss": "someone-else"},
        {"typ": "refresh"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "not-an-access-token"],
)
def test_tokens_not_meant_for_us_are_refused(issuer: TokenIssuer, verifier: TokenVerifier, change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidToken):
        verifier.verify(issuer.citizen(**change))


def test_tampered_payload_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, _payload, signature = issuer.citizen("c-1").split(".")
    claims = jwt.decode(issuer.citizen("c-1"), options={"verify_signature": False})
    claims["sub"] = "c-2"
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{_b64(claims)}.{signature}")


def test_unknown_key_id_is_refused(verifier: TokenVerifier) -> None:
    stranger = TokenIssuer()
    with pytest.raises(InvalidToken):
        verifier.verify(stranger.citizen())


def test_the_view_decorator_answers_401_and_403(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    app = Flask(__name__)
    register_error_handlers(app)
    init_auth(app, verifier)

    @app.get("/queue")
    @require_auth("petition_clerk")
    def queue():  # type: ignore[no-untyped-def]
        principal = current_principal()
        assert principal is not None
        return jsonify(units=sorted(principal.units_for("petition_clerk")))

    client = app.test_client()
    missing = client.get("/queue")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/queue", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401
    citizen = client.get("/queue", headers={"Authorization": f"Bearer {issuer.citizen()}"})
    assert citizen.status_code == 403
    clerk = client.get("/queue", headers={"Authorization": f"Bearer {issuer.staff('petition_clerk', 'IGPR')}"})
    assert clerk.status_code == 200
    assert clerk.get_json() == {"units": ["IGPR"]}


def test_keys_are_fetched_from_a_jwks_url(token_issuer: TokenIssuer, jwks_url: str) -> None:
    verifier = TokenVerifier(issuer=token_issuer.issuer, audience=token_issuer.audience, jwks_url=jwks_url)
    assert verifier.verify(token_issuer.citizen("c-7")).subject == "c-7"


def test_a_header_seen_before_still_needs_a_good_signature_and_payload(issuer: TokenIssuer) -> None:
    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=issuer.jwks)
    token = issuer.citizen("c-1")
    assert verifier.verify(token).subject == "c-1"  # the header is remembered from here on
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{_b64({**claims, 'sub': 'c-2'})}.{signature}")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{payload}.{signature[:-4]}AAAA")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{_b64({**claims, 'exp': 1})}.{signature}")


def test_only_the_headers_of_verified_tokens_are_remembered_and_only_so_many(issuer: TokenIssuer) -> None:
    from mai_chassis.auth import SEEN_HEADERS_LIMIT

    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=issuer.jwks)
    for _ in range(20):
        with pytest.raises(InvalidToken):
            verifier.verify(TokenIssuer().citizen())  # a key id nobody published
    header, rest = issuer.citizen("c-1").split(".", 1)
    for n in range(SEEN_HEADERS_LIMIT + 10):
        # A known key id under headers its signature does not cover (an extra member): refused.
        forged = _b64({**json.loads(base64.urlsafe_b64decode(header + "==")), "n": n})
        with pytest.raises(InvalidToken):
            verifier.verify(f"{forged}.{rest}")
    assert verifier._seen_headers == {}
    for n in range(3):
        assert verifier.verify(issuer.citizen(f"c-{n}")).subject == f"c-{n}"
    assert list(verifier._seen_headers) == [header]


def test_past_the_limit_headers_are_checked_every_time_and_tokens_still_verify(
    issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mai_chassis.auth

    monkeypatch.setattr(mai_chassis.auth, "SEEN_HEADERS_LIMIT", 2)
    issuers = [issuer, TokenIssuer(), TokenIssuer()]
    jwks = {"keys": [key for each in issuers for key in each.jwks["keys"]]}
    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=jwks)
    for _ in range(2):
        for n, each in enumerate(issuers):
            assert verifier.verify(each.citizen(f"c-{n}")).subject == f"c-{n}"
    assert len(verifier._seen_headers) == 2
