"""Benchmark of identity-svc: logins per second and memory per concurrent login with the production
argon2id parameters, and access-token verifications per second with the chassis verifier.

Bounded: each figure runs for at most a few seconds. Prints a table (figure, unit, value,
baseline, ratio); baselines are a raw argon2 verify loop and a raw PyJWT decode.

    .venv/bin/python bench/identity_login.py [--seconds 3] [--threads 2]
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
from argon2 import PasswordHasher, Type

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
    from identity.testing import CITIZEN, add_signing_key, make_settings
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

    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
    stored = hasher.hash(CITIZEN["password"])
    raw_verify = _rate(lambda: hasher.verify(stored, CITIZEN["password"]), args.seconds, args.threads)
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
        ("logins (HTTP handler, DB, token signing)", "logins/s", logins, raw_verify),
        ("argon2id memory per concurrent login", "MiB", memory_mib, memory_mib),
        ("token verifications (chassis TokenVerifier)", "verifications/s", verifications, raw_decode),
    ]
    print(f"argon2id t=2 m=19 MiB p=1; {args.threads} threads for logins; {args.seconds:.0f} s per figure")
    print(f"{'figure':<46}{'unit':<18}{'value':>12}{'baseline':>12}{'ratio':>8}")
    for figure, unit, value, baseline in rows:
        print(f"{figure:<46}{unit:<18}{value:>12.1f}{baseline:>12.1f}{value / baseline:>8.2f}")
    print("baselines: raw argon2 verify loop (same threads); memory = argon2 m x p; raw PyJWT decode")


if __name__ == "__main__":
    main()
