"""identity-svc's own metrics (the chassis exports the HTTP and outbox ones)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter

from .errors import AccountDisabled, EmailUnconfirmed, LoginRefused, TooManyFailedLogins

SERVICE = "identity-svc"

SIGN_INS = Counter(
    "identity_sign_ins_total",
    "Password sign-ins by outcome: signed_in, second_factor (a staff member's next step), refused, throttled, "
    "disabled, unconfirmed.",
    ["service", "outcome"],
)
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (TooManyFailedLogins, "throttled"),
    (LoginRefused, "refused"),
    (AccountDisabled, "disabled"),
    (EmailUnconfirmed, "unconfirmed"),
)


@contextmanager
def counting_sign_in() -> Iterator[None]:
    """Count a refused sign-in by its reason (the error goes on); the caller counts the ones that pass."""
    try:
        yield
    except Exception as error:
        for kind, outcome in _REFUSALS:
            if isinstance(error, kind):
                SIGN_INS.labels(SERVICE, outcome).inc()
                break
        raise


def count_sign_in(outcome: str) -> None:
    SIGN_INS.labels(SERVICE, outcome).inc()
