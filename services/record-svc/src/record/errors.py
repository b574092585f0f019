"""What a record-svc use case can refuse with, and the one table that turns each into problem+json.

Handlers raise these (never ``Problem``); the chassis renders the nearest class in ``PROBLEMS``::

    DomainError
    └── CertificateError
        ├── IdentityNotVerified          403 the applicant must verify their identity first
        ├── ContactUnknown               409 no e-mail address to tell the outcome to
        ├── UnknownPurpose               422 not a purpose of the catalogue (also a ValueError)
        ├── CertificateNotFound          404 no such certificate for this caller
        ├── CertificateNotDownloadable   410 expired, revoked, or never issued
        ├── CertificateNotRevocable      409 not an issued, unrevoked certificate
        ├── RevocationForbidden          403 not a certificate clerk of the issuing unit
        ├── VerificationLocked           429 too many wrong CNPs for a registration number
        ├── ReferralNotFound             404 no referred application in the officer's units
        ├── ReferralAlreadyDecided       409 the outcome is recorded once
        ├── ReferralNotCleared           409 issued at the counter only once cleared
        ├── HolderMismatch               422 the document checked is not the applicant's
        └── NeighbourUnavailable         the civil-status source or the registry failed
            ├── CivilStatusUnavailable   409 identity-svc has no civil status for the citizen
            ├── CivilStatusUnreadable    502 identity-svc answered something unusable
            ├── IdentityServiceDown      503 identity-svc could not be reached
            └── RegistryUnavailable      503 the criminal-records registry could not be checked
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mai_chassis.problems import DomainError, ProblemType

__all__ = [
    "PROBLEMS",
    "VERIFICATION_METHODS",
    "CertificateError",
    "CertificateNotDownloadable",
    "CertificateNotFound",
    "CertificateNotRevocable",
    "CivilStatusUnavailable",
    "CivilStatusUnreadable",
    "ContactUnknown",
    "HolderMismatch",
    "IdentityNotVerified",
    "IdentityServiceDown",
    "NeighbourUnavailable",
    "ReferralAlreadyDecided",
    "ReferralNotCleared",
    "ReferralNotFound",
    "RegistryUnavailable",
    "RevocationForbidden",
    "UnknownPurpose",
    "VerificationLocked",
]

#: The two ways to verify one's identity, listed in the problem an unverified applicant gets.
VERIFICATION_METHODS = [
    {
        "method": "eid_provider",
        "provider": "bank-card",
        "description": "Online, once: electronic identification through Ghiseul.ro with a 3-D Secure bank card "
        "issued by a Romanian bank.",
    },
    {
        "method": "counter",
        "description": "In person, once: show your identity document at the counter of a police unit "
        "that issues criminal-record certificates.",
    },
]


class CertificateError(DomainError):
    """Base of the refusals a certificate use case can end in."""

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail, extensions=extensions, headers=headers)


class IdentityNotVerified(CertificateError):
    """The applicant's identity was never verified (online with a bank card, or at a counter)."""

    def __init__(self) -> None:
        super().__init__(
            "Your identity must be verified before you can apply online. Verify it once: online through "
            "Ghiseul.ro with a 3-D Secure bank card, or in person at a police unit counter with your ID document.",
            verification_methods=VERIFICATION_METHODS,
        )


class ContactUnknown(CertificateError):
    """No e-mail address is known for the account, so the applicant could not be told the outcome."""

    def __init__(self) -> None:
        super().__init__("Your account has no confirmed e-mail address; confirm one, then apply again.")


class UnknownPurpose(CertificateError, ValueError):
    """The purpose code is not in the catalogue, or 'other' came without its text."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors={"purpose": [detail]})


class CertificateNotFound(CertificateError):
    """No such certificate for this caller (another citizen's certificate is 'not found' too)."""

    def __init__(self, detail: str = "No such certificate.") -> None:
        super().__init__(detail)


class CertificateNotDownloadable(CertificateError):
    """The certificate exists but is expired, revoked, or was never issued (referred)."""

    def __init__(self, result: str) -> None:
        super().__init__(
            f"This certificate can no longer be downloaded: it is {result}. Apply for a new one.",
            certificate_status=str(result),
        )
        self.result = str(result)


class CertificateNotRevocable(CertificateError):
    """Only an issued, not yet revoked certificate can be revoked."""

    def __init__(self, status: str) -> None:
        super().__init__(f"Only a valid issued certificate can be revoked; this one is {status}.")
        self.status = status


class RevocationForbidden(CertificateError):
    """A certificate is revoked in the name of the unit that issued it, by that unit's clerks only."""

    def __init__(self, unit: str) -> None:
        super().__init__(f"Only certificate clerks of the issuing unit ({unit}) revoke certificates.")
        self.unit = unit


class VerificationLocked(CertificateError):
    """Too many wrong CNPs were given for this registration number: verification by CNP waits.

    The same answer whether or not a certificate has the number: nothing to enumerate.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many wrong CNPs were given for this registration number, so checking it by CNP is paused. "
            "Use the verification code printed on the certificate (or in its QR code), or try again later.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class ReferralNotFound(CertificateError):
    """No application referred to a counter of one of the officer's units has this id."""

    def __init__(self) -> None:
        super().__init__("No referred application with this id at the counters of your units.")


class ReferralAlreadyDecided(CertificateError):
    """A referral's outcome is recorded once; a change of mind is a new application."""

    def __init__(self, outcome: str) -> None:
        super().__init__(f"The outcome of this referral was already recorded: {outcome}.", outcome=outcome)


class ReferralNotCleared(CertificateError):
    """A referred application is issued at the counter only after the officer cleared the entry."""

    def __init__(self, outcome: str | None) -> None:
        said = f"its outcome is {outcome}" if outcome else "no outcome has been recorded"
        super().__init__(
            f"A referred application is issued at the counter only once its outcome is 'cleared'; {said}.",
            outcome=outcome,
        )


class HolderMismatch(CertificateError):
    """The CNP read from the identity document checked at the counter is not the applicant's."""

    def __init__(self) -> None:
        super().__init__(
            "The CNP on the identity document checked is not the applicant's; nothing was issued.",
            errors={"cnp": ["Not the CNP of the person who applied."]},
        )


class NeighbourUnavailable(CertificateError):
    """A system record-svc asks (identity-svc, the registry) could not answer; nothing was saved."""


class CivilStatusUnavailable(NeighbourUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "Your civil-status data is not available yet; complete your profile and identity "
            "verification, then apply again."
        )


class CivilStatusUnreadable(NeighbourUnavailable):
    def __init__(self) -> None:
        super().__init__("The civil-status data could not be read; try again later.")


class IdentityServiceDown(NeighbourUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "Your civil-status data cannot be fetched right now; nothing was saved. Try again shortly.",
            headers={"Retry-After": "5"},
        )


class RegistryUnavailable(NeighbourUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "The criminal-records registry cannot be checked right now; nothing was saved. Try again shortly.",
            headers={"Retry-After": "30"},
        )


PROBLEMS: Mapping[type[DomainError], ProblemType] = {
    IdentityNotVerified: ProblemType(403, "identity-not-verified"),
    ContactUnknown: ProblemType(409, "contact-unknown"),
    UnknownPurpose: ProblemType(422, "validation-error"),
    CertificateNotFound: ProblemType(404, "not-found"),
    CertificateNotDownloadable: ProblemType(410, "certificate-not-available"),
    CertificateNotRevocable: ProblemType(409, "certificate-not-revocable"),
    RevocationForbidden: ProblemType(403, "forbidden"),
    VerificationLocked: ProblemType(429, "verification-locked"),
    ReferralNotFound: ProblemType(404, "not-found"),
    ReferralAlreadyDecided: ProblemType(409, "referral-already-decided"),
    ReferralNotCleared: ProblemType(409, "referral-not-cleared"),
    HolderMismatch: ProblemType(422, "holder-mismatch"),
    CivilStatusUnavailable: ProblemType(409, "civil-status-unavailable"),
    CivilStatusUnreadable: ProblemType(502, "bad-gateway"),
    IdentityServiceDown: ProblemType(503, "service-unavailable"),
    RegistryUnavailable: ProblemType(503, "registry-unavailable"),
}
