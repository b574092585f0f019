"""Criminal-record certificate rules: purposes, validity, statuses, numbers, verification codes and
the verification failure budget, masking. No I/O here."""

from __future__ import annotations

import calendar
import enum
import math
import re
import secrets
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mai_chassis.auth import ANY_UNIT

from .errors import UnknownPurpose

__all__ = [
    "ANY_UNIT",
    "PURPOSE_TEXT_MAX",
    "ROMANIAN_TIME",
    "VALIDITY_MONTHS",
    "VERIFICATION_CODE_ALPHABET",
    "VERIFICATION_CODE_LENGTH",
    "ApplicationStatus",
    "CivilStatus",
    "FailureBudget",
    "Purpose",
    "PurposeCatalogue",
    "ReferralOutcome",
    "RegistryAnswer",
    "UnknownPurpose",
    "VerificationAttempts",
    "VerificationResult",
    "acts_in",
    "add_months",
    "application_day",
    "can_be_downloaded",
    "canonical_verification_code",
    "format_registration_number",
    "format_verification_code",
    "is_printable_text",
    "is_valid_cnp",
    "mask_name",
    "new_verification_code",
    "normalise_registration_number",
    "valid_until",
    "verification_result",
]

#: Days (for "one application per purpose per day") are Romanian calendar days.
ROMANIAN_TIME = ZoneInfo("Europe/Bucharest")
VALIDITY_MONTHS = 6
REGISTRATION_PREFIX = "CJ"
_REGISTRATION_SHAPE = re.compile(r"^CJ-\d{4}-\d{7,}$")
_CNP_WEIGHTS = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)
#: Assurance levels (eIDAS) that let a citizen apply online.
SUFFICIENT_ASSURANCE = frozenset({"substantial", "high"})
#: Crockford's base 32: digits and capitals without I, L, O and U, so nothing reads as something else.
VERIFICATION_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: 12 symbols of 5 bits: 60 random bits, beyond guessing at any rate the gateway lets through.
VERIFICATION_CODE_LENGTH = 12
_CODE_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: What an applicant may write for purpose "other": printed on a signed document, so kept short
#: and marked on the page as declared by the applicant.
PURPOSE_TEXT_MAX = 100


class ApplicationStatus(enum.StrEnum):
    ISSUED = "issued"
    REFERRED = "referred"
    REVOKED = "revoked"


class ReferralOutcome(enum.StrEnum):
    """What the counter found about an application referred to it because of a registry entry."""

    #: The entry does not bar a certificate (another person's, or rehabilitated): the counter issues it.
    CLEARED = "cleared"
    #: The entry stands: no certificate from this service; the registry's own procedure follows.
    ENTRY_CONFIRMED = "entry_confirmed"
    #: The applicant withdrew the application.
    WITHDRAWN = "withdrawn"


class VerificationResult(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Purpose:
    code: str
    label_ro: str
    label_en: str
    #: The applicant must say in words what the certificate is for ("other").
    requires_text: bool = False


class PurposeCatalogue:
    """The purposes a certificate can be requested for, in display order."""

    def __init__(self, purposes: Iterable[Purpose]) -> None:
        self._purposes = {purpose.code: purpose for purpose in purposes}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._purposes.values())

    def __contains__(self, code: object) -> bool:
        return code in self._purposes

    def resolve(self, code: str, text: str | None) -> tuple[Purpose, str | None]:
        """The purpose and its free text (kept only where the purpose asks for one)."""
        purpose = self._purposes.get(code)
        if purpose is None:
            raise UnknownPurpose(f"unknown purpose {code!r}")
        text = " ".join((text or "").split()) or None
        if purpose.requires_text and not text:
            raise UnknownPurpose(f"purpose {code!r} needs a description")
        if purpose.requires_text and text and (len(text) > PURPOSE_TEXT_MAX or not is_printable_text(text)):
            raise UnknownPurpose(f"the description must be plain text of at most {PURPOSE_TEXT_MAX} characters")
        return purpose, text if purpose.requires_text else None

    @classmethod
    def from_mapping(cls, rows: Iterable[Mapping[str, object]]) -> PurposeCatalogue:
        return cls(
            Purpose(
                code=str(row["code"]),
                label_ro=str(row["label_ro"]),
                label_en=str(row["label_en"]),
                requires_text=bool(row.get("requires_text", False)),
            )
            for row in rows
        )


@dataclass(frozen=True)
class CivilStatus:
    """The applicant's identity as identity-svc verified it: all a certificate prints about a person.

    Only what identity verification establishes is read: the CNP and the names (asserted by the
    electronic-identification provider or checked on the ID document at a counter) and the birth
    date (part of the CNP). What the citizen merely typed into their profile (address, birth place,
    parents' names, citizenship) never reaches a signed certificate.
    """

    cnp: str
    last_name: str
    first_name: str
    birth_date: date
    email: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:  # never let a CNP reach a log line through a repr
        return "CivilStatus(<personal data>)"


@dataclass(frozen=True)
class RegistryAnswer:
    """What the criminal-records registry says about a person."""

    has_entry: bool
    #: The unit whose counter handles the person's file, when there is an entry.
    unit: str | None = None


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; the last day of the month where that day does not exist."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def valid_until(issued_at: datetime) -> datetime:
    """Certificates are valid six months from the moment of issue."""
    return add_months(issued_at, VALIDITY_MONTHS)


def application_day(moment: datetime) -> date:
    """The Romanian calendar day of an instant."""
    return moment.astimezone(ROMANIAN_TIME).date()


def verification_result(
    status: ApplicationStatus | str | None, expires_at: datetime | None, now: datetime
) -> VerificationResult:
    """What a verifier is told about a certificate in ``status`` at ``now``."""
    if status == ApplicationStatus.REVOKED:
        return VerificationResult.REVOKED
    if status != ApplicationStatus.ISSUED or expires_at is None:
        return VerificationResult.NOT_FOUND
    return VerificationResult.VALID if now < as_utc(expires_at) else VerificationResult.EXPIRED


def as_utc(moment: datetime) -> datetime:
    """Stored instants are UTC; some databases (SQLite) hand them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def can_be_downloaded(status: ApplicationStatus | str, expires_at: datetime | None, now: datetime) -> bool:
    return verification_result(status, expires_at, now) is VerificationResult.VALID


def format_registration_number(year: int, sequence: int) -> str:
    """``CJ-2025-0004512``: unique because the sequence never repeats, across years too."""
    return f"{REGISTRATION_PREFIX}-{year:04d}-{sequence:07d}"


def normalise_registration_number(raw: str) -> str | None:
    """The number as printed, from what a person typed (case, spaces); None if it cannot be one."""
    candidate = re.sub(r"\s+", "", raw).upper()
    return candidate if _REGISTRATION_SHAPE.match(candidate) else None


def mask_name(full_name: str) -> str:
    """``Ion Popescu`` -> ``I*** P***``: enough to recognise, without revealing the name."""
    return " ".join(f"{part[0]}***" for part in full_name.split() if part)


def is_printable_text(text: str) -> bool:
    """Text a signed page may show as typed: no control or format characters (a bidirectional
    override could make printed words read differently from what was stored)."""
    return all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


def new_verification_code() -> str:
    """A random verification code for a certificate (only its keyed hash is stored)."""
    return "".join(secrets.choice(VERIFICATION_CODE_ALPHABET) for _ in range(VERIFICATION_CODE_LENGTH))


def format_verification_code(code: str) -> str:
    """``7K2QMXPA9D4T`` -> ``7K2Q-MXPA-9D4T``: printed in groups of four, for reading and typing."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def canonical_verification_code(raw: str) -> str | None:
    """The code as issued, from what a person typed (case, spaces, dashes and look-alikes forgiven);
    None if it cannot be one."""
    cleaned = re.sub(r"[\s-]+", "", raw).upper().translate(_CODE_LOOKALIKES)
    if len(cleaned) != VERIFICATION_CODE_LENGTH or any(ch not in VERIFICATION_CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


@dataclass(frozen=True)
class FailureBudget:
    """How many wrong CNPs a registration number takes before verification by CNP is locked.

    ``failures`` wrong CNPs within ``window`` lock the number for ``lock``, doubled for each lock
    that follows without a quiet ``window`` in between, up to ``max_lock``. With a birth date and
    sex known about 52,000 CNPs remain; five guesses a day or fewer leave a six-month certificate's
    CNP practically out of reach, while a person who mistypes still has room.
    """

    failures: int = 5
    window: timedelta = timedelta(hours=24)
    lock: timedelta = timedelta(hours=24)
    max_lock: timedelta = timedelta(days=30)

    def lock_for(self, earlier_locks: int) -> timedelta:
        return min(self.lock * (1 << min(earlier_locks, 16)), self.max_lock)


@dataclass(frozen=True)
class VerificationAttempts:
    """Wrong CNPs given for one registration number (existing or not: the answer must not tell)."""

    failures: int = 0
    window_started_at: datetime | None = None
    locked_until: datetime | None = None
    locks: int = 0

    def seconds_locked(self, now: datetime) -> int:
        """Whole seconds until a CNP may be tried again (0: not locked)."""
        if self.locked_until is None or as_utc(self.locked_until) <= now:
            return 0
        return max(1, math.ceil((as_utc(self.locked_until) - now).total_seconds()))

    def after_failure(self, now: datetime, budget: FailureBudget) -> VerificationAttempts:
        """The record once one more wrong CNP has been given at ``now``."""
        quiet_since = self.locked_until or self.window_started_at
        locks = self.locks if quiet_since is not None and now < as_utc(quiet_since) + budget.window else 0
        window_open = self.window_started_at is not None and now < as_utc(self.window_started_at) + budget.window
        failures = self.failures + 1 if window_open else 1
        started = self.window_started_at if window_open else now
        if failures < budget.failures:
            return replace(self, failures=failures, window_started_at=started, locks=locks)
        return VerificationAttempts(
            failures=0, window_started_at=None, locked_until=now + budget.lock_for(locks), locks=locks + 1
        )

    def forgotten_after(self, budget: FailureBudget) -> datetime | None:
        """When the record says nothing any more and may be deleted."""
        ends = [as_utc(t) + budget.window for t in (self.window_started_at, self.locked_until) if t is not None]
        return max(ends) if ends else None


def is_valid_cnp(cnp: str) -> bool:
    """A Romanian personal numeric code: 13 digits whose last is the check digit."""
    if len(cnp) != 13 or not cnp.isascii() or not cnp.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(cnp[:12], _CNP_WEIGHTS, strict=True))
    check = total % 11
    return (1 if check == 10 else check) == int(cnp[12])


def has_sufficient_assurance(level: str | None) -> bool:
    return level in SUFFICIENT_ASSURANCE


def acts_in(units: Collection[str], unit: str) -> bool:
    """Whether a staff member holding a role in ``units`` holds it in ``unit`` (``*``: every unit)."""
    return unit in units or ANY_UNIT in units
