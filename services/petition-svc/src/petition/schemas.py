"""Request and response schemas of the petition API (unknown fields are rejected)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date
from typing import Any

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, validate, validates

from .directory import Institution, load_directory
from .domain import (
    INTAKE_CHANNELS,
    MAX_EXTENSION_DAYS,
    RegistrationNumber,
    Status,
    as_utc,
    due_soon,
    is_overdue,
)

MAX_SUBJECT = 200
MAX_TEXT = 10_000
MAX_ANSWER = 20_000
MAX_JOINED = 20
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,32}$")


def _known_institution(code: str) -> None:
    if load_directory().institution(code) is None:
        raise ValidationError("Unknown institution; pick one from GET /api/v1/institutions.")


def _known_field(code: str) -> None:
    if code not in load_directory().fields:
        raise ValidationError("Unknown field of activity; see the institutions' fields.")


def _registration_number(value: str) -> None:
    try:
        RegistrationNumber.parse(value)
    except ValueError:
        raise ValidationError("Not a registration number (e.g. IGPR-2026-000123).") from None


def _text(maximum: int, minimum: int = 1) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=minimum, max=maximum))


def _kind() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(["petition", "opinion"]),
        metadata={"description": "petition: must be answered; opinion: an opinion or suggestion."},
    )


def _language() -> fields.String:
    return fields.String(
        load_default="ro",
        validate=validate.OneOf(["ro", "en"]),
        metadata={"description": "Language of the e-mails the petitioner receives."},
    )


def _field_of_activity() -> fields.String:
    return fields.String(required=True, validate=_known_field, metadata={"description": "Field of activity code."})


class PetitionSubmissionSchema(StrictSchema):
    kind = _kind()
    institution = fields.String(
        required=True, validate=_known_institution, metadata={"description": "Institution code, e.g. IGPR."}
    )
    field = _field_of_activity()
    subject = _text(MAX_SUBJECT)
    text = _text(MAX_TEXT)
    name = fields.String(
        required=True, validate=validate.Length(min=2, max=200), metadata={"description": "Petitioner's full name."}
    )
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, validate=validate.Regexp(_PHONE, error="Not a phone number."))
    address = fields.String(load_default=None, validate=validate.Length(max=500))
    language = _language()

    @validates("subject", "text", "name")
    def _not_blank(self, value: str, data_key: str) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")


class PetitionIntakeSchema(StrictSchema):
    """A petition received by post, by e-mail or at a counter, as the clerk registers it."""

    channel = fields.String(
        required=True,
        validate=validate.OneOf(INTAKE_CHANNELS),
        metadata={"description": "How it reached the institution: post, email or counter."},
    )
    received_on = fields.Date(
        load_default=None,
        metadata={
            "description": "The day it reached the institution (today when absent; never after today, at most 90 "
            "days before). Its terms run from registration, today, as OG 27/2002 art. 8 says."
        },
    )
    institution = fields.String(
        load_default=None,
        validate=_known_institution,
        metadata={"description": "The registering institution: the clerk's own (may be omitted by a clerk of one)."},
    )
    kind = _kind()
    field = _field_of_activity()
    subject = _text(MAX_SUBJECT)
    text = _text(MAX_TEXT)
    name = fields.String(
        required=True, validate=validate.Length(min=2, max=200), metadata={"description": "Petitioner's full name."}
    )
    email = fields.Email(
        load_default=None,
        validate=validate.Length(max=254),
        metadata={"description": "When given, the petitioner is mailed the number, as for the online form."},
    )
    address = fields.String(
        load_default=None,
        validate=validate.Length(min=5, max=500),
        metadata={"description": "Postal address; required when there is no e-mail address (the answer goes by post)."},
    )
    phone = fields.String(load_default=None, validate=validate.Regexp(_PHONE, error="Not a phone number."))
    language = _language()

    @validates("subject", "text", "name", "address")
    def _not_blank(self, value: str | None, data_key: str) -> None:
        if value is not None and not value.strip():
            raise ValidationError("Must not be blank.")


class StatusLookupSchema(StrictSchema):
    registration_number = fields.String(required=True, validate=_registration_number)
    email = fields.Email(required=True, validate=validate.Length(max=254))


class AssignmentSchema(StrictSchema):
    assignee = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Staff account id; yourself when absent."},
    )


class ForwardingSchema(StrictSchema):
    to_institution = fields.String(required=True, validate=_known_institution)


class AnswerSchema(StrictSchema):
    text = _text(MAX_ANSWER)


class JoinSchema(StrictSchema):
    registration_numbers = fields.List(
        fields.String(validate=_registration_number), required=True, validate=validate.Length(min=1, max=MAX_JOINED)
    )


class ClosureSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["repeat", "withdrawn", "noted"]))
    repeat_of = fields.String(
        load_default=None,
        validate=_registration_number,
        metadata={"description": "For outcome repeat: the answered petition this one repeats."},
    )


class DeadlineExtensionSchema(StrictSchema):
    days = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_EXTENSION_DAYS))
    reason = _text(1000, minimum=5)


class QueueQuerySchema(StrictSchema):
    institution = fields.String(required=True, validate=_known_institution)
    status = fields.String(
        load_default=None, validate=validate.OneOf(["registered", "in_progress", "answered", "closed"])
    )
    field = fields.String(load_default=None, validate=_known_field)
    kind = fields.String(load_default=None, validate=validate.OneOf(["petition", "opinion"]))
    assignee = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A staff account id, or `me`: the petitions assigned to the clerk asking."},
    )
    overdue = fields.Boolean(load_default=None)
    due_soon = fields.Boolean(
        load_default=None,
        metadata={"description": "Open, with the answer due within the reminder window (3 working days) or today."},
    )
    forwarded_late = fields.Boolean(load_default=None)
    channel = fields.String(load_default=None, validate=validate.OneOf(["web", *INTAKE_CHANNELS]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class DirectoryQuerySchema(StrictSchema):
    field = fields.String(load_default=None, validate=_known_field)


# --- responses ----------------------------------------------------------------------------------
#
# Petitions are dumped straight from the ``Petition`` rows; the few values not stored as such
# (an institution's name, an instant read back from SQLite, whether a petition is overdue today)
# come from the fields below.

_today: ContextVar[tuple[date, int]] = ContextVar("petition_schemas_today")


def dump_as_of(schema: Schema, value: Any, today: date, *, reminder_working_days: int) -> Any:
    """Dump ``value`` with ``today`` as the day that decides whether a petition is overdue, and
    ``reminder_working_days`` the window in which it is due soon."""
    token = _today.set((today, reminder_working_days))
    try:
        return schema.dump(value)
    finally:
        _today.reset(token)


def _as_of() -> tuple[date, int]:
    try:
        return _today.get()
    except LookupError:
        raise RuntimeError("petitions are dumped with dump_as_of(schema, value, today, ...)") from None


class LocalisedTextSchema(Schema):
    ro = fields.String()
    en = fields.String()


class InstitutionRefSchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)


class InstitutionRef(fields.Nested):
    """An institution code, shown with the institution's name from the directory.

    The directory does not change while the service runs, so each institution's reference is
    dumped once and handed out as a fresh copy (a caller may change what it gets).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(InstitutionRefSchema, **kwargs)
        # Keyed by code; the entry is dumped again if the directory now holds another object for it.
        self._dumped: dict[str, tuple[Institution, dict[str, Any]]] = {}

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        code = self.get_value(obj, attr, accessor=accessor)
        if code is None:
            return None
        institution = load_directory().institution(code)
        if institution is None:  # not in the directory: not kept, so no code can grow the cache
            return self.schema.dump({"code": code, "name": {"ro": code, "en": code}})
        cached = self._dumped.get(code)
        if cached is None or cached[0] is not institution:
            cached = (institution, self.schema.dump({"code": code, "name": institution.name}))
            self._dumped[code] = cached
        return {key: dict(value) if isinstance(value, dict) else value for key, value in cached[1].items()}


class UtcDateTime(fields.DateTime):
    """An instant in UTC (SQLite gives stored instants back without their zone: UTC)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else as_utc(value).isoformat()


class Overdue(fields.Boolean):
    """Open, and past its answer deadline or forwarded late, on the day given to :func:`dump_as_of`."""

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        today, _ = _as_of()
        return is_overdue(Status(obj.status), obj.answer_due_on, today, forwarded_late=obj.forwarded_late)


class DueSoon(fields.Boolean):
    """Open, with its answer deadline in the reminder window, on the day given to :func:`dump_as_of`."""

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        today, working_days = _as_of()
        return due_soon(Status(obj.status), obj.answer_due_on, today, working_days)


class ColumnsAsObject(fields.Nested):
    """A group of the petition's own columns shown as one object (the petitioner)."""

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        return self.schema.dump(obj)


class RegistrationNumberSchema(Schema):
    registration_number = fields.String()


def _number_of(description: str) -> fields.Pluck:
    return fields.Pluck(
        RegistrationNumberSchema, "registration_number", allow_none=True, metadata={"description": description}
    )


class PetitionRegisteredSchema(Schema):
    registration_number = fields.String(metadata={"example": "IGPR-2026-000123"})
    status = fields.String()
    kind = fields.String()
    institution = InstitutionRef()
    registered_at = UtcDateTime()
    answer_due_on = fields.Date()
    attachment_count = fields.Function(lambda petition: len(petition.attachments), metadata={"type": "integer"})
    repeat_of = _number_of("Filed as a repeat of this answered petition.")


class PetitionTakenInSchema(PetitionRegisteredSchema):
    channel = fields.String()
    received_on = fields.Date()
    petitioner_mailed = fields.Function(
        lambda petition: petition.petitioner_email is not None,
        metadata={"type": "boolean", "description": "The number is mailed to the petitioner; else print the receipt."},
    )
    receipt_url = fields.Function(
        lambda petition: f"/api/v1/petitions/{petition.registration_number}/receipt",
        metadata={"type": "string", "description": "The printable receipt (PDF)."},
    )


class PetitionStatusSchema(Schema):
    registration_number = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "registered, in_progress, answered or closed."})
    outcome = fields.String(
        attribute="closure", allow_none=True, metadata={"description": "answered, joined, repeat, withdrawn, noted."}
    )
    institution = InstitutionRef()
    field = fields.String()
    registered_at = UtcDateTime()
    answer_due_on = fields.Date()
    deadline_extended = fields.Boolean()
    forwarded_from = InstitutionRef(allow_none=True)
    forwarded_at = UtcDateTime(allow_none=True)
    # A petition joined to another is answered by the other's answer.
    answered_at = UtcDateTime(attribute="answering.answered_at", allow_none=True)
    answer = fields.String(attribute="answering.answer", allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    joined_to = _number_of("Answered together with this petition.")
    repeat_of = _number_of("Filed as a repeat of this answered petition.")


class PetitionerSchema(Schema):
    name = fields.String(attribute="petitioner_name")
    email = fields.String(
        attribute="petitioner_email", allow_none=True, metadata={"description": "None: the answer goes by post."}
    )
    phone = fields.String(attribute="petitioner_phone", allow_none=True)
    address = fields.String(attribute="petitioner_address", allow_none=True)


class AttachmentInfoSchema(Schema):
    position = fields.Integer()
    media_type = fields.String()
    size = fields.Integer()
    name = fields.String(attribute="display_name")
    sha256 = fields.String()


class PetitionDetailSchema(PetitionStatusSchema):
    subject = fields.String()
    text = fields.String()
    channel = fields.String()
    petitioner = ColumnsAsObject(PetitionerSchema)
    attachments = fields.List(fields.Nested(AttachmentInfoSchema))
    assignee = fields.String(allow_none=True)
    forward_due_on = fields.Date()
    extension_reason = fields.String(allow_none=True)
    forwarded_late = fields.Boolean(
        metadata={"description": "Forwarded to this institution after the 5 days the law allows."}
    )
    overdue = Overdue(metadata={"description": "Open, and past its answer deadline or forwarded late."})
    due_soon = DueSoon(
        metadata={
            "description": "Open, with the answer due within the reminder window (the assigned clerk is reminded)."
        }
    )
    received_on = fields.Date(
        allow_none=True, metadata={"description": "Received by post, e-mail or at a counter: the day it arrived."}
    )
    registered_by = fields.String(
        allow_none=True, metadata={"description": "The clerk (staff account id) who registered it at intake."}
    )


class QueuePageSchema(Schema):
    items = fields.List(fields.Nested(PetitionDetailSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class FieldOfActivitySchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)


class FieldsOfActivity(fields.Nested):
    """An institution's fields of activity by code, shown with their names from the directory."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(FieldOfActivitySchema, many=True, **kwargs)

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        known = load_directory().fields
        return self.schema.dump([known[code] for code in self.get_value(obj, attr, accessor=accessor)])


class InstitutionSchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)
    competencies = fields.Nested(LocalisedTextSchema)
    fields_ = FieldsOfActivity(data_key="fields", attribute="fields")
    contact = fields.Dict(keys=fields.String(), values=fields.String())


class FaqEntrySchema(Schema):
    field = fields.String()
    question = fields.Nested(LocalisedTextSchema)
    answer = fields.Nested(LocalisedTextSchema)


class RecommendationSchema(Schema):
    code = fields.String()
    field = fields.String()
    title = fields.Nested(LocalisedTextSchema)
    text = fields.Nested(LocalisedTextSchema)


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Field name -> messages, for validation errors."})
