"""petition-svc's domain errors and the one table that says how each is shown to a client.

::

    DomainError
    └── PetitionError
        ├── PetitionNotFound            404  no such number (or, for the public, not with that e-mail)
        ├── AttachmentNotFound          404
        ├── InstitutionNotFound         404
        ├── NotYourInstitution          403  staff of another institution
        ├── PetitionNotOpen             409  answered or closed already
        ├── DeadlineAlreadyExtended     409
        ├── PetitionRuleBroken          422  a rule of OG 27/2002 or of the file (each its own kind)
        ├── AttachmentRefused           415  not a plain PDF, JPEG or PNG
        ├── SubmissionQuotaExceeded     429  too many petitions with attachments
        ├── ChallengeRequired           428  past the threshold, an anonymous client solves a challenge
        └── AttachmentStorageFull       503  the attachment store reached its budget
"""

from __future__ import annotations

from typing import Any

from mai_chassis import DomainError, ProblemType

__all__ = [
    "PROBLEMS",
    "AttachmentNotFound",
    "AttachmentRefused",
    "AttachmentStorageFull",
    "ChallengeRequired",
    "ClosureNotAllowed",
    "DeadlineAlreadyExtended",
    "ExtensionTooLong",
    "ForwardToSameInstitution",
    "InstitutionNotFound",
    "JoinOfAnotherInstitution",
    "JoinOfAnotherPetitioner",
    "JoinToItself",
    "NotYourInstitution",
    "PetitionError",
    "PetitionNotFound",
    "PetitionNotOpen",
    "PetitionRuleBroken",
    "RepeatOfAnotherPetitioner",
    "RepeatOfUnanswered",
    "SubmissionQuotaExceeded",
    "UnknownInstitution",
]


class PetitionError(DomainError):
    """Something petition-svc refuses to do."""


class PetitionNotFound(PetitionError):
    def __init__(self, detail: str = "No petition with this registration number.") -> None:
        super().__init__(detail)


class AttachmentNotFound(PetitionError):
    def __init__(self) -> None:
        super().__init__("No such attachment.")


class InstitutionNotFound(PetitionError):
    def __init__(self) -> None:
        super().__init__("No institution with this code.")


class NotYourInstitution(PetitionError):
    """Staff acting on, or reading, a petition of an institution they do not work for."""


class PetitionNotOpen(PetitionError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"A petition that is {status} cannot be {action}.")


class DeadlineAlreadyExtended(PetitionError):
    def __init__(self) -> None:
        super().__init__("The answer deadline was already extended once.")


class PetitionRuleBroken(PetitionError):
    """A request the law or the file does not allow; each subclass is its own problem kind."""


class UnknownInstitution(PetitionRuleBroken):
    def __init__(self) -> None:
        super().__init__("Unknown institution.")


class ExtensionTooLong(PetitionRuleBroken):
    pass


class ForwardToSameInstitution(PetitionRuleBroken):
    def __init__(self) -> None:
        super().__init__("The petition is already at that institution.")


class ClosureNotAllowed(PetitionRuleBroken):
    pass


class JoinToItself(PetitionRuleBroken):
    def __init__(self) -> None:
        super().__init__("A petition cannot be joined to itself.")


class JoinOfAnotherPetitioner(PetitionRuleBroken):
    def __init__(self, registration_number: str) -> None:
        super().__init__(
            f"{registration_number} is from another petitioner; only one petitioner's petitions are joined."
        )


class JoinOfAnotherInstitution(PetitionRuleBroken):
    def __init__(self, registration_number: str) -> None:
        super().__init__(f"{registration_number} is at another institution.")


class RepeatOfUnanswered(PetitionRuleBroken):
    def __init__(self) -> None:
        super().__init__("A repeat refers to a petition that was already answered.")


class RepeatOfAnotherPetitioner(PetitionRuleBroken):
    def __init__(self) -> None:
        super().__init__("A repeat refers to an earlier petition of the same petitioner.")


class AttachmentRefused(PetitionError):
    """A file that is not a plain PDF, JPEG or PNG (its bytes decide, never its name)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, extensions={"errors": {"attachments": [detail]}})


class SubmissionQuotaExceeded(PetitionError):
    """Too many petitions with attachments from one client (``client``) or to one address (``recipient``)."""

    def __init__(self, quota: str, retry_after: int) -> None:
        whose = "from your connection" if quota == "client" else "to this e-mail address"
        super().__init__(
            f"Too many petitions with attachments were sent {whose} today. Send the petition without attachments, "
            "or try again later.",
            extensions={"retry_after": retry_after, "quota": quota},
            headers={"Retry-After": str(retry_after)},
        )
        self.quota = quota
        self.retry_after = retry_after


class ChallengeRequired(PetitionError):
    """An anonymous client past the threshold sends a solved challenge with the petition."""

    def __init__(self, challenge: dict[str, Any]) -> None:
        super().__init__(
            "Many petitions with attachments came from your connection today. Solve the challenge and send "
            "the petition again, or send it without attachments.",
            extensions={"challenge": challenge},
        )


class AttachmentStorageFull(PetitionError):
    def __init__(self) -> None:
        super().__init__(
            "Attachments cannot be accepted at the moment. Send the petition without them, or try again later.",
            headers={"Retry-After": "3600"},
        )


PROBLEMS: dict[type[DomainError], ProblemType] = {
    PetitionNotFound: ProblemType(404, "petition-not-found"),
    AttachmentNotFound: ProblemType(404, "attachment-not-found"),
    InstitutionNotFound: ProblemType(404, "institution-not-found"),
    NotYourInstitution: ProblemType(403, "forbidden"),
    PetitionNotOpen: ProblemType(409, "petition-not-open"),
    DeadlineAlreadyExtended: ProblemType(409, "deadline-already-extended"),
    UnknownInstitution: ProblemType(422, "unknown-institution"),
    ExtensionTooLong: ProblemType(422, "extension-too-long"),
    ForwardToSameInstitution: ProblemType(422, "forward-to-same-institution"),
    ClosureNotAllowed: ProblemType(422, "closure-not-allowed"),
    JoinToItself: ProblemType(422, "join-to-itself"),
    JoinOfAnotherPetitioner: ProblemType(422, "join-other-petitioner"),
    JoinOfAnotherInstitution: ProblemType(422, "join-other-institution"),
    RepeatOfUnanswered: ProblemType(422, "repeat-of-unanswered"),
    RepeatOfAnotherPetitioner: ProblemType(422, "repeat-other-petitioner"),
    AttachmentRefused: ProblemType(415, "unsupported-attachment-type"),
    SubmissionQuotaExceeded: ProblemType(429, "submission-quota-exceeded"),
    ChallengeRequired: ProblemType(428, "challenge-required"),
    AttachmentStorageFull: ProblemType(503, "attachment-storage-full"),
}
"""Every domain error of petition-svc as the problem a client sees (``create_app`` registers it)."""
