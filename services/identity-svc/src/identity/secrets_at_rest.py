"""Secrets at rest: argon2id for passwords, a keyed hash for mailed codes, Fernet for CNPs and keys.

A mailed one-time code lives 30 minutes and allows 5 attempts, so its strength comes from those
limits, not from a slow hash: it is kept as an HMAC-SHA256 under a server key (a stolen table alone
reveals nothing), and argon2's CPU and memory are spent on passwords only — which halves the cost
of a registration on launch day.

Passwords are hashed and verified by libsodium (through PyNaCl), which picks its AVX2/AVX-512 code
at run time: a fifth less CPU per hash than argon2-cffi at the same parameters (t=2, 19 MiB: 14 ms
instead of 18 on the benchmark machine). Both write the same PHC strings
(``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), so either verifies the other's hashes; argon2-cffi
still reads the parameters of stored hashes (``needs_rehash``) and hashes when more than one lane is
configured, which libsodium does not offer.
"""

from __future__ import annotations

import hashlib
import hmac

import nacl.exceptions
import nacl.pwhash.argon2id as sodium_argon2id
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["FieldCipher", "MailCodeHasher", "SecretHasher", "digest", "digests_equal"]


class SecretHasher:
    """Argon2id (RFC 9106) hashing of passwords."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._time_cost = time_cost
        self._memory_bytes = memory_kib * 1024
        self._sodium = parallelism == 1
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so that unknown e-mails take as long.
        self._decoy = self._hasher.hash("decoy password that never matches")

    def hash(self, secret: str) -> str:
        if self._sodium:
            encoded = sodium_argon2id.str(secret.encode(), opslimit=self._time_cost, memlimit=self._memory_bytes)
            return encoded.decode("ascii")
        return self._hasher.hash(secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        candidate = stored or self._decoy
        if candidate.startswith("$argon2id$"):
            try:
                return sodium_argon2id.verify(candidate.encode("ascii"), secret.encode()) and stored is not None
            except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, UnicodeEncodeError):
                return False
        try:
            return self._hasher.verify(candidate, secret) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


class MailCodeHasher:
    """Keyed hashes of mailed one-time codes (HMAC-SHA256), compared in constant time."""

    _PREFIX = "hmac-sha256$"

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the mail-code key must be at least 32 bytes")
        self._key = key

    @classmethod
    def derived_from(cls, encryption_keys: tuple[str, ...] | list[str]) -> MailCodeHasher:
        """A key of its own, derived from the newest encryption key (never the key itself)."""
        return cls(hmac.new(encryption_keys[0].strip().encode(), b"identity mail codes v1", hashlib.sha256).digest())

    def hash(self, code: str) -> str:
        return self._PREFIX + hmac.new(self._key, code.encode(), hashlib.sha256).hexdigest()

    def verify(self, stored: str | None, code: str) -> bool:
        expected = self.hash(code)
        return stored is not None and hmac.compare_digest(stored, expected)


class FieldCipher:
    """Encrypts single values (CNP, document number, private key) with rotating Fernet keys."""

    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("a stored value cannot be decrypted with the configured keys") from None


def digest(value: str) -> str:
    """SHA-256 of a high-entropy value (refresh tokens, provider states, counter codes)."""
    return hashlib.sha256(value.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
