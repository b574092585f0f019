"""The home page: every service, what each needs (an account, a verified identity), and how they run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from mai_webkit.api import ApiError, ApiProblem, api

__all__ = ["SERVICES", "blueprint"]

blueprint = Blueprint("home", __name__)


@dataclass(frozen=True)
class CitizenService:
    title: object
    summary: object
    href: str
    needs_account: bool
    needs_verified_identity: bool


SERVICES = (
    CitizenService(
        lazy_gettext("Send a petition or an opinion"),
        lazy_gettext("Write to the Ministry or one of its institutions. You get a registration number at once."),
        "/petitions/new",
        needs_account=False,
        needs_verified_identity=False,
    ),
    CitizenService(
        lazy_gettext("Check a petition's status"),
        lazy_gettext("With the registration number and the e-mail address you gave."),
        "/petitions/status",
        needs_account=False,
        needs_verified_identity=False,
    ),
    CitizenService(
        lazy_gettext("Criminal record certificate"),
        lazy_gettext("Issued online in minutes, signed electronically, valid for 6 months."),
        "/certificates",
        needs_account=True,
        needs_verified_identity=True,
    ),
    CitizenService(
        lazy_gettext("Check a certificate"),
        lazy_gettext("Anyone can check a certificate with its number and the code printed on it, or the holder's CNP."),
        "/certificates/verify",
        needs_account=False,
        needs_verified_identity=False,
    ),
    CitizenService(
        lazy_gettext("Immigration documents and appointments"),
        lazy_gettext("Apply for a residence document, upload your papers and book a visit at an office."),
        "/immigration",
        needs_account=True,
        needs_verified_identity=False,
    ),
    CitizenService(
        lazy_gettext("Institutions, questions and advice"),
        lazy_gettext("Who does what, how to reach them, answers to common questions, prevention advice."),
        "/institutions",
        needs_account=False,
        needs_verified_identity=False,
    ),
)

#: How long one answer of the gateway's /readyz is reused for the status line.
STATUS_CACHE_SECONDS = 15.0


class _StatusLine:
    """Whether every service answers, asked of the gateway at most every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = -STATUS_CACHE_SECONDS
        self._all_working: bool | None = None

    def all_working(self) -> bool | None:
        if time.monotonic() - self._checked_at < STATUS_CACHE_SECONDS:
            return self._all_working
        if not self._lock.acquire(blocking=False):
            return self._all_working  # another request is asking; do not queue behind it
        try:
            try:
                api().get("/readyz", timeout=2)
                self._all_working = True
            except ApiProblem:
                self._all_working = False
            except ApiError:
                self._all_working = None  # we cannot tell
            self._checked_at = time.monotonic()
        finally:
            self._lock.release()
        return self._all_working


_status_line = _StatusLine()


@blueprint.get("/", endpoint="index")
def home() -> ResponseReturnValue:
    return render_template("home/index.html", services=SERVICES, all_working=_status_line.all_working())
