"""The OpenAPI 3.1 document of record-svc, built from the API's marshmallow schemas."""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .schemas import (
    ApplicationRequestSchema,
    CertificateListSchema,
    CertificateSchema,
    ProblemSchema,
    PurposeListSchema,
    RevocationRequestSchema,
    VerificationRequestSchema,
    VerificationSchema,
)

__all__ = ["openapi_document"]

_PROBLEM = "application/problem+json"


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _json(schema: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        **extra,
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


_ID = {"name": "certificate_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retried request with the same key returns the first response.",
    "schema": {"type": "string", "maxLength": 200},
}
_CITIZEN: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_COMMON = {"401": _problem("Missing or invalid access token."), "503": _problem("Temporarily unavailable.")}


@functools.cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="record-svc — criminal-record certificates",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Apply for a criminal-record certificate (issued at once, signed PAdES, valid six months), "
            "download it, let anyone verify it by registration number and CNP, and revoke it (clerks)."
        },
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for name, schema in {
        "ApplicationRequest": ApplicationRequestSchema,
        "Certificate": CertificateSchema,
        "CertificateList": CertificateListSchema,
        "PurposeList": PurposeListSchema,
        "VerificationRequest": VerificationRequestSchema,
        "Verification": VerificationSchema,
        "RevocationRequest": RevocationRequestSchema,
        "Problem": ProblemSchema,
    }.items():
        spec.components.schema(name, schema=schema)

    spec.path(
        path="/api/v1/certificates/purposes",
        operations={
            "get": {
                "summary": "Purposes a certificate can be requested for",
                "tags": ["certificates"],
                "responses": {"200": _json("PurposeList", "The purposes, in display order.")},
            }
        },
    )
    spec.path(
        path="/api/v1/certificates",
        operations={
            "post": {
                "summary": "Apply for a certificate (verified citizens)",
                "description": "Civil-status data is filled in from the citizen's account. Without a registry "
                "entry the certificate is issued at once (status valid, with a download_url); with one, the "
                "application is referred to a police counter (status referred). A second application for the "
                "same purpose on the same day returns the first (200).",
                "tags": ["certificates"],
                "security": _CITIZEN,
                "parameters": [_IDEMPOTENCY],
                "requestBody": _body("ApplicationRequest"),
                "responses": {
                    "201": _json("Certificate", "Applied: issued, or referred to a counter."),
                    "200": _json("Certificate", "Today's application for this purpose, made earlier."),
                    "403": _problem("Identity not verified: the problem lists verification_methods."),
                    "409": _problem("Civil-status data or e-mail address not available."),
                    "415": _problem("Body is not JSON."),
                    "422": _problem("Invalid or unknown fields."),
                    **_COMMON,
                },
            },
            "get": {
                "summary": "The caller's applications and certificates",
                "tags": ["certificates"],
                "security": _CITIZEN,
                "responses": {"200": _json("CertificateList", "Newest first."), **_COMMON},
            },
        },
    )
    spec.path(
        path="/api/v1/certificates/{certificate_id}",
        operations={
            "get": {
                "summary": "One of the caller's applications",
                "tags": ["certificates"],
                "security": _CITIZEN,
                "parameters": [_ID],
                "responses": {
                    "200": _json("Certificate", "The application."),
                    "404": _problem("No such certificate for this caller."),
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/{certificate_id}/pdf",
        operations={
            "get": {
                "summary": "Download the signed certificate (holder only, while valid)",
                "tags": ["certificates"],
                "security": _CITIZEN,
                "parameters": [_ID],
                "responses": {
                    "200": {
                        "description": "The PDF, signed PAdES.",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "404": _problem("No such certificate for this caller."),
                    "410": _problem("Expired, revoked or never issued."),
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/verifications",
        operations={
            "post": {
                "summary": "Check a certificate's authenticity (public)",
                "description": "By registration number and the holder's CNP (in the body, never in a URL). "
                "Answers valid, expired, revoked or not_found, with the dates and the holder's name masked.",
                "tags": ["certificates"],
                "security": [],
                "requestBody": _body("VerificationRequest"),
                "responses": {
                    "200": _json("Verification", "The verification result."),
                    "415": _problem("Body is not JSON."),
                    "422": _problem("Invalid or unknown fields."),
                    "429": _problem("Too many verifications (rate-limited at the gateway)."),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/{certificate_id}/revocation",
        operations={
            "post": {
                "summary": "Revoke a certificate (certificate clerks of the issuing unit)",
                "tags": ["certificates"],
                "security": _CITIZEN,
                "parameters": [_ID],
                "requestBody": _body("RevocationRequest"),
                "responses": {
                    "200": {"description": "Revoked; verification now says revoked."},
                    "403": _problem("Not a certificate clerk of the unit that issued the certificate."),
                    "404": _problem("No such certificate."),
                    "409": _problem("Not an issued, unrevoked certificate."),
                    "422": _problem("Invalid or unknown fields."),
                    **_COMMON,
                },
            }
        },
    )
    return spec.to_dict()
