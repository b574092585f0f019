"""Sealed event fields open only with the shared key."""

from __future__ import annotations

import pytest
from mai_chassis.sealing import Sealer, SealingError, generate_key


def test_a_sealed_value_opens_with_the_key_and_hides_the_value() -> None:
    sealer = Sealer([generate_key()])
    sealed = sealer.seal("482913")
    assert "482913" not in sealed
    assert sealer.open(sealed) == "482913"


def test_another_key_cannot_open_it() -> None:
    sealed = Sealer([generate_key()]).seal("482913")
    with pytest.raises(SealingError):
        Sealer([generate_key()]).open(sealed)


def test_keys_rotate_newest_first() -> None:
    old, new = generate_key(), generate_key()
    sealed_with_old = Sealer([old]).seal("111111")
    assert Sealer([new, old]).open(sealed_with_old) == "111111"
