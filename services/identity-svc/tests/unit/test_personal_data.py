"""A citizen's download of their data, run on the handlers alone (the other services stand in)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import pytest
from identity import handlers
from identity.commands import ExportAccount
from identity.errors import ExportSourceUnavailable, Forbidden
from identity.personal_data import zip_export
from identity_testing import CITIZEN, VALID_CNP
from mai_chassis import Principal

pytestmark = pytest.mark.unit


@dataclasses.dataclass
class StandIn:
    """A service's export endpoint: answers about whom the token names (here: the token itself)."""

    name: str
    answers_about: str | None = None
    tokens: list[str] = dataclasses.field(default_factory=list)

    def fetch(self, bearer_token: str) -> Mapping[str, Any]:
        self.tokens.append(bearer_token)
        subject = self.answers_about or bearer_token
        return {"service": self.name, "subject": subject, "data": {"items": [f"{self.name} of {subject}"]}}


def _citizen(account_id: object) -> Principal:
    return Principal(subject=str(account_id), kind="citizen")


def test_the_download_holds_identitys_part_and_each_services_part_asked_with_the_citizens_token(deps, uow, register):
    citizen_id = register()
    petitions, records = StandIn("petition-svc"), StandIn("record-svc")
    with_sources = dataclasses.replace(deps, export_sources=(petitions, records))

    export = handlers.export_account(
        uow, with_sources, ExportAccount(principal=_citizen(citizen_id), bearer_token=str(citizen_id))
    )

    assert list(export.parts) == ["identity-svc", "petition-svc", "record-svc"]
    own = export.parts["identity-svc"]["data"]
    assert own["account"]["email"] == CITIZEN["email"] and "password_hash" not in own["account"]
    assert own["civil_status"]["cnp"] == VALID_CNP and "cnp_sealed" not in own["civil_status"]
    assert petitions.tokens == [str(citizen_id)] and records.tokens == [str(citizen_id)]
    archive = zipfile.ZipFile(io.BytesIO(zip_export(export.parts, readme="hello")))
    assert sorted(archive.namelist()) == ["README.txt", "identity-svc.json", "petition-svc.json", "record-svc.json"]
    assert json.loads(archive.read("record-svc.json"))["data"]["items"] == [f"record-svc of {citizen_id}"]


def test_a_part_about_anyone_else_fails_the_download_rather_than_showing_it(deps, uow, register):
    citizen_id = register()
    wrong = StandIn("notify-svc", answers_about="0b6f9a57-2a0e-4c9b-9c1e-7d3f5b2a8e44")
    with pytest.raises(ExportSourceUnavailable) as refused:
        handlers.export_account(
            uow,
            dataclasses.replace(deps, export_sources=(wrong,)),
            ExportAccount(principal=_citizen(citizen_id), bearer_token=str(citizen_id)),
        )
    assert refused.value.extensions == {"service": "notify-svc"}


def test_staff_cannot_download_a_citizens_data_here(deps, uow, staff_member):
    with pytest.raises(Forbidden):
        handlers.export_account(uow, deps, ExportAccount(principal=staff_member("admin@*"), bearer_token="t"))
