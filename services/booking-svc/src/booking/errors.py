"""booking-svc's domain errors and the one table that turns them into problem+json answers.

Handlers and the rules in :mod:`booking.domain` raise these; the chassis renders the nearest class
of :data:`PROBLEMS` in the error's MRO (``detail`` is the error's message).
"""

from __future__ import annotations

from collections.abc import Mapping

from mai_chassis.problems import DomainError, ProblemType

# --- lookups -----------------------------------------------------------------------------------------


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's to see (the same answer for both)."""

    def __init__(self, detail: str = "No such resource of yours.") -> None:
        super().__init__(detail)


class InvalidLink(DomainError):
    """An e-mailed manage link that is malformed, forged or expired."""

    def __init__(self, detail: str = "This link is invalid or has expired.") -> None:
        super().__init__(detail)


class IdentityNotVerified(DomainError):
    """No e-mail address and name are known for the applicant yet."""

    def __init__(
        self, detail: str = "Your account has no confirmed e-mail address and name yet; verify your identity first."
    ) -> None:
        super().__init__(detail)


class AllowanceSpent(DomainError):
    """The citizen's allowance of an action (searches, booking attempts) is spent for this window."""

    def __init__(self, action: str, retry_after: int) -> None:
        super().__init__(
            f"Too many {action.replace('-', ' ')} requests; try again in {retry_after} s.",
            extensions={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


# --- uploads ---------------------------------------------------------------------------------------


class DocumentTooLarge(DomainError):
    """More bytes than the portal's published limit."""


class UnsupportedDocumentType(DomainError):
    """Content that is not a plain PDF, JPEG or PNG scan."""


# --- rules of applications and appointments ---------------------------------------------------------


class BookingRuleError(DomainError):
    """An action the application's or the appointment's state does not allow."""


class InvalidRequest(BookingRuleError):
    """Names something that does not exist or contradicts itself (422)."""


class UnknownApplicationType(InvalidRequest):
    pass


class UnknownOffice(InvalidRequest):
    pass


class UnknownDocumentType(InvalidRequest):
    pass


class SlotAtAnotherOffice(InvalidRequest):
    pass


class DuplicateDecision(InvalidRequest):
    pass


class FeedbackRequired(InvalidRequest):
    pass


class PickupBeforeVisit(InvalidRequest):
    pass


class BiometricsInTheFuture(InvalidRequest):
    pass


class InvalidOpeningHours(InvalidRequest):
    pass


class InvalidCapacity(InvalidRequest):
    pass


class InvalidClosure(InvalidRequest):
    pass


class DocumentNotRejected(BookingRuleError):
    pass


class ApplicationNotEditable(BookingRuleError):
    pass


class NotSubmittable(BookingRuleError):
    pass


class DocumentsMissing(BookingRuleError):
    pass


class DocumentsStillRejected(BookingRuleError):
    pass


class NotUnderReview(BookingRuleError):
    pass


class DocumentNotAwaitingReview(BookingRuleError):
    pass


class DecisionMissing(BookingRuleError):
    pass


class AppointmentExists(BookingRuleError):
    pass


class DocumentsNotAccepted(BookingRuleError):
    pass


class SlotInThePast(BookingRuleError):
    pass


class SlotTaken(BookingRuleError):
    """Another applicant booked the slot first."""

    def __init__(self, detail: str = "This slot has just been booked by someone else; pick another.") -> None:
        super().__init__(detail)


class AppointmentNotActive(BookingRuleError):
    pass


class AppointmentStarted(BookingRuleError):
    pass


class NoAppointment(BookingRuleError):
    pass


class NotReadyForPickup(BookingRuleError):
    pass


class PickupTooEarly(BookingRuleError):
    pass


PROBLEMS: Mapping[type[DomainError], ProblemType] = {
    NotFound: ProblemType(404, "not-found"),
    InvalidLink: ProblemType(404, "invalid-link"),
    IdentityNotVerified: ProblemType(409, "identity-not-verified"),
    AllowanceSpent: ProblemType(429, "rate-limited"),
    DocumentTooLarge: ProblemType(413, "document-too-large"),
    UnsupportedDocumentType: ProblemType(415, "unsupported-document-type"),
    UnknownApplicationType: ProblemType(422, "unknown-application-type"),
    UnknownOffice: ProblemType(422, "unknown-office"),
    UnknownDocumentType: ProblemType(422, "unknown-document-type"),
    SlotAtAnotherOffice: ProblemType(422, "slot-at-another-office"),
    DuplicateDecision: ProblemType(422, "duplicate-decision"),
    FeedbackRequired: ProblemType(422, "feedback-required"),
    PickupBeforeVisit: ProblemType(422, "pickup-before-visit"),
    BiometricsInTheFuture: ProblemType(422, "biometrics-in-the-future"),
    InvalidOpeningHours: ProblemType(422, "invalid-opening-hours"),
    InvalidCapacity: ProblemType(422, "invalid-capacity"),
    InvalidClosure: ProblemType(422, "invalid-closure"),
    DocumentNotRejected: ProblemType(409, "document-not-rejected"),
    ApplicationNotEditable: ProblemType(409, "application-not-editable"),
    NotSubmittable: ProblemType(409, "not-submittable"),
    DocumentsMissing: ProblemType(409, "documents-missing"),
    DocumentsStillRejected: ProblemType(409, "documents-still-rejected"),
    NotUnderReview: ProblemType(409, "not-under-review"),
    DocumentNotAwaitingReview: ProblemType(409, "document-not-awaiting-review"),
    DecisionMissing: ProblemType(409, "decision-missing"),
    AppointmentExists: ProblemType(409, "appointment-exists"),
    DocumentsNotAccepted: ProblemType(409, "documents-not-accepted"),
    SlotInThePast: ProblemType(409, "slot-in-the-past"),
    SlotTaken: ProblemType(409, "slot-taken"),
    AppointmentNotActive: ProblemType(409, "appointment-not-active"),
    AppointmentStarted: ProblemType(409, "appointment-started"),
    NoAppointment: ProblemType(409, "no-appointment"),
    NotReadyForPickup: ProblemType(409, "not-ready"),
    PickupTooEarly: ProblemType(409, "pickup-too-early"),
}
