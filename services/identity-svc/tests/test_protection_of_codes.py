"""Mailed one-time codes are kept as keyed hashes: useless without the server key."""

from __future__ import annotations

from cryptography.fernet import Fernet
from identity.secrets_at_rest import MailCodeHasher


def test_a_code_verifies_only_against_its_own_hash_and_key() -> None:
    hasher = MailCodeHasher.derived_from([Fernet.generate_key().decode()])
    stored = hasher.hash("K7P2M9QX")
    assert "K7P2M9QX" not in stored
    assert hasher.verify(stored, "K7P2M9QX")
    assert not hasher.verify(stored, "K7P2M9QY")
    assert not hasher.verify(None, "K7P2M9QX")
    other_server = MailCodeHasher.derived_from([Fernet.generate_key().decode()])
    assert not other_server.verify(stored, "K7P2M9QX")
