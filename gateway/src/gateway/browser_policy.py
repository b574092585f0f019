"""What browsers are told on every response: security headers and CORS."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from flask import Flask, Response, request
from multidict import CIMultiDict

__all__ = [
    "API_CONTENT_SECURITY_POLICY",
    "DOCS_CDN",
    "DOCS_CONTENT_SECURITY_POLICY",
    "BrowserPolicy",
    "install_browser_policy",
]

#: Where the interactive docs' script and stylesheet come from (pinned, integrity-checked).
DOCS_CDN = "https://cdn.jsdelivr.net"

# API answers are data, never a page: nothing may load, run or frame them.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs page runs Swagger UI from the CDN and its own initialiser; it only talks to the gateway.
# Swagger UI sets style attributes from script, hence 'unsafe-inline' for styles only.
DOCS_CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self' {DOCS_CDN}; style-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_SECURITY_HEADERS = {
    "Content-Security-Policy": API_CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_CORS_ALLOWED_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, Proof-Of-Work, X-Request-ID, traceparent, tracestate"
)
_CORS_EXPOSED_HEADERS = "X-Request-ID, Retry-After, Location, Content-Disposition, RateLimit-Policy"
_CORS_MAX_AGE_SECONDS = "600"


class BrowserPolicy:
    """The headers of the policy, for the Flask pages and for the forwarded answers (:mod:`gateway.edge`)."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        self.origins = frozenset(origin.rstrip("/") for origin in allowed_origins)

    def preflight(self, origin: str) -> dict[str, str]:
        """The headers of a preflight's 204: the allowed methods and headers for an allowed origin, else none."""
        if origin not in self.origins:
            return {}
        return {
            "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
            "Access-Control-Allow-Headers": _CORS_ALLOWED_HEADERS,
            "Access-Control-Max-Age": _CORS_MAX_AGE_SECONDS,
        }

    def apply(self, headers: MutableMapping[str, str], origin: str) -> None:
        """Add the security headers the answer does not set itself (an upstream or the docs page may),
        and CORS for an allowed origin."""
        if isinstance(headers, CIMultiDict):  # the event loop's answers: a lookup by any case in C
            for name, value in _SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        else:  # werkzeug's headers look a name up by scanning them: one scan, not one per name
            present = {name.lower() for name in headers.keys()}
            for name, value in _SECURITY_HEADERS.items():
                if name.lower() not in present:
                    headers[name] = value
        if origin and origin in self.origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = _CORS_EXPOSED_HEADERS
        if self.origins:
            vary = headers.get("Vary", "")
            if "origin" not in vary.lower():
                headers["Vary"] = f"{vary}, Origin" if vary else "Origin"


def install_browser_policy(app: Flask, *, allowed_origins: Iterable[str]) -> None:
    """Security headers on every response; CORS for the configured origins only.

    Preflight requests (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here and
    never reach an upstream. Credentials (cookies) are not allowed across origins: the API takes
    bearer tokens.
    """
    policy = BrowserPolicy(allowed_origins)

    @app.before_request
    def _answer_preflight() -> Response | None:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        return Response(status=204, headers=policy.preflight(request.headers.get("Origin", "")))

    @app.after_request
    def _browser_headers(response: Response) -> Response:
        policy.apply(response.headers, request.headers.get("Origin", ""))  # type: ignore[arg-type]
        return response
