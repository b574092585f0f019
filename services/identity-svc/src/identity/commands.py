"""What the views ask identity-svc's handlers to do: one frozen dataclass per use case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mai_chassis import Principal

__all__ = [
    "AnonymousClient",
    "ConfirmEmail",
    "ConfirmTotpEnrolment",
    "CreateFirstAdmin",
    "CreateStaffAccount",
    "DeleteAccount",
    "ExportAccount",
    "FindForCounter",
    "FinishVerification",
    "GrantRole",
    "IssueCounterCode",
    "ListSecurityKeys",
    "LogIn",
    "LogOut",
    "PassSecondFactor",
    "PassSecurityKey",
    "ReadProfile",
    "RefreshSession",
    "RegisterCitizen",
    "RegisterSecurityKey",
    "RemoveSecurityKey",
    "RequestPasswordReset",
    "ResendConfirmation",
    "ResetPassword",
    "RevokeRole",
    "StartSecurityKeyRegistration",
    "StartSecurityKeySignIn",
    "StartTotpEnrolment",
    "StartVerification",
    "UpdateProfile",
    "VerifyAtCounter",
]


@dataclass(frozen=True)
class AnonymousClient:
    """Who sent an anonymous form that creates an account or sends mail, and its solved challenge."""

    address: str | None = None
    challenge_answer: str | None = None


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportAccount:
    """The citizen downloads their data; ``bearer_token`` asks the other services for their parts."""

    principal: Principal
    bearer_token: str = field(repr=False)


@dataclass(frozen=True)
class DeleteAccount:
    """The citizen deletes their own account, confirming with the current password."""

    principal: Principal
    password: str = field(repr=False)


@dataclass(frozen=True)
class RegisterCitizen:
    email: str
    password: str
    last_name: str
    first_name: str
    cnp: str
    language: str = "ro"
    channel: str = "web"
    client: AnonymousClient = field(default_factory=AnonymousClient)


@dataclass(frozen=True)
class ConfirmEmail:
    citizen_id: str
    code: str


@dataclass(frozen=True)
class ResendConfirmation:
    email: str
    client: AnonymousClient = field(default_factory=AnonymousClient)


# --- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogIn:
    email: str
    password: str
    address: str
    device_token: str | None = None


@dataclass(frozen=True)
class PassSecondFactor:
    """The second step of a staff sign-in: the challenge token of the first and a TOTP or recovery code."""

    challenge_token: str
    address: str
    code: str | None = None
    recovery_code: str | None = None


@dataclass(frozen=True)
class StartTotpEnrolment:
    """Begin a TOTP enrolment, as a signed-in staff member (``principal``) or mid sign-in (``challenge_token``)."""

    principal: Principal | None = None
    challenge_token: str | None = None


@dataclass(frozen=True)
class ConfirmTotpEnrolment:
    """The first valid code activates the factor; mid sign-in it also ends the sign-in."""

    code: str
    address: str
    principal: Principal | None = None
    challenge_token: str | None = None


@dataclass(frozen=True)
class StartSecurityKeyRegistration:
    """Options for ``navigator.credentials.create``, for a signed-in staff member."""

    principal: Principal


@dataclass(frozen=True)
class RegisterSecurityKey:
    """The browser's answer to a registration's options, with the name the member gives the key."""

    principal: Principal
    ceremony_token: str
    name: str
    credential: Mapping[str, Any]


@dataclass(frozen=True)
class ListSecurityKeys:
    principal: Principal


@dataclass(frozen=True)
class RemoveSecurityKey:
    principal: Principal
    key_id: str


@dataclass(frozen=True)
class StartSecurityKeySignIn:
    """Options for ``navigator.credentials.get``, mid sign-in (the password step's challenge token)."""

    challenge_token: str


@dataclass(frozen=True)
class PassSecurityKey:
    """The second step of a staff sign-in with a security key: the browser's signed answer."""

    challenge_token: str
    ceremony_token: str
    credential: Mapping[str, Any]
    address: str


@dataclass(frozen=True)
class RefreshSession:
    refresh_token: str


@dataclass(frozen=True)
class LogOut:
    refresh_token: str


@dataclass(frozen=True)
class RequestPasswordReset:
    email: str
    client: AnonymousClient = field(default_factory=AnonymousClient)


@dataclass(frozen=True)
class ResetPassword:
    email: str
    code: str
    new_password: str


# --- civil-status profile -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReadProfile:
    principal: Principal
    citizen_id: str  # "me" or the caller's own id
    with_cnp: bool = False


@dataclass(frozen=True)
class UpdateProfile:
    principal: Principal
    citizen_id: str
    changes: Mapping[str, Any]


# --- identity verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class StartVerification:
    principal: Principal
    provider_name: str
    redirect_uri: str | None = None


@dataclass(frozen=True)
class FinishVerification:
    principal: Principal
    state: str
    code: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class IssueCounterCode:
    principal: Principal


@dataclass(frozen=True)
class FindForCounter:
    principal: Principal
    unit: str
    email: str | None = None
    counter_code: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class VerifyAtCounter:
    """What the counter clerk typed from the ID document the citizen showed."""

    principal: Principal
    citizen_id: str
    unit: str
    document_type: str
    document_number: str
    cnp: str
    last_name: str
    first_name: str
    document_series: str | None = None
    request_id: str | None = None


# --- staff --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateStaffAccount:
    principal: Principal
    email: str
    name: str
    roles: tuple[tuple[str, str], ...]  # (role, unit)
    language: str = "ro"
    request_id: str | None = None


@dataclass(frozen=True)
class GrantRole:
    principal: Principal
    staff_id: str
    role: str
    unit: str
    request_id: str | None = None


@dataclass(frozen=True)
class RevokeRole:
    principal: Principal
    staff_id: str
    role: str
    unit: str
    request_id: str | None = None


@dataclass(frozen=True)
class ListUnitMembers:
    """The staff directory of one unit (``role``: only the members holding it there)."""

    principal: Principal
    unit: str
    role: str | None = None
    limit: int = 200


@dataclass(frozen=True)
class CreateFirstAdmin:
    """The CLI's ``create-admin``."""

    email: str
    name: str
    password: str
