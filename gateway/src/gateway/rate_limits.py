"""Rate-limit storage: ``limits``' in-memory store without a timer thread per counted request.

``limits.storage.MemoryStorage`` starts a fresh ``threading.Timer`` on a hit whenever the previous
one (10 ms) has fired, i.e. up to a hundred thread starts a second on a busy gateway, and it scans
every key each time. This variant sweeps expired counters from one daemon thread once a second;
counting is unchanged, since the store already expires a counter when it is read.
Selected by ``RATELIMIT_STORAGE_URI=memory://`` (the default); ``redis://`` is used as it is.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

from limits.storage import MemoryStorage

__all__ = ["SweepingMemoryStorage", "storage_uri_for"]

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
    """The storage URI to give Flask-Limiter: ours for ``memory://`` when ``limits`` still has the hooks."""
    if configured.startswith("memory://") and hasattr(MemoryStorage, _EXPIRE) and hasattr(MemoryStorage, _SCHEDULE):
        return "gateway-memory://" + configured.removeprefix("memory://")
    return configured
