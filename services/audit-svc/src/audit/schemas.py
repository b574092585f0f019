"""Request and response schemas of audit-svc's API (unknown fields refused)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

__all__ = ["AuditPageOut", "AuditQuery", "AuditRecordOut"]


class AuditQuery(Schema):
    class Meta:
        unknown = RAISE

    actor_id = fields.UUID(data_key="actor")
    unit = fields.String(validate=validate.Length(min=1, max=64))
    service = fields.String(validate=validate.Length(min=1, max=64))
    action = fields.String(validate=validate.Length(min=1, max=100))
    subject_type = fields.String(validate=validate.Length(min=1, max=64))
    subject_id = fields.String(validate=validate.Length(min=1, max=100))
    reference = fields.String(validate=validate.Length(min=1, max=100))
    occurred_from = fields.AwareDateTime(data_key="from", format="iso")
    occurred_to = fields.AwareDateTime(data_key="to", format="iso")
    before = fields.Integer(validate=validate.Range(min=1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class SubjectOut(Schema):
    type = fields.String(attribute="subject_type")
    id = fields.String(attribute="subject_id")
    number = fields.String(attribute="subject_number", allow_none=True)


class AuditRecordOut(Schema):
    seq = fields.Integer()
    event_id = fields.String()
    service = fields.String()
    actor_id = fields.String()
    role = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    action = fields.String()
    subject = fields.Function(lambda record: SubjectOut().dump(record))
    occurred_at = fields.AwareDateTime(format="iso", default_timezone=None)
    outcome = fields.String()
    recorded_at = fields.AwareDateTime(format="iso", default_timezone=None)
    row_hash = fields.String()


class AuditPageOut(Schema):
    records = fields.List(fields.Nested(AuditRecordOut))
    next_before = fields.Integer(allow_none=True)
