"""The OpenAPI 3.1 document of booking-svc, built from the marshmallow schemas (apispec)."""

from __future__ import annotations

import functools
from typing import Any

from mai_chassis.openapi import PROBLEM_SCHEMA, service_spec

from . import schemas

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _ok(description: str, schema: str | None = None, *, items: str | None = None) -> dict[str, Any]:
    if items:
        return {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{items}"}}},
                    }
                }
            },
        }
    return {"description": description, **(_json(schema) if schema else {})}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    errors: tuple[int, ...] = (401, 404),
    body: str | None = None,
    security: bool = True,
    params: list[dict[str, Any]] | None = None,
    tag: str = "immigration",
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": dict(responses)}
    for status in errors:
        operation["responses"][str(status)] = _PROBLEM
    if body:
        operation["requestBody"] = {"required": True, **_json(body)}
    if security:
        operation["security"] = [{"bearer": []}]
    if params:
        operation["parameters"] = params
    return operation


def _path(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": schema_type}}


def _query(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


@functools.cache
def openapi_document() -> dict[str, Any]:
    spec = service_spec(
        title="MAI e-services: immigration applications and counter appointments",
        description="booking-svc: applications to the General Inspectorate for Immigration, document "
        "review, appointments at territorial office counters and document pickup.",
    )
    spec.components.response(
        "Problem",
        {
            "description": "An RFC 9457 problem (validation errors, not found, slot taken, rate limited...).",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        },
    )
    for name in (
        "ApplicationDraftRequest",
        "ReviewRequest",
        "BookingRequest",
        "RescheduleRequest",
        "VisitRequest",
        "DocumentResponse",
        "SlotResponse",
        "AppointmentResponse",
        "LinkedRescheduleResponse",
        "LinkedAppointmentResponse",
        "TimelineEntryResponse",
        "TimelineResponse",
        "ApplicationSummaryResponse",
        "ApplicationResponse",
        "ApplicationTypeResponse",
        "OfficeResponse",
        "OpeningHoursRequest",
        "CapacityRequest",
        "ClosureRequest",
        "ClosureResponse",
        "OfficeScheduleResponse",
        "MovedAppointmentResponse",
        "ClosureOutcomeResponse",
        "ClosureEffectResponse",
        "ClosurePreviewResponse",
    ):
        spec.components.schema(name, schema=getattr(schemas, name))

    app_id = _path("application_id", "Application id (UUID).")
    appt_id = _path("appointment_id", "Appointment id (UUID).")
    link = _path("link_token", "Signed link from the confirmation e-mail.")
    link_header = {
        "name": "Appointment-Link-Token",
        "in": "header",
        "required": True,
        "description": "The token of the e-mailed link (kept out of the URL by pages acting for its holder).",
        "schema": {"type": "string"},
    }
    office = _path("code", "Office code, e.g. IGI-B.")
    doc_type = _path("document_type", "Code of the required document, e.g. passport-copy.")
    range_params = [
        _query("from", "First day (YYYY-MM-DD).", {"type": "string", "format": "date"}, True),
        _query("to", "Last day (YYYY-MM-DD), at most 62 days after from.", {"type": "string", "format": "date"}, True),
        _query("limit", "At most this many slots (1-500).", {"type": "integer"}),
    ]
    paths: dict[str, dict[str, Any]] = {
        "/api/v1/offices": {
            "get": _op(
                "Territorial immigration offices",
                {"200": _ok("Offices", items="OfficeResponse")},
                errors=(),
                security=False,
                tag="offices",
            )
        },
        "/api/v1/offices/{code}": {
            "get": _op(
                "One office with counters, hours and closed days",
                {"200": _ok("Office", "OfficeResponse")},
                errors=(404,),
                security=False,
                params=[office],
                tag="offices",
            )
        },
        "/api/v1/offices/{code}/slots": {
            "get": _op(
                "Free counter slots of an office in a date range (rate-limited per citizen)",
                {"200": _ok("Free slots", items="SlotResponse")},
                errors=(401, 404, 422, 429),
                params=[office, *range_params],
                tag="offices",
            )
        },
        "/api/v1/offices/{code}/appointments": {
            "get": _op(
                "Officers and office managers: the day's appointments at the office's counters",
                {"200": _ok("Appointments", items="AppointmentResponse")},
                errors=(401, 403, 404, 422),
                params=[office, _query("date", "The day (YYYY-MM-DD).", {"type": "string", "format": "date"}, True)],
                tag="offices",
            )
        },
        "/api/v1/offices/{code}/schedule": {
            "get": _op(
                "Office managers: the office's opening hours, counters per slot type, closures not over yet "
                "and the public holidays ahead",
                {"200": _ok("Schedule", "OfficeScheduleResponse")},
                errors=(401, 403, 404),
                params=[office],
                tag="office managers",
            )
        },
        "/api/v1/offices/{code}/schedule/opening-hours": {
            "put": _op(
                "Office managers: replace the weekly opening hours; the office's free slots are brought in "
                "line at once (booked ones stay)",
                {"200": _ok("Schedule, with the slots created and withdrawn", "OfficeScheduleResponse")},
                errors=(400, 401, 403, 404, 415, 422),
                body="OpeningHoursRequest",
                params=[office],
                tag="office managers",
            )
        },
        "/api/v1/offices/{code}/schedule/capacity": {
            "put": _op(
                "Office managers: how many counters serve each slot type; the free slots follow at once",
                {"200": _ok("Schedule, with the slots created and withdrawn", "OfficeScheduleResponse")},
                errors=(400, 401, 403, 404, 415, 422),
                body="CapacityRequest",
                params=[office],
                tag="office managers",
            )
        },
        "/api/v1/offices/{code}/closures": {
            "get": _op(
                "Office managers: the office's closures not over yet",
                {"200": _ok("Closures", items="ClosureResponse")},
                errors=(401, 403, 404),
                params=[office],
                tag="office managers",
            ),
            "post": _op(
                "Office managers: close the office on a day or a range of days, with a reason. Its free slots "
                "of those days are withdrawn; each appointment booked on them moves to the nearest later free "
                "slot of the same type at the office (appointment.moved), or is cancelled when there is none "
                "(appointment.cancelled, reason office_closed); every applicant is mailed",
                {"201": _ok("The closure and the appointments moved and cancelled", "ClosureOutcomeResponse")},
                errors=(400, 401, 403, 404, 415, 422),
                body="ClosureRequest",
                params=[office],
                tag="office managers",
            ),
        },
        "/api/v1/offices/{code}/closures/preview": {
            "get": _op(
                "Office managers: what closing the office on these days would do now, changing nothing: "
                "each appointment booked on them, and the later slot it would move to or that it would be "
                "cancelled (applicants may still book or cancel before the closure is declared)",
                {"200": _ok("The appointments affected and their fate", "ClosurePreviewResponse")},
                errors=(401, 403, 404, 422),
                params=[
                    office,
                    _query(
                        "first_day", "The first day closed (YYYY-MM-DD).", {"type": "string", "format": "date"}, True
                    ),
                    _query(
                        "last_day", "The last day closed (default: first_day).", {"type": "string", "format": "date"}
                    ),
                ],
                tag="office managers",
            )
        },
        "/api/v1/immigration/application-types": {
            "get": _op(
                "Application types and their required documents",
                {"200": _ok("Types", items="ApplicationTypeResponse")},
                errors=(),
                security=False,
            )
        },
        "/api/v1/immigration/applications": {
            "post": _op(
                "Start a draft application (Idempotency-Key supported)",
                {"201": _ok("Draft created", "ApplicationResponse")},
                errors=(401, 409, 422),
                body="ApplicationDraftRequest",
            ),
            "get": _op(
                "My applications", {"200": _ok("Applications", items="ApplicationSummaryResponse")}, errors=(401,)
            ),
        },
        "/api/v1/immigration/applications/{application_id}": {
            "get": _op(
                "An application with documents, appointment and timeline",
                {"200": _ok("Application", "ApplicationResponse")},
                params=[app_id],
            )
        },
        "/api/v1/immigration/applications/{application_id}/timeline": {
            "get": _op(
                "Status timeline of my application",
                {"200": _ok("Timeline", "TimelineResponse")},
                params=[app_id],
            )
        },
        "/api/v1/immigration/applications/{application_id}/documents/{document_type}": {
            "put": {
                **_op(
                    "Upload (or replace a rejected) scanned document: PDF, JPEG or PNG, at most 5 MB",
                    {"200": _ok("Stored", "DocumentResponse")},
                    errors=(400, 401, 404, 409, 413, 415, 422),
                    params=[app_id, doc_type],
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "contentMediaType": "application/octet-stream"}
                                },
                            }
                        }
                    },
                },
            }
        },
        "/api/v1/immigration/applications/{application_id}/documents/{document_type}/content": {
            "get": {
                **_op(
                    "Download a document (applicant or reviewing officer)",
                    {
                        "200": {
                            "description": "The stored bytes",
                            "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
                        }
                    },
                    params=[app_id, doc_type],
                )
            }
        },
        "/api/v1/immigration/applications/{application_id}/submit": {
            "post": _op(
                "Submit (or resubmit) for review once every required document is present",
                {"200": _ok("Submitted", "ApplicationResponse")},
                errors=(401, 404, 409),
                params=[app_id],
            )
        },
        "/api/v1/immigration/applications/{application_id}/proposed-slots": {
            "get": _op(
                "The earliest free slots at the application's office",
                {"200": _ok("Slots", items="SlotResponse")},
                errors=(401, 404, 409, 429),
                params=[app_id],
            )
        },
        "/api/v1/immigration/review-queue": {
            "get": _op(
                "Officers: applications of my offices in a status, oldest first: submitted (documents to "
                "review), appointment_booked (visits to record), ready_for_pickup (documents to hand over)",
                {"200": _ok("Queue", items="ApplicationSummaryResponse")},
                errors=(401, 403, 422),
                params=[
                    _query("office", "Only this office.", {"type": "string"}),
                    _query(
                        "status",
                        "submitted (default), appointment_booked or ready_for_pickup.",
                        {"type": "string", "enum": ["submitted", "appointment_booked", "ready_for_pickup"]},
                    ),
                    _query("limit", "At most this many (1-200).", {"type": "integer"}),
                ],
            )
        },
        "/api/v1/immigration/applications/{application_id}/review": {
            "post": _op(
                "Officers: accept or reject every document awaiting review, with feedback for rejections",
                {"200": _ok("Reviewed", "ApplicationResponse")},
                errors=(401, 403, 404, 409, 422),
                body="ReviewRequest",
                params=[app_id],
            )
        },
        "/api/v1/immigration/applications/{application_id}/visit": {
            "post": _op(
                "Officers: biometrics taken, document ready for pickup from a date",
                {"200": _ok("Ready for pickup", "ApplicationResponse")},
                errors=(401, 403, 404, 409, 422),
                body="VisitRequest",
                params=[app_id],
            )
        },
        "/api/v1/immigration/applications/{application_id}/pickup": {
            "post": _op(
                "Officers: the applicant picked the document up; the application is closed",
                {"200": _ok("Closed", "ApplicationResponse")},
                errors=(401, 403, 404, 409),
                params=[app_id],
            )
        },
        "/api/v1/appointments": {
            "post": _op(
                "Book a slot (or the earliest free one) for an application whose documents were accepted",
                {"201": _ok("Booked", "AppointmentResponse")},
                errors=(401, 404, 409, 422, 429),
                body="BookingRequest",
                tag="appointments",
            )
        },
        "/api/v1/appointments/{appointment_id}": {
            "get": _op(
                "One of my appointments",
                {"200": _ok("Appointment", "AppointmentResponse")},
                params=[appt_id],
                tag="appointments",
            )
        },
        "/api/v1/appointments/{appointment_id}/cancel": {
            "post": _op(
                "Cancel my appointment; the slot is free again",
                {"200": _ok("Cancelled", "AppointmentResponse")},
                errors=(401, 404, 409),
                params=[appt_id],
                tag="appointments",
            )
        },
        "/api/v1/appointments/{appointment_id}/reschedule": {
            "post": _op(
                "Move my appointment to another free slot (atomic)",
                {"201": _ok("New appointment", "AppointmentResponse")},
                errors=(401, 404, 409, 422, 429),
                body="RescheduleRequest",
                params=[appt_id],
                tag="appointments",
            )
        },
        "/api/v1/appointments/manage/{link_token}": {
            "get": _op(
                "What the e-mailed link would do (changes nothing)",
                {"200": _ok("Appointment and actions", "LinkedAppointmentResponse")},
                errors=(404,),
                security=False,
                params=[link],
                tag="appointments",
            )
        },
        "/api/v1/appointments/manage/{link_token}/slots": {
            "get": _op(
                "Free slots at the appointment's office, to reschedule through the e-mailed link "
                "(rate-limited per applicant)",
                {"200": _ok("Free slots", items="SlotResponse")},
                errors=(404, 409, 422, 429),
                security=False,
                params=[link, *range_params],
                tag="appointments",
            )
        },
        "/api/v1/appointments/manage/{link_token}/cancel": {
            "post": _op(
                "Cancel through the e-mailed link",
                {"200": _ok("Cancelled", "AppointmentResponse")},
                errors=(404, 409),
                security=False,
                params=[link],
                tag="appointments",
            )
        },
        "/api/v1/appointments/manage/{link_token}/reschedule": {
            "post": _op(
                "Reschedule through the e-mailed link; the answer carries the new appointment's link token",
                {"201": _ok("New appointment and its link_token", "LinkedRescheduleResponse")},
                errors=(404, 409, 422, 429),
                security=False,
                body="RescheduleRequest",
                params=[link],
                tag="appointments",
            )
        },
        "/api/v1/appointments/linked": {
            "get": _op(
                "What the e-mailed link would do (changes nothing); the token in a header",
                {"200": _ok("Appointment and actions", "LinkedAppointmentResponse")},
                errors=(400, 404),
                security=False,
                params=[link_header],
                tag="appointments",
            )
        },
        "/api/v1/appointments/linked/slots": {
            "get": _op(
                "Free slots at the appointment's office, to reschedule through the e-mailed link "
                "(rate-limited per applicant)",
                {"200": _ok("Free slots", items="SlotResponse")},
                errors=(400, 404, 409, 422, 429),
                security=False,
                params=[link_header, *range_params],
                tag="appointments",
            )
        },
        "/api/v1/appointments/linked/cancel": {
            "post": _op(
                "Cancel through the e-mailed link",
                {"200": _ok("Cancelled", "AppointmentResponse")},
                errors=(400, 404, 409),
                security=False,
                params=[link_header],
                tag="appointments",
            )
        },
        "/api/v1/appointments/linked/reschedule": {
            "post": _op(
                "Reschedule through the e-mailed link; the answer carries the new appointment's link token",
                {"201": _ok("New appointment and its link_token", "LinkedRescheduleResponse")},
                errors=(400, 404, 409, 422, 429),
                security=False,
                body="RescheduleRequest",
                params=[link_header],
                tag="appointments",
            )
        },
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
