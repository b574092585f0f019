"""HTTP API of the administrators' staff tools: the staff accounts of their units, page by page or one, and
the reset of a member's second factor. Kept apart from ``api.py``'s staff views (creating members,
granting roles) only by area; the shape is the same: parse, run the handler, dump with a schema."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request
from mai_chassis import Principal, current_principal, require_auth
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from . import schemas
from .deps import IdentityDeps
from .handlers.staff_administration import (
    ListStaffAccounts,
    ReadStaffAccount,
    ResetSecondFactor,
    list_staff_accounts,
    read_staff_account,
    reset_second_factor,
)

__all__ = ["blueprint"]

blueprint = Blueprint("staff_administration", __name__, url_prefix="/api/v1/staff/accounts")


def _deps() -> IdentityDeps:
    return current_app.extensions["identity_deps"]  # type: ignore[no-any-return]


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # require_auth let the request in
    return principal


@blueprint.get("")
@require_auth("admin", kind="staff")
def list_accounts() -> Response:
    query = schemas.StaffAccountsQuery().load(request.args.to_dict(), unknown=RAISE)
    with unit_of_work() as uow:
        page = list_staff_accounts(uow, _deps(), ListStaffAccounts(principal=_principal(), **query))
    return jsonify(schemas.StaffAccountPage().dump(page))


@blueprint.get("/<staff_id>")
@require_auth("admin", kind="staff")
def read_account(staff_id: str) -> Response:
    with unit_of_work() as uow:
        view = read_staff_account(uow, _deps(), ReadStaffAccount(principal=_principal(), staff_id=staff_id))
    return jsonify(schemas.AdministeredStaffAccount().dump(view))


@blueprint.delete("/<staff_id>/second-factor")
@require_auth("admin", kind="staff")
def reset_member_second_factor(staff_id: str) -> tuple[str, int]:
    command = ResetSecondFactor(principal=_principal(), staff_id=staff_id, request_id=g.get("request_id"))
    with unit_of_work() as uow:
        reset_second_factor(uow, _deps(), command)
    return "", 204
