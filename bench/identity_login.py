"""Benchmark of identity-svc: logins per second and memory per concurrent login with the production
argon2id parameters, and access-token verifications per second with the chassis verifier.

Bounded: each figure runs for at most a few seconds. Prints a table (figure, unit, value,
baseline, ratio); baselines are a raw argon2id verify loop with libsodium (what identity-svc uses)
and a raw PyJWT decode; one more row compares libsodium's argon2id with argon2-cffi's.

    .venv/bin/python -m bench.identity_login [--seconds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

import jwt
import nacl.pwhash.argon2id as sodium_argon2id
from argon2 import PasswordHasher, Type

from bench.harness import Row, report

logging.disable(logging.CRITICAL)


def _rate(fn: Callable[[], object], seconds: float, threads: int = 1) -> float:
    deadline = time.perf_counter() + seconds

    def loop() -> int:
        n = 0
        while time.perf_counter() < deadline:
            fn()
            n += 1
        return n

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from identity import create_app
    from identity.service import MIGRATIONS
    from identity_testing import CITIZEN, add_signing_key, make_settings
    from mai_chassis import TokenVerifier
    from mai_chassis.migrations import upgrade
    from sqlalchemy import update

    directory = tempfile.mkdtemp(prefix="identity-bench-")
    url = f"sqlite:///{directory}/identity.db"
    upgrade(url, MIGRATIONS)
    # Production argon2id parameters (the settings' defaults): t=2, m=19 MiB, p=1.
    settings = make_settings(
        url, argon2_time_cost=2, argon2_memory_kib=19 * 1024, argon2_parallelism=1, address_free_failures=10**9
    )
    add_signing_key(settings)
    app = create_app(settings)
    client = app.test_client()
    client.post("/api/v1/accounts", json=CITIZEN)
    from identity.tables import Account

    with app.extensions["mai_database"].session() as session:
        session.execute(update(Account).values(email_confirmed_at=datetime.now(UTC)))
        session.commit()
    login_body = {"email": CITIZEN["email"], "password": CITIZEN["password"]}

    def login() -> None:
        assert client.post("/api/v1/auth/login", json=login_body).status_code == 200

    password = CITIZEN["password"].encode()
    stored = sodium_argon2id.str(password, opslimit=2, memlimit=19 * 1024 * 1024)
    raw_verify = _rate(lambda: sodium_argon2id.verify(stored, password), args.seconds, args.threads)
    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
    cffi_verify = _rate(lambda: hasher.verify(stored.decode(), CITIZEN["password"]), args.seconds, args.threads)
    logins = _rate(login, args.seconds, args.threads)

    token = client.post("/api/v1/auth/login", json=login_body).get_json()["access_token"]
    jwks = client.get("/.well-known/jwks.json").get_json()
    verifier = TokenVerifier(jwks=jwks, issuer="mai-identity", audience="mai-eservices")
    key = jwt.PyJWK(jwks["keys"][0]).key
    verifications = _rate(lambda: verifier.verify(token), args.seconds)
    raw_decode = _rate(
        lambda: jwt.decode(token, key, algorithms=["RS256"], audience="mai-eservices", issuer="mai-identity"),
        args.seconds,
    )
    memory_mib = settings.argon2_memory_kib * settings.argon2_parallelism / 1024

    rows = [
        Row("logins (HTTP handler, DB, token signing)", "logins/s", logins, raw_verify),
        Row("argon2id memory per concurrent login", "MiB", memory_mib, memory_mib),
        Row("raw argon2id verify: libsodium vs argon2-cffi", "verifies/s", raw_verify, cffi_verify),
        Row("token verifications (chassis TokenVerifier)", "verifications/s", verifications, raw_decode),
    ]
    report(
        "identity_login",
        f"identity-svc logins (argon2id t=2 m=19 MiB p=1, {args.threads} threads) and token verifications — "
        "baselines: raw libsodium argon2id verify (same threads), argon2 m x p, argon2-cffi verify, raw PyJWT decode",
        rows,
    )


if __name__ == "__main__":
    main()
