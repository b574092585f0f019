"""Scanned documents' storage: the content-addressed file store, or an S3-compatible bucket.

What the bytes are, and the filesystem store, come from the chassis (mai_chassis.uploads), which
petition-svc's attachments use too.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from mai_chassis.uploads import (
    ACCEPTED_MEDIA_TYPES,
    UploadRefused,
    check_upload,
    content_digest,
    detect_media_type,
    pdf_has_active_content,
    sanitize_file_name,
)
from mai_chassis.uploads import FilesystemContentStore as FilesystemDocumentStore

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "DocumentStore",
    "FilesystemDocumentStore",
    "S3DocumentStore",
    "UploadRefused",
    "check_upload",
    "content_digest",
    "detect_media_type",
    "pdf_has_active_content",
    "sanitize_file_name",
]


class DocumentStore(Protocol):
    """Content-addressed storage of document bytes."""

    def put(self, digest: str, content: bytes, media_type: str) -> None: ...

    def get(self, digest: str) -> bytes: ...


_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _checked(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise ValueError("not a SHA-256 digest")
    return digest


class S3DocumentStore:
    """Objects ``documents/<sha256>`` in an S3-compatible bucket (a boto3 client, or a fake in tests)."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "documents/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, endpoint_url: str, bucket: str, region: str = "") -> S3DocumentStore:
        import boto3  # optional dependency: mai-booking-svc[s3]

        client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
        return cls(client, bucket)

    def put(self, digest: str, content: bytes, media_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + _checked(digest),
            Body=content,
            ContentType=media_type,
            ServerSideEncryption="AES256",
        )

    def get(self, digest: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(digest))
        return response["Body"].read()  # type: ignore[no-any-return]
