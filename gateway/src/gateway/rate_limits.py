"""Per-route rate limits: sliding window counters, in the process' memory or in a shared store.

:class:`RouteRateLimits` counts each request against its route's limit, per client address and
route prefix. The rules: a request over the limit is refused with 429 before the upstream is
called, and a storage that fails (Redis away) never refuses a request: counting goes on in the
process' memory, and the storage is tried again after :data:`STORAGE_RETRY_SECONDS`.

``RATELIMIT_STORAGE_URI=memory://`` (the default) counts in :class:`WindowCounters`, this module's
own store; any other URI (``redis://``, for counters shared by several gateway pods) counts with
``limits``' sliding window counter on that store, from the event loop through ``limits.aio`` on
``redis.asyncio`` (:meth:`RouteRateLimits.hit_async`): a request waiting for Redis's answer holds
no thread and blocks no other request. Both count alike: :class:`WindowCounters` is ``limits``'
algorithm (the previous window's count weighted by the share of it still inside the sliding window,
plus the current window's), and a test holds it to ``limits``' own results hit for hit.

Why a store of our own for memory: with ``limits``' memory store, counting one request cost about
an eighth of a proxied request's CPU in the gateway (each hit builds two keys as strings and passes
ten wrapped storage calls, and the store needs a timer thread or a sweeper to forget old counters);
here it is a dictionary read and two arithmetic lines, and old windows are dropped on the way.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

__all__ = ["STORAGE_RETRY_SECONDS", "Breach", "RouteRateLimits", "WindowCounters"]

logger = logging.getLogger(__name__)

#: Counters whose windows are both over are dropped at most this often (on a hit, in one pass).
SWEEP_INTERVAL_SECONDS = 10.0


class WindowCounters:
    """Sliding window counters kept in this process: per key, its current fixed window's count and
    the previous one's. A hit is counted when the previous window's count, weighted by the part of
    that window still inside the sliding window, plus the current count and the hit stay within the
    limit; a refused hit is not counted. ``clock`` gives seconds since the epoch (tests set it)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: key -> [current window's number, previous window's count, current window's count, window length]
        self._windows: dict[tuple[str, str, str], list[int]] = {}
        self._lock = threading.Lock()
        self._swept_at = clock()

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, limit: RateLimitItem, key: tuple[str, str, str]) -> float | None:
        """Count one hit on ``key``; None when it was counted, else the seconds until the sliding
        window may let one in (as ``limits`` reckons its reset time)."""
        expiry = limit.get_expiry()
        now = self._clock()
        # The windows' numbers and the weight exactly as limits computes them (the same float steps).
        window = int(now / expiry)
        previous_window = int((now - expiry) / expiry)
        with self._lock:
            if now - self._swept_at >= SWEEP_INTERVAL_SECONDS:
                self._sweep(now)
            entry = self._windows.get(key)
            if entry is None:
                entry = self._windows[key] = [window, 0, 0, expiry]
            elif entry[0] != window:
                entry[1] = entry[2] if entry[0] == previous_window else 0
                entry[0], entry[2] = window, 0
            previous, current = entry[1], entry[2]
            previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
            if math.floor(previous * previous_ttl / expiry + current) + 1 <= limit.amount:
                entry[2] = current + 1
                return None
        waits = [math.inf]
        if previous:
            waits.append(previous_ttl % (expiry / previous))
        if current:
            waits.append(((1 - ((now / expiry) % 1)) * expiry + expiry) % expiry)
        wait = min(waits)
        return 0.0 if wait == math.inf else wait

    def _sweep(self, now: float) -> None:
        """Drop the counters whose current and previous windows are both over (under the lock)."""
        self._swept_at = now
        stale = [key for key, (window, _, _, expiry) in self._windows.items() if window < int(now / expiry) - 1]
        for key in stale:
            del self._windows[key]


#: After a storage failure, counting stays in memory this long before the storage is tried again.
STORAGE_RETRY_SECONDS = 30.0
_NAMESPACE = "gateway"


@dataclass(frozen=True)
class Breach:
    """A refused request: the limit it went over, and in how many seconds its window lets it in."""

    limit: RateLimitItem
    retry_after: int


class RouteRateLimits:
    """Counts requests per route and client address; :meth:`hit` says whether one is over its limit."""

    def __init__(self, storage_uri: str, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: The shared store (``limits`` on Redis, ...); None when counting in memory is the configuration.
        self._storage: SlidingWindowCounterRateLimiter | None = None
        #: For the shared store, its asyncio client (``limits.aio``, ``redis.asyncio`` for Redis),
        #: which :meth:`hit_async` counts with.
        self._async_storage: AsyncSlidingWindowCounterRateLimiter | None = None
        if not storage_uri.startswith("memory://"):
            self._storage = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))
            options = {"implementation": "redispy"} if storage_uri.startswith("redis") else {}
            self._async_storage = AsyncSlidingWindowCounterRateLimiter(
                storage_from_string(f"async+{storage_uri}", **options)
            )
        #: The counters in memory: the configured store for memory://, else the stand-in while the
        #: shared store fails.
        self._memory = WindowCounters(clock)
        self._failed_at: float | None = None
        self._parsed: dict[str, RateLimitItem] = {}

    def _limit(self, text: str) -> RateLimitItem:
        item = self._parsed.get(text)
        if item is None:
            item = self._parsed[text] = parse(text)
        return item

    def _storage_failing(self) -> bool:
        return self._failed_at is not None and time.monotonic() - self._failed_at <= STORAGE_RETRY_SECONDS

    def hit(self, rate_limit: str, prefix: str, client: str) -> Breach | None:
        """Count one request of ``client`` to the route ``prefix``; the breach when it is over ``rate_limit``."""
        limit = self._limit(rate_limit)
        if self._storage is None or self._storage_failing():
            return self._count_in_memory(limit, rate_limit, prefix, client)
        try:
            allowed = self._storage.hit(limit, _NAMESPACE, prefix, client)
            if allowed:
                self._failed_at = None
                return None
            reset_at = self._storage.get_window_stats(limit, _NAMESPACE, prefix, client).reset_time
        except Exception as exc:  # the storage (Redis) failed: count in memory meanwhile, never refuse for it
            logger.warning("rate-limit storage unreachable (%s): counting in memory", exc.__class__.__name__)
            self._failed_at = time.monotonic()
            return self._count_in_memory(limit, rate_limit, prefix, client)
        self._failed_at = None
        return _breach(limit, reset_at - self._clock())

    async def hit_async(self, rate_limit: str, prefix: str, client: str) -> Breach | None:
        """:meth:`hit` for the event loop: a store over the network (Redis) is asked without blocking it.

        The same rules: a failing store refuses nothing, counting goes on in memory meanwhile.
        """
        if self._async_storage is None:
            return self.hit(rate_limit, prefix, client)
        limit = self._limit(rate_limit)
        if self._storage_failing():
            return self._count_in_memory(limit, rate_limit, prefix, client)
        try:
            allowed = await self._async_storage.hit(limit, _NAMESPACE, prefix, client)
            if allowed:
                self._failed_at = None
                return None
            stats = await self._async_storage.get_window_stats(limit, _NAMESPACE, prefix, client)
        except Exception as exc:  # the storage (Redis) failed: count in memory meanwhile, never refuse for it
            logger.warning("rate-limit storage unreachable (%s): counting in memory", exc.__class__.__name__)
            self._failed_at = time.monotonic()
            return self._count_in_memory(limit, rate_limit, prefix, client)
        self._failed_at = None
        return _breach(limit, stats.reset_time - self._clock())

    def _count_in_memory(self, limit: RateLimitItem, rate_limit: str, prefix: str, client: str) -> Breach | None:
        wait = self._memory.hit(limit, (rate_limit, prefix, client))
        return None if wait is None else _breach(limit, wait)


def _breach(limit: RateLimitItem, reset_in: float) -> Breach:
    # Whole seconds, at least one; never more than one window of the limit.
    wait = min(int(limit.get_expiry()), max(1, math.ceil(reset_in)))
    return Breach(limit=limit, retry_after=wait)
