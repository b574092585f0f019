"""Per-route rate limits, counted with ``limits`` (sliding window counter), and their in-memory store.

:class:`RouteRateLimits` counts each request against its route's limit, per client address and
route prefix, in the configured storage. It is ``limits`` used directly: Flask-Limiter, which the
gateway used before, checked every request twice (in its ``before_request`` hook and again in the
view's wrapper) and resolved the route's limit through several layers each time; in the gateway's
profile that was about a sixth of a proxied request's CPU. The rules are the same: a request over
the limit is refused with 429 before the upstream is called, and a storage that fails (Redis away)
never refuses a request: counting goes on in the process' memory, and the storage is tried again
after :data:`STORAGE_RETRY_SECONDS`.

``limits.storage.MemoryStorage`` starts a fresh ``threading.Timer`` on a hit whenever the previous
one (10 ms) has fired, i.e. up to a hundred thread starts a second on a busy gateway, and it scans
every key each time. This variant sweeps expired counters from one daemon thread once a second;
counting is unchanged, since the store already expires a counter when it is read.
Selected by ``RATELIMIT_STORAGE_URI=memory://`` (the default). With ``redis://`` the gateway's event
loop counts through ``limits.aio`` on ``redis.asyncio`` (:meth:`RouteRateLimits.hit_async`): a
request waiting for Redis's answer holds no thread and blocks no other request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindowCounterRateLimiter
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

__all__ = ["STORAGE_RETRY_SECONDS", "Breach", "RouteRateLimits", "SweepingMemoryStorage", "storage_uri_for"]

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 1.0
_EXPIRE = "_MemoryStorage__expire_events"
_SCHEDULE = "_MemoryStorage__schedule_expiry"


class SweepingMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["gateway-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        store = weakref.ref(self)
        threading.Thread(target=_sweep, args=(store,), name="rate-limit-sweeper", daemon=True).start()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - replaces the per-hit timer
        pass


def _sweep(store: weakref.ref[SweepingMemoryStorage]) -> None:
    while (instance := store()) is not None:
        try:
            getattr(instance, _EXPIRE)()
        except Exception:  # a failed sweep only delays freeing memory
            logger.exception("rate-limit counter sweep failed")
        del instance
        time.sleep(SWEEP_INTERVAL_SECONDS)


def storage_uri_for(configured: str) -> str:
    """The storage URI to count in: ours for ``memory://`` when ``limits`` still has the hooks."""
    if configured.startswith("memory://") and hasattr(MemoryStorage, _EXPIRE) and hasattr(MemoryStorage, _SCHEDULE):
        return "gateway-memory://" + configured.removeprefix("memory://")
    return configured


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

    def __init__(self, storage_uri: str) -> None:
        self._storage = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri_for(storage_uri)))
        #: For a store over the network, its asyncio client (``limits.aio``, ``redis.asyncio`` for
        #: Redis), which :meth:`hit_async` counts with; None for the in-process memory store.
        self._async_storage: AsyncSlidingWindowCounterRateLimiter | None = None
        if not storage_uri.startswith("memory://"):
            options = {"implementation": "redispy"} if storage_uri.startswith("redis") else {}
            self._async_storage = AsyncSlidingWindowCounterRateLimiter(
                storage_from_string(f"async+{storage_uri}", **options)
            )
        self._memory: SlidingWindowCounterRateLimiter | None = None
        self._failed_at: float | None = None
        self._parsed: dict[str, RateLimitItem] = {}
        self._lock = threading.Lock()

    def _limit(self, text: str) -> RateLimitItem:
        item = self._parsed.get(text)
        if item is None:
            item = self._parsed[text] = parse(text)
        return item

    def _counter(self) -> SlidingWindowCounterRateLimiter:
        if self._failed_at is None or time.monotonic() - self._failed_at > STORAGE_RETRY_SECONDS:
            return self._storage
        return self._in_memory()

    def _in_memory(self) -> SlidingWindowCounterRateLimiter:
        with self._lock:
            if self._memory is None:
                self._memory = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri_for("memory://")))
            return self._memory

    def hit(self, rate_limit: str, prefix: str, client: str) -> Breach | None:
        """Count one request of ``client`` to the route ``prefix``; the breach when it is over ``rate_limit``."""
        limit = self._limit(rate_limit)
        counter = self._counter()
        try:
            allowed = counter.hit(limit, _NAMESPACE, prefix, client)
        except Exception as exc:  # the storage (Redis) failed: count in memory meanwhile, never refuse for it
            if counter is not self._storage:
                logger.error("rate-limit counting failed: %s", exc.__class__.__name__)
                return None
            logger.warning("rate-limit storage unreachable (%s): counting in memory", exc.__class__.__name__)
            self._failed_at = time.monotonic()
            counter = self._in_memory()
            allowed = counter.hit(limit, _NAMESPACE, prefix, client)
        else:
            if counter is self._storage:
                self._failed_at = None
        if allowed:
            return None
        return _breach(limit, counter.get_window_stats(limit, _NAMESPACE, prefix, client).reset_time)

    async def hit_async(self, rate_limit: str, prefix: str, client: str) -> Breach | None:
        """:meth:`hit` for the event loop: a store over the network (Redis) is asked without blocking it.

        The same rules: a failing store refuses nothing, counting goes on in memory meanwhile.
        """
        if self._async_storage is None:
            return self.hit(rate_limit, prefix, client)
        limit = self._limit(rate_limit)
        if self._failed_at is not None and time.monotonic() - self._failed_at <= STORAGE_RETRY_SECONDS:
            return self._count_in_memory(limit, prefix, client)
        try:
            allowed = await self._async_storage.hit(limit, _NAMESPACE, prefix, client)
            if allowed:
                self._failed_at = None
                return None
            stats = await self._async_storage.get_window_stats(limit, _NAMESPACE, prefix, client)
        except Exception as exc:  # the storage (Redis) failed: count in memory meanwhile, never refuse for it
            logger.warning("rate-limit storage unreachable (%s): counting in memory", exc.__class__.__name__)
            self._failed_at = time.monotonic()
            return self._count_in_memory(limit, prefix, client)
        self._failed_at = None
        return _breach(limit, stats.reset_time)

    def _count_in_memory(self, limit: RateLimitItem, prefix: str, client: str) -> Breach | None:
        counter = self._in_memory()
        if counter.hit(limit, _NAMESPACE, prefix, client):
            return None
        return _breach(limit, counter.get_window_stats(limit, _NAMESPACE, prefix, client).reset_time)


def _breach(limit: RateLimitItem, reset_at: float) -> Breach:
    # reset_at is whole seconds; never ask for more than one window of the limit.
    wait = min(int(limit.get_expiry()), max(1, math.ceil(reset_at - time.time())))
    return Breach(limit=limit, retry_after=wait)
