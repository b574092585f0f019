"""The OpenAPI 3.1 document of petition-svc, built from the marshmallow schemas the API uses."""

from __future__ import annotations

import functools
from typing import Any

from mai_chassis.openapi import service_spec

from . import schemas

__all__ = ["openapi_spec"]

PROBLEM = "application/problem+json"


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _items(schema: str) -> dict[str, Any]:
    return {
        "description": "OK",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}},
                }
            }
        },
    }


NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}, "example": "IGPR-2026-000123"}
FIELD_FILTER = {"name": "field", "in": "query", "required": False, "schema": {"type": "string"}}
STAFF: list[dict[str, list[str]]] = [{"bearer": []}]
INVALID = _problem("Invalid or unknown fields; `errors` names each field.")
STAFF_ERRORS = {"401": _problem("No valid access token."), "403": _problem("Not a clerk of this institution.")}


def _staff_action(summary: str, body: str) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["staff"],
            "summary": summary,
            "security": STAFF,
            "parameters": [NUMBER],
            "requestBody": _body(body),
            "responses": {
                "200": _json("PetitionDetail", "The petition's new state."),
                "404": _problem("No petition with this number."),
                "409": _problem("The petition's state does not allow it."),
                "422": INVALID,
                **STAFF_ERRORS,
            },
        }
    }


@functools.cache
def openapi_spec() -> dict[str, Any]:
    spec = service_spec(
        title="MAI e-services — petitions",
        description=(
            "Petitions and opinions/suggestions to the Ministry of Internal Affairs and its institutions "
            "(OG 27/2002): the institutions directory, FAQ, preventive recommendations, submit, status "
            "lookup, and the clerks' workflow. Errors are RFC 9457 problem+json."
        ),
    )
    for name, schema in [
        ("Problem", schemas.ProblemSchema),
        ("PetitionSubmission", schemas.PetitionSubmissionSchema),
        ("PetitionRegistered", schemas.PetitionRegisteredSchema),
        ("PetitionIntake", schemas.PetitionIntakeSchema),
        ("PetitionTakenIn", schemas.PetitionTakenInSchema),
        ("StatusLookup", schemas.StatusLookupSchema),
        ("PetitionStatus", schemas.PetitionStatusSchema),
        ("PetitionDetail", schemas.PetitionDetailSchema),
        ("QueuePage", schemas.QueuePageSchema),
        ("Assignment", schemas.AssignmentSchema),
        ("Forwarding", schemas.ForwardingSchema),
        ("Answer", schemas.AnswerSchema),
        ("Join", schemas.JoinSchema),
        ("Closure", schemas.ClosureSchema),
        ("DeadlineExtension", schemas.DeadlineExtensionSchema),
        ("Institution", schemas.InstitutionSchema),
        ("FaqEntry", schemas.FaqEntrySchema),
        ("Recommendation", schemas.RecommendationSchema),
    ]:
        spec.components.schema(name, schema=schema)

    spec.path(
        path="/api/v1/institutions",
        operations={
            "get": {
                "tags": ["directory"],
                "summary": "Institutions, their competencies, fields and contacts",
                "parameters": [FIELD_FILTER],
                "responses": {"200": _items("Institution"), "422": INVALID},
            }
        },
    )
    spec.path(
        path="/api/v1/institutions/{code}",
        operations={
            "get": {
                "tags": ["directory"],
                "summary": "One institution",
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("Institution"), "404": _problem("Unknown institution.")},
            }
        },
    )
    spec.path(
        path="/api/v1/faq",
        operations={
            "get": {
                "tags": ["directory"],
                "summary": "Frequently asked questions per field of activity",
                "parameters": [FIELD_FILTER],
                "responses": {"200": _items("FaqEntry"), "422": INVALID},
            }
        },
    )
    spec.path(
        path="/api/v1/recommendations",
        operations={
            "get": {
                "tags": ["directory"],
                "summary": "Preventive recommendations",
                "parameters": [FIELD_FILTER],
                "responses": {"200": _items("Recommendation"), "422": INVALID},
            }
        },
    )
    attachments_part = {
        "type": "array",
        "maxItems": 5,
        "items": {"type": "string", "contentMediaType": "application/octet-stream"},
        "description": "PDF, JPEG or PNG (checked by content), at most 5 MB each.",
    }

    def multipart_of(petition_schema: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["petition"],
            "properties": {
                "petition": {"$ref": f"#/components/schemas/{petition_schema}"},
                "attachments": attachments_part,
            },
        }

    multipart = multipart_of("PetitionSubmission")
    spec.path(
        path="/api/v1/petitions",
        operations={
            "post": {
                "tags": ["petitions"],
                "summary": "Submit a petition or an opinion/suggestion; it is registered at once",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "A retry with the same key returns the first response.",
                    },
                    {
                        "name": "Proof-Of-Work",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 300},
                        "description": "`<challenge>:<nonce>` answering the challenge of a 428 challenge-required "
                        "(only where SUBMISSION_CHALLENGE is on, for anonymous clients past its threshold).",
                    },
                ],
                "description": "Petitions with attachments count against quotas per client (address, or the "
                "signed-in citizen) and per petitioner e-mail address in a window (default 10 and 5 a day, 100 "
                "and 50 MB); past one the answer is 429 submission-quota-exceeded with Retry-After and "
                "`quota` (client or recipient), and nothing is stored. Where SUBMISSION_CHALLENGE=proof-of-work, "
                "an anonymous client past SUBMISSION_CHALLENGE_AFTER gets 428 challenge-required with a "
                "`challenge` to solve and send back in the Proof-Of-Work header. When the attachment store would "
                "pass its budget, attachments are refused with 503 attachment-storage-full. A petition without "
                "attachments is never refused by these.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/PetitionSubmission"}},
                        "multipart/form-data": {
                            "schema": multipart,
                            "encoding": {"petition": {"contentType": "application/json"}},
                        },
                    },
                },
                "responses": {
                    "201": _json("PetitionRegistered", "Registered; the petitioner is e-mailed the number."),
                    "400": _problem("Malformed JSON or Idempotency-Key."),
                    "409": _problem("A request with this Idempotency-Key is still running."),
                    "413": _problem("An attachment is over 5 MB, or the body too large."),
                    "415": _problem("Not JSON or multipart, or an attachment that is not PDF, JPEG or PNG."),
                    "422": _problem("Invalid, missing or unknown fields, or an unknown institution."),
                    "428": _problem("challenge-required: solve the `challenge` and send again with Proof-Of-Work."),
                    "429": {
                        **_problem("submission-quota-exceeded (`quota`: client or recipient), or the gateway's rate."),
                        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                    },
                    "503": {
                        **_problem("attachment-storage-full: send the petition without attachments, or later."),
                        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                    },
                },
            },
            "get": {
                "tags": ["staff"],
                "summary": "A clerk's queue of an institution, most urgent first",
                "security": STAFF,
                "description": "Filters combine (AND). The console's: new = `status=registered`; assigned to "
                "me = `assignee=me`; due in 3 days = `due_soon=true` (open, answer due within "
                "DEADLINE_REMINDER_WORKING_DAYS working days, the window in which the assigned clerk is reminded); "
                "`overdue=true`; `forwarded_late=true`; `channel=post|email|counter|web`. Each item carries "
                "`overdue` and `due_soon` as of today.",
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    | ({"description": description} if description else {})
                    for name, schema, description in [
                        ("institution", {"type": "string"}, "Required for a clerk of several institutions."),
                        ("status", {"enum": ["registered", "in_progress", "answered", "closed"]}, "registered: new."),
                        ("field", {"type": "string"}, "Field of activity code."),
                        ("kind", {"enum": ["petition", "opinion"]}, ""),
                        ("assignee", {"type": "string"}, "A staff account id, or `me`."),
                        ("overdue", {"type": "boolean"}, "Open, past the deadline or forwarded late."),
                        ("due_soon", {"type": "boolean"}, "Open, due within the reminder window."),
                        ("forwarded_late", {"type": "boolean"}, "Forwarded here after the 5 days."),
                        ("channel", {"enum": ["web", "post", "email", "counter"]}, "How it was received."),
                        ("page", {"type": "integer", "minimum": 1}, ""),
                        ("page_size", {"type": "integer", "minimum": 1, "maximum": 100}, ""),
                    ]
                ],
                "responses": {"200": _json("QueuePage"), "422": INVALID, **STAFF_ERRORS},
            },
        },
    )
    spec.path(
        path="/api/v1/petitions/intake",
        operations={
            "post": {
                "tags": ["staff"],
                "summary": "Register a petition received by post, by e-mail or at a counter",
                "description": "For a petition clerk of the registering institution. Same numbering, deadlines and "
                "petition.submitted event as the online form, with the channel and the day received; the terms run "
                "from registration (OG 27/2002 art. 8). With an e-mail address the petitioner is mailed the "
                "number; without one a postal address is required and the clerk prints the receipt "
                "(`receipt_url`). The scans go as multipart `attachments` (the online form's limits; a clerk's "
                "intake counts against no client quota, only the attachment store's budget).",
                "security": STAFF,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "A retry with the same key returns the first registration.",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/PetitionIntake"}},
                        "multipart/form-data": {
                            "schema": multipart_of("PetitionIntake"),
                            "encoding": {"petition": {"contentType": "application/json"}},
                        },
                    },
                },
                "responses": {
                    "201": _json("PetitionTakenIn", "Registered."),
                    "400": _problem("Malformed JSON or Idempotency-Key."),
                    "409": _problem("A request with this Idempotency-Key is still running."),
                    "413": _problem("An attachment is over 5 MB, or the body too large."),
                    "415": _problem("Not JSON or multipart, or an attachment that is not PDF, JPEG or PNG."),
                    "503": _problem("attachment-storage-full: register it without the scans, or later."),
                    "422": _problem(
                        "Invalid, missing or unknown fields; no-address-to-answer (neither e-mail nor postal "
                        "address); implausible-receipt-date (after today, or over 90 days before)."
                    ),
                    **STAFF_ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/{number}/receipt",
        operations={
            "get": {
                "tags": ["staff"],
                "summary": "The printable registration receipt (PDF): number, dates, institution, answer deadline",
                "security": STAFF,
                "parameters": [NUMBER],
                "responses": {
                    "200": {"description": "The receipt", "content": {"application/pdf": {}}},
                    "404": _problem("No such petition."),
                    **STAFF_ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/status-lookup",
        operations={
            "post": {
                "tags": ["petitions"],
                "summary": "A petition's status, by registration number and the petitioner's e-mail",
                "description": "POST keeps the e-mail out of URLs and access logs. A wrong e-mail gets the same "
                "404 as an unknown number.",
                "requestBody": _body("StatusLookup"),
                "responses": {
                    "200": _json("PetitionStatus"),
                    "404": _problem("No such petition for this e-mail."),
                    "422": INVALID,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/mine",
        operations={
            "get": {
                "tags": ["petitions"],
                "summary": "The signed-in citizen's own petitions, newest first (those sent while signed in)",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _items("PetitionStatus"),
                    "401": _problem("No valid access token."),
                    "403": _problem("The token is not a citizen's."),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/overdue",
        operations={
            "get": {
                "tags": ["staff"],
                "summary": "Open petitions past their answer deadline, or forwarded after the 5 days",
                "security": STAFF,
                "parameters": [{"name": "institution", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _json("QueuePage"), "422": INVALID, **STAFF_ERRORS},
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/{number}",
        operations={
            "get": {
                "tags": ["staff"],
                "summary": "A petition in full, for its institution's clerks",
                "security": STAFF,
                "parameters": [NUMBER],
                "responses": {"200": _json("PetitionDetail"), "404": _problem("No such petition."), **STAFF_ERRORS},
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/{number}/status",
        operations={
            "get": {
                "tags": ["staff"],
                "summary": "Status by number alone (phone line: phone_operator of the petition's institution, "
                "or of every unit for the national line; or its clerks)",
                "security": STAFF,
                "parameters": [NUMBER],
                "responses": {"200": _json("PetitionStatus"), "404": _problem("No such petition."), **STAFF_ERRORS},
            }
        },
    )
    spec.path(
        path="/api/v1/petitions/{number}/attachments/{position}",
        operations={
            "get": {
                "tags": ["staff"],
                "summary": "Download an attachment",
                "security": STAFF,
                "parameters": [
                    NUMBER,
                    {"name": "position", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
                    },
                    "404": _problem("No such attachment."),
                    **STAFF_ERRORS,
                },
            }
        },
    )
    spec.path(path="/api/v1/petitions/{number}/assignment", operations=_staff_action("Assign to a clerk", "Assignment"))
    spec.path(
        path="/api/v1/petitions/{number}/forwarding",
        operations=_staff_action("Forward to the competent institution (due within 5 days)", "Forwarding"),
    )
    spec.path(
        path="/api/v1/petitions/{number}/answer",
        operations=_staff_action("Answer (covers joined petitions) and close", "Answer"),
    )
    spec.path(
        path="/api/v1/petitions/{number}/joined-petitions",
        operations=_staff_action("Join the petitioner's other petitions on the same problem", "Join"),
    )
    spec.path(
        path="/api/v1/petitions/{number}/closure",
        operations=_staff_action("Close as a repeat, withdrawn, or (opinions) noted", "Closure"),
    )
    spec.path(
        path="/api/v1/petitions/{number}/deadline-extension",
        operations=_staff_action(
            "Extend the answer deadline once, by at most 15 days, with a reason (the petitioner is mailed both)",
            "DeadlineExtension",
        ),
    )
    return spec.to_dict()
