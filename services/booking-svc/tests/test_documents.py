"""Document content checks, file names, storage adapters and signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from booking.appointment_links import AppointmentLinkSigner, InvalidLinkError
from booking.documents import (
    FilesystemDocumentStore,
    S3DocumentStore,
    content_digest,
    detect_media_type,
    pdf_has_active_content,
    sanitize_file_name,
)
from mai_chassis.testing.hostile_files import HOSTILE_UPLOADS
from mai_chassis.testing.samples import renamed_executable, sample_jpeg, sample_pdf, sample_png


def test_pdf_jpeg_and_png_are_recognised_by_their_content() -> None:
    assert detect_media_type(sample_pdf()) == "application/pdf"
    assert detect_media_type(sample_jpeg()) == "image/jpeg"
    assert detect_media_type(sample_png()) == "image/png"


@pytest.mark.parametrize(
    "content",
    [
        renamed_executable(),
        b"%PDF-1.7\n<script>not really a pdf",  # right signature, no structure
        sample_png()[:-6],  # truncated before IEND
        sample_png()[:19] + b"\x02" + sample_png()[20:],  # IHDR CRC broken
        b"\xff\xd8\xff\xe0 garbage without segments",
        b"",
    ],
)
def test_content_that_only_pretends_to_be_a_scan_is_not_recognised(content: bytes) -> None:
    assert detect_media_type(content) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\scan.pdf", "scan.pdf"),
        ("pașaport ion.pdf", "pașaport ion.pdf"),
        ("..", "document"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        (None, "document"),
    ],
)
def test_file_names_lose_every_path_part_and_control_character(raw: str | None, expected: str) -> None:
    assert sanitize_file_name(raw) == expected


def test_the_filesystem_store_names_files_by_content_hash_only(tmp_path: Path) -> None:
    store = FilesystemDocumentStore(tmp_path)
    content = sample_pdf()
    digest = content_digest(content)
    store.put(digest, content, "application/pdf")
    store.put(digest, content, "application/pdf")  # same bytes twice: one file
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [digest]
    assert store.get(digest) == content


def test_the_filesystem_store_refuses_anything_but_a_digest_as_a_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        FilesystemDocumentStore(tmp_path).put("../escape", b"x", "application/pdf")


class FakeS3Client:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def put_object(self, **kwargs: Any) -> None:
        self.objects[(kwargs["Bucket"], kwargs["Key"])] = kwargs

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        import io

        return {"Body": io.BytesIO(self.objects[(Bucket, Key)]["Body"])}


def test_the_s3_store_keeps_encrypted_objects_under_the_content_hash() -> None:
    client = FakeS3Client()
    store = S3DocumentStore(client, "igi-documents")
    content = sample_png()
    digest = content_digest(content)
    store.put(digest, content, "image/png")
    stored = client.objects[("igi-documents", f"documents/{digest}")]
    assert stored["ContentType"] == "image/png"
    assert stored["ServerSideEncryption"] == "AES256"
    assert store.get(digest) == content


def test_a_signed_link_opens_its_appointment_until_it_expires() -> None:
    signer = AppointmentLinkSigner("k" * 32)
    now = datetime(2025, 3, 14, 9, tzinfo=UTC)
    appointment_id = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
    link = signer.sign(appointment_id, now + timedelta(days=3))
    assert signer.verify(link, now=now) == appointment_id
    with pytest.raises(InvalidLinkError, match="expired"):
        signer.verify(link, now=now + timedelta(days=3))


def test_a_tampered_or_foreign_link_is_refused() -> None:
    signer = AppointmentLinkSigner("k" * 32)
    now = datetime(2025, 3, 14, 9, tzinfo=UTC)
    link = signer.sign("5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", now + timedelta(days=3))
    other = AppointmentLinkSigner("x" * 32).sign("5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", now + timedelta(days=3))
    for bad in (link[:-2] + "AA", other, "garbage", link.split(".")[0]):
        with pytest.raises(InvalidLinkError):
            signer.verify(bad, now=now)


@pytest.mark.parametrize("name", ["javascript-open-action-in-object-stream", "gotor-to-unc-path", "launch-action"])
def test_a_pdf_with_scripts_actions_or_attachments_is_flagged(name: str) -> None:
    content = HOSTILE_UPLOADS[name]()
    assert detect_media_type(content) == "application/pdf"
    assert pdf_has_active_content(content)


def test_a_plain_scanned_pdf_is_not_flagged() -> None:
    assert not pdf_has_active_content(sample_pdf())
