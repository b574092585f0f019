"""notify-svc's domain errors and the one table that says how each is shown to a client.

::

    DomainError
    └── NotificationError
        ├── AdminsOnly                 403  a search by someone who administers no unit
        ├── NotificationNotFound       404  no such notification (or not a notification id at all)
        ├── NotificationOutOfScope     403  sent for a unit the administrator does not administer
        └── DeliveryInProgress         409  a resend while the latest delivery is under way
"""

from __future__ import annotations

from mai_chassis import DomainError, ProblemType

__all__ = [
    "PROBLEMS",
    "AdminsOnly",
    "DeliveryInProgress",
    "NotificationError",
    "NotificationNotFound",
    "NotificationOutOfScope",
]


class NotificationError(DomainError):
    """Something notify-svc refuses to do."""


class AdminsOnly(NotificationError):
    def __init__(self) -> None:
        super().__init__("Only administrators search notifications.")


class NotificationNotFound(NotificationError):
    def __init__(self) -> None:
        super().__init__("There is no such notification.")


class NotificationOutOfScope(NotificationError):
    def __init__(self) -> None:
        super().__init__("The notification was sent on behalf of a unit you do not administer.")


class DeliveryInProgress(NotificationError):
    def __init__(self) -> None:
        super().__init__("The notification's latest delivery is still under way; resend it once it has finished.")


PROBLEMS: dict[type[DomainError], ProblemType] = {
    AdminsOnly: ProblemType(403, "forbidden"),
    NotificationNotFound: ProblemType(404, "not-found"),
    NotificationOutOfScope: ProblemType(403, "forbidden"),
    DeliveryInProgress: ProblemType(409, "delivery-in-progress"),
}
"""Every domain error of notify-svc as the problem a client sees (``create_app`` registers it)."""
