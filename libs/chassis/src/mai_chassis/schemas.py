"""The base of every request schema: a field the schema does not know is an error, never ignored."""

from __future__ import annotations

from marshmallow import RAISE, Schema

__all__ = ["StrictSchema"]


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
