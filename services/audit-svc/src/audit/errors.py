"""audit-svc's domain errors and the one table that says how each is shown to a client.

::

    DomainError
    └── AuditError
        ├── AdminsOnly      403  only an administrator reads the audit trail
        └── BadTimeRange    400  a time range that ends before it starts
"""

from __future__ import annotations

from mai_chassis import DomainError, ProblemType

__all__ = ["PROBLEMS", "AdminsOnly", "AuditError", "BadTimeRange"]


class AuditError(DomainError):
    """Something audit-svc refuses to do."""


class AdminsOnly(AuditError):
    def __init__(self) -> None:
        super().__init__("Only an administrator reads the audit trail.")


class BadTimeRange(AuditError):
    def __init__(self) -> None:
        super().__init__("The time range ends before it starts: 'from' must not be after 'to'.")


PROBLEMS: dict[type[DomainError], ProblemType] = {
    AdminsOnly: ProblemType(403, "forbidden"),
    BadTimeRange: ProblemType(400, "invalid-time-range"),
}
"""Every domain error of audit-svc as the problem a client sees (``create_app`` registers it)."""
