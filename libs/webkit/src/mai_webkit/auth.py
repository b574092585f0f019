"""Signing in and out, and calling the API as the signed-in person.

The identity service's tokens live in the server-side session (:mod:`mai_webkit.sessions`), never
in the browser. :func:`call_api` sends the access token and, when it has expired (a 401), trades
the refresh token for a new pair once and repeats the call; when that fails too the session is
signed out and :class:`SignInRequired` sends the person to the sign-in page.

Pages that need a signed-in person use :func:`login_required`; the sign-in page takes a ``next``
that :func:`safe_next` accepts only as a path on this site.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import requests
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from .api import ApiError, ApiProblem, api
from .sessions import end_session, renew_session_id

__all__ = [
    "SignInRequired",
    "answer_sign_in",
    "call_api",
    "current_path",
    "is_signed_in",
    "login_required",
    "refresh_session",
    "request_tokens",
    "revoke_tokens",
    "safe_next",
    "sign_in",
    "sign_in_form",
    "sign_in_refusal",
    "sign_out",
    "signed_in_claims",
    "start_session",
    "token_claims",
]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_TOKENS = "api_tokens"
_CLAIMS = "api_claims"
#: The access token's claims kept beside it: what a page may show or offer, never what it may do.
KEPT_CLAIMS = ("sub", "kind", "roles", "acr")
#: An access token this close to its expiry is refreshed before it is sent.
REFRESH_MARGIN_SECONDS = 20


class SignInRequired(HTTPException):
    """The page needs a signed-in person; answered with a redirect to the sign-in page."""

    code = 303

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__()
        self.next_path = next_path

    def get_response(self, environ: Any = None, scope: Any = None) -> Any:
        return redirect(sign_in_url(self.next_path), code=303)


def current_path() -> str:
    """This page's address on the site, with the front end's mount point (``/staff/queue?page=2``)."""
    return request.script_root + request.full_path.rstrip("?")


def sign_in_url(next_path: str | None = None) -> str:
    endpoint = current_app.config.get("WEBKIT_SIGN_IN_ENDPOINT", "auth.sign_in")
    target = safe_next(next_path) if next_path else None
    return url_for(endpoint, next=target) if target else url_for(endpoint)


def safe_next(candidate: str | None, default: str = "/") -> str:
    """``candidate`` if it is a path on this site (``/account``), else ``default``.

    Refused: absolute URLs, scheme-relative ``//host``, back-slashes browsers read as slashes,
    control characters.
    """
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return default
    if "\\" in candidate or any(ord(c) < 32 or ord(c) == 127 for c in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    return candidate


def is_signed_in() -> bool:
    return _TOKENS in session


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of an access token the identity service just gave us, read without checking its
    signature: for choosing what a page shows (the navigation a staff member's roles open), never for
    deciding what is allowed — every API call is checked by the service that answers it. ``{}`` for a
    token that is not a JWT."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return {name: payload[name] for name in KEPT_CLAIMS if name in payload} if isinstance(payload, dict) else {}


def _store(pair: dict[str, Any]) -> None:
    session[_TOKENS] = {
        "access": pair["access_token"],
        "refresh": pair["refresh_token"],
        "expires_at": time.time() + int(pair.get("expires_in", 0)),
    }
    session[_CLAIMS] = token_claims(pair["access_token"])


def signed_in_claims() -> dict[str, Any]:
    """What the signed-in person's access token says about them (``sub``, ``kind``, ``roles`` ...); ``{}``
    when nobody is signed in."""
    claims = session.get(_CLAIMS) if is_signed_in() else None
    return dict(claims) if isinstance(claims, dict) else {}


def request_tokens(email: str, password: str) -> dict[str, Any]:
    """The password step: the identity service's answer (a token pair) without starting a session;
    :class:`ApiProblem` when it refuses (401, 429, ...)."""
    answer: dict[str, Any] = api().post("/api/v1/auth/login", json={"email": email, "password": password}).json()
    return answer


def start_session(pair: dict[str, Any]) -> None:
    """Keep the token pair in a session under a new id (a session id planted before is worth nothing)."""
    renew_session_id()
    _store(pair)


def revoke_tokens(pair: dict[str, Any]) -> None:
    """Revoke a pair that will not be kept (best effort)."""
    try:
        api().post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    except ApiError as exc:
        logger.warning("a refused sign-in's refresh token could not be revoked (%s)", exc.__class__.__name__)


def sign_in(email: str, password: str) -> None:
    """Sign in with the identity service; :class:`ApiProblem` when it refuses (401, 429, ...)."""
    start_session(request_tokens(email, password))


def sign_in_form(form: Any, next_path: str) -> ResponseReturnValue:
    """A site's sign-in page (``auth/sign_in.html``) showing ``form``: 400 when it came back invalid."""
    status = 400 if form.is_submitted() else 200
    return render_template("auth/sign_in.html", form=form, next_path=next_path), status


def sign_in_refusal(problem: ApiProblem, *, disabled: str, unconfirmed: str) -> str:
    """Why identity-svc refused the e-mail and password, to show beside the form: a wrong pair, too
    many attempts, or the site's own words for an account ``disabled`` or not yet ``unconfirmed``;
    any other problem is raised again."""
    if problem.status == 401:
        return str(gettext("The e-mail address or the password is wrong."))
    if problem.status == 429:
        return str(gettext("Too many failed attempts. Wait a few minutes, then try again."))
    if problem.kind == "account-disabled":
        return disabled
    if problem.kind == "email-unconfirmed":
        return unconfirmed
    raise problem


def answer_sign_in(form: Any, next_path: str, refused: str | None, *, welcome: str) -> ResponseReturnValue:
    """The end of a site's sign-in: the form again (400) with why it was ``refused``, the password
    cleared; else ``welcome`` flashed and on to ``next_path``."""
    if refused:
        form.page_errors.append(refused)
        form.password.data = ""
        return render_template("auth/sign_in.html", form=form, next_path=next_path), 400
    flash(welcome, "success")
    return redirect(next_path, code=303)


def sign_out() -> None:
    """Revoke the refresh token (best effort) and end the session."""
    tokens = session.get(_TOKENS)
    if tokens:
        try:
            api().post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh"]})
        except ApiError as exc:  # the session ends here whatever the API says
            logger.warning("sign-out: the refresh token could not be revoked (%s)", exc.__class__.__name__)
    end_session()


def _refresh() -> bool:
    tokens = session.get(_TOKENS)
    if not tokens:
        return False
    try:
        pair = api().post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh"]}).json()
    except ApiProblem as problem:
        if problem.status in (400, 401, 403, 422):
            return False
        raise
    _store(pair)
    return True


def refresh_session() -> bool:
    """Trade the refresh token for a new pair now, so that the access token carries what just changed
    (a verified identity, say); ``False`` when there is no session any more."""
    return _refresh()


def call_api(method: str, path: str, **options: Any) -> requests.Response:
    """Call the API as the signed-in person; :class:`SignInRequired` when there is none (any more)."""
    tokens = session.get(_TOKENS)
    if not tokens:
        raise SignInRequired(current_path() if request.method == "GET" else None)
    if tokens["expires_at"] - time.time() < REFRESH_MARGIN_SECONDS and not _refresh():
        end_session()
        raise SignInRequired(current_path() if request.method == "GET" else None)
    try:
        return api().request(method, path, token=session[_TOKENS]["access"], **options)
    except ApiProblem as problem:
        if problem.status != 401:
            raise
    if not _refresh():
        end_session()
        raise SignInRequired(current_path() if request.method == "GET" else None)
    return api().request(method, path, token=session[_TOKENS]["access"], **options)


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """The page is for signed-in people; others go to the sign-in page, and come back after it."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not is_signed_in():
            raise SignInRequired(current_path() if request.method == "GET" else None)
        return view(*args, **kwargs)

    return wrapper
