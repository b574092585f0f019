"""An institution named in a response is shown with its name from the directory, dumped once per institution."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from petition.directory import load_directory
from petition.schemas import InstitutionRefSchema, PetitionStatusSchema

pytestmark = pytest.mark.unit


def _status_of(institution: str, forwarded_from: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        registration_number=f"{institution}-2026-000001",
        kind="petition",
        status="registered",
        closure=None,
        institution=institution,
        field="staff-conduct",
        registered_at=None,
        answer_due_on=None,
        deadline_extended=False,
        forwarded_from=forwarded_from,
        forwarded_at=None,
        closed_at=None,
        answering=SimpleNamespace(answered_at=None, answer=None),
        joined_to=None,
        repeat_of=None,
    )


def test_every_institution_is_shown_as_the_nested_schema_dumps_it_first_time_and_after() -> None:
    schema = PetitionStatusSchema()
    for code, institution in load_directory().institutions.items():
        expected = InstitutionRefSchema().dump({"code": code, "name": institution.name})
        first = schema.dump(_status_of(code, forwarded_from=code))
        second = schema.dump(_status_of(code, forwarded_from=code))
        assert first["institution"] == second["institution"] == expected
        assert first["forwarded_from"] == second["forwarded_from"] == expected


def test_changing_one_answer_does_not_change_the_next() -> None:
    schema = PetitionStatusSchema()
    first = schema.dump(_status_of("IGPR"))
    shown = dict(first["institution"], name=dict(first["institution"]["name"]))
    first["institution"]["name"]["ro"] = "altered"
    first["institution"]["code"] = "XXX"
    del first["institution"]["name"]["en"]
    assert schema.dump(_status_of("IGPR"))["institution"] == shown
    assert shown["code"] == "IGPR" and shown["name"]["ro"] == load_directory().institution("IGPR").name["ro"]


def test_a_code_missing_from_the_directory_is_shown_as_its_name_and_not_kept() -> None:
    schema = PetitionStatusSchema()
    assert schema.dump(_status_of("GONE"))["institution"] == {"code": "GONE", "name": {"ro": "GONE", "en": "GONE"}}
    assert "GONE" not in schema.fields["institution"]._dumped  # type: ignore[attr-defined]
    assert schema.dump(_status_of("IGPR"))["forwarded_from"] is None
