"""Request and response schemas of the public API (written by hand, not generated from tables).

Responses are dumped from the handlers' results with these schemas (and the OpenAPI document is
built from them). Moments of actions are UTC, moments of appointments and slots are the offices'
wall clock, both ISO 8601 with their offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from .domain import aware, office_time

_CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ApplicationDraftRequest(StrictSchema):
    application_type = fields.String(required=True, validate=_CODE)
    office = fields.String(required=True, validate=_CODE, metadata={"description": "Office code, e.g. IGI-B."})
    language = fields.String(validate=validate.OneOf(["ro", "en"]), metadata={"description": "E-mail language."})


class DocumentDecisionRequest(StrictSchema):
    document_type = fields.String(required=True, validate=_CODE)
    decision = fields.String(required=True, validate=validate.OneOf(["accepted", "rejected"]))
    feedback = fields.String(validate=validate.Length(max=2000))


class ReviewRequest(StrictSchema):
    documents = fields.List(fields.Nested(DocumentDecisionRequest), required=True, validate=validate.Length(min=1))


class BookingRequest(StrictSchema):
    application_id = fields.UUID(required=True)
    slot_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "Omit to take the earliest."})
    earliest = fields.Boolean(metadata={"description": "true: take the earliest free slot of the office."})

    @validates_schema
    def _one_choice(self, data: dict[str, object], **_: object) -> None:
        if ("slot_id" in data) == bool(data.get("earliest")):
            raise ValidationError("Give either slot_id or earliest: true.", "slot_id")


class RescheduleRequest(StrictSchema):
    slot_id = fields.Integer(required=True, validate=validate.Range(min=1))


class VisitRequest(StrictSchema):
    biometrics_taken_at = fields.AwareDateTime(metadata={"description": "Defaults to now."})
    pickup_from = fields.Date(required=True)


class SlotSearchQuery(StrictSchema):
    date_from = fields.Date(data_key="from", required=True)
    date_to = fields.Date(data_key="to", required=True)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        start, end = data["date_from"], data["date_to"]
        if end < start:  # type: ignore[operator]
            raise ValidationError("to must not be before from.", "to")
        if (end - start).days > 62:  # type: ignore[operator]
            raise ValidationError("Search at most 62 days at once.", "to")


class DayQuery(StrictSchema):
    day = fields.Date(data_key="date", required=True)


class QueueQuery(StrictSchema):
    office = fields.String(validate=_CODE)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


# --- responses ------------------------------------------------------------------------------------


class Moment(fields.Field[datetime]):
    """A stored moment as ISO 8601 in UTC (SQLite gives it back without a zone)."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else aware(value).isoformat()


class OfficeMoment(fields.Field[datetime]):
    """A moment as ISO 8601 on the offices' wall clock (Europe/Bucharest)."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else office_time(value).isoformat()


class _Flattened(Schema):
    """Dumps a result that wraps a record: its own ``extra`` fields, every other field from ``inner``."""

    inner: ClassVar[str]
    extra: ClassVar[frozenset[str]]

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        source = obj if attr in self.extra else getattr(obj, self.inner)
        return super().get_attribute(source, attr, default)


class DocumentResponse(Schema):
    """One required document (a :class:`~booking.handlers.DocumentEntry`): only its status while missing."""

    document_type = fields.String()
    status = fields.Method("_status", metadata={"enum": ["missing", "uploaded", "accepted", "rejected"]})
    media_type = fields.String(attribute="document.media_type", allow_none=True)
    size_bytes = fields.Integer(attribute="document.size_bytes", allow_none=True)
    file_name = fields.String(attribute="document.file_name", allow_none=True)
    sha256 = fields.String(attribute="document.sha256", allow_none=True)
    feedback = fields.String(attribute="document.feedback", allow_none=True)
    uploaded_at = Moment(attribute="document.uploaded_at", allow_none=True, metadata={"type": "string"})

    def _status(self, entry: Any) -> str:
        return "missing" if entry.document is None else str(entry.document.status)

    @post_dump(pass_original=True)
    def _missing_has_only_a_status(self, data: dict[str, Any], entry: Any, **_: Any) -> dict[str, Any]:
        if entry.document is None:
            return {"document_type": data["document_type"], "status": "missing"}
        return data


class SlotResponse(Schema):
    slot_id = fields.Integer(attribute="id")
    office = fields.String()
    counter = fields.String()
    starts_at = OfficeMoment(metadata={"type": "string"})
    ends_at = OfficeMoment(metadata={"type": "string"})


class AppointmentResponse(Schema):
    appointment_id = fields.String(attribute="id")
    application_id = fields.String()
    office = fields.String()
    counter = fields.String()
    starts_at = OfficeMoment(metadata={"type": "string"})
    ends_at = OfficeMoment(metadata={"type": "string"})
    status = fields.String()
    rescheduled_from = fields.String(allow_none=True)


class LinkedRescheduleResponse(AppointmentResponse, _Flattened):
    """A :class:`~booking.api.appointments.LinkedReschedule`: the new appointment and its link token."""

    inner = "appointment"
    extra = frozenset({"link_token"})

    link_token = fields.String(metadata={"description": "Signed link token of the new appointment."})


class LinkedAppointmentResponse(Schema):
    appointment = fields.Nested(AppointmentResponse)
    application_type = fields.String()
    actions = fields.Dict(metadata={"description": "cancel and reschedule (POST), null once inactive."})
    detail = fields.String()


class TimelineEntryResponse(Schema):
    status = fields.String()
    at = Moment(attribute="occurred_at", metadata={"type": "string"})
    note = fields.String(allow_none=True)


class TimelineResponse(_Flattened):
    """A :class:`~booking.handlers.Timeline`."""

    inner = "application"
    extra = frozenset({"entries"})

    application_id = fields.String(attribute="id")
    status = fields.String()
    items = fields.List(fields.Nested(TimelineEntryResponse), attribute="entries")


class ApplicationSummaryResponse(Schema):
    application_id = fields.String(attribute="id")
    application_type = fields.String()
    office = fields.String()
    status = fields.String()
    submission_number = fields.Integer()
    created_at = Moment(metadata={"type": "string"})
    submitted_at = Moment(allow_none=True, metadata={"type": "string"})
    pickup_from = fields.Date(allow_none=True)


class ApplicationResponse(ApplicationSummaryResponse, _Flattened):
    """An :class:`~booking.handlers.ApplicationDetails` (lists give only the summary's fields)."""

    inner = "application"
    extra = frozenset({"documents", "appointment", "timeline"})

    documents = fields.List(fields.Nested(DocumentResponse))
    appointment = fields.Nested(AppointmentResponse, allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntryResponse))


class DocumentTypeResponse(Schema):
    code = fields.String()
    name = fields.Dict(keys=fields.String(), values=fields.String())


class ApplicationTypeResponse(Schema):
    code = fields.String()
    name = fields.Dict(keys=fields.String(), values=fields.String())
    required_documents = fields.List(fields.Nested(DocumentTypeResponse))


class OfficeResponse(Schema):
    code = fields.String()
    name = fields.String()
    county = fields.String()
    city = fields.String()
    counters = fields.List(fields.String())
    opening_hours = fields.Method("_opening_hours", metadata={"description": 'weekday -> ["HH:MM-HH:MM"]'})
    closed_days = fields.Method("_closed_days")

    def _opening_hours(self, office: Any) -> dict[str, list[str]]:
        return {
            day: [f"{i.opens:%H:%M}-{i.closes:%H:%M}" for i in intervals]
            for day, intervals in office.opening_hours.items()
        }

    def _closed_days(self, office: Any) -> list[str]:
        return sorted(d.isoformat() for d in office.closed_days)
