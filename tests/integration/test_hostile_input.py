"""Hostile input against the whole platform run as real processes (five services and the gateway).

Two halves:

- property-based fuzzing of every operation of the gateway's merged OpenAPI with schemathesis,
  anonymously and with a real citizen's and a real staff admin's token from identity-svc: no 5xx,
  and every response conforms to what is documented (status code, content type, headers, body);
- a hand-written set: oversized and malformed bodies, wrong content types, header injection over
  raw sockets, junk request ids, very long strings, Unicode edge cases, SQL and HTML payloads that
  must come back inert (in JSON and in the e-mail's HTML part), and forged access tokens.

Defects the fuzzing found in services are listed in ``KNOWN_DEFECTS`` (each narrowly matched by
check, operation and response, so everything else stays guarded); defects the hand-written set
(NUL characters, lone surrogates, repeated role grants) were fixed in the services, and the tests
below hold them to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import jwt
import pytest
import requests
import schemathesis
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, Phase, given, seed, settings
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.testing import ensure_topics, read_events, samples, wait_until
from mai_chassis.testing.hostile_files import HOSTILE_UPLOADS
from mai_devtools import SmtpSink
from mai_devtools.local_platform import ALL_SERVICES, BIN, Platform
from record_testing import make_cnp
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

#: Every API service (deploy/services.yaml), fuzzed against its own OpenAPI document.
SERVICES = list(ALL_SERVICES)
ADMIN_EMAIL = "admin.fuzz@example.ro"
ADMIN_PASSWORD = "a long admin passphrase"
CITIZEN_PASSWORD = "correct horse battery"
PROBLEM_JSON = "application/problem+json"


# --- helpers ----------------------------------------------------------------------------------

REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# --- raw HTTP ---------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    responses: int  # how many status lines came back on the connection

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def raw_request(base_url: str, request: bytes, *, timeout: float = 5.0) -> RawResponse:
    """Send bytes exactly as given (no client-side validation) and read until the server closes."""
    host, port = base_url.split("//", 1)[1].rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    # Status lines of either version (a server may answer a request it cannot parse as HTTP/1.0).
    answered = len(re.findall(rb"HTTP/1\.[01] \d{3} ", received))
    return RawResponse(status, headers, body, answered)


# --- tokens -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """``alg: none``: a header and claims with an empty signature."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 over the given header and claims (PyJWT refuses a PEM as an HMAC secret: done by hand)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def public_key_pem(jwks: dict[str, Any], kid: str) -> bytes:
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[union-attr]


def identity_signing_key(database_url: str, encryption_keys: str, kid: str) -> Any:
    """identity-svc's private signing key named ``kid``, opened with the platform's encryption keys."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            sealed = connection.execute(
                text("SELECT private_sealed FROM signing_keys WHERE kid = :kid"), {"kid": kid}
            ).scalar_one()
    finally:
        engine.dispose()
    cipher = MultiFernet([Fernet(k.strip().encode()) for k in encryption_keys.split(",") if k.strip()])
    return serialization.load_pem_private_key(cipher.decrypt(sealed.encode()), None)


def foreign_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed(claims: dict[str, Any], key: Any, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def fresh_claims(claims: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {**claims, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **changes}


# --- accounts ---------------------------------------------------------------------------------


def log_in(gateway: str, email: str, password: str) -> str:
    response = requests.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


# --- mail -------------------------------------------------------------------------------------


def part(message: EmailMessage, content_type: str) -> str:
    return "".join(str(p.get_content()) for p in message.walk() if p.get_content_type() == content_type)


def addressed_to(address: str) -> Any:
    return lambda message: address in str(message.get("To", ""))


# --- the platform and its accounts ------------------------------------------------------------


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture(scope="module")
def platform(kafka_bootstrap_servers: str, database_factory: Callable[..., str], mail: SmtpSink) -> Iterator[Platform]:
    """All five services (web + worker) and the gateway, started once for this module."""
    prefix = f"h{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    started = Platform(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_urls={service: database_factory(service) for service in SERVICES},
        smtp_port=mail.port,
        services=SERVICES,
        topic_prefix=prefix,
        extra_env={"ACCESS_TOKEN_SECONDS": "1800"},
    )
    try:
        started.start()
    except Exception:
        print(started.logs())
        started.stop()
        raise
    yield started
    started.stop()


@dataclass(frozen=True)
class Accounts:
    citizen_id: str
    citizen: str  # a confirmed (not identity-verified) citizen's access token
    admin: str  # a staff account holding admin@* and, granted by itself, petition_clerk@*


@pytest.fixture(scope="module")
def accounts(platform: Platform, mail: SmtpSink) -> Accounts:
    """Real tokens signed by identity-svc: a citizen through register → mailed code → login, and an admin."""
    gateway, identity = platform.gateway_url, str(BIN / "identity-svc")
    env = platform["identity-web"].env
    subprocess.run([identity, "rotate-keys"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [identity, "create-admin", "--email", ADMIN_EMAIL, "--name", "Fuzz Admin", "--password-stdin"],
        env=env,
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )

    email = f"cetatean.{uuid.uuid4().hex[:8]}@example.ro"
    registration = {
        "email": email,
        "password": CITIZEN_PASSWORD,
        "last_name": "Popescu",
        "first_name": "Ana",
        "cnp": "1800101221144",
    }
    assert requests.post(f"{gateway}/api/v1/accounts", json=registration, timeout=30).status_code == 202
    mailed = mail.wait_for(lambda m: addressed_to(email)(m) and "code=" in part(m, "text/plain"), timeout=90)
    code = re.search(r"code=([A-Za-z0-9]+)", part(mailed, "text/plain"))
    assert code is not None
    # The mail carries the code but not the account id the confirmation API requires (see the
    # report): the id is taken from the account.registered event instead.
    events = read_events(
        platform.kafka,
        platform.topic_prefix + "account.registered",
        until=lambda found: any(e.data["recipient"]["email"] == email for e in found),
        timeout=60,
    )
    citizen_id = next(e.data["citizen_id"] for e in events if e.data["recipient"]["email"] == email)
    confirmed = requests.post(
        f"{gateway}/api/v1/accounts/email-confirmation",
        json={"citizen_id": citizen_id, "code": code.group(1)},
        timeout=30,
    )
    assert confirmed.status_code == 204, confirmed.text
    # An admin holds no other role: it grants itself the clerk role (audited) to act on petitions.
    admin = log_in(gateway, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin_id = jwt.decode(admin, options={"verify_signature": False})["sub"]
    granted = requests.post(
        f"{gateway}/api/v1/staff/accounts/{admin_id}/roles",
        json={"role": "petition_clerk", "unit": "*"},
        headers=bearer(admin),
        timeout=30,
    )
    assert granted.status_code == 200, granted.text
    return Accounts(
        citizen_id=citizen_id,
        citizen=log_in(gateway, email, CITIZEN_PASSWORD),
        admin=log_in(gateway, ADMIN_EMAIL, ADMIN_PASSWORD),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON), response.headers["Content-Type"]
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    return dict(problem)


def petition(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Semafor defect",
        "text": "Semaforul de la intersecția străzilor Lalelelor și Florilor nu funcționează.",
        "name": "Ion Popescu",
        "email": f"petent.{uuid.uuid4().hex[:8]}@example.ro",
        "language": "en",
    }
    body.update(changes)
    return body


# --- property-based fuzzing of the merged OpenAPI ---------------------------------------------

#: Examples per operation and generation mode; operations reached after the time budget get one.
EXAMPLES = 10
BUDGET_SECONDS = 40.0
SEED = 20261123
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass(frozen=True)
class KnownDefect:
    """A defect found by the fuzzing, left to its service's owners: excused only where it matches."""

    name: str
    check: str
    matches: Callable[[str, Any, Any], bool]


# Defects the fuzzing found earlier (undocumented 400/403, a 500 on repeated role grants or NUL
# characters) are fixed: the gateway documents the platform-wide problem responses on every
# operation (mai_chassis.openapi) and the services refuse unstorable text. A new finding goes here,
# narrowly matched, only while it is being fixed.
KNOWN_DEFECTS: tuple[KnownDefect, ...] = ()


@dataclass
class FuzzFinding:
    operation: str
    mode: str
    check: str
    status: int
    request: str
    response: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.mode}] {self.check}: {self.status}\n  request:  {self.request}\n"
            f"  response: {self.response}\n  {self.detail}"
        )


def _negatable(operation: Any) -> bool:
    """Negative data exists only for a body, a query/header parameter or a constrained path parameter."""
    if list(operation.body):
        return True
    for parameter in operation.iter_parameters():
        if parameter.location.value != "path" or set(parameter.definition.get("schema", {})) - {"type"}:
            return True
    return False


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    *,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    findings: list[FuzzFinding],
    excused: dict[str, int],
) -> int:
    sent = 0

    @seed(SEED)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                check = failure.checks[0] if failure.checks else type(failure).__name__
                known = next(
                    (d for d in KNOWN_DEFECTS if d.check == check and d.matches(operation.label, case, response)),
                    None,
                )
                if known is not None:
                    excused[known.name] = excused.get(known.name, 0) + 1
                    continue
                request = response.request
                body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
                findings.append(
                    FuzzFinding(
                        operation.label,
                        mode.value,
                        check,
                        response.status_code,
                        f"{request.method} {request.url} {body[:300]!r}",
                        response.text[:300],
                        failure.message[:300],
                    )
                )

    probe()
    return sent


IDENTITIES = ["anonymous", "citizen", "staff admin"]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_gateway_operation_answers_fuzzed_requests_as_documented(
    identity: str, platform: Platform, accounts: Accounts
) -> None:
    """Anonymous: every operation (protected ones must refuse cleanly with 401). With a citizen's or an
    admin's real token: every protected operation, reaching the services' validation and handlers."""
    schema = schemathesis.openapi.from_url(f"{platform.gateway_url}/openapi.json", timeout=30)
    token = {"anonymous": None, "citizen": accounts.citizen, "staff admin": accounts.admin}[identity]
    headers = bearer(token) if token else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the merged OpenAPI lost operations"
    if token:
        operations = [op for op in operations if op.definition.raw.get("security")]

    findings: list[FuzzFinding] = []
    excused: dict[str, int] = {}
    statuses: dict[int, int] = {}
    requests_sent, started = 0, time.monotonic()
    with requests.Session() as session:
        session.hooks["response"].append(
            lambda r, *a, **k: statuses.__setitem__(r.status_code, statuses.get(r.status_code, 0) + 1)
        )
        for operation in operations:
            examples = EXAMPLES if time.monotonic() - started < BUDGET_SECONDS else 1
            modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _negatable(operation) else [])
            for mode in modes:
                requests_sent += _fuzz_operation(
                    operation,
                    mode,
                    examples,
                    base_url=platform.gateway_url,
                    headers=headers,
                    session=session,
                    findings=findings,
                    excused=excused,
                )
    elapsed = time.monotonic() - started
    print(
        f"\n{identity}: {len(operations)} operations, {requests_sent} requests in {elapsed:.1f}s; "
        f"statuses {dict(sorted(statuses.items()))}; excused known defects {excused}"
    )
    assert requests_sent >= len(operations)
    assert not findings, f"{len(findings)} responses break the documented contract:\n" + "\n".join(
        str(f) for f in findings[:25]
    )


# --- bodies: size, syntax, media type ---------------------------------------------------------


def gateway_limit(platform: Platform) -> int:
    """max_body_bytes of the platform's route table (every route shares the default)."""
    found = re.search(r"max_body_bytes:\s*(\d+)", (platform.workdir / "routes.yaml").read_text())
    assert found is not None
    return int(found.group(1))


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // (1024 * 1024)):
        yield b" " * (1024 * 1024)


@pytest.mark.parametrize(
    ("path", "body", "expected_type"),
    [
        pytest.param("/api/v1/petitions", "one-over", "/body-too-large", id="gateway-limit-content-length"),
        pytest.param("/api/v1/petitions", "chunked", "/body-too-large", id="gateway-limit-chunked"),
        pytest.param("/api/v1/auth/login", b" " * (2 * 1024 * 1024), "about:blank", id="service-limit-identity"),
        pytest.param(
            "/api/v1/certificates/verifications", b" " * (2 * 1024 * 1024), "about:blank", id="service-limit-record"
        ),
    ],
)
def test_an_oversized_body_is_refused_with_413_problem(
    platform: Platform, path: str, body: bytes | str, expected_type: str
) -> None:
    """Over the gateway's limit the gateway refuses before any upstream; over a service's own (1 MiB) the service."""
    limit = gateway_limit(platform)
    data: Any = {"one-over": b" " * (limit + 1), "chunked": _chunks(limit + 1024 * 1024)}.get(body, body)
    response = requests.post(
        f"{platform.gateway_url}{path}", data=data, headers={"Content-Type": "application/json"}, timeout=60
    )
    problem = assert_problem(response, 413)
    assert problem["type"].endswith(expected_type)


JSON_ENDPOINTS = [
    "/api/v1/petitions",
    "/api/v1/petitions/status-lookup",
    "/api/v1/accounts",
    "/api/v1/auth/login",
    "/api/v1/certificates/verifications",
]


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [b'{"kind": "petition",', b"\xff\xfe\x00{", b"[1, 2", b'{"email": "a@b.ro"} trailing', b"\x00"],
    ids=["truncated", "invalid-utf8", "unclosed-array", "trailing-garbage", "nul"],
)
def test_malformed_json_is_refused_with_400_problem(platform: Platform, path: str, body: bytes) -> None:
    response = requests.post(
        f"{platform.gateway_url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert assert_problem(response, 400)["type"].endswith("/malformed-json")


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/html; charset=utf-8", None])
def test_a_json_body_sent_as_another_media_type_is_refused_with_415_problem(
    platform: Platform, path: str, content_type: str | None
) -> None:
    body = json.dumps(petition()).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    request = requests.Request("POST", f"{platform.gateway_url}{path}", data=body, headers=headers).prepare()
    if content_type is None:
        request.headers.pop("Content-Type", None)
    with requests.Session() as session:
        response = session.send(request, timeout=30)
    assert assert_problem(response, 415)["type"].endswith("/unsupported-media-type")


# --- headers ----------------------------------------------------------------------------------

INJECTED = ("set-cookie", "x-injected")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /api/v1/institutions HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\rSet-Cookie: evil=1\r\n",
        b"GET /api/v1/institutions HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\nSet-Cookie: evil=1\r\n",
        b"GET /api/v1/institutions HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\r\n Set-Cookie: evil=1\r\n",
        b"GET /api/v1/institutions HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\x00X-Injected: 1\r\n",
        b"GET /api/v1/petitions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\rX-Injected: 1\r\n",
        b"POST /api/v1/petitions/status-lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
    ],
    ids=["bare-cr", "bare-lf", "obs-fold", "nul", "cr-in-authorization", "content-length-and-chunked"],
)
def test_a_header_value_carrying_cr_lf_is_refused_and_injects_nothing(platform: Platform, raw: bytes) -> None:
    smuggled = b"0\r\n\r\nGET /api/v1/institutions HTTP/1.1\r\nHost: x\r\n\r\n"
    response = raw_request(platform.gateway_url, raw + b"Connection: close\r\n\r\n" + smuggled)
    assert response.status == 400
    assert response.responses == 1, "a second (smuggled) request was answered"
    assert not [name for name, _ in response.headers if name.lower() in INJECTED]


@pytest.mark.parametrize(
    "target",
    ["/api/v1/institutions/%0d%0aSet-Cookie:%20evil=1", "/api/v1/faq?field=%0d%0aX-Injected:%201"],
    ids=["path", "query"],
)
def test_an_encoded_cr_lf_in_the_url_stays_data(platform: Platform, target: str) -> None:
    raw = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    response = raw_request(platform.gateway_url, raw)
    assert response.status in (404, 422)
    assert response.header(
        "Content-Type",
    ).startswith(PROBLEM_JSON)  # type: ignore[union-attr]
    assert not [name for name, _ in response.headers if name.lower() in INJECTED]


@pytest.mark.parametrize(
    "junk",
    [
        "<script>alert(1)</script>",
        "a" * 129,
        "../../etc/passwd",
        "id with spaces",
        "x; Set-Cookie=evil",
        "'; DROP TABLE petitions; --",
        "ăîșț".encode().decode("latin-1"),
    ],
    ids=["html", "too-long", "path", "spaces", "semicolon", "sql", "utf8-bytes"],
)
def test_a_junk_request_id_is_replaced_never_echoed(platform: Platform, junk: str) -> None:
    for path in ("/api/v1/institutions", "/api/v1/no-such-route", "/api/v1/petitions"):
        response = requests.get(f"{platform.gateway_url}{path}", headers={"X-Request-ID": junk}, timeout=30)
        assert response.status_code < 500
        replaced = response.headers["X-Request-ID"]
        assert replaced != junk and REQUEST_ID_SHAPE.match(replaced)
        assert junk not in response.text


def test_a_well_formed_request_id_is_kept(platform: Platform) -> None:
    response = requests.get(
        f"{platform.gateway_url}/api/v1/institutions", headers={"X-Request-ID": "hostile-input-1"}, timeout=30
    )
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "hostile-input-1"


# --- field contents ---------------------------------------------------------------------------

LONG = 100_000


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/petitions", petition(text="x" * 10_001), "text"),
        ("/api/v1/petitions", petition(subject="x" * LONG), "subject"),
        ("/api/v1/petitions", petition(name="N" * LONG), "name"),
        ("/api/v1/petitions", petition(email="a" * LONG + "@example.ro"), "email"),
        ("/api/v1/petitions", petition(address="x" * LONG), "address"),
        (
            "/api/v1/petitions/status-lookup",
            {"registration_number": "I" * LONG, "email": "a@example.ro"},
            "registration_number",
        ),
        (
            "/api/v1/accounts",
            {
                "email": "a@example.ro",
                "password": "p" * LONG,
                "last_name": "Pop",
                "first_name": "A",
                "cnp": "1800101221144",
            },
            "password",
        ),
        (
            "/api/v1/accounts",
            {
                "email": "a@example.ro",
                "password": CITIZEN_PASSWORD,
                "last_name": "P" * LONG,
                "first_name": "A",
                "cnp": "1800101221144",
            },
            "last_name",
        ),
        ("/api/v1/auth/login", {"email": "a@example.ro", "password": "p" * LONG}, "password"),
        (
            "/api/v1/certificates/verifications",
            {"number": "R" * LONG, "cnp": "1800101221144"},
            "number",
        ),
        (
            "/api/v1/certificates/verifications",
            {"number": "CJ-2026-0000001", "verification_code": "7" * LONG},
            "verification_code",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 60 else "",
)
def test_a_very_long_string_is_refused_with_422_naming_the_field(
    platform: Platform, path: str, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(requests.post(f"{platform.gateway_url}{path}", json=body, timeout=30), 422)
    assert field in json.dumps(problem.get("errors", {}))


def test_a_very_long_path_segment_is_a_clean_404(platform: Platform) -> None:
    for path in ("/api/v1/institutions/", "/api/v1/offices/", "/api/v1/petitions/"):
        response = requests.get(f"{platform.gateway_url}{path}{'A' * 3000}", headers=bearer("x"), timeout=30)
        assert response.status_code in (401, 404), response.text[:300]
        assert response.headers["Content-Type"].startswith(PROBLEM_JSON)


UNICODE = {
    "combining": "Ș\u0326tefan e\u0301 a\u0300\u0301\u0302\u0303 Z\u0351\u0352alg\u0334o",
    "rtl": "\u202eevil\u202c مرحبا שלום \u200f",
    "emoji": "👩\u200d👩\u200d👧\u200d👦 🇷🇴 😀 🧑\u200d🚀",
    "invisible": "\ufeff\u200b\u2060x",
    "controls": "a\u0001\u0007\u001b[31mred",
}
# Text no database can hold (NUL; a lone surrogate UTF-8 cannot encode) is refused with 422.
UNSTORABLE = {"nul": "before\u0000after", "lone-surrogate": "abc\ud800def"}


@pytest.mark.parametrize("field", ["name", "subject", "text"])
@pytest.mark.parametrize(
    "value",
    [
        *[pytest.param(v, id=k) for k, v in UNICODE.items()],
        *[pytest.param(v, id=k) for k, v in UNSTORABLE.items()],
    ],
)
def test_unicode_edge_cases_are_stored_intact_or_refused_cleanly(
    platform: Platform, accounts: Accounts, field: str, value: str
) -> None:
    body = json.dumps(petition(**{field: value})).encode()  # ASCII escapes: a lone surrogate survives
    response = requests.post(
        f"{platform.gateway_url}/api/v1/petitions", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    if value in UNSTORABLE.values():
        assert response.status_code == 422, response.text[:300]
        assert_problem(response, 422)
        return
    if response.status_code != 201:
        assert_problem(response, response.status_code)
        assert response.status_code in (400, 422)
        return
    number = response.json()["registration_number"]
    stored = requests.get(
        f"{platform.gateway_url}/api/v1/petitions/{number}", headers=bearer(accounts.admin), timeout=30
    )
    assert stored.status_code == 200, stored.text
    view = stored.json()
    assert (view["petitioner"]["name"] if field == "name" else view[field]) == value


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/v1/accounts", "last_name", "Pop\u0000escu"),
        ("/api/v1/staff/accounts", "name", "N\u0000ame"),
    ],
    ids=["account-name", "staff-name"],
)
def test_a_nul_character_in_an_account_name_is_refused_cleanly(
    platform: Platform, accounts: Accounts, path: str, field: str, value: str
) -> None:
    bodies = {
        "/api/v1/accounts": {
            "email": f"n.{uuid.uuid4().hex[:6]}@example.ro",
            "password": CITIZEN_PASSWORD,
            "last_name": "Pop",
            "first_name": "Ana",
            "cnp": "2900215400014",
        },
        "/api/v1/staff/accounts": {
            "name": "Staff",
            "email": f"s.{uuid.uuid4().hex[:6]}@example.ro",
            "roles": [{"role": "petition_clerk", "unit": "IGPR"}],
        },
    }
    body = {**bodies[path], field: value}
    response = requests.post(f"{platform.gateway_url}{path}", json=body, headers=bearer(accounts.admin), timeout=30)
    assert response.status_code in (400, 422), (response.status_code, response.text[:300])


def test_a_staff_account_with_a_repeated_role_is_refused_or_deduplicated(
    platform: Platform, accounts: Accounts
) -> None:
    grant = {"role": "petition_clerk", "unit": "IGPR"}
    body = {"name": "Dup Roles", "email": f"d.{uuid.uuid4().hex[:6]}@example.ro", "roles": [grant, grant]}
    response = requests.post(
        f"{platform.gateway_url}/api/v1/staff/accounts", json=body, headers=bearer(accounts.admin), timeout=30
    )
    assert response.status_code in (201, 409, 422), (response.status_code, response.text[:300])


PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)> \'; DROP TABLE petitions; -- " OR 1=1 --'
NAME_PAYLOAD = "<b>Ion</b> O'Brien\"; DROP TABLE accounts;--"


def test_sql_and_html_in_a_petition_are_stored_and_returned_inert(
    platform: Platform, accounts: Accounts, mail: SmtpSink
) -> None:
    gateway, admin = platform.gateway_url, bearer(accounts.admin)
    body = petition(subject=PAYLOAD[:200], text=PAYLOAD, name=NAME_PAYLOAD)
    created = requests.post(f"{gateway}/api/v1/petitions", json=body, timeout=30)
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]

    stored = requests.get(f"{gateway}/api/v1/petitions/{number}", headers=admin, timeout=30).json()
    assert (stored["subject"], stored["text"], stored["petitioner"]["name"]) == (PAYLOAD[:200], PAYLOAD, NAME_PAYLOAD)
    answered = requests.post(
        f"{gateway}/api/v1/petitions/{number}/answer", json={"text": PAYLOAD}, headers=admin, timeout=30
    )
    assert answered.status_code == 200, answered.text

    lookup = requests.post(
        f"{gateway}/api/v1/petitions/status-lookup",
        json={"registration_number": number, "email": body["email"]},
        timeout=30,
    )
    assert lookup.status_code == 200 and lookup.headers["Content-Type"].startswith("application/json")
    assert lookup.json()["answer"] == PAYLOAD

    for mailed in (
        mail.wait_for(lambda m: addressed_to(body["email"])(m) and "registered" in str(m["Subject"]), timeout=60),
        mail.wait_for(lambda m: addressed_to(body["email"])(m) and "answer" in str(m["Subject"]).lower(), timeout=60),
    ):
        html_part = part(mailed, "text/html")
        assert html_part, "the mail has an HTML part"
        for live in ("<script", "<img", "<b>Ion"):
            assert live not in html_part, f"{live!r} reached the HTML part of {mailed['Subject']!r} unescaped"
        assert "&lt;b&gt;Ion&lt;/b&gt;" in html_part
    assert "&lt;script&gt;alert(" in html_part  # the answer mail quotes the answer, escaped


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        (
            "POST",
            "/api/v1/petitions/status-lookup",
            {"registration_number": "IGPR-2026-000001' OR '1'='1", "email": "a@example.ro"},
            (422,),
        ),
        (
            "POST",
            "/api/v1/petitions/status-lookup",
            {"registration_number": "IGPR-2026-000001", "email": "a@example.ro' OR 1=1 --"},
            (422,),
        ),
        (
            "POST",
            "/api/v1/certificates/verifications",
            {"number": "' OR 1=1 --", "cnp": "1800101221144"},
            (200, 404, 422),
        ),
        ("GET", "/api/v1/faq?field=' OR '1'='1", None, (422,)),
        ("GET", "/api/v1/institutions/IGPR' OR '1'='1", None, (404,)),
        ("GET", "/api/v1/offices/x'; DROP TABLE offices; --", None, (404,)),
    ],
    ids=["lookup-number", "lookup-email", "certificate-verification", "faq-query", "institution-path", "office-path"],
)
def test_sql_in_lookups_is_plain_data(
    platform: Platform, method: str, path: str, body: dict[str, Any] | None, allowed: tuple[int, ...]
) -> None:
    response = requests.request(method, f"{platform.gateway_url}{path}", json=body, timeout=30)
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code == 200:
        assert response.json().get("result") != "valid"


# --- crafted uploads --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def immigration_applicant(platform: Platform, accounts: Accounts) -> dict[str, str]:
    """The citizen, known to booking-svc as verified: identity-svc's identity.verified event, as it publishes it."""
    data = {
        "citizen_id": accounts.citizen_id,
        "method": "counter",
        "unit": "IGI-CJ",
        "assurance_level": "substantial",
        "verified_at": datetime.now(UTC).isoformat(),
        "recipient": {"email": "ana.popescu@example.ro", "name": "Ana Popescu", "language": "ro"},
    }
    event = build_event("ro.mai.identity.verified.v1", source="identity-svc", subject=accounts.citizen_id, data=data)
    producer = kafka_clients.producer(platform.kafka)
    try:
        producer.send(
            platform.topic_prefix + "identity.verified", encode_event(event), key=accounts.citizen_id.encode()
        ).get(timeout=30)
    finally:
        producer.close()
    return bearer(accounts.citizen)


def _draft_application(gateway: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{gateway}/api/v1/immigration/applications",
        json={"application_type": "travel-document", "office": "IGI-CJ"},
        headers=headers,
        timeout=30,
    )


@pytest.mark.parametrize("crafted", sorted(HOSTILE_UPLOADS))
def test_a_crafted_file_is_refused_as_a_petition_attachment_and_as_an_immigration_document(
    platform: Platform, immigration_applicant: dict[str, str], crafted: str
) -> None:
    """PDFs with active content a byte search cannot see, polyglots, encrypted PDFs, SVG: 415, nothing kept."""
    gateway, content = platform.gateway_url, HOSTILE_UPLOADS[crafted]()
    name = "scan.svg" if crafted == "svg" else "scan.pdf"

    sent = petition(subject=f"Atașament {crafted}")
    submitted = requests.post(
        f"{gateway}/api/v1/petitions",
        files={
            "petition": (None, json.dumps(sent), "application/json"),
            "attachments": (name, content, "application/pdf"),
        },
        timeout=30,
    )
    problem = assert_problem(submitted, 415)
    assert problem["errors"]["attachments"], problem

    citizen = immigration_applicant
    draft = wait_until(
        lambda: (response := _draft_application(gateway, citizen)).status_code == 201 and response,
        timeout=60,
        what="booking-svc to know the citizen as verified",
    )
    application = f"{gateway}/api/v1/immigration/applications/{draft.json()['application_id']}"
    uploaded = requests.put(
        f"{application}/documents/application-form",
        files={"file": (name, content, "application/pdf")},
        headers=citizen,
        timeout=30,
    )
    assert_problem(uploaded, 415)
    documents = requests.get(application, headers=citizen, timeout=30).json()["documents"]
    assert {d["status"] for d in documents} == {"missing"}
    fetched = requests.get(f"{application}/documents/application-form/content", headers=citizen, timeout=30)
    assert fetched.status_code == 404


# --- the certificate verification oracle --------------------------------------------------------

VERIFICATIONS = "/api/v1/certificates/verifications"


def test_a_burst_of_cnp_guesses_at_one_number_gets_no_more_than_the_budget_answered(platform: Platform) -> None:
    """Twenty parallel guesses at one number: five are checked (not_found), every other one is locked
    out (429 with Retry-After), not one slips past the budget. No certificate has the number: a real
    one answers alike."""
    number = f"CJ-2026-8{uuid.uuid4().int % 10**6:06d}"

    def guess(_: int) -> requests.Response:
        return requests.post(
            f"{platform.gateway_url}{VERIFICATIONS}", json={"number": number, "cnp": make_cnp()}, timeout=30
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(20)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [429] * 15
    assert all(a.json() == {"result": "not_found"} for a in answers if a.status_code == 200)
    for locked in (a for a in answers if a.status_code == 429):
        problem = assert_problem(locked, 429)
        assert problem["type"].endswith("/verification-locked")
        assert int(locked.headers["Retry-After"]) > 3600


@pytest.mark.parametrize(
    "body",
    [
        {"number": "CJ-2026-0000001"},
        {"number": "CJ-2026-0000001", "cnp": "1800101221144", "verification_code": "7K2Q-MXPA-9D4T"},
        {"number": "CJ-2026-0000001", "cnp": None, "verification_code": None},
        {"number": "CJ-2026-0000001", "verification_code": "7K2Q-MXPA-9D4"},
        {"number": "CJ-2026-0000001", "verification_code": "7K2Q-MXPA-9D4\u0422"},  # a Cyrillic Te
        {"number": "CJ-2026-0000001", "verification_code": "7K2Q\u200bMXPA9D4T"},
        {"number": "CJ-2026-0000001", "verification_code": 712345678901},
        {"registration_number": "CJ-2026-0000001", "cnp": "1800101221144"},
    ],
    ids=["neither", "both", "both-null", "short-code", "homoglyph-code", "invisible-code", "number-code", "old-field"],
)
def test_a_verification_without_exactly_one_well_formed_proof_is_a_422(
    platform: Platform, body: dict[str, Any]
) -> None:
    assert_problem(requests.post(f"{platform.gateway_url}{VERIFICATIONS}", json=body, timeout=30), 422)


def test_guessing_verification_codes_tells_nothing_and_locks_nobody_out(platform: Platform) -> None:
    number = f"CJ-2026-7{uuid.uuid4().int % 10**6:06d}"
    for _ in range(8):
        code = "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(12))
        answer = requests.post(
            f"{platform.gateway_url}{VERIFICATIONS}", json={"number": number, "verification_code": code}, timeout=30
        )
        assert answer.status_code == 200 and answer.json() == {"result": "not_found"}


# --- uploads and official mails on demand ------------------------------------------------------


def with_attachment(gateway: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{gateway}/api/v1/petitions",
        data={"petition": json.dumps(body)},
        files={"attachments": ("scan.pdf", samples.sample_pdf(), "application/pdf")},
        headers=headers or {},
        timeout=30,
    )


def test_one_client_cannot_store_attachments_past_its_quota_by_forging_forwarded_for(platform: Platform) -> None:
    """The client address is the one the gateway saw: a forged X-Forwarded-For makes no new client."""
    answers = [
        with_attachment(platform.gateway_url, petition(), {"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(12)
    ]
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) <= 10 and statuses[-2:] == [429, 429], statuses
    problem = assert_problem(answers[-1], 429)
    assert problem["type"].endswith("/submission-quota-exceeded") and problem["quota"] == "client"
    assert int(answers[-1].headers["Retry-After"]) > 3600
    assert requests.post(f"{platform.gateway_url}/api/v1/petitions", json=petition(), timeout=30).status_code == 201


def test_one_address_gets_at_most_its_quota_of_petitions_with_attachments(
    platform: Platform, accounts: Accounts
) -> None:
    victim = f"tinta.{uuid.uuid4().hex[:8]}@example.ro"
    signed_in = bearer(accounts.citizen)  # its own client quota, apart from the anonymous tests'
    statuses = [with_attachment(platform.gateway_url, petition(email=victim), signed_in).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]


def test_an_address_is_mailed_at_most_its_limit_of_receipts_and_the_rest_is_recorded_as_suppressed(
    platform: Platform, mail: SmtpSink
) -> None:
    victim = f"inundat.{uuid.uuid4().hex[:8]}@example.ro"
    for n in range(12):
        body = petition(email=victim, name=f"Nume Ales De Atacator {n}")
        assert requests.post(f"{platform.gateway_url}/api/v1/petitions", json=body, timeout=30).status_code == 201
    engine = create_engine(platform.database_urls["notify"])
    try:

        def delivery_statuses() -> list[str]:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT d.status FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
                        "WHERE n.recipient_email = :address"
                    ),
                    {"address": victim},
                )
                return sorted(row[0] for row in rows)

        wait_until(
            lambda: delivery_statuses() == sorted(["delivered"] * 10 + ["suppressed"] * 2),
            timeout=90,
            interval=0.5,
            what="ten receipts delivered and two suppressed",
        )
    finally:
        engine.dispose()
    assert len([m for m in mail.messages() if addressed_to(victim)(m)]) == 10


# --- forged access tokens ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def protected(accounts: Accounts) -> list[tuple[str, str]]:
    """One token-protected operation per service behind the gateway."""
    return [
        ("petition-svc", "/api/v1/petitions"),
        ("identity-svc", f"/api/v1/identity/profiles/{accounts.citizen_id}"),
        ("record-svc", "/api/v1/certificates"),
        ("booking-svc", "/api/v1/immigration/applications"),
        ("notify-svc", "/api/v1/notifications"),
    ]


@pytest.fixture(scope="module")
def forgeries(platform: Platform, accounts: Accounts) -> dict[str, str]:
    header, claims = unverified_parts(accounts.citizen)
    kid = header["kid"]
    jwks = requests.get(f"{platform.gateway_url}/.well-known/jwks.json", timeout=30).json()
    real_key = identity_signing_key(
        platform.database_urls["identity"], platform.common_env["IDENTITY_ENCRYPTION_KEYS"], kid
    )
    now = int(time.time())
    header_body, payload_body, signature = accounts.citizen.split(".")
    tampered = {**claims, "kind": "staff", "roles": ["admin@*"]}
    return {
        "alg-none": unsigned_token({"alg": "none", "typ": "JWT", "kid": kid}, fresh_claims(claims)),
        "alg-None-mixed-case": unsigned_token({"alg": "None", "typ": "JWT", "kid": kid}, fresh_claims(claims)),
        "hmac-with-public-key": hmac_token(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, fresh_claims(claims), public_key_pem(jwks, kid)
        ),
        "expired": signed({**claims, "iat": now - 7200, "exp": now - 3600}, real_key, kid),
        "wrong-audience": signed(fresh_claims(claims, aud="another-service"), real_key, kid),
        "wrong-issuer": signed(fresh_claims(claims, iss="https://evil.example"), real_key, kid),
        "refresh-typed": signed(fresh_claims(claims, typ="refresh"), real_key, kid),
        "unknown-kid": signed(fresh_claims(claims), foreign_rsa_key(), "unknown-" + uuid.uuid4().hex[:8]),
        "known-kid-foreign-key": signed(fresh_claims(claims), foreign_rsa_key(), kid),
        "tampered-claims": f"{header_body}.{_b64(json.dumps(tampered).encode())}.{signature}",
        "signature-stripped": f"{header_body}.{payload_body}.",
    }


FORGERIES = [
    "alg-none",
    "alg-None-mixed-case",
    "hmac-with-public-key",
    "expired",
    "wrong-audience",
    "wrong-issuer",
    "refresh-typed",
    "unknown-kid",
    "known-kid-foreign-key",
    "tampered-claims",
    "signature-stripped",
]


def test_the_genuine_token_is_accepted_by_every_service(
    platform: Platform, accounts: Accounts, protected: list[tuple[str, str]]
) -> None:
    for service, path in protected:
        response = requests.get(f"{platform.gateway_url}{path}", headers=bearer(accounts.citizen), timeout=30)
        assert response.status_code in (200, 403), (service, response.status_code, response.text[:300])


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_token_is_refused_with_401_problem_by_every_service(
    platform: Platform, protected: list[tuple[str, str]], forgeries: dict[str, str], forgery: str
) -> None:
    for service, path in protected:
        response = requests.get(f"{platform.gateway_url}{path}", headers=bearer(forgeries[forgery]), timeout=30)
        assert response.status_code == 401, (service, response.status_code, response.text[:300])
        assert_problem(response, 401)
