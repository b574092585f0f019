"""RFC 9457 problem details: one error shape for every service and the gateway.

Two kinds of error become problems:

- :class:`DomainError` subclasses, raised by handlers when a rule of the domain refuses a
  command. A service maps them to problem types in ONE table, ``PROBLEMS`` in ``<pkg>/errors.py``,
  passed as ``create_service_app(..., problems=PROBLEMS)``; the nearest class in an error's MRO
  decides its status and type, ``str(error)`` is the ``detail``.
- :class:`Problem`, raised by views for purely HTTP concerns (a missing header, a body that is
  not JSON) and by the chassis itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .logs import current_request_id

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPE_BASE",
    "DomainError",
    "Problem",
    "ProblemTable",
    "ProblemType",
    "problem_document",
    "problem_for",
    "problem_response",
    "problem_type_for",
    "register_error_handlers",
    "register_problem_table",
]

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://e-services.mai.gov.ro/problems/"


class Problem(Exception):
    """An error a client should see, rendered as ``application/problem+json``.

    ``kind`` becomes the ``type`` URI (``PROBLEM_TYPE_BASE + kind``); ``extensions`` are extra
    members such as ``errors`` (field -> messages) or ``retry_after``.
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(detail or self.title)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.kind if self.kind else "about:blank",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


class DomainError(Exception):
    """A command refused by a rule of the domain; the message is the problem's ``detail``.

    ``extensions`` become extra members of the problem (e.g. ``{"retry_after": 30}``) and
    ``headers`` extra response headers (e.g. ``{"Retry-After": "30"}``); a subclass may set
    either as an attribute instead of passing it.
    """

    extensions: dict[str, Any]
    headers: dict[str, str]

    def __init__(
        self, detail: str = "", *, extensions: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class ProblemType:
    """How a kind of domain error is shown: its HTTP status, ``type`` slug and ``title``."""

    status: int
    kind: str
    title: str | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError(f"a problem's status is 4xx or 5xx, not {self.status}")
        if not self.kind or self.kind != self.kind.strip() or " " in self.kind:
            raise ValueError(f"a problem kind is a slug such as 'petition-not-found', not {self.kind!r}")


ProblemTable = Mapping[type[DomainError], ProblemType]


def problem_type_for(error: type[DomainError], problems: ProblemTable) -> ProblemType | None:
    """The problem type of the nearest class in ``error``'s MRO that the table names (None: none)."""
    for cls in error.__mro__:
        found = problems.get(cls)  # type: ignore[call-overload]
        if found is not None:
            return found
    return None


def problem_for(error: DomainError, problems: ProblemTable) -> Problem:
    """The problem ``error`` is rendered as; an error the table does not name is a 500 (and logged)."""
    problem_type = problem_type_for(type(error), problems)
    if problem_type is None:
        logger.error("domain error %s has no entry in the service's PROBLEMS table", type(error).__name__)
        return Problem(500, "An unexpected error occurred; it has been logged.")
    detail = str(error) or None
    problem = Problem(
        problem_type.status,
        detail,
        title=problem_type.title,
        kind=problem_type.kind,
        headers=dict(getattr(error, "headers", None) or {}),
        **dict(getattr(error, "extensions", None) or {}),
    )
    return problem


def problem_document(problem: Problem, *, instance: str | None, request_id: str | None) -> dict[str, Any]:
    """The problem's JSON members, with the request's path as ``instance`` and its id, when known."""
    body = problem.to_dict()
    if instance is not None:
        body.setdefault("instance", instance)
    if request_id:
        body.setdefault("request_id", request_id)
    return body


def problem_response(problem: Problem) -> Response:
    body = problem_document(problem, instance=request.path if request else None, request_id=current_request_id())
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_JSON)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def _field_errors(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages}


def register_error_handlers(app: Flask) -> None:
    """Render every error — ours, werkzeug's, validation, database, unexpected — as a problem."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return problem_response(
            Problem(
                422,
                "The request has invalid or unknown fields; see errors.",
                kind="validation-error",
                errors=_field_errors(exc.messages),
            )
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = {}
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        detail = exc.description if status < 500 else None
        return problem_response(Problem(status, detail, headers=headers))

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response:
        logger.error("database unavailable: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        return problem_response(
            Problem(
                503,
                "The service cannot reach its database right now; nothing was saved. Try again shortly.",
                kind="service-unavailable",
                headers={"Retry-After": "5"},
            )
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _database_down(OperationalError(str(exc), None, exc.orig))  # type: ignore[arg-type]
        logger.error("unhandled error", exc_info=exc)
        return problem_response(Problem(500, "An unexpected error occurred; it has been logged."))


def register_problem_table(app: Flask, problems: ProblemTable) -> None:
    """Render the service's domain errors as the problems its table says (one handler for all)."""
    table = dict(problems)
    for error_class, problem_type in table.items():
        if not (isinstance(error_class, type) and issubclass(error_class, DomainError)):
            raise TypeError(f"PROBLEMS keys are DomainError subclasses, not {error_class!r}")
        if not isinstance(problem_type, ProblemType):
            raise TypeError(f"PROBLEMS[{error_class.__name__}] must be a ProblemType, not {problem_type!r}")

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return problem_response(problem_for(exc, table))
