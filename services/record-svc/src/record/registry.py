"""The criminal-records registry, behind one interface: the real registry over HTTP, or a local copy.

The local copy (development and tests) holds only keyed hashes of CNPs (HMAC-SHA256 under
``REGISTRY_HASH_KEY``), imported from a CSV file by ``record-svc import-registry``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Protocol

import requests
from mai_chassis import Database
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .domain import RegistryAnswer, is_valid_cnp
from .errors import RegistryUnavailable
from .tables import RegistryEntry

__all__ = ["CnpHasher", "CriminalRegistry", "DatabaseRegistry", "HttpRegistry", "import_registry_csv"]

logger = logging.getLogger(__name__)


class CnpHasher:
    """Keyed hash of a CNP: stored and compared instead of the CNP (a plain hash is guessable)."""

    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the CNP hash key must be at least 32 characters")
        self._key = key.encode("utf-8")

    def digest(self, cnp: str) -> str:
        return hmac.new(self._key, cnp.encode("ascii", "replace"), hashlib.sha256).hexdigest()

    def matches(self, cnp: str, digest: str) -> bool:
        return hmac.compare_digest(self.digest(cnp), digest)

    def code_digest(self, code: str) -> str:
        """Keyed hash of a certificate's verification code (its own domain: never equal to a CNP's)."""
        message = b"certificate-verification-code\x00" + code.encode("ascii", "replace")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class CriminalRegistry(Protocol):
    def check(self, cnp: str) -> RegistryAnswer:
        """Whether the person has an entry; raises RegistryUnavailable when the registry cannot answer."""
        ...


class DatabaseRegistry:
    """The registry copy in record-svc's own database (development and tests)."""

    def __init__(self, database: Database, hasher: CnpHasher) -> None:
        self.database = database
        self.hasher = hasher

    def check(self, cnp: str) -> RegistryAnswer:
        with self.database.session() as session:
            unit = session.scalar(select(RegistryEntry.unit).where(RegistryEntry.cnp_digest == self.hasher.digest(cnp)))
        return RegistryAnswer(has_entry=unit is not None, unit=unit or None)


class HttpRegistry:
    """The national registry's API: ``POST {REGISTRY_URL}/checks`` with ``{"cnp": ...}``.

    Answers ``{"has_entry": bool, "unit": "<unit code or null>"}``. Authenticated with HTTP basic
    credentials from the environment, over TLS verified against ``REGISTRY_CA_FILE`` when given.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        ca_file: str = "",
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/checks"
        self.session = session or requests.Session()
        self.session.auth = (username, password)
        self.verify: str | bool = ca_file or True
        self.timeout = timeout

    def check(self, cnp: str) -> RegistryAnswer:
        try:
            response = self.session.post(self.url, json={"cnp": cnp}, timeout=self.timeout, verify=self.verify)
            response.raise_for_status()
            body = response.json()
            has_entry = body["has_entry"]
            if not isinstance(has_entry, bool):
                raise ValueError("has_entry is not a boolean")
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            logger.warning("criminal-records registry unavailable: %s", exc.__class__.__name__)
            raise RegistryUnavailable() from None
        unit = body.get("unit")
        return RegistryAnswer(has_entry=has_entry, unit=str(unit) if unit else None)


def _read_rows(stream: IO[str], default_unit: str) -> Iterator[tuple[str, str]]:
    """``cnp,unit`` rows (a header line is allowed; unit may be empty)."""
    for line_number, row in enumerate(csv.reader(stream), start=1):
        if not row or not row[0].strip() or row[0].strip().lower() == "cnp":
            continue
        cnp = row[0].strip()
        if not is_valid_cnp(cnp):
            raise ValueError(f"line {line_number}: not a valid CNP")
        unit = (row[1].strip() if len(row) > 1 else "") or default_unit
        yield cnp, unit


def import_registry_csv(
    database: Database, hasher: CnpHasher, source: Path | IO[str], *, default_unit: str, batch_size: int = 1000
) -> int:
    """Upsert every row of the CSV into the local registry; returns how many rows were read."""
    if isinstance(source, Path):
        with source.open(encoding="utf-8", newline="") as stream:
            return import_registry_csv(database, hasher, stream, default_unit=default_unit, batch_size=batch_size)
    insert = pg_insert if database.is_postgresql else sqlite_insert
    count = 0
    with database.session() as session, session.begin():
        for batch in _batches(_read_rows(source, default_unit), batch_size):
            # One row per person: a conflict may not touch the same row twice in one statement.
            by_digest = {hasher.digest(cnp): unit for cnp, unit in batch}
            rows = [{"cnp_digest": digest, "unit": unit} for digest, unit in by_digest.items()]
            statement = insert(RegistryEntry).values(rows)
            session.execute(
                statement.on_conflict_do_update(index_elements=["cnp_digest"], set_={"unit": statement.excluded.unit})
            )
            count += len(batch)
    return count


def _batches(rows: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
