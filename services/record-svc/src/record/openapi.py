"""The OpenAPI 3.1 document of record-svc, built from the API's marshmallow schemas."""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from mai_chassis.openapi import service_spec

from .schemas import (
    ApplicationRequestSchema,
    CertificateHistorySchema,
    CertificateListSchema,
    CertificateSchema,
    CounterIssueRequestSchema,
    ProblemSchema,
    PurposeListSchema,
    ReferralCaseSchema,
    ReferralDecisionRequestSchema,
    ReferralListSchema,
    RevocationRequestSchema,
    RevocationSchema,
    StaffCertificateSchema,
    StaffRevocationRequestSchema,
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
    spec = service_spec(
        title="record-svc — criminal-record certificates",
        description="Apply for a criminal-record certificate (issued at once, signed PAdES, valid six months), "
        "download it, let anyone verify it by registration number and either the holder's CNP or the verification "
        "code printed on it, and revoke it (clerks).",
        security_scheme="bearerAuth",
    )
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
    _staff_paths(spec)
    document = spec.to_dict()
    # marshmallow cannot say "exactly one of": the schema says it for clients and generators.
    document["components"]["schemas"]["VerificationRequest"]["oneOf"] = [
        {"required": ["cnp"]},
        {"required": ["verification_code"]},
    ]
    return document


_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "Registration number as printed (case and spaces do not matter).",
    "schema": {"type": "string", "example": "CJ-2026-0004512"},
}
_REFERRAL_ID = {**_ID, "description": "Id of the referred application."}
_STAFF: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_CLERK_403 = _problem("Not a certificate clerk (staff token with role certificate_clerk).")
_COUNTER_403 = _problem("Not a counter officer (staff token with role counter_clerk).")


def _staff_paths(spec: APISpec) -> None:
    """Certificate clerks (role certificate_clerk) and counter officers (role counter_clerk), each
    scoped to the units their role names: another unit's certificate or referral is not found."""
    for name, schema in {
        "StaffCertificate": StaffCertificateSchema,
        "CertificateHistory": CertificateHistorySchema,
        "StaffRevocationRequest": StaffRevocationRequestSchema,
        "ReferralCase": ReferralCaseSchema,
        "ReferralList": ReferralListSchema,
        "ReferralDecisionRequest": ReferralDecisionRequestSchema,
        "CounterIssueRequest": CounterIssueRequestSchema,
    }.items():
        spec.components.schema(name, schema=schema)
    not_in_units = _problem("No certificate with this number was issued in the clerk's units.")
    spec.path(
        path="/api/v1/certificates/numbers/{number}",
        operations={
            "get": {
                "summary": "Find a certificate by its number (certificate clerks of the unit that issued it)",
                "tags": ["staff: certificates"],
                "security": _STAFF,
                "parameters": [_NUMBER],
                "responses": {
                    "200": _json("StaffCertificate", "The certificate, with the holder's name as printed."),
                    "403": _CLERK_403,
                    "404": not_in_units,
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/numbers/{number}/history",
        operations={
            "get": {
                "summary": "A certificate's history: requested, referred and decided, issued, revoked; verifications",
                "tags": ["staff: certificates"],
                "security": _STAFF,
                "parameters": [_NUMBER],
                "responses": {
                    "200": _json("CertificateHistory", "Oldest first, with how often it was verified."),
                    "403": _CLERK_403,
                    "404": not_in_units,
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/numbers/{number}/revocation",
        operations={
            "post": {
                "summary": "Revoke a certificate by its number, with a reason (clerks of the unit that issued it)",
                "description": "The holder is told (certificate.revoked); verification then answers revoked. "
                "The reason 'other' needs a note.",
                "tags": ["staff: certificates"],
                "security": _STAFF,
                "parameters": [_NUMBER],
                "requestBody": _body("StaffRevocationRequest"),
                "responses": {
                    "200": _json("Revocation", "Revoked."),
                    "403": _CLERK_403,
                    "404": not_in_units,
                    "409": _problem("Already revoked."),
                    "422": _problem("No reason, an unknown one, or 'other' without a note."),
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/referrals",
        operations={
            "get": {
                "summary": "Applications referred to the counters of the officer's units (oldest first)",
                "tags": ["staff: counter"],
                "security": _STAFF,
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "description": "awaiting (default: no outcome yet), cleared (to issue), decided, or all.",
                        "schema": {"type": "string", "enum": ["awaiting", "cleared", "decided", "all"]},
                    },
                    {
                        "name": "unit",
                        "in": "query",
                        "required": False,
                        "description": "Only this unit's counter (one of the officer's units).",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": _json("ReferralList", "At most 200."),
                    "403": _COUNTER_403,
                    "422": _problem("Unknown state or query parameter."),
                    **_COMMON,
                },
            }
        },
    )
    no_referral = _problem("No referred application with this id at the counters of the officer's units.")
    spec.path(
        path="/api/v1/certificates/referrals/{certificate_id}",
        operations={
            "get": {
                "summary": "One referral: the applicant's name, purpose, reason and what was decided",
                "tags": ["staff: counter"],
                "security": _STAFF,
                "parameters": [_REFERRAL_ID],
                "responses": {
                    "200": _json("ReferralCase", "The referral."),
                    "403": _COUNTER_403,
                    "404": no_referral,
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/referrals/{certificate_id}/outcome",
        operations={
            "post": {
                "summary": "Record what the counter found (once)",
                "description": "cleared: the entry does not bar a certificate, which is issued next; "
                "entry_confirmed: the entry stands; withdrawn: the applicant withdrew. Publishes "
                "certificate.referral_decided.",
                "tags": ["staff: counter"],
                "security": _STAFF,
                "parameters": [_REFERRAL_ID],
                "requestBody": _body("ReferralDecisionRequest"),
                "responses": {
                    "200": _json("ReferralCase", "Decided."),
                    "403": _COUNTER_403,
                    "404": no_referral,
                    "409": _problem("The outcome was already recorded."),
                    "422": _problem("Invalid or unknown fields."),
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/referrals/{certificate_id}/certificate",
        operations={
            "post": {
                "summary": "Issue the certificate of a cleared referral at the counter",
                "description": "The officer enters the identity read from the document they checked; the CNP "
                "must be the applicant's (only its keyed hash was kept). The certificate is the same signed PDF "
                "as online, in the name of the counter's unit; the holder downloads it from their account and "
                "is told (certificate.issued).",
                "tags": ["staff: counter"],
                "security": _STAFF,
                "parameters": [_REFERRAL_ID, _IDEMPOTENCY],
                "requestBody": _body("CounterIssueRequest"),
                "responses": {
                    "201": _json("StaffCertificate", "Issued."),
                    "403": _COUNTER_403,
                    "404": no_referral,
                    "409": _problem("Not cleared yet, closed without a certificate, or already issued."),
                    "422": _problem("Invalid fields, or a CNP that is not the applicant's (holder-mismatch)."),
                    **_COMMON,
                },
            }
        },
    )
    spec.path(
        path="/api/v1/certificates/referrals/{certificate_id}/certificate/pdf",
        operations={
            "get": {
                "summary": "The signed PDF of a certificate issued at the counter, to hand to the applicant",
                "description": "For counter officers of the unit it was referred to, while the certificate is "
                "valid; every copy is on the audit trail (staff.action certificate.print_at_counter).",
                "tags": ["staff: counter"],
                "security": _STAFF,
                "parameters": [_REFERRAL_ID],
                "responses": {
                    "200": {
                        "description": "The PDF, signed PAdES.",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "403": _COUNTER_403,
                    "404": no_referral,
                    "409": _problem("Not issued yet (no outcome, or not cleared)."),
                    "410": _problem("Expired or revoked."),
                    **_COMMON,
                },
            }
        },
    )
