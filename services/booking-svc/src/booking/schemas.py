"""Request and response schemas of the public API (written by hand, not generated from tables).

Responses are dumped from the handlers' results with these schemas (and the OpenAPI document is
built from them). Moments of actions are UTC, moments of appointments and slots are the offices'
wall clock, both ISO 8601 with their offset.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from .domain import WEEKDAYS, SlotType, aware, office_time

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


_INTERVALS = fields.List(
    fields.String(validate=validate.Regexp(r"^\d{2}:\d{2}-\d{2}:\d{2}$", error="Write HH:MM-HH:MM.")),
    validate=validate.Length(max=6),
)


class OpeningHoursRequest(StrictSchema):
    opening_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(WEEKDAYS))),
        values=_INTERVALS,
        required=True,
        metadata={"description": 'weekday -> ["HH:MM-HH:MM", ...]; a weekday left out is closed.'},
    )


class CapacityRequest(StrictSchema):
    capacity = fields.Dict(
        keys=fields.String(validate=validate.OneOf([t.value for t in SlotType])),
        values=fields.Integer(validate=validate.Range(min=0, max=99)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "slot type -> number of counters serving it (a type left out keeps its number)."},
    )


class ClosureRequest(StrictSchema):
    first_day = fields.Date(required=True)
    last_day = fields.Date(metadata={"description": "Defaults to first_day (one day)."})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ClosurePreviewQuery(StrictSchema):
    first_day = fields.Date(required=True)
    last_day = fields.Date(metadata={"description": "Defaults to first_day (one day)."})


class QueueQuery(StrictSchema):
    office = fields.String(validate=_CODE)
    status = fields.String(
        load_default="submitted", validate=validate.OneOf(["submitted", "appointment_booked", "ready_for_pickup"])
    )
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
    slot_type = fields.String()
    starts_at = OfficeMoment(metadata={"type": "string"})
    ends_at = OfficeMoment(metadata={"type": "string"})


def slot_items(slots: Iterable[Any]) -> list[dict[str, Any]]:
    """:class:`SlotResponse`'s dump of many slots, written out: a slot search answers up to a hundred
    of them, and the schema's field-by-field dump cost a fifth of the search (a test keeps the two equal)."""
    return [
        {
            "slot_id": slot.id,
            "office": slot.office,
            "counter": slot.counter,
            "slot_type": slot.slot_type,
            "starts_at": _office_time_text(slot.starts_at),
            "ends_at": _office_time_text(slot.ends_at),
        }
        for slot in slots
    ]


@functools.lru_cache(maxsize=16_384)
def _office_time_text(moment: datetime) -> str:
    """A slot's moment as the answer writes it, remembered: slots start and end on the same few
    thousand moments (a 20-minute grid over the weeks generated ahead), and converting each to the
    offices' time zone and text was half the cost of writing a search's answer."""
    return office_time(moment).isoformat()


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
    """An :class:`~booking.handlers.OfficeView`: the office, its weekly hours and closed days."""

    code = fields.String(attribute="office.code")
    name = fields.String(attribute="office.name")
    county = fields.String(attribute="office.county")
    city = fields.String(attribute="office.city")
    counters = fields.List(fields.String(), attribute="office.counters")
    opening_hours = fields.Method("_opening_hours", metadata={"description": 'weekday -> ["HH:MM-HH:MM"]'})
    closed_days = fields.Method("_closed_days", metadata={"description": "Days of its closures not over yet."})

    def _opening_hours(self, view: Any) -> dict[str, list[str]]:
        if view.schedule is None:
            return {}
        return {day: [str(i) for i in intervals] for day, intervals in view.schedule.opening_hours.items()}

    def _closed_days(self, view: Any) -> list[str]:
        return [day.isoformat() for day in view.closed_days]


class ClosureResponse(Schema):
    closure_id = fields.String(attribute="id")
    office = fields.String()
    first_day = fields.Date()
    last_day = fields.Date()
    reason = fields.String()
    created_at = Moment(metadata={"type": "string"})
    created_by = fields.String()
    moved = fields.Integer(metadata={"description": "Appointments moved to a later slot."})
    cancelled = fields.Integer(metadata={"description": "Appointments cancelled (no free slot after the closure)."})


class OfficeScheduleResponse(OfficeResponse):
    """What an office manager edits: hours, counters per slot type, closures; the holidays ahead."""

    slot_minutes = fields.Integer(attribute="schedule.slot_minutes")
    capacity = fields.Method("_capacity", metadata={"description": "slot type -> counters serving it"})
    closures = fields.List(fields.Nested(ClosureResponse))
    public_holidays = fields.List(
        fields.Date(), metadata={"description": "Romanian public holidays within the generated horizon (closed)."}
    )
    slots_created = fields.Integer(metadata={"description": "Slots the change created."})
    slots_withdrawn = fields.Integer(metadata={"description": "Free slots the change withdrew."})

    def _capacity(self, view: Any) -> dict[str, int]:
        if view.schedule is None:
            return {}
        return {str(slot_type): count for slot_type, count in view.schedule.capacity.items()}


class MovedAppointmentResponse(Schema):
    previous = fields.Nested(AppointmentResponse)
    appointment = fields.Nested(AppointmentResponse)


class ClosureOutcomeResponse(Schema):
    """A :class:`~booking.handlers.ClosureOutcome`."""

    closure = fields.Nested(ClosureResponse)
    moved = fields.List(fields.Nested(MovedAppointmentResponse))
    cancelled = fields.List(fields.Nested(AppointmentResponse))


class ClosureEffectResponse(Schema):
    """A :class:`~booking.handlers.ClosureEffect`: a booked appointment and where the closure would put it."""

    appointment = fields.Nested(AppointmentResponse)
    outcome = fields.Method("_outcome", metadata={"description": "moved or cancelled"})
    moves_to = fields.Nested(SlotResponse, allow_none=True, metadata={"description": "The slot it would move to."})

    def _outcome(self, effect: Any) -> str:
        return "cancelled" if effect.moves_to is None else "moved"


class ClosurePreviewResponse(Schema):
    """A :class:`~booking.handlers.ClosurePreview`: nothing is changed by asking."""

    first_day = fields.Date()
    last_day = fields.Date()
    moved = fields.Integer(metadata={"description": "Appointments that would move to a later slot."})
    cancelled = fields.Integer(metadata={"description": "Appointments that would be cancelled (no later slot)."})
    appointments = fields.List(fields.Nested(ClosureEffectResponse), attribute="effects")
