"""A service's OpenAPI document, and the responses every operation of the platform can give.

:func:`service_spec` starts every service's document the same way (OpenAPI 3.1, marshmallow
schemas through apispec, the bearer token scheme); the service adds its components and paths and
returns ``spec.to_dict()``; :func:`serve_openapi` answers it at ``/openapi.json`` (the gateway
merges every service's document).


Whatever a service documents for its own rules, the chassis and the gateway answer some requests
the same way everywhere: a body that is not JSON (400) or not of a JSON type (415), fields that
fail validation (422), a missing or refused token (401, 403), a body over the limit (413), too many
requests (429), an unreachable dependency (502, 503, 504). :func:`add_platform_responses` documents
each of those on every operation it applies to, as ``application/problem+json``, without touching
what the service itself wrote.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, jsonify

__all__ = [
    "PROBLEM_SCHEMA",
    "add_platform_responses",
    "json_response",
    "problem_response",
    "serve_openapi",
    "service_spec",
]

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

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


def service_spec(
    *,
    title: str,
    description: str,
    security_scheme: str = "bearer",
    schemas: Mapping[str, Any] | None = None,
    responses: Mapping[str, dict[str, Any]] | None = None,
    **options: Any,
) -> APISpec:
    """A service's OpenAPI 3.1 document to add paths to: ``security_scheme`` names the bearer JWT scheme.

    ``schemas`` maps component names to marshmallow schema classes or to JSON Schema dicts;
    ``responses`` are shared response components; ``options`` go to the top of the document
    (``servers``, ``security``).
    """
    spec = APISpec(
        title=title,
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": description},
        **options,
    )
    spec.components.security_scheme(security_scheme, dict(BEARER_SCHEME))
    for name, schema in (schemas or {}).items():
        if isinstance(schema, Mapping):
            spec.components.schema(name, dict(schema))
        else:
            spec.components.schema(name, schema=schema)
    for name, response in (responses or {}).items():
        spec.components.response(name, response)
    return spec


def serve_openapi(app: Flask, document: Callable[[], dict[str, Any]]) -> None:
    """Answer ``GET /openapi.json`` with ``document()`` (built once)."""
    built = functools.cache(document)

    def openapi() -> Response:
        return jsonify(built())

    app.add_url_rule("/openapi.json", endpoint="openapi", view_func=openapi, methods=["GET"])


def problem_response(description: str, schema: str = "Problem") -> dict[str, Any]:
    """A response of ``application/problem+json`` with the document's own ``schema`` component."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def json_response(description: str, schema: str) -> dict[str, Any]:
    """A response of ``application/json`` with the document's ``schema`` component."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
