"""The in-memory rate-limit store counts like ``limits``' own, without a thread per counted request."""

from __future__ import annotations

import threading

from gateway.rate_limits import SweepingMemoryStorage, storage_uri_for
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
