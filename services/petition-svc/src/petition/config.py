"""petition-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from mai_chassis.challenges import CHALLENGE_KINDS
from marshmallow.validate import Length, OneOf, Range

#: Attachments: at most this many per petition, each at most this large.
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
#: Room for every attachment plus the form itself; a larger body is refused with 413 unread.
DEFAULT_MAX_CONTENT_LENGTH = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + 512 * 1024
MIB, GIB = 1024 * 1024, 1024 * 1024 * 1024
#: The receipts' font (Debian's fonts-dejavu-core): it carries the Romanian letters.
DEFAULT_RECEIPT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_RECEIPT_BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "petition-svc"

    #: Where attachment files are kept, under their SHA-256 (a volume shared by the web pods).
    attachments_dir: str = "var/petition-attachments"
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    #: Petitions with attachments, and their bytes, per client and per recipient address in a window.
    attachment_quota_window_seconds: int = 86400
    attachment_petitions_per_client: int = 10
    attachment_bytes_per_client: int = 100 * MIB
    attachment_petitions_per_recipient: int = 5
    attachment_bytes_per_recipient: int = 50 * MIB
    #: The whole attachment store: new attachments are refused once it would be exceeded.
    attachment_storage_budget_bytes: int = 200 * GIB
    #: ``proof-of-work``: an anonymous client's petitions with attachments past
    #: ``submission_challenge_after`` in the window each need a solved challenge.
    submission_challenge: str = "off"
    submission_challenge_after: int = 3
    submission_challenge_key: str = ""
    proof_of_work_bits: int = 20
    #: The assigned clerk is reminded of an answer deadline this many working days before it (and
    #: the petition is ``due_soon`` in the queue from then on).
    deadline_reminder_working_days: int = 3
    #: The fonts of the printed registration receipts.
    receipt_font_file: str = DEFAULT_RECEIPT_FONT
    receipt_bold_font_file: str = DEFAULT_RECEIPT_BOLD_FONT

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        challenge = env.str("SUBMISSION_CHALLENGE", "off", validate=OneOf(CHALLENGE_KINDS))
        values: dict[str, Any] = {
            "attachments_dir": env.str("ATTACHMENTS_DIR", "var/petition-attachments"),
            "max_content_length": env.int("MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
            "attachment_quota_window_seconds": env.int("ATTACHMENT_QUOTA_WINDOW_SECONDS", 86400, validate=Range(min=1)),
            "attachment_petitions_per_client": env.int("ATTACHMENT_PETITIONS_PER_CLIENT", 10, validate=Range(min=1)),
            "attachment_bytes_per_client": env.int("ATTACHMENT_BYTES_PER_CLIENT", 100 * MIB, validate=Range(min=1)),
            "attachment_petitions_per_recipient": env.int(
                "ATTACHMENT_PETITIONS_PER_RECIPIENT", 5, validate=Range(min=1)
            ),
            "attachment_bytes_per_recipient": env.int(
                "ATTACHMENT_BYTES_PER_RECIPIENT", 50 * MIB, validate=Range(min=1)
            ),
            "attachment_storage_budget_bytes": env.int(
                "ATTACHMENT_STORAGE_BUDGET_BYTES", 200 * GIB, validate=Range(min=1)
            ),
            "submission_challenge": challenge,
            "submission_challenge_after": env.int("SUBMISSION_CHALLENGE_AFTER", 3, validate=Range(min=0)),
            "proof_of_work_bits": env.int("PROOF_OF_WORK_BITS", 20, validate=Range(min=1, max=32)),
            "deadline_reminder_working_days": env.int(
                "DEADLINE_REMINDER_WORKING_DAYS", 3, validate=Range(min=0, max=20)
            ),
            "receipt_font_file": env.str("RECEIPT_FONT_FILE", DEFAULT_RECEIPT_FONT),
            "receipt_bold_font_file": env.str("RECEIPT_BOLD_FONT_FILE", DEFAULT_RECEIPT_BOLD_FONT),
        }
        if challenge != "off":
            values["submission_challenge_key"] = env.str("SUBMISSION_CHALLENGE_KEY", validate=Length(min=32))
        return values
