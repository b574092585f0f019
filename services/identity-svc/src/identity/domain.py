"""Rules of accounts and identity, free of I/O: CNPs, civil status, codes, lockouts, roles, sessions."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.ro import cnp as stdnum_cnp

__all__ = [
    "IDENTITY_FIELDS",
    "AccountKind",
    "AssuranceLevel",
    "CivilStatus",
    "IdentityFreeze",
    "IdentityFrozenError",
    "IdentityMismatchError",
    "InvalidCnpError",
    "MailCodePurpose",
    "StaffRole",
    "VerificationMethod",
    "assert_identity_matches",
    "birth_date_of",
    "can_grant",
    "counter_code",
    "failure_delay",
    "identity_freeze",
    "mail_code",
    "normalise_email",
    "same_name",
    "validate_cnp",
]

# Crockford's base32 without look-alikes (no I, L, O, U): easy to read out at a counter or type.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class AccountKind(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"


class AssuranceLevel(StrEnum):
    """Identity assurance (eIDAS levels); ``none`` until the identity is verified."""

    NONE = "none"
    SUBSTANTIAL = "substantial"
    HIGH = "high"


class VerificationMethod(StrEnum):
    EID_PROVIDER = "eid_provider"
    COUNTER = "counter"


class MailCodePurpose(StrEnum):
    EMAIL_CONFIRMATION = "email_confirmation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password


class StaffRole(StrEnum):
    PETITION_CLERK = "petition_clerk"
    PHONE_OPERATOR = "phone_operator"
    COUNTER_CLERK = "counter_clerk"
    IMMIGRATION_OFFICER = "immigration_officer"
    CERTIFICATE_CLERK = "certificate_clerk"
    OFFICE_MANAGER = "office_manager"  # an immigration office's hours, capacity and closures (booking-svc)
    ADMIN = "admin"


ANY_UNIT = "*"


class InvalidCnpError(ValueError):
    """A CNP whose format, checksum or birth date is wrong."""


class IdentityFreeze(StrEnum):
    """Why a profile's identity fields cannot change now."""

    VERIFICATION_PENDING = "verification-pending"
    VERIFIED = "verified"


class IdentityFrozenError(PermissionError):
    """Identity fields were asked to change while they are frozen."""

    def __init__(self, fields: list[str], reason: IdentityFreeze) -> None:
        super().__init__(fields, reason)
        self.fields = fields
        self.reason = reason


class IdentityMismatchError(ValueError):
    """Identity evidence (a provider's answer, a checked document) does not match the account."""


def validate_cnp(value: str) -> str:
    """The CNP in compact form, or :class:`InvalidCnpError` saying what is wrong (never echoing it)."""
    try:
        return str(stdnum_cnp.validate(value))
    except InvalidChecksum:
        raise InvalidCnpError("The CNP's check digit is wrong.") from None
    except InvalidComponent:
        raise InvalidCnpError("The CNP encodes an impossible birth date or an unknown county.") from None
    except (InvalidFormat, InvalidLength):
        raise InvalidCnpError("A CNP has exactly 13 digits.") from None


def birth_date_of(cnp: str) -> date:
    return stdnum_cnp.get_birth_date(cnp)  # type: ignore[no-any-return]


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively (every mainstream provider treats them so)."""
    return email.strip().casefold()


def _fold(name: str) -> str:
    without_marks = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(without_marks.replace("-", " ").casefold().split())


def same_name(a: str, b: str) -> bool:
    """Names match whatever the diacritics (ș/ş/s), case, hyphens and spacing."""
    return _fold(a) == _fold(b)


IDENTITY_FIELDS = frozenset(
    {
        "last_name",
        "first_name",
        "cnp",
        "birth_date",
        "birth_place",
        "father_first_name",
        "mother_first_name",
        "citizenship",
    }
)
"""Fields frozen from the start of an identity verification on (the address stays editable)."""


def identity_freeze(*, verified: bool, verification_pending: bool) -> IdentityFreeze | None:
    """Identity fields are frozen once a verification has started, and for good once it succeeded.

    A verification compares evidence (a provider's answer, a checked document) with the profile as it
    stands when the evidence arrives; an edit in between would let the account end up verified
    under data the evidence never named.
    """
    if verified:
        return IdentityFreeze.VERIFIED
    if verification_pending:
        return IdentityFreeze.VERIFICATION_PENDING
    return None


@dataclass
class CivilStatus:
    """A citizen's civil-status data as the domain sees it (the CNP in clear, in memory only)."""

    last_name: str
    first_name: str
    cnp: str
    birth_date: date
    birth_place: str | None = None
    father_first_name: str | None = None
    mother_first_name: str | None = None
    citizenship: str = "RO"
    address: str | None = None

    def changed(self, changes: dict[str, object], *, frozen: IdentityFreeze | None) -> CivilStatus:
        """A copy with ``changes`` applied; identity fields cannot change while ``frozen``."""
        locked = sorted(set(changes) & IDENTITY_FIELDS) if frozen else []
        if locked:
            assert frozen is not None
            raise IdentityFrozenError(locked, frozen)
        values = {**self.__dict__, **changes}
        if "cnp" in changes:
            values["cnp"] = validate_cnp(str(changes["cnp"]))
        expected = birth_date_of(values["cnp"])
        if "birth_date" in changes and changes["birth_date"] != expected:
            raise ValueError("The birth date does not match the CNP.")
        values["birth_date"] = expected
        return CivilStatus(**values)


def assert_identity_matches(
    civil: CivilStatus, *, cnp: str | None, last_name: str, first_name: str, birth_date: date | None = None
) -> None:
    """Evidence must name the same person: same CNP, same names (diacritics aside), same birth date.

    A provider that identifies by a pseudonymous subject gives no CNP (``None``); its evidence is
    then the names and the birth date, which the caller must require.
    """
    mismatched = []
    if cnp is not None and cnp != civil.cnp:
        mismatched.append("cnp")
    if not same_name(last_name, civil.last_name):
        mismatched.append("last_name")
    if not same_name(first_name, civil.first_name):
        mismatched.append("first_name")
    if birth_date is not None and birth_date != civil.birth_date:
        mismatched.append("birth_date")
    if mismatched:
        raise IdentityMismatchError(", ".join(mismatched))


def mail_code(length: int = 8) -> str:
    """A one-time code for an e-mail (~40 bits): unguessable within a few attempts."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def counter_code() -> str:
    """The short code a citizen shows at a counter, grouped for reading out: ``K7QM-3XPA``."""
    code = mail_code(8)
    return f"{code[:4]}-{code[4:]}"


def canonical_code(value: str) -> str:
    """What the citizen typed, as the code was issued (case, spaces, dashes and look-alikes forgiven)."""
    cleaned = value.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


def failure_delay(failures: int, *, free: int, maximum: timedelta) -> timedelta:
    """How long a scope must wait after ``failures`` consecutive failures: none for the first
    ``free`` ones, then 1 s doubling each time, capped at ``maximum``."""
    if failures < free:
        return timedelta(0)
    seconds = 2 ** min(failures - free, 20)
    return min(timedelta(seconds=seconds), maximum)


def lock_ends(last_failure: datetime | None, failures: int, *, free: int, maximum: timedelta) -> datetime | None:
    if last_failure is None:
        return None
    delay = failure_delay(failures, free=free, maximum=maximum)
    return last_failure + delay if delay else None


def can_grant(granter_admin_units: set[str], role: StaffRole, unit: str) -> bool:
    """An admin of every unit grants anything; an admin of one unit grants non-admin roles there."""
    if ANY_UNIT in granter_admin_units:
        return True
    return role is not StaffRole.ADMIN and unit != ANY_UNIT and unit in granter_admin_units
