"""Request and response schemas of notify-svc's API (written for the API, not derived from tables)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

MAX_PER_PAGE = 100


class ListQuery(Schema):
    class Meta:
        unknown = RAISE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class DeliveryOut(Schema):
    number = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.Method("_next_attempt")

    def _next_attempt(self, row: Any) -> str | None:
        # Only meaningful while a retry is pending; a sending lease is an internal detail.
        if row.status == "temporary-failure" and row.next_attempt_at is not None:
            return str(row.next_attempt_at.isoformat())
        return None


class NotificationOut(Schema):
    id = fields.String()
    event_type = fields.String(attribute="trigger_event_type")
    subject = fields.String()
    language = fields.String()
    sent_to = fields.String(attribute="recipient_email")
    status = fields.Function(lambda n: n.latest_delivery.status)
    created_at = fields.DateTime()
    deliveries = fields.List(fields.Nested(DeliveryOut))


class NotificationPageOut(Schema):
    items = fields.List(fields.Nested(NotificationOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class SearchQuery(Schema):
    """An administrator's search (a POST body, so that an address never appears in a URL or an access log)."""

    class Meta:
        unknown = RAISE

    recipient = fields.Email(validate=validate.Length(max=254))
    reference = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[A-Za-z0-9._-]+$")])
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))

    @validates_schema
    def _one_criterion(self, data: dict[str, Any], **_: Any) -> None:
        if ("recipient" in data) == ("reference" in data):
            raise ValidationError("Give the recipient's address or a reference, not both.", "recipient")


class FoundNotificationOut(NotificationOut):
    reference = fields.String(attribute="case_reference", allow_none=True)
    about = fields.String(attribute="trigger_subject", allow_none=True)


class FoundNotificationPageOut(NotificationPageOut):
    items = fields.List(fields.Nested(FoundNotificationOut))
