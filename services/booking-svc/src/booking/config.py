"""booking-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import Length, OneOf, Range

#: Largest scanned document accepted (the portal's published limit).
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
#: Room for the multipart envelope around one maximal document.
_MULTIPART_OVERHEAD = 256 * 1024


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "booking-svc"

    max_content_length: int = MAX_DOCUMENT_BYTES + _MULTIPART_OVERHEAD
    #: "filesystem" (default) or "s3".
    document_store: str = "filesystem"
    documents_dir: str = "var/booking-documents"
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = ""
    #: HMAC key of the manage-appointment links mailed to applicants (required, no default).
    appointment_link_key: str = field(default="", repr=False)
    #: Fernet keys shared with notify-svc to seal the manage link inside appointment.booked.
    event_sealing_keys: tuple[str, ...] = field(default=(), repr=False)
    slot_searches_per_minute: int = 30
    bookings_per_hour: int = 10
    #: How many of the earliest free slots are proposed to an applicant.
    proposed_slot_count: int = 5
    #: How many weeks ahead every office's slots are kept generated (and reconciled after a change).
    slot_weeks: int = 8

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        store = env.str("DOCUMENT_STORE", "filesystem", validate=OneOf(("filesystem", "s3")))
        return {
            "max_content_length": env.int("MAX_CONTENT_LENGTH", MAX_DOCUMENT_BYTES + _MULTIPART_OVERHEAD),
            "document_store": store,
            "documents_dir": env.str("DOCUMENTS_DIR", "var/booking-documents"),
            "s3_endpoint_url": env.str("S3_ENDPOINT_URL", ""),
            "s3_bucket": env.str("S3_BUCKET") if store == "s3" else env.str("S3_BUCKET", ""),
            "s3_region": env.str("S3_REGION", ""),
            "appointment_link_key": env.str("APPOINTMENT_LINK_KEY", validate=Length(min=32)),
            "event_sealing_keys": _keys(env.str("EVENT_SEALING_KEYS", "")),
            "slot_searches_per_minute": env.int("SLOT_SEARCHES_PER_MINUTE", 30),
            "bookings_per_hour": env.int("BOOKINGS_PER_HOUR", 10),
            "proposed_slot_count": env.int("PROPOSED_SLOT_COUNT", 5),
            "slot_weeks": env.int("SLOT_WEEKS", 8, validate=Range(min=1, max=52)),
        }


def _keys(raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())
