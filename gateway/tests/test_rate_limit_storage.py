"""Rate limits: the in-memory counters count as ``limits`` does; a failing shared store refuses nothing."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from gateway.rate_limits import SWEEP_INTERVAL_SECONDS, RouteRateLimits, WindowCounters, _breach
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", range(6))
def test_the_memory_counters_allow_and_refuse_exactly_what_limits_does_with_the_same_waits(seed, monkeypatch):
    rng = random.Random(seed)
    clock = _Clock(1_796_000_000.0 + rng.random() * 1000)
    monkeypatch.setattr(time, "time", clock)  # limits' memory store and strategy read time.time()
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    ours = WindowCounters(clock)
    texts = ["3/second", "5/10 seconds", "20/minute", "7/minute"]
    clients = ["198.51.100.7", "2001:db8::1"]
    refused = 0

    for _ in range(4000):
        # Mostly bursts, sometimes a pause within a window, sometimes several windows at once.
        steps = [0.0, 0.001, 0.05, 0.3, 1.7, rng.random() * 30, rng.random() * 200]
        clock.now += rng.choices(steps, weights=[40, 30, 15, 8, 4, 2, 1])[0]
        text, prefix, client = rng.choice(texts), rng.choice(["/api/v1/auth", "/"]), rng.choice(clients)
        limit = parse(text)
        allowed = reference.hit(limit, "gateway", prefix, client)
        wait = ours.hit(limit, (text, prefix, client))

        assert (wait is None) == allowed, (text, prefix, client, clock.now)
        if not allowed:
            refused += 1
            reset_at = reference.get_window_stats(limit, "gateway", prefix, client).reset_time
            assert wait is not None
            assert _breach(limit, wait).retry_after == _breach(limit, reset_at - clock.now).retry_after

    assert 150 < refused < 3850  # both outcomes were exercised often (about 300 refusals per seed)


def test_counters_of_windows_long_over_are_dropped():
    clock = _Clock(1_796_000_000.0)
    counters = WindowCounters(clock)
    limit = parse("2/minute")
    for n in range(500):
        counters.hit(limit, ("2/minute", "/api/v1/auth", f"198.51.100.{n % 250}/{n}"))
    assert len(counters) == 500

    clock.now += 60  # the next window: the counts still weigh in
    counters.hit(limit, ("2/minute", "/api/v1/auth", "203.0.113.1"))
    assert len(counters) == 501
    clock.now += 120 + SWEEP_INTERVAL_SECONDS  # both windows over: the next hit sweeps them
    counters.hit(limit, ("2/minute", "/api/v1/auth", "203.0.113.2"))
    assert len(counters) == 1


def test_a_refused_hit_is_not_counted_and_the_sliding_window_lets_requests_in_gradually():
    clock = _Clock(1_796_000_080.0)  # 40 s into a minute window
    counters = WindowCounters(clock)
    limit = parse("4/minute")
    key = ("4/minute", "/api/v1/auth", "198.51.100.7")
    assert [counters.hit(limit, key) is None for _ in range(6)] == [True] * 4 + [False] * 2

    clock.now += 20 + 15  # 15 s into the next window: 4 x 45/60 = 3 still weigh
    assert counters.hit(limit, key) is None
    assert counters.hit(limit, key) is not None
    clock.now += 15  # 30 s in: 4 x 30/60 + 1 = 3
    assert counters.hit(limit, key) is None
    assert counters.hit(limit, key) is not None


def test_a_route_limit_refuses_the_request_over_it_with_the_wait_for_its_window():
    limits = RouteRateLimits("memory://")

    outcomes = [limits.hit("2/minute", "/api/v1/auth", "198.51.100.7") for _ in range(3)]

    assert outcomes[:2] == [None, None]
    breach = outcomes[2]
    assert breach is not None and str(breach.limit) == "2 per 1 minute"
    assert 1 <= breach.retry_after <= 60
    assert limits.hit("2/minute", "/api/v1/faq", "198.51.100.7") is None  # another route
    assert limits.hit("2/minute", "/api/v1/auth", "198.51.100.8") is None  # another client


def test_an_unreachable_counter_store_refuses_nothing_and_counting_goes_on_in_memory():
    # Nothing listens on port 9 (discard): every call to this Redis fails at once.
    limits = RouteRateLimits("redis://127.0.0.1:9/0")

    outcomes = [limits.hit("2/minute", "/api/v1/auth", "198.51.100.7") for _ in range(3)]

    assert outcomes[:2] == [None, None]
    assert outcomes[2] is not None  # counted in memory meanwhile: the limit still holds


def test_on_the_event_loop_an_unreachable_store_refuses_nothing_and_counting_goes_on_in_memory():
    limits = RouteRateLimits("redis://127.0.0.1:9/0")

    async def three_hits() -> list[object]:
        return [await limits.hit_async("2/minute", "/api/v1/auth", "198.51.100.7") for _ in range(3)]

    outcomes = asyncio.run(three_hits())

    assert outcomes[:2] == [None, None]
    breach = outcomes[2]
    assert breach is not None and 1 <= breach.retry_after <= 60


def test_on_the_event_loop_the_memory_store_counts_in_process():
    limits = RouteRateLimits("memory://")

    async def three_hits() -> list[object]:
        return [await limits.hit_async("2/minute", "/api/v1/auth", "198.51.100.7") for _ in range(3)]

    assert [outcome is None for outcome in asyncio.run(three_hits())] == [True, True, False]
