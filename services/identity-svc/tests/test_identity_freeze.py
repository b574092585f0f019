"""Identity fields freeze from the moment a verification starts: evidence is compared with the
profile as it stood when the citizen asked to be identified, whatever the provider's protocol."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from identity.tables import VerificationAttempt
from identity_testing import OTHER_CNP
from sqlalchemy import update


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _start_verification(app: Any, citizen_id: str) -> None:
    """What starting a verification leaves behind: an attempt awaiting the provider's answer."""
    with app.extensions["mai_database"].session() as db:
        now = datetime.now(UTC)
        db.add(
            VerificationAttempt(
                account_id=uuid.UUID(citizen_id),
                provider="bank-card",
                state_digest=uuid.uuid4().hex,
                nonce=uuid.uuid4().hex,
                expires_at=now + timedelta(minutes=10),
                created_at=now,
            )
        )
        db.commit()


def test_identity_fields_are_frozen_while_a_verification_is_under_way(client, app, register_citizen):
    session = register_citizen()
    _start_verification(app, session["citizen_id"])
    frozen = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"cnp": OTHER_CNP}
    )
    assert frozen.status_code == 409
    assert (frozen.get_json()["reason"], frozen.get_json()["fields"]) == ("verification-pending", ["cnp"])
    renamed = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"last_name": "Ionescu"}
    )
    assert renamed.status_code == 409
    moved = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"address": "Str. Lungă 1"}
    )
    assert moved.status_code == 200 and moved.get_json()["address"] == "Str. Lungă 1"


def test_identity_fields_thaw_when_the_verification_ends_without_success(client, app, register_citizen):
    session = register_citizen()
    _start_verification(app, session["citizen_id"])
    with app.extensions["mai_database"].session() as db:  # the provider never answered: the attempt expires
        db.execute(update(VerificationAttempt).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.commit()
    edited = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"cnp": OTHER_CNP}
    )
    assert edited.status_code == 200 and edited.get_json()["cnp_last_digits"] == OTHER_CNP[-4:]
    _start_verification(app, session["citizen_id"])
    with app.extensions["mai_database"].session() as db:  # refused (e.g. the names did not match): finished
        db.execute(update(VerificationAttempt).values(finished_at=datetime.now(UTC), outcome="mismatch"))
        db.commit()
    fixed = client.patch(
        "/api/v1/identity/profiles/me", headers=_auth(session["access_token"]), json={"first_name": "Ana-Maria"}
    )
    assert fixed.status_code == 200
