"""Identity verification over OpenID Connect, against a real provider on loopback.

The provider (oidc-provider-mock, its own process) shows its authorization page; the tests do what
the citizen's browser and the portal do: start, fill ``sub`` and press "Authorize", hand ``state``
and ``code`` to the callback with the citizen's own token. A scripted provider on loopback serves
ID tokens with one defect each (nonce, audience, expiry, signature), which no real provider sends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from identity import create_app
from identity.config import ClaimNames
from identity_testing import CALLBACK, OTHER_CNP, VALID_CNP, add_signing_key, make_settings, provider_settings
from mai_chassis import ConfigurationError
from mai_chassis.testing import QuietHandler, send_json, serve_http
from mai_devtools.eid_provider import LocalEidProvider

VERIFIED = "ro.mai.identity.verified.v1"


def _auth(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


def _start(client: Any, session: dict[str, Any], **body: Any) -> dict[str, Any]:
    started = client.post(
        "/api/v1/identity/verifications", json={"provider": "bank-card", **body}, headers=_auth(session)
    )
    assert started.status_code == 201, started.get_json()
    return started.get_json()  # type: ignore[no-any-return]


def _person(eid_provider: LocalEidProvider, **claims: Any) -> str:
    """A person the provider can identify (Ana Popescu of the sample citizen unless told otherwise)."""
    sub = f"person-{uuid.uuid4().hex[:12]}"
    values: dict[str, Any] = {
        "cnp": VALID_CNP,
        "family_name": "POPESCU",
        "given_name": "ana",
        "birthdate": "1980-01-01",
        **claims,
    }
    eid_provider.enrol(sub, **values)
    return sub


def _callback(client: Any, session: dict[str, Any], **body: Any) -> Any:
    return client.post("/api/v1/identity/verifications/callback", json=body, headers=_auth(session))


def _verified(client: Any, session: dict[str, Any]) -> bool:
    profile = client.get("/api/v1/identity/profiles/me", headers=_auth(session)).get_json()
    return bool(profile["verified"])


def test_the_whole_flow_against_the_local_provider_verifies_the_account(
    client, register_citizen, eid_provider, published
):
    session = register_citizen()
    started = _start(client, session)
    sent = parse_qs(urlsplit(started["authorization_url"]).query)
    assert started["authorization_url"].startswith(eid_provider.issuer + "/")
    assert sent["response_type"] == ["code"] and sent["client_id"] == ["mai-eservices-test"]
    assert sent["redirect_uri"] == [CALLBACK] and sent["state"] == [started["state"]]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert sent["nonce"] and "openid" in sent["scope"][0].split()
    assert "http://eidas.europa.eu/LoA/substantial" in sent["acr_values"][0].split()

    back = eid_provider.identify(started["authorization_url"], _person(eid_provider))
    assert back["redirect_uri"] == CALLBACK and back["state"] == started["state"]
    done = _callback(client, session, state=back["state"], code=back["code"])

    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["verified"] is True and result["method"] == "eid_provider" and result["provider"] == "bank-card"
    assert result["assurance_level"] == "substantial" and result["verification_id"] == started["verification_id"]
    [event] = published(VERIFIED)
    assert (event["method"], event["provider"]) == ("eid_provider", "bank-card")
    assert event["assurance_level"] == "substantial"
    assert VALID_CNP not in repr(event)
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).get_json()
    assert jwt.decode(fresh["access_token"], options={"verify_signature": False})["acr"] == "substantial"


def test_high_assurance_from_the_provider_gives_a_high_level(client, register_citizen, eid_provider):
    session = register_citizen()
    started = _start(client, session)
    sub = _person(eid_provider, acr="http://eidas.europa.eu/LoA/high")
    back = eid_provider.identify(started["authorization_url"], sub)
    assert _callback(client, session, state=back["state"], code=back["code"]).get_json()["assurance_level"] == "high"


def test_a_victim_completing_an_attackers_verification_does_not_verify_the_attacker(
    client, register_citizen, eid_provider, published
):
    """The attack the old callback allowed: the attacker registers with the victim's CNP and names,
    starts a verification and gets the victim to complete the provider's page. The code comes back
    in the victim's browser, to the victim's session: it cannot verify the attacker's account."""
    attacker = register_citizen(email="mallory@example.ro")  # the victim's CNP and names
    victim = register_citizen(email="ana@example.ro", cnp=OTHER_CNP, last_name="Popescu", first_name="Ana")
    lure = _start(client, attacker)
    back = eid_provider.identify(lure["authorization_url"], _person(eid_provider))  # the victim identifies

    through_victim = _callback(client, victim, state=back["state"], code=back["code"])
    assert through_victim.status_code == 404
    # Even with the code and state in hand afterwards, the attacker's attempt is spent.
    leaked = _callback(client, attacker, state=back["state"], code=back["code"])
    assert leaked.status_code == 409 and leaked.get_json()["type"].endswith("verification-used")
    assert not _verified(client, attacker) and not _verified(client, victim)
    assert published(VERIFIED) == []


def test_a_callback_with_another_accounts_token_is_refused(client, register_citizen, eid_provider):
    owner = register_citizen()
    stranger = register_citizen(email="ion@example.ro", cnp=OTHER_CNP, last_name="Ionescu", first_name="Ion")
    started = _start(client, owner)
    back = eid_provider.identify(started["authorization_url"], _person(eid_provider))
    refused = _callback(client, stranger, state=back["state"], code=back["code"])
    assert refused.status_code == 404 and refused.headers["Content-Type"] == "application/problem+json"
    assert not _verified(client, owner) and not _verified(client, stranger)


def test_a_state_is_used_once(client, register_citizen, eid_provider):
    session = register_citizen()
    started = _start(client, session)
    back = eid_provider.identify(started["authorization_url"], _person(eid_provider))
    assert _callback(client, session, state=back["state"], code=back["code"]).status_code == 200
    replay = _callback(client, session, state=back["state"], code=back["code"])
    assert replay.status_code == 409 and replay.get_json()["type"].endswith("verification-used")


def test_a_refused_answer_spends_the_state_too(client, register_citizen, eid_provider):
    session = register_citizen()
    started = _start(client, session)
    back = eid_provider.identify(started["authorization_url"], _person(eid_provider, family_name="Ionescu"))
    mismatch = _callback(client, session, state=back["state"], code=back["code"])
    assert mismatch.status_code == 422 and mismatch.get_json()["fields"] == ["last_name"]
    again = _callback(client, session, state=back["state"], code=back["code"])
    assert again.status_code == 409
    assert not _verified(client, session)


def test_an_unknown_state_is_not_found(client, register_citizen):
    session = register_citizen()
    answer = _callback(client, session, state="x" * 43, code="whatever")
    assert answer.status_code == 404


def test_only_a_configured_redirect_uri_is_accepted(client, register_citizen):
    session = register_citizen()
    foreign = client.post(
        "/api/v1/identity/verifications",
        json={"provider": "bank-card", "redirect_uri": "https://attacker.example/callback"},
        headers=_auth(session),
    )
    assert foreign.status_code == 422 and "redirect_uri" in foreign.get_json()["errors"]
    other = _start(client, session, redirect_uri="http://portal.test/other/callback")
    assert parse_qs(urlsplit(other["authorization_url"]).query)["redirect_uri"] == ["http://portal.test/other/callback"]


def test_an_unknown_provider_is_refused(client, register_citizen):
    session = register_citizen()
    answer = client.post("/api/v1/identity/verifications", json={"provider": "sandbox"}, headers=_auth(session))
    assert answer.status_code == 422 and "provider" in answer.get_json()["errors"]


@pytest.mark.parametrize("acr", [None, "urn:example:loa:low", "http://eidas.europa.eu/LoA/low"])
def test_an_assurance_below_the_minimum_is_refused(client, register_citizen, eid_provider, published, acr):
    session = register_citizen()
    started = _start(client, session)
    back = eid_provider.identify(started["authorization_url"], _person(eid_provider, acr=acr))
    low = _callback(client, session, state=back["state"], code=back["code"])
    assert low.status_code == 422, low.get_json()
    assert low.get_json()["type"].endswith("assurance-too-low") and low.get_json()["required"] == "substantial"
    assert not _verified(client, session) and published(VERIFIED) == []


def test_the_citizen_refusing_at_the_provider_is_a_provider_error(client, register_citizen, eid_provider):
    session = register_citizen()
    started = _start(client, session)
    back = eid_provider.deny(started["authorization_url"])
    assert back["error"] == "access_denied" and back["state"] == started["state"]
    answer = _callback(client, session, state=back["state"], error=back["error"], error_description="denied")
    assert answer.status_code == 400 and answer.get_json()["provider_error"] == "access_denied"
    assert _callback(client, session, state=started["state"], code="late").status_code == 409


def test_the_callback_needs_code_or_error_and_the_citizens_token(client, register_citizen):
    session = register_citizen()
    started = _start(client, session)
    both = _callback(client, session, state=started["state"], code="c", error="access_denied")
    neither = _callback(client, session, state=started["state"])
    assert both.status_code == neither.status_code == 422
    anonymous = client.post("/api/v1/identity/verifications/callback", json={"state": started["state"], "code": "c"})
    assert anonymous.status_code == 401
    old_style = client.get("/api/v1/identity/verifications/callback", query_string={"state": started["state"]})
    assert old_style.status_code == 405


def test_an_expired_verification_is_refused(client, app, register_citizen, eid_provider):
    from identity.tables import VerificationAttempt
    from sqlalchemy import update

    session = register_citizen()
    started = _start(client, session)
    back = eid_provider.identify(started["authorization_url"], _person(eid_provider))
    database = app.extensions["mai_database"]
    with database.session() as db:
        db.execute(update(VerificationAttempt).values(expires_at=VerificationAttempt.created_at))
        db.commit()
    expired = _callback(client, session, state=back["state"], code=back["code"])
    assert expired.status_code == 410 and not _verified(client, session)


def test_one_person_at_a_provider_verifies_one_account(client, register_citizen, eid_provider):
    first = register_citizen()
    second = register_citizen(email="ana.two@example.ro")  # the same CNP and names, another account
    sub = _person(eid_provider)
    for session, expected in ((first, 200), (second, 409)):
        started = _start(client, session)
        back = eid_provider.identify(started["authorization_url"], sub)
        assert _callback(client, session, state=back["state"], code=back["code"]).status_code == expected
    assert _verified(client, first) and not _verified(client, second)


def test_a_pseudonymous_provider_is_matched_on_names_and_birth_date(tmp_path, eid_provider, register_citizen_with):
    pseudonymous = provider_settings(eid_provider.issuer, claims=ClaimNames(cnp=""))
    client, register = register_citizen_with(tmp_path, pseudonymous)
    wrong_birth, right = register(), register(email="ana.b@example.ro")
    no_cnp = {"cnp": None}
    for session, birthdate, expected in ((wrong_birth, "1980-01-02", 422), (right, "1980-01-01", 200)):
        started = _start(client, session)
        back = eid_provider.identify(started["authorization_url"], _person(eid_provider, birthdate=birthdate, **no_cnp))
        answer = _callback(client, session, state=back["state"], code=back["code"])
        assert answer.status_code == expected, answer.get_json()
    assert _verified(client, right) and not _verified(client, wrong_birth)


@pytest.fixture
def register_citizen_with() -> Iterator[Callable[..., tuple[Any, Callable[..., dict[str, Any]]]]]:
    """An app of its own whose only provider is the one given; its client and ``register_citizen``."""
    from identity.service import MIGRATIONS
    from mai_chassis.migrations import upgrade

    apps: list[Any] = []

    def build(tmp_path: Any, provider: Any) -> tuple[Any, Callable[..., dict[str, Any]]]:
        url = f"sqlite:///{tmp_path}/identity-{len(apps)}.db"
        upgrade(url, MIGRATIONS)
        settings = make_settings(url, eid_providers=(provider,))
        add_signing_key(settings)
        app = create_app(settings)
        apps.append(app)
        return app.test_client(), _registrar(app, settings)

    yield build
    for app in apps:
        app.extensions["mai_database"].dispose()


def _registrar(app: Any, settings: Any) -> Callable[..., dict[str, Any]]:
    import json

    from identity_testing import CITIZEN
    from mai_chassis.sealing import Sealer
    from mai_chassis.tables import OutboxEvent
    from sqlalchemy import select

    client = app.test_client()

    def register(**overrides: Any) -> dict[str, Any]:
        body = {**CITIZEN, **overrides}
        assert client.post("/api/v1/accounts", json=body).status_code == 202
        with app.extensions["mai_database"].session() as db:
            rows = db.scalars(select(OutboxEvent).where(OutboxEvent.event_type.like("%email_confirmation_requested%")))
            mailed = [json.loads(r.payload)["data"] for r in rows]
        request = [m for m in mailed if m["recipient"]["email"] == body["email"].lower()][-1]
        code = Sealer(list(settings.sealing_keys)).open(request["sealed_confirmation"])
        confirmed = client.post(
            "/api/v1/accounts/email-confirmation", json={"citizen_id": request["citizen_id"], "code": code}
        )
        assert confirmed.status_code == 204
        tokens = client.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
        return {"citizen_id": request["citizen_id"], **tokens.get_json()}

    return register


# --- ID tokens no real provider sends: a scripted provider ------------------------------------


class ScriptedProvider:
    """Discovery, keys and a token endpoint whose ID token the test writes (claims and signing key)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "scripted-1"
        self.claims: dict[str, Any] = {}
        self.signing_key: Any = self.key
        self.signing_kid = self.kid
        self.issuer = ""
        self.key_fetches = 0
        self.keys_broken = False

    def rotate(self) -> None:
        """A new key signs from now on; only the new one is published."""
        self.key = self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = self.signing_kid = f"scripted-{uuid.uuid4().hex[:6]}"

    def jwks(self) -> dict[str, Any]:
        self.key_fetches += 1
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self) -> str:
        return jwt.encode(self.claims, self.signing_key, algorithm="RS256", headers={"kid": self.signing_kid})


@pytest.fixture
def scripted() -> Iterator[ScriptedProvider]:
    provider = ScriptedProvider()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                send_json(
                    self,
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                    },
                )
            elif self.path == "/jwks" and provider.keys_broken:
                send_json(self, 503, {})
            elif self.path == "/jwks":
                send_json(self, 200, provider.jwks())
            else:
                send_json(self, 404, {})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            send_json(self, 200, {"access_token": "at", "token_type": "Bearer", "id_token": provider.id_token()})

    with serve_http(Handler) as url:
        provider.issuer = url
        yield provider


def _good_claims(provider: ScriptedProvider, nonce: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "aud": "mai-eservices-test",
        "sub": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "acr": "http://eidas.europa.eu/LoA/substantial",
        "cnp": VALID_CNP,
        "family_name": "Popescu",
        "given_name": "Ana",
    }


DEFECTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "wrong nonce": lambda claims: claims.update(nonce="another-attempts-nonce"),
    "wrong audience": lambda claims: claims.update(aud="another-client"),
    "expired": lambda claims: claims.update(iat=claims["iat"] - 900, exp=claims["iat"] - 600),
    "another issuer": lambda claims: claims.update(iss="https://elsewhere.example"),
    "no nonce": lambda claims: claims.pop("nonce"),
    "two audiences, no azp": lambda claims: claims.update(aud=["mai-eservices-test", "another-client"]),
}


def test_the_scripted_provider_verifies_a_good_id_token(tmp_path, scripted, register_citizen_with):
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    session = register()
    started = _start(client, session)
    nonce = parse_qs(urlsplit(started["authorization_url"]).query)["nonce"][0]
    scripted.claims = _good_claims(scripted, nonce)
    assert _callback(client, session, state=started["state"], code="scripted").status_code == 200


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_an_id_token_with_a_defect_is_refused(tmp_path, scripted, register_citizen_with, defect):
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    session = register()
    started = _start(client, session)
    nonce = parse_qs(urlsplit(started["authorization_url"]).query)["nonce"][0]
    scripted.claims = _good_claims(scripted, nonce)
    DEFECTS[defect](scripted.claims)
    refused = _callback(client, session, state=started["state"], code="scripted")
    assert refused.status_code == 400, refused.get_json()
    assert refused.get_json()["type"].endswith("identification-refused")
    assert not _verified(client, session)


def test_an_id_token_signed_with_another_key_is_refused(tmp_path, scripted, register_citizen_with):
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    session = register()
    started = _start(client, session)
    nonce = parse_qs(urlsplit(started["authorization_url"]).query)["nonce"][0]
    scripted.claims = _good_claims(scripted, nonce)
    scripted.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = _callback(client, session, state=started["state"], code="scripted")
    assert refused.status_code == 400 and not _verified(client, session)


def _verify_through_scripted(client, session, scripted) -> Any:
    started = _start(client, session)
    nonce = parse_qs(urlsplit(started["authorization_url"]).query)["nonce"][0]
    scripted.claims = _good_claims(scripted, nonce)
    return _callback(client, session, state=started["state"], code="scripted")


def test_keys_the_provider_rotated_to_are_fetched_again(tmp_path, scripted, register_citizen_with, monkeypatch):
    import identity.eid

    monkeypatch.setattr(identity.eid, "KEY_REFETCH_SECONDS", 0.0)
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    assert _verify_through_scripted(client, register(), scripted).status_code == 200
    scripted.rotate()
    assert _verify_through_scripted(client, register(email="ana.2@example.ro"), scripted).status_code == 200
    assert scripted.key_fetches == 2


def test_the_last_good_keys_serve_while_the_provider_cannot_publish_them(
    tmp_path, scripted, register_citizen_with, monkeypatch
):
    import identity.eid

    monkeypatch.setattr(identity.eid, "KEYS_SECONDS", 0.0)  # every verification wants fresh keys
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    assert _verify_through_scripted(client, register(), scripted).status_code == 200
    scripted.keys_broken = True
    assert _verify_through_scripted(client, register(email="ana.2@example.ro"), scripted).status_code == 200


def test_tokens_with_unknown_key_ids_do_not_flood_the_provider_with_key_requests(
    tmp_path, scripted, register_citizen_with
):
    client, register = register_citizen_with(tmp_path, provider_settings(scripted.issuer))
    for n in range(4):
        scripted.signing_kid = f"unknown-{n}"
        refused = _verify_through_scripted(client, register(email=f"ana.{n}@example.ro"), scripted)
        assert refused.status_code == 400
    assert scripted.key_fetches == 1  # the first fetch; refetching waits for the interval


def test_an_unreachable_provider_is_a_503_and_leaves_nothing_started(tmp_path, register_citizen_with):
    from mai_devtools.ports import free_port

    client, register = register_citizen_with(tmp_path, provider_settings(f"http://127.0.0.1:{free_port()}"))
    session = register()
    answer = client.post("/api/v1/identity/verifications", json={"provider": "bank-card"}, headers=_auth(session))
    assert answer.status_code == 503 and answer.get_json()["type"].endswith("provider-unavailable")


# --- configuration ------------------------------------------------------------------------------


def test_production_refuses_a_test_provider_and_providers_on_plain_http():
    production = {
        "environment": "production",
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19 * 1024,
        "export_sources": (("petition-svc", "http://petition-svc"),),
    }
    with pytest.raises(ConfigurationError, match="test identification provider"):
        make_settings("sqlite://", **production, eid_providers=(provider_settings("https://eid.example.ro"),))
    with pytest.raises(ConfigurationError, match="https"):
        make_settings(
            "sqlite://",
            **production,
            eid_providers=(provider_settings("http://127.0.0.1:9400", test_provider=False),),
        )
    real = provider_settings(
        "https://eid.example.ro", test_provider=False, redirect_uris=("https://portal.example.ro/cb",)
    )
    assert make_settings("sqlite://", **production, eid_providers=(real,)).eid_providers == (real,)


def test_the_client_secret_never_shows_in_the_settings_repr():
    assert "test-client-secret" not in repr(provider_settings("https://eid.example.ro"))
