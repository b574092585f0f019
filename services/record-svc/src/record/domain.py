"""Criminal-record certificate rules: purposes, validity, statuses, numbers, masking. No I/O here."""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "ROMANIAN_TIME",
    "VALIDITY_MONTHS",
    "ApplicationStatus",
    "CivilStatus",
    "Purpose",
    "PurposeCatalogue",
    "RegistryAnswer",
    "UnknownPurpose",
    "VerificationResult",
    "add_months",
    "application_day",
    "can_be_downloaded",
    "format_registration_number",
    "is_valid_cnp",
    "mask_name",
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


class ApplicationStatus(enum.StrEnum):
    ISSUED = "issued"
    REFERRED = "referred"
    REVOKED = "revoked"


class VerificationResult(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_FOUND = "not_found"


class UnknownPurpose(ValueError):
    """The purpose code is not in the catalogue, or 'other' came without its text."""


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
        text = (text or "").strip() or None
        if purpose.requires_text and not text:
            raise UnknownPurpose(f"purpose {code!r} needs a description")
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
    """The applicant's civil-status data as identity-svc holds it (printed on the certificate)."""

    cnp: str
    last_name: str
    first_name: str
    birth_date: date
    birth_place: str
    father_first_name: str
    mother_first_name: str
    citizenship: str
    address: str
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


def is_valid_cnp(cnp: str) -> bool:
    """A Romanian personal numeric code: 13 digits whose last is the check digit."""
    if len(cnp) != 13 or not cnp.isascii() or not cnp.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(cnp[:12], _CNP_WEIGHTS, strict=True))
    check = total % 11
    return (1 if check == 10 else check) == int(cnp[12])


def has_sufficient_assurance(level: str | None) -> bool:
    return level in SUFFICIENT_ASSURANCE


class CertificateError(Exception):
    """Base of the refusals a certificate use case can end in."""


class IdentityNotVerified(CertificateError):
    """The applicant's identity was never verified (online with a bank card, or at a counter)."""


class CertificateNotFound(CertificateError):
    """No such certificate for this caller (another citizen's certificate is 'not found' too)."""


class CertificateNotDownloadable(CertificateError):
    """The certificate exists but is expired, revoked, or was never issued (referred)."""

    def __init__(self, result: VerificationResult | str) -> None:
        super().__init__(str(result))
        self.result = result


class CertificateNotRevocable(CertificateError):
    """Only an issued, not yet revoked certificate can be revoked."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class ContactUnknown(CertificateError):
    """No e-mail address is known for the account, so the applicant could not be told the outcome."""
