"""The key ring and key rotation go by the clock they are given, not the machine's."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from identity.config import Settings
from identity.secrets_at_rest import FieldCipher
from identity.signing import KeyRing, NoSigningKeyError, rotate_keys
from mai_chassis import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from sqlalchemy.orm import Session

pytestmark = pytest.mark.unit


def _rotate(session: Session, settings: Settings, clock: FixedClock, lead: timedelta) -> str:
    key = rotate_keys(
        session,
        FieldCipher(settings.encryption_keys),
        clock=clock,
        publish_lead=lead,
        token_lifetime=timedelta(minutes=15),
        leeway=timedelta(seconds=60),
    )
    session.commit()
    return key.kid


def test_a_rotated_key_is_published_at_once_and_signs_only_from_the_given_clocks_lead(
    uow: FakeUnitOfWork, clock: FixedClock, settings: Settings
) -> None:
    with Session(uow.engine) as session:
        first = _rotate(session, settings, clock, timedelta(hours=1))  # the first key signs at once
        second = _rotate(session, settings, clock, timedelta(hours=1))
    ring = KeyRing(
        lambda: Session(uow.engine), FieldCipher(settings.encryption_keys), clock=clock, issuer="i", audience="a"
    )

    assert {key["kid"] for key in ring.jwks()["keys"]} == {first, second}
    assert jwt.get_unverified_header(ring.sign({"sub": "x"}))["kid"] == first
    assert first.startswith(f"{clock.now():%Y%m%d}-")

    clock.advance(timedelta(hours=1))
    ring.refresh()
    assert jwt.get_unverified_header(ring.sign({"sub": "x"}))["kid"] == second


def test_no_key_signs_before_its_time_on_the_given_clock(
    uow: FakeUnitOfWork, clock: FixedClock, settings: Settings
) -> None:
    with Session(uow.engine) as session:
        _rotate(session, settings, clock, timedelta(0))
    earlier = FixedClock(clock.now() - timedelta(minutes=5))
    ring = KeyRing(
        lambda: Session(uow.engine), FieldCipher(settings.encryption_keys), clock=earlier, issuer="i", audience="a"
    )

    with pytest.raises(NoSigningKeyError):
        ring.sign({"sub": "x"})
