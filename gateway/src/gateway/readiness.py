"""``/readyz`` for the gateway: each upstream's ``/healthz``, asked in parallel and cached a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from flask import Response, jsonify

from .routes import RouteTable

__all__ = ["UpstreamHealth"]

PROBE_TIMEOUT_SECONDS = (0.5, 1.0)


class UpstreamHealth:
    """Whether the upstreams answer; ``policy`` ``all`` needs every one, ``any`` at least one.

    ``any`` keeps every gateway pod in service while one upstream is down (its routes then answer
    503 quickly), which is what a multi-pod deployment usually wants; ``all`` is the default.
    """

    def __init__(
        self,
        routes: Callable[[], RouteTable],
        *,
        session_for: Callable[[str], requests.Session],
        cache_seconds: float,
        policy: str = "all",
    ) -> None:
        self._routes = routes
        self._session_for = session_for
        self.cache_seconds = cache_seconds
        self.policy = policy
        self._checked_at = float("-inf")
        self._results: dict[str, str] = {}
        self._lock = threading.Lock()

    def results(self) -> dict[str, str]:
        """Service name -> ``ok`` or ``unavailable: <reason>``."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self.cache_seconds:
                upstreams = self._routes().upstreams()
                with ThreadPoolExecutor(max_workers=max(1, len(upstreams))) as pool:
                    answers = pool.map(self._probe, upstreams.values())
                    self._results = dict(zip(upstreams, answers, strict=True))
                self._checked_at = time.monotonic()
            return dict(self._results)

    def _probe(self, base_url: str) -> str:
        try:
            response = self._session_for(base_url).get(f"{base_url}/healthz", timeout=PROBE_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return f"unavailable: {exc.__class__.__name__}"
        return "ok" if response.status_code == 200 else f"unavailable: HTTP {response.status_code}"

    def view(self) -> tuple[Response, int]:
        results = self.results()
        answering = sum(1 for outcome in results.values() if outcome == "ok")
        ready = answering == len(results) if self.policy == "all" else answering > 0
        status = "ready" if answering == len(results) else ("degraded" if ready else "not-ready")
        return jsonify(status=status, service="gateway", checks=results), 200 if ready else 503
