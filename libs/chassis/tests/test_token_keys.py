"""The JWKS behind token verification: a flood of unknown key ids cannot knock authentication out.

The key server here is a real loopback HTTP server; time is a clock the test moves, so that
"at most once per interval" is checked without depending on how fast the machine is.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from mai_chassis import InvalidToken, Problem, TokenVerifier
from mai_chassis.clock import ManualMonotonic
from mai_chassis.testing import QuietHandler, TokenIssuer, send_json, serve_http, wait_until

LIFESPAN, REFETCH_INTERVAL, MAX_STALE = 300.0, 30.0, 3600.0


class KeyServer:
    """identity-svc's JWKS endpoint as the verifier sees it: answering, answering slowly, or failing."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.mode = "ok"
        self.delay = 0.5
        self._count = 0
        self._lock = threading.Lock()

    @property
    def fetches(self) -> int:
        with self._lock:
            return self._count

    def handler(self) -> type[QuietHandler]:
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server._count += 1
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "fail":
                    send_json(self, 500, {"title": "Internal Server Error"})
                else:
                    send_json(self, 200, server.jwks)

        return Handler


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture
def key_server(issuer: TokenIssuer) -> Iterator[tuple[KeyServer, str]]:
    keys = KeyServer(issuer.jwks)
    with serve_http(keys.handler()) as url:
        yield keys, f"{url}/.well-known/jwks.json"


def _verifier(url: str, issuer: TokenIssuer, clock: ManualMonotonic) -> TokenVerifier:
    return TokenVerifier(
        issuer=issuer.issuer,
        audience=issuer.audience,
        jwks_url=url,
        cache_lifespan=LIFESPAN,
        refetch_interval=REFETCH_INTERVAL,
        max_stale=MAX_STALE,
        fetch_timeout=5,
        clock=clock,
    )


def _token_with_random_kid(issuer: TokenIssuer) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": uuid.uuid4().hex})


def _burst(verifier: TokenVerifier, honest: str, forged: list[str]) -> tuple[list[str], list[str]]:
    """Forged and honest tokens interleaved from eight threads; returns (honest outcomes, forged outcomes)."""

    def outcome(token: str) -> str:
        try:
            verifier.verify(token)
            return "verified"
        except InvalidToken:
            return "refused"
        except Problem as problem:
            return f"problem {problem.status}"

    work = [token for forged_token in forged for token in (forged_token, honest)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(outcome, work))
    return results[1::2], results[0::2]


def test_a_flood_of_unknown_key_ids_neither_floods_the_key_server_nor_stops_honest_tokens(
    issuer: TokenIssuer, key_server: tuple[KeyServer, str]
) -> None:
    server, url = key_server
    clock = ManualMonotonic()
    verifier = _verifier(url, issuer, clock)
    honest = issuer.citizen("c-1")
    assert verifier.verify(honest).subject == "c-1"
    assert server.fetches == 1

    # The key server answers slowly: of 200 random key ids, one may look for a new key; the rest,
    # and every honest token meanwhile, are answered from memory.
    server.mode = "slow"
    clock.advance(REFETCH_INTERVAL)
    honest_outcomes, forged_outcomes = _burst(verifier, honest, [_token_with_random_kid(issuer) for _ in range(200)])
    assert set(honest_outcomes) == {"verified"}
    assert set(forged_outcomes) == {"refused"}
    assert server.fetches == 2

    # More unknown key ids within the same interval: answered at once, no fetch at all.
    forged_again = [_token_with_random_kid(issuer) for _ in range(50)]
    _burst(verifier, honest, forged_again)
    assert server.fetches == 2

    # Now it fails, and the key set is due for its periodic refresh: the last good set goes on
    # serving honest tokens, and still a single fetch was attempted in the interval.
    server.mode = "fail"
    clock.advance(LIFESPAN + 1)
    honest_outcomes, forged_outcomes = _burst(verifier, honest, [_token_with_random_kid(issuer) for _ in range(200)])
    assert set(honest_outcomes) == {"verified"}
    assert set(forged_outcomes) == {"refused"}
    wait_until(lambda: server.fetches == 3, timeout=10, what="the one refresh attempt of the interval")
    assert verifier.verify(honest).subject == "c-1"
    assert server.fetches == 3


def test_a_key_no_longer_published_is_refused_after_the_next_refresh(
    issuer: TokenIssuer, key_server: tuple[KeyServer, str]
) -> None:
    server, url = key_server
    clock = ManualMonotonic()
    verifier = _verifier(url, issuer, clock)
    retired = issuer.citizen("c-1")
    assert verifier.verify(retired).subject == "c-1"

    successor = TokenIssuer(kid="successor")
    server.jwks = successor.jwks  # identity-svc unpublished the old key
    clock.advance(LIFESPAN + 1)

    def retired_token_refused() -> bool:
        try:
            verifier.verify(retired)
        except InvalidToken:
            return True
        return False

    wait_until(retired_token_refused, timeout=10, what="the retired key to be dropped")
    assert verifier.verify(successor.citizen("c-2")).subject == "c-2"


def test_a_key_set_that_cannot_be_refreshed_is_trusted_for_a_bounded_time_only(
    issuer: TokenIssuer, key_server: tuple[KeyServer, str]
) -> None:
    server, url = key_server
    clock = ManualMonotonic()
    verifier = _verifier(url, issuer, clock)
    token = issuer.citizen("c-1")
    assert verifier.verify(token).subject == "c-1"

    server.mode = "fail"
    clock.advance(MAX_STALE - 1)
    assert verifier.verify(token).subject == "c-1"
    clock.advance(2)
    with pytest.raises(Problem) as refused:
        verifier.verify(token)
    assert refused.value.status == 503

    server.mode = "ok"
    clock.advance(REFETCH_INTERVAL)

    def verified_again() -> bool:
        try:
            return verifier.verify(token).subject == "c-1"
        except Problem:
            return False

    wait_until(verified_again, timeout=10, what="the key set to come back")


def test_a_newly_published_key_is_found_without_waiting_for_the_refresh(
    issuer: TokenIssuer, key_server: tuple[KeyServer, str]
) -> None:
    server, url = key_server
    clock = ManualMonotonic()
    verifier = _verifier(url, issuer, clock)
    assert verifier.verify(issuer.citizen()).kind == "citizen"

    newcomer = TokenIssuer(kid="newcomer")
    server.jwks = {"keys": issuer.jwks["keys"] + newcomer.jwks["keys"]}
    clock.advance(REFETCH_INTERVAL)
    assert verifier.verify(newcomer.citizen("c-3")).subject == "c-3"
    assert server.fetches == 2


def test_a_key_id_just_missed_does_not_spend_the_next_fetch(
    issuer: TokenIssuer, key_server: tuple[KeyServer, str]
) -> None:
    server, url = key_server
    clock = ManualMonotonic()
    verifier = _verifier(url, issuer, clock)
    assert verifier.verify(issuer.citizen()).kind == "citizen"

    replayed = _token_with_random_kid(issuer)
    clock.advance(REFETCH_INTERVAL - 1)
    with pytest.raises(InvalidToken):
        verifier.verify(replayed)
    clock.advance(2)  # a fetch is allowed again, but not for the key id just missed
    with pytest.raises(InvalidToken):
        verifier.verify(replayed)
    assert server.fetches == 1

    newcomer = TokenIssuer(kid="newcomer")
    server.jwks = {"keys": issuer.jwks["keys"] + newcomer.jwks["keys"]}
    assert verifier.verify(newcomer.citizen("c-4")).subject == "c-4"
    assert server.fetches == 2
