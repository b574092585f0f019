"""The local criminal-records registry: imported from CSV, keyed hashes only."""

from __future__ import annotations

import io

import pytest
from mai_chassis import Database
from record.registry import CnpHasher, DatabaseRegistry, import_registry_csv
from record.tables import RegistryEntry
from record_testing import make_cnp
from sqlalchemy import select


@pytest.fixture
def database(settings) -> Database:  # type: ignore[no-untyped-def]
    database = Database(settings.database_url)
    yield database
    database.dispose()


def test_imported_people_have_an_entry_and_others_do_not(database: Database) -> None:
    hasher = CnpHasher("k" * 40)
    listed, clean = make_cnp(), make_cnp()
    count = import_registry_csv(
        database, hasher, io.StringIO(f"cnp,unit\n{listed},IPJ-CJ\n{listed},IPJ-CJ\n"), default_unit="IGPR"
    )
    assert count == 2
    registry = DatabaseRegistry(database, hasher)
    assert registry.check(listed).has_entry and registry.check(listed).unit == "IPJ-CJ"
    assert not registry.check(clean).has_entry


def test_the_registry_keeps_keyed_hashes_not_cnps(database: Database) -> None:
    cnp = make_cnp()
    import_registry_csv(database, CnpHasher("k" * 40), io.StringIO(f"{cnp},\n"), default_unit="IGPR")
    with database.session() as session:
        (entry,) = session.scalars(select(RegistryEntry)).all()
    assert cnp not in entry.cnp_digest
    assert entry.unit == "IGPR"
    assert not DatabaseRegistry(database, CnpHasher("another-key-" * 4)).check(cnp).has_entry


def test_a_malformed_cnp_stops_the_import_with_its_line(database: Database) -> None:
    with pytest.raises(ValueError, match="line 2"):
        import_registry_csv(database, CnpHasher("k" * 40), io.StringIO("cnp,unit\n123,IPJ-CJ\n"), default_unit="IGPR")
    assert not DatabaseRegistry(database, CnpHasher("k" * 40)).check(make_cnp()).has_entry
