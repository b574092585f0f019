"""Passwords: argon2id PHC strings that libsodium and argon2-cffi both read, at the configured cost."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from identity.secrets_at_rest import SecretHasher

PASSWORD = "Parola-lunga-2026!"


@pytest.mark.parametrize("parallelism", [1, 2])
def test_a_hash_carries_the_configured_parameters_and_verifies_only_its_password(parallelism: int) -> None:
    hasher = SecretHasher(time_cost=2, memory_kib=1024, parallelism=parallelism)
    stored = hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 1024, parallelism)
    assert (params.hash_len, params.salt_len) == (32, 16)
    assert hasher.verify(stored, PASSWORD)
    assert not hasher.verify(stored, PASSWORD + "x")
    assert not hasher.needs_rehash(stored)
    assert hasher.hash(PASSWORD) != stored  # a fresh salt each time


def test_hashes_written_by_argon2_cffi_verify_and_the_other_way_round() -> None:
    hasher = SecretHasher(time_cost=2, memory_kib=1024, parallelism=1)
    for lanes in (1, 4):
        legacy = PasswordHasher(time_cost=1, memory_cost=512, parallelism=lanes, type=Type.ID).hash(PASSWORD)
        assert hasher.verify(legacy, PASSWORD)
        assert not hasher.verify(legacy, "wrong")
        assert hasher.needs_rehash(legacy)  # weaker than configured: rehashed at the next login
    ours = hasher.hash(PASSWORD)
    assert PasswordHasher().verify(ours, PASSWORD)


@pytest.mark.parametrize(
    "stored",
    [None, "", "not a hash", "$argon2id$v=19$m=1024,t=2,p=1$broken", "$argon2i$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaA"],
)
def test_missing_or_malformed_hashes_never_verify(stored: str | None) -> None:
    hasher = SecretHasher(time_cost=1, memory_kib=256, parallelism=1)
    assert not hasher.verify(stored, PASSWORD)
    assert not hasher.verify(stored, "")


def test_passwords_outside_ascii_hash_and_verify() -> None:
    hasher = SecretHasher(time_cost=1, memory_kib=256, parallelism=1)
    stored = hasher.hash("Știință-și-țară ăâî 🔑")
    assert hasher.verify(stored, "Știință-și-țară ăâî 🔑")
    assert not hasher.verify(stored, "Stiinta-si-tara aai 🔑")
