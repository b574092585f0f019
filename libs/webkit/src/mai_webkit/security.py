"""What every page tells the browser: a strict Content-Security-Policy and the other safety headers.

No inline script or style is allowed anywhere (``default-src 'self'``): pages load their CSS and
any script from the app's static files. ``Referrer-Policy: same-origin`` keeps our addresses (a
mail link's signed token, say) from leaking to other sites while letting Flask-WTF check, over
HTTPS, that a form was posted from one of our pages. Pages are ``no-store`` (the chassis' default:
they may show personal data); static files are cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request

__all__ = ["content_security_policy", "install_security_headers"]


def content_security_policy(*, form_action: Iterable[str] = ()) -> str:
    """The policy; ``form_action`` adds origins a form may post (or be redirected) to."""
    targets = " ".join(["'self'", *form_action])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; "
        f"form-action {targets}; frame-ancestors 'none'"
    )


def install_security_headers(app: Flask, *, form_action: Iterable[str] = ()) -> None:
    policy = content_security_policy(form_action=form_action)
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.endpoint and request.endpoint.endswith("static"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response
