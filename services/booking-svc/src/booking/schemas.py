"""Request and response schemas of the public API (written by hand, not generated from tables)."""

from __future__ import annotations

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

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


# --- responses (documentation) -------------------------------------------------------------------


class DocumentResponse(Schema):
    document_type = fields.String()
    status = fields.String(metadata={"enum": ["missing", "uploaded", "accepted", "rejected"]})
    media_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    file_name = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    feedback = fields.String(allow_none=True)
    uploaded_at = fields.String(allow_none=True)


class SlotResponse(Schema):
    slot_id = fields.Integer()
    office = fields.String()
    counter = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()


class AppointmentResponse(Schema):
    appointment_id = fields.String()
    application_id = fields.String()
    office = fields.String()
    counter = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()
    status = fields.String()
    rescheduled_from = fields.String(allow_none=True)


class LinkedRescheduleResponse(AppointmentResponse):
    link_token = fields.String(metadata={"description": "Signed link token of the new appointment."})


class TimelineEntryResponse(Schema):
    status = fields.String()
    at = fields.String()
    note = fields.String(allow_none=True)


class ApplicationResponse(Schema):
    application_id = fields.String()
    application_type = fields.String()
    office = fields.String()
    status = fields.String()
    submission_number = fields.Integer()
    created_at = fields.String()
    submitted_at = fields.String(allow_none=True)
    pickup_from = fields.String(allow_none=True)
    documents = fields.List(fields.Nested(DocumentResponse))
    appointment = fields.Nested(AppointmentResponse, allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntryResponse))
