"""identity-svc's use cases, a module per area; each is ``handler(uow, deps, command)``.

A handler commits once: at its end, or — when a refusal must be remembered (a wrong code's
attempt, a failed login, a spent verification) — just before it raises.
"""

from __future__ import annotations

from .accounts import admit_anonymous_form, confirm_email, register_citizen, resend_confirmation
from .deletion import AccountDeletion, delete_account
from .directory import list_unit_members
from .personal_data import AccountExport, export_account
from .profiles import read_profile, update_profile
from .second_factor import ConfirmedEnrolment, confirm_totp_enrolment, pass_second_factor, start_totp_enrolment
from .security_keys import (
    SecurityKeyCeremony,
    SecurityKeyView,
    list_security_keys,
    pass_security_key,
    register_security_key,
    remove_security_key,
    start_security_key_registration,
    start_security_key_sign_in,
)
from .sessions import TokenPair, log_in, log_out, refresh_session, request_password_reset, reset_password
from .sign_in_challenges import SecondFactorChallenge
from .staff import create_first_admin, create_staff_account, grant_role, revoke_role
from .verification import (
    find_for_counter,
    finish_verification,
    issue_counter_code,
    start_verification,
    verify_at_counter,
)

__all__ = [
    "AccountDeletion",
    "AccountExport",
    "ConfirmedEnrolment",
    "SecondFactorChallenge",
    "SecurityKeyCeremony",
    "SecurityKeyView",
    "TokenPair",
    "admit_anonymous_form",
    "confirm_email",
    "confirm_totp_enrolment",
    "create_first_admin",
    "create_staff_account",
    "delete_account",
    "export_account",
    "find_for_counter",
    "finish_verification",
    "grant_role",
    "issue_counter_code",
    "list_security_keys",
    "list_unit_members",
    "log_in",
    "log_out",
    "pass_second_factor",
    "pass_security_key",
    "read_profile",
    "refresh_session",
    "register_citizen",
    "register_security_key",
    "remove_security_key",
    "request_password_reset",
    "resend_confirmation",
    "reset_password",
    "revoke_role",
    "start_security_key_registration",
    "start_security_key_sign_in",
    "start_totp_enrolment",
    "start_verification",
    "update_profile",
    "verify_at_counter",
]
