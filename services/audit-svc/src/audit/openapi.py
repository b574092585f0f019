"""The OpenAPI 3.1 document of audit-svc (the gateway merges it)."""

from __future__ import annotations

from typing import Any

from mai_chassis.openapi import PROBLEM_SCHEMA, json_response, problem_response, service_spec

__all__ = ["openapi_document"]

_REF = "#/components/responses/"
_NULLABLE_TEXT = {"type": ["string", "null"]}
_INSTANT = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "AuditRecord": {
        "type": "object",
        "required": [
            "seq",
            "event_id",
            "service",
            "actor_id",
            "role",
            "unit",
            "action",
            "subject",
            "occurred_at",
            "outcome",
            "recorded_at",
            "row_hash",
        ],
        "properties": {
            "seq": {"type": "integer", "minimum": 1, "description": "Position in the hash chain."},
            "event_id": {"type": "string"},
            "service": {"type": "string", "examples": ["petition-svc"]},
            "actor_id": {"type": "string", "format": "uuid"},
            "role": _NULLABLE_TEXT,
            "unit": _NULLABLE_TEXT,
            "action": {"type": "string", "examples": ["petition.answer"]},
            "subject": {
                "type": "object",
                "required": ["type", "id"],
                "properties": {"type": {"type": "string"}, "id": {"type": "string"}, "number": _NULLABLE_TEXT},
            },
            "occurred_at": _INSTANT,
            "outcome": {"type": "string", "enum": ["succeeded", "failed"]},
            "recorded_at": _INSTANT,
            "row_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["records", "next_before"],
        "properties": {
            "records": {"type": "array", "items": {"$ref": "#/components/schemas/AuditRecord"}},
            "next_before": {"type": ["integer", "null"]},
        },
    },
    "Problem": PROBLEM_SCHEMA,
}

RESPONSES = {
    "BadRequest": problem_response("A filter that cannot be read."),
    "Unauthorized": problem_response("No valid access token."),
    "Forbidden": problem_response("Not an administrator."),
}


def _query(name: str, schema: dict[str, Any], description: str | None = None, **extra: Any) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "schema": schema, **extra}
    if description:
        parameter["description"] = description
    return parameter


_ACTIONS = {
    "operationId": "listStaffActions",
    "summary": "Admin — staff actions, newest first, filtered and paged",
    "description": "An administrator reads the actions of the units they administer (every unit with `admin@*`). "
    "Pages go backwards in time: pass a page's `next_before` as `before` for the next one.",
    "tags": ["audit"],
    "parameters": [
        _query("actor", {"type": "string", "format": "uuid"}, "The staff member's account id."),
        _query("unit", {"type": "string", "maxLength": 64}),
        _query(
            "service",
            {"type": "string", "maxLength": 64},
            "The service that recorded the action.",
            examples={"petitions": {"value": "petition-svc"}},
        ),
        _query("action", {"type": "string", "maxLength": 100}, examples={"answer": {"value": "petition.answer"}}),
        _query("subject_type", {"type": "string", "maxLength": 64}),
        _query("subject_id", {"type": "string", "maxLength": 100}),
        _query(
            "reference",
            {"type": "string", "maxLength": 100},
            "The case's registration number (IGPR-2026-000123) or its id.",
        ),
        _query("from", _INSTANT, "Actions at or after this instant."),
        _query("to", _INSTANT, "Actions before this instant."),
        _query("before", {"type": "integer", "minimum": 1}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
    ],
    "responses": {
        "200": json_response("One page of the trail.", "AuditPage"),
        "400": {"$ref": _REF + "BadRequest"},
        "401": {"$ref": _REF + "Unauthorized"},
        "403": {"$ref": _REF + "Forbidden"},
        "422": {"$ref": _REF + "BadRequest"},
    },
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this service's API."""
    spec = service_spec(
        title="MAI e-services — audit trail (audit-svc)",
        description="Every staff action of every service (petition clerks, counter clerks, certificate clerks, "
        "immigration officers, administrators, staff sign-ins), kept append-only in a hash chain; read by "
        "administrators.",
        security_scheme="bearerAuth",
        schemas=SCHEMAS,
        responses=RESPONSES,
        servers=[{"url": "/"}],
        security=[{"bearerAuth": []}],
    )
    spec.path(path="/api/v1/audit/actions", operations={"get": _ACTIONS})
    return spec.to_dict()
