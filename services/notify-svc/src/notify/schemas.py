"""Request and response schemas of notify-svc's API (written for the API, not derived from tables)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

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
