"""The in-memory rate-limit store counts like ``limits``' own, without a thread per counted request."""

from __future__ import annotations

import asyncio
import threading

from gateway.rate_limits import RouteRateLimits, SweepingMemoryStorage, storage_uri_for
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter


def test_memory_storage_is_served_by_the_sweeping_store_and_redis_is_left_alone():
    assert storage_uri_for("memory://") == "gateway-memory://"
    assert storage_uri_for("redis://gateway-redis:6379/0") == "redis://gateway-redis:6379/0"
    assert isinstance(storage_from_string(storage_uri_for("memory://")), SweepingMemoryStorage)


def test_counting_refuses_the_hit_over_the_limit_and_starts_no_thread_per_hit():
    limiter = SlidingWindowCounterRateLimiter(storage_from_string("gateway-memory://"))
    limit = parse("50/minute")
    limiter.hit(limit, "198.51.100.7", "/api/v1/auth")
    threads_before = threading.active_count()

    outcomes = [limiter.hit(limit, "198.51.100.7", "/api/v1/auth") for _ in range(60)]

    assert outcomes.count(True) == 49
    assert outcomes[-1] is False
    assert threading.active_count() <= threads_before


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
