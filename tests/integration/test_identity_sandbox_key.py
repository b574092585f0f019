"""The sandbox provider's signing key is one key, however many workers create it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import identity
import pytest
from cryptography.fernet import Fernet
from identity.config import ProviderSettings
from identity.eid import SandboxProvider
from identity.protection import FieldCipher
from identity.tables import SigningKey
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


def test_workers_creating_the_sandbox_key_at_once_share_one_key(database_factory: Callable[..., str]) -> None:
    url = database_factory("identity")
    upgrade(url, Path(identity.__file__).parent / "migrations")
    database = Database(url)
    cipher = FieldCipher([Fernet.generate_key().decode()])
    config = ProviderSettings(name="sandbox", adapter="sandbox")
    providers = [
        SandboxProvider(config, public_base_url="http://gw", session_factory=database.session, cipher=cipher)
        for _ in range(8)
    ]
    start = threading.Barrier(len(providers))
    kids: list[str] = []

    def first_use(provider: SandboxProvider) -> None:
        start.wait()
        kids.append(provider._load()[0])

    threads = [threading.Thread(target=first_use, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(kids) == 8 and len(set(kids)) == 1
    with database.session() as session:
        count = session.scalar(
            select(func.count()).select_from(SigningKey).where(SigningKey.purpose.like("eid-sandbox:%"))
        )
    assert count == 1
    database.dispose()
