"""Request and response schemas of the petition API (unknown fields are rejected)."""

from __future__ import annotations

import re
from typing import Any

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, validate, validates

from .directory import load_directory
from .domain import MAX_EXTENSION_DAYS, RegistrationNumber

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


class PetitionSubmissionSchema(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["petition", "opinion"]),
        metadata={"description": "petition: must be answered; opinion: an opinion or suggestion."},
    )
    institution = fields.String(
        required=True, validate=_known_institution, metadata={"description": "Institution code, e.g. IGPR."}
    )
    field = fields.String(required=True, validate=_known_field, metadata={"description": "Field of activity code."})
    subject = _text(MAX_SUBJECT)
    text = _text(MAX_TEXT)
    name = fields.String(
        required=True, validate=validate.Length(min=2, max=200), metadata={"description": "Petitioner's full name."}
    )
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, validate=validate.Regexp(_PHONE, error="Not a phone number."))
    address = fields.String(load_default=None, validate=validate.Length(max=500))
    language = fields.String(
        load_default="ro",
        validate=validate.OneOf(["ro", "en"]),
        metadata={"description": "Language of the e-mails the petitioner receives."},
    )

    @validates("subject", "text", "name")
    def _not_blank(self, value: str, data_key: str) -> None:
        if not value.strip():
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
    assignee = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    overdue = fields.Boolean(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class DirectoryQuerySchema(StrictSchema):
    field = fields.String(load_default=None, validate=_known_field)


# --- responses (documentation and serialisation) ------------------------------------------------


class LocalisedTextSchema(Schema):
    ro = fields.String()
    en = fields.String()


class InstitutionRefSchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)


class PetitionRegisteredSchema(Schema):
    registration_number = fields.String(metadata={"example": "IGPR-2026-000123"})
    status = fields.String()
    kind = fields.String()
    institution = fields.Nested(InstitutionRefSchema)
    registered_at = fields.DateTime()
    answer_due_on = fields.Date()
    attachment_count = fields.Integer()
    repeat_of = fields.String(allow_none=True, metadata={"description": "Filed as a repeat of this answered petition."})


class PetitionStatusSchema(Schema):
    registration_number = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "registered, in_progress, answered or closed."})
    outcome = fields.String(allow_none=True, metadata={"description": "answered, joined, repeat, withdrawn, noted."})
    institution = fields.Nested(InstitutionRefSchema)
    field = fields.String()
    registered_at = fields.DateTime()
    answer_due_on = fields.Date()
    deadline_extended = fields.Boolean()
    forwarded_from = fields.Nested(InstitutionRefSchema, allow_none=True)
    forwarded_at = fields.DateTime(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answer = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    joined_to = fields.String(allow_none=True, metadata={"description": "Answered together with this petition."})
    repeat_of = fields.String(allow_none=True)


class PetitionerSchema(Schema):
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class AttachmentInfoSchema(Schema):
    position = fields.Integer()
    media_type = fields.String()
    size = fields.Integer()
    name = fields.String()
    sha256 = fields.String()


class PetitionDetailSchema(PetitionStatusSchema):
    subject = fields.String()
    text = fields.String()
    channel = fields.String()
    petitioner = fields.Nested(PetitionerSchema)
    attachments = fields.List(fields.Nested(AttachmentInfoSchema))
    assignee = fields.String(allow_none=True)
    forward_due_on = fields.Date()
    extension_reason = fields.String(allow_none=True)
    forwarded_late = fields.Boolean(
        metadata={"description": "Forwarded to this institution after the 5 days the law allows."}
    )
    overdue = fields.Boolean(metadata={"description": "Open, and past its answer deadline or forwarded late."})


class QueuePageSchema(Schema):
    items = fields.List(fields.Nested(PetitionDetailSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class FieldOfActivitySchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)


class InstitutionSchema(Schema):
    code = fields.String()
    name = fields.Nested(LocalisedTextSchema)
    competencies = fields.Nested(LocalisedTextSchema)
    fields_ = fields.List(fields.Nested(FieldOfActivitySchema), data_key="fields", attribute="fields")
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


def dump_many(schema: Schema, items: list[Any]) -> list[Any]:
    return schema.dump(items, many=True)  # type: ignore[no-any-return]
