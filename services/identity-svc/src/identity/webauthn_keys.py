"""Staff security keys and passkeys: the WebAuthn relying party's side (py_webauthn does the checks).

A ceremony — registering a key, or signing in with one — starts with options for the browser's
``navigator.credentials`` call, whose random challenge the service keeps nowhere but in a sealed,
short-lived ceremony token handed to the client with the options. The answer comes back with that
token; the challenge is then spent once (the chassis' table of used challenges), so an answer
cannot be replayed, and py_webauthn checks the answer: the challenge, the origin and the relying
party, the flags, the signature, and (signing in) that the authenticator's signature counter grew.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

__all__ = [
    "REGISTRATION",
    "SIGN_IN",
    "KeyRefused",
    "NewKey",
    "RelyingParty",
    "StoredKey",
    "UsedKey",
    "authentication_options",
    "credential_id_of",
    "new_challenge",
    "registration_options",
    "verify_registration",
    "verify_sign_in",
]

REGISTRATION = "security_key_registration"
SIGN_IN = "security_key_sign_in"
#: Longest answer of a browser accepted (JSON): attestation objects of real keys are a few KB.
MAX_ANSWER_BYTES = 16 * 1024
_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


class KeyRefused(Exception):
    """The browser's answer is not a valid one for this ceremony; ``reason`` says why, for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys are for: the RP id (a host name), its display name, the origins allowed."""

    id: str
    name: str
    origins: tuple[str, ...]
    timeout_ms: int


@dataclass(frozen=True)
class StoredKey:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewKey:
    """A key registered: what to store."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str


@dataclass(frozen=True)
class UsedKey:
    """A sign-in's key: its counter now."""

    credential_id: bytes
    sign_count: int


def new_challenge() -> bytes:
    """32 random bytes (WebAuthn asks for at least 16)."""
    return secrets.token_bytes(32)


def _descriptors(keys: list[StoredKey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=key.credential_id, transports=[_TRANSPORTS[t] for t in key.transports if t in _TRANSPORTS] or None
        )
        for key in keys
    ]


def registration_options(
    rp: RelyingParty,
    challenge: bytes,
    *,
    user_id: bytes,
    user_name: str,
    display_name: str,
    existing: list[StoredKey],
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptions`` as JSON (binary fields base64url), for ``credentials.create``.

    A key already registered is excluded (the browser says so instead of making a second
    credential); a discoverable credential (a passkey) is preferred, no attestation is asked.
    """
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_id,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=rp.timeout_ms,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def authentication_options(rp: RelyingParty, challenge: bytes, keys: list[StoredKey]) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptions`` as JSON for ``credentials.get``: only the member's own keys."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=rp.timeout_ms,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def _answer_json(answer: dict[str, Any]) -> str:
    text = json.dumps(answer)
    if len(text) > MAX_ANSWER_BYTES:
        raise KeyRefused("too_large")
    return text


def credential_id_of(answer: dict[str, Any]) -> bytes:
    """The credential id an answer names (``rawId``), to find the stored key; KeyRefused if none."""
    raw = answer.get("rawId") or answer.get("id")
    if not isinstance(raw, str) or not raw:
        raise KeyRefused("malformed")
    try:
        return base64url_to_bytes(raw)
    except ValueError:
        raise KeyRefused("malformed") from None


def verify_registration(rp: RelyingParty, challenge: bytes, answer: dict[str, Any]) -> NewKey:
    """The key ``credentials.create`` made, if the answer is right for this challenge; else KeyRefused."""
    try:
        verified = verify_registration_response(
            credential=_answer_json(answer),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise KeyRefused("invalid") from None
    response = answer.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    listed = tuple(t for t in transports if t in _TRANSPORTS)[:8] if isinstance(transports, list) else ()
    return NewKey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=listed,
        aaguid=verified.aaguid,
    )


def verify_sign_in(rp: RelyingParty, challenge: bytes, answer: dict[str, Any], key: StoredKey) -> UsedKey:
    """The key's new counter, if the answer is its signature over this challenge; else KeyRefused.

    A counter that did not grow (while the key keeps one) means a cloned key or a replay:
    refused with the reason ``sign_count``.
    """
    try:
        verified = verify_authentication_response(
            credential=_answer_json(answer),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError) as refused:
        reason = "sign_count" if "sign count" in str(refused).lower() else "invalid"
        raise KeyRefused(reason) from None
    return UsedKey(credential_id=verified.credential_id, sign_count=verified.new_sign_count)


def encode(value: bytes) -> str:
    return bytes_to_base64url(value)


def decode(value: str) -> bytes:
    return base64url_to_bytes(value)
