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
    RevocationSchema,
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
            "download it, let anyone verify it by registration number and either the holder's CNP or the verification "
            "code printed on it, and revoke it (clerks)."
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
        "Revocation": RevocationSchema,
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
                "description": "By registration number (`number`) and exactly one of: the holder's CNP (`cnp`), or "
                "the verification code printed on the certificate (`verification_code`). Both travel in the body, "
                "never in a URL. The certificate's QR code opens the public page "
                "`/certificates/verify?number=<number>#code=<code>`: the code sits in the URL fragment, which a "
                "browser never sends to a server, and the page fills its field from it.\n\n"
                "Answers valid, expired, revoked or not_found, with the dates and the holder's name masked; a "
                "wrong CNP or code and an unknown number get the same not_found. After a few wrong CNPs for one "
                "number (default 5 within 24 hours), verification of that number by CNP is locked (429 "
                "`verification-locked` with Retry-After; 24 hours, doubling while guessing goes on), whether or "
                "not a certificate has the number. Verification by code is never locked.",
                "tags": ["certificates"],
                "security": [],
                "requestBody": _body("VerificationRequest"),
                "responses": {
                    "200": _json("Verification", "The verification result."),
                    "415": _problem("Body is not JSON."),
                    "422": _problem(
                        "Invalid or unknown fields, a malformed code, or not exactly one of cnp and verification_code."
                    ),
                    "429": {
                        **_problem(
                            "Verification by CNP of this number is locked after too many wrong CNPs "
                            "(type .../verification-locked, with retry_after), or too many requests from this "
                            "client (gateway)."
                        ),
                        "headers": {
                            "Retry-After": {
                                "description": "Seconds until the number may be checked by CNP again.",
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        },
                    },
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
                    "200": _json("Revocation", "Revoked; verification now says revoked."),
                    "403": _problem("Not a certificate clerk of the unit that issued the certificate."),
                    "404": _problem("No such certificate."),
                    "409": _problem("Not an issued, unrevoked certificate."),
                    "422": _problem("Invalid or unknown fields."),
                    **_COMMON,
                },
            }
        },
    )
    document = spec.to_dict()
    # marshmallow cannot say "exactly one of": the schema says it for clients and generators.
    document["components"]["schemas"]["VerificationRequest"]["oneOf"] = [
        {"required": ["cnp"]},
        {"required": ["verification_code"]},
    ]
    return document
