"""The responses every operation of the platform can give, added to an OpenAPI document.

Whatever a service documents for its own rules, the chassis and the gateway answer some requests
the same way everywhere: a body that is not JSON (400) or not of a JSON type (415), fields that
fail validation (422), a missing or refused token (401, 403), a body over the limit (413), too many
requests (429), an unreachable dependency (502, 503, 504). :func:`add_platform_responses` documents
each of those on every operation it applies to, as ``application/problem+json``, without touching
what the service itself wrote.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROBLEM_SCHEMA", "add_platform_responses"]

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, the same shape from every service and the gateway.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
}

_DESCRIPTIONS = {
    "400": "The request is malformed (e.g. the body is not valid JSON, or a header is invalid).",
    "401": "A valid bearer access token is required.",
    "403": "The token does not allow this operation.",
    "413": "The body is larger than this operation accepts.",
    "415": "The body's media type is not accepted.",
    "422": "Fields are missing, unknown or invalid; see errors.",
    "429": "Too many requests; retry after the Retry-After seconds.",
    "502": "An upstream service answered with something that is not HTTP.",
    "503": "The service or one of its dependencies is unavailable; nothing was saved.",
    "504": "An upstream service did not answer in time.",
}


def _problem(code: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[code], "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}


def add_platform_responses(document: dict[str, Any], *, through_gateway: bool = True) -> dict[str, Any]:
    """Add the platform-wide problem responses to every operation (in place; also returned)."""
    default_security = document.get("security")
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            codes = ["503"]
            if method in ("post", "put", "patch", "delete"):
                codes += ["400", "413", "415", "422"]
            security = operation.get("security", default_security)
            if security and any(requirement for requirement in security):
                codes += ["401", "403"]
            if through_gateway:
                codes += ["413", "429", "502", "504"]
            for code in codes:
                responses.setdefault(code, _problem(code))
    return document
