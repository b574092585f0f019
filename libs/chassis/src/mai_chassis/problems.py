"""RFC 9457 problem details: one error shape for every service and the gateway."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .logs import current_request_id

__all__ = ["PROBLEM_JSON", "PROBLEM_TYPE_BASE", "Problem", "problem_response", "register_error_handlers"]

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


def problem_response(problem: Problem) -> Response:
    body = problem.to_dict()
    if request:
        body.setdefault("instance", request.path)
    request_id = current_request_id()
    if request_id:
        body.setdefault("request_id", request_id)
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
