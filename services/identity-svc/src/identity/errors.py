"""identity-svc's domain errors and the ONE table that shows them as problems (RFC 9457)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mai_chassis.problems import DomainError, ProblemType

__all__ = [
    "PROBLEMS",
    "AccountDisabled",
    "AccountExists",
    "AlreadyVerified",
    "AssuranceInsufficient",
    "ChallengeRequired",
    "CodeRefused",
    "EmailUnconfirmed",
    "ExportSourceUnavailable",
    "Forbidden",
    "IdentificationNotAccepted",
    "IdentityError",
    "IdentityInUse",
    "IdentityLocked",
    "IdentityMismatch",
    "InvalidInput",
    "LoginRefused",
    "NotFound",
    "OwnSecondFactor",
    "PasswordRefused",
    "ProviderError",
    "ProviderUnreachable",
    "SecondFactorChallengeEnded",
    "SecondFactorExists",
    "SecondFactorNotPending",
    "SecondFactorRefused",
    "SecurityKeyCeremonyEnded",
    "SecurityKeyExists",
    "SecurityKeyLimit",
    "SecurityKeyNameTaken",
    "SecurityKeyRefused",
    "SessionEnded",
    "TooManyFailedLogins",
    "VerificationExpired",
    "VerificationUsed",
]


class IdentityError(DomainError):
    """Base of identity-svc's domain errors."""


class NotFound(IdentityError):
    """No such account, profile, verification or staff member — or not one the caller may see."""


class Forbidden(IdentityError):
    """The caller lacks the role or the kind of account the command needs."""


class InvalidInput(IdentityError):
    """A value the schema let through but the domain refuses; ``errors`` names the fields."""

    def __init__(self, detail: str, errors: Mapping[str, list[str]]) -> None:
        super().__init__(detail, extensions={"errors": dict(errors)})


class AccountExists(IdentityError):
    pass


class ChallengeRequired(IdentityError):
    """Too many anonymous forms from the client: it must send a solved ``challenge`` with the form."""

    def __init__(self, detail: str, challenge: Any) -> None:
        super().__init__(detail, extensions={"challenge": challenge})


class CodeRefused(IdentityError):
    """A mailed code that is wrong, expired or used up."""


class LoginRefused(IdentityError):
    pass


class PasswordRefused(IdentityError):
    """The password confirming a sensitive change (deleting the account) is not the account's."""


class TooManyFailedLogins(IdentityError):
    """Failed logins slowed this client down: it waits ``seconds`` before the next try."""

    def __init__(self, seconds: int) -> None:
        super().__init__(
            "Too many failed logins; wait before trying again.",
            extensions={"retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )
        self.seconds = seconds


class AccountDisabled(IdentityError):
    pass


class EmailUnconfirmed(IdentityError):
    pass


class SessionEnded(IdentityError):
    pass


class IdentityLocked(IdentityError):
    """Identity fields of a verified profile (or one under verification) cannot change."""

    def __init__(self, detail: str, *, fields: list[str], reason: str) -> None:
        super().__init__(detail, extensions={"fields": fields, "reason": reason})


class AlreadyVerified(IdentityError):
    pass


class IdentityMismatch(IdentityError):
    """The identified person or the shown document differs from the account's civil status."""

    def __init__(self, detail: str, *, fields: list[str]) -> None:
        super().__init__(detail, extensions={"fields": fields})


class IdentityInUse(IdentityError):
    """The person's identity already verifies another account."""


class ProviderUnreachable(IdentityError):
    def __init__(self) -> None:
        super().__init__(
            "The identification provider cannot be reached; try again in a few minutes.",
            headers={"Retry-After": "30"},
        )


class ExportSourceUnavailable(IdentityError):
    """A service holding part of the citizen's data did not answer (or answered about someone else):
    no partial download is given."""

    def __init__(self, service: str) -> None:
        super().__init__(
            "Part of your data cannot be gathered right now; try again in a few minutes.",
            extensions={"service": service},
            headers={"Retry-After": "60"},
        )


class ProviderError(IdentityError):
    """The provider answered with an OAuth error (or without a code)."""

    def __init__(self, provider_error: str) -> None:
        super().__init__(
            "The identification provider did not identify you.", extensions={"provider_error": provider_error}
        )


class AssuranceInsufficient(IdentityError):
    def __init__(self, *, asserted: str, required: str) -> None:
        super().__init__(
            "The provider identified you at a lower level of assurance than identity verification needs.",
            extensions={"asserted": asserted, "required": required},
        )


class IdentificationNotAccepted(IdentityError):
    pass


class VerificationUsed(IdentityError):
    pass


class VerificationExpired(IdentityError):
    pass


class SecondFactorRefused(IdentityError):
    """A TOTP code that is wrong or already used, or a recovery code that is wrong or spent."""


class SecondFactorChallengeEnded(IdentityError):
    """The challenge token of a sign-in is unknown, expired, or not for this step: sign in again."""


class SecondFactorExists(IdentityError):
    """The staff member already has an active second factor."""


class SecondFactorNotPending(IdentityError):
    """A confirmation of an enrolment that was never started."""


class OwnSecondFactor(IdentityError):
    """An administrator asked to reset their own second factor (another administrator must)."""


class SecurityKeyCeremonyEnded(IdentityError):
    """A key's registration whose ceremony token is unknown, expired, another's, or already answered."""


class SecurityKeyRefused(IdentityError):
    """The browser's answer to a key's registration is not valid (wrong challenge, origin, signature...)."""


class SecurityKeyNameTaken(IdentityError):
    """The member already has a key of that name."""


class SecurityKeyExists(IdentityError):
    """That credential is registered already."""


class SecurityKeyLimit(IdentityError):
    """The member has as many keys as a member may keep (SECURITY_KEYS_MAX)."""


PROBLEMS: Mapping[type[DomainError], ProblemType] = {
    NotFound: ProblemType(404, "not-found"),
    Forbidden: ProblemType(403, "forbidden"),
    InvalidInput: ProblemType(422, "validation-error"),
    AccountExists: ProblemType(409, "account-exists"),
    ChallengeRequired: ProblemType(428, "challenge-required"),
    CodeRefused: ProblemType(400, "code-refused"),
    LoginRefused: ProblemType(401, "login-refused"),
    PasswordRefused: ProblemType(403, "password-refused"),
    TooManyFailedLogins: ProblemType(429, "login-throttled"),
    AccountDisabled: ProblemType(403, "account-disabled"),
    EmailUnconfirmed: ProblemType(403, "email-unconfirmed"),
    SessionEnded: ProblemType(401, "session-ended"),
    IdentityLocked: ProblemType(409, "identity-locked"),
    AlreadyVerified: ProblemType(409, "already-verified"),
    IdentityMismatch: ProblemType(422, "identity-mismatch"),
    IdentityInUse: ProblemType(409, "identity-in-use"),
    ProviderUnreachable: ProblemType(503, "provider-unavailable"),
    ExportSourceUnavailable: ProblemType(503, "export-source-unavailable"),
    ProviderError: ProblemType(400, "provider-error"),
    AssuranceInsufficient: ProblemType(422, "assurance-too-low"),
    IdentificationNotAccepted: ProblemType(400, "identification-refused"),
    VerificationUsed: ProblemType(409, "verification-used"),
    VerificationExpired: ProblemType(410, "verification-expired"),
    SecondFactorRefused: ProblemType(401, "second-factor-refused"),
    OwnSecondFactor: ProblemType(409, "own-second-factor"),
    SecondFactorChallengeEnded: ProblemType(401, "second-factor-challenge-ended"),
    SecondFactorExists: ProblemType(409, "second-factor-exists"),
    SecondFactorNotPending: ProblemType(409, "second-factor-not-pending"),
    SecurityKeyCeremonyEnded: ProblemType(409, "security-key-ceremony-ended"),
    SecurityKeyRefused: ProblemType(400, "security-key-refused"),
    SecurityKeyNameTaken: ProblemType(409, "security-key-name-taken"),
    SecurityKeyExists: ProblemType(409, "security-key-exists"),
    SecurityKeyLimit: ProblemType(409, "security-key-limit"),
}
