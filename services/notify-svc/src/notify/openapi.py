"""The OpenAPI 3.1 document of notify-svc (the gateway merges it)."""

from __future__ import annotations

from typing import Any

from mai_chassis.openapi import PROBLEM_SCHEMA, json_response, problem_response, service_spec

__all__ = ["openapi_document"]

_REF = "#/components/responses/"
_STATUS = {"$ref": "#/components/schemas/DeliveryStatus"}
_INSTANT = {"type": "string", "format": "date-time"}
_MAYBE_INSTANT = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "DeliveryStatus": {
        "type": "string",
        "description": "suppressed: never sent, because the recipient address had already received as many mails "
        "that anyone can trigger (registration, e-mail confirmation, password reset, petition receipt) as its "
        "limit allows in the window; an administrator's resend still sends it.",
        "enum": ["created", "sending", "delivered", "temporary-failure", "permanent-failure", "suppressed"],
    },
    "Delivery": {
        "type": "object",
        "required": ["number", "status", "attempts", "created_at"],
        "properties": {
            "number": {
                "type": "integer",
                "minimum": 1,
                "description": "1 for the first delivery, 2 and up for resends.",
            },
            "status": _STATUS,
            "attempts": {"type": "integer", "minimum": 0},
            "created_at": _INSTANT,
            "delivered_at": _MAYBE_INSTANT,
            "failed_at": _MAYBE_INSTANT,
            "next_attempt_at": {
                **_MAYBE_INSTANT,
                "description": "When the next attempt is due, while a temporary failure is being retried.",
            },
        },
    },
    "Notification": {
        "type": "object",
        "required": ["id", "event_type", "subject", "language", "sent_to", "status", "created_at", "deliveries"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "event_type": {"type": "string", "examples": ["ro.mai.petition.submitted.v1"]},
            "subject": {"type": "string"},
            "language": {"type": "string", "enum": ["ro", "en"]},
            "sent_to": {"type": "string", "format": "email"},
            "status": _STATUS,
            "created_at": _INSTANT,
            "deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
        },
    },
    "NotificationPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "FoundNotification": {
        "allOf": [
            {"$ref": "#/components/schemas/Notification"},
            {
                "type": "object",
                "properties": {
                    "reference": {
                        "type": ["string", "null"],
                        "description": "The case's registration number, if the event named one.",
                    },
                    "about": {
                        "type": ["string", "null"],
                        "description": "The id of the petition, application, certificate or account the event "
                        "was about.",
                    },
                },
            },
        ]
    },
    "FoundNotificationPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/FoundNotification"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "Problem": PROBLEM_SCHEMA,
}

RESPONSES = {
    "Unauthorized": problem_response("No valid access token."),
    "Forbidden": problem_response("The token does not allow this operation."),
    "NotFound": problem_response("No such notification."),
    "ValidationError": problem_response("Invalid or unknown query parameters."),
    "Unavailable": problem_response("The database is unreachable; try again shortly."),
}

_LIST = {
    "operationId": "listMyNotifications",
    "summary": "The signed-in citizen's notifications, newest first",
    "tags": ["notifications"],
    "parameters": [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    ],
    "responses": {
        "200": json_response("One page of notifications.", "NotificationPage"),
        "401": {"$ref": _REF + "Unauthorized"},
        "403": {"$ref": _REF + "Forbidden"},
        "422": {"$ref": _REF + "ValidationError"},
        "503": {"$ref": _REF + "Unavailable"},
    },
}

_RESEND = {
    "operationId": "resendNotification",
    "summary": "Send a notification again (administrators)",
    "description": "Creates a new delivery of the same notification, due at once. Allowed once the latest delivery "
    "has finished (delivered or permanent-failure). Audited. An administrator resends only notifications sent on "
    "behalf of a unit they administer (the petition's institution, the immigration office, the police unit); "
    "national mails (accounts, certificates issued online) need an administrator of every unit (`admin@*`); "
    "otherwise 403.",
    "tags": ["notifications"],
    "parameters": [
        {"name": "notification_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "A retried request with the same key returns the first response instead of resending twice.",
            "schema": {"type": "string", "maxLength": 200},
        },
    ],
    "responses": {
        "202": json_response("The new delivery was queued.", "Notification"),
        "401": {"$ref": _REF + "Unauthorized"},
        "403": {"$ref": _REF + "Forbidden"},
        "404": {"$ref": _REF + "NotFound"},
        "409": problem_response("The latest delivery is still under way."),
        "503": {"$ref": _REF + "Unavailable"},
    },
}

_SEARCH = {
    "operationId": "searchNotifications",
    "summary": "Find notifications by recipient address or case reference (administrators)",
    "description": "Administrators only. Give exactly one of `recipient` (the whole address; letter case does not "
    "matter; never a partial match) or `reference` (a petition's or certificate's registration number, or the id of "
    "the petition, application or certificate the mail was about). The address travels in the body, never in a URL, "
    "and notify-svc does not log it. Only the notifications of units the administrator administers are found "
    "(national mails need `admin@*`; an administrator of some units is shown the matches among the newest 1000). "
    "Newest first, paged.",
    "tags": ["notifications"],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "recipient": {"type": "string", "format": "email", "maxLength": 254},
                        "reference": {"type": "string", "maxLength": 200, "pattern": "^[A-Za-z0-9._-]+$"},
                        "page": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
                        "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    },
                }
            }
        },
    },
    "responses": {
        "200": json_response("One page of the notifications found.", "FoundNotificationPage"),
        "401": {"$ref": _REF + "Unauthorized"},
        "403": {"$ref": _REF + "Forbidden"},
        "415": problem_response("The body is not JSON."),
        "422": {"$ref": _REF + "ValidationError"},
        "503": {"$ref": _REF + "Unavailable"},
    },
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this service's API."""
    spec = service_spec(
        title="MAI e-services — notifications (notify-svc)",
        description="The e-mails a citizen was sent about their petitions, account, certificates and immigration "
        "applications, with their delivery status; and resends for administrators.",
        security_scheme="bearerAuth",
        schemas=SCHEMAS,
        responses=RESPONSES,
        servers=[{"url": "/"}],
        security=[{"bearerAuth": []}],
    )
    spec.path(path="/api/v1/notifications", operations={"get": _LIST})
    spec.path(path="/api/v1/notifications/{notification_id}/resend", operations={"post": _RESEND})
    spec.path(path="/api/v1/notifications/searches", operations={"post": _SEARCH})
    return spec.to_dict()
