"""Uploaded files: what their bytes really are, and a content-addressed store to keep them.

The media type is decided from the bytes alone (signature plus a structural check), never from the
file name or the declared Content-Type. Bytes are stored under their SHA-256, so a file name never
becomes a path; an original name is kept, sanitised, as metadata only.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import unicodedata
import zlib
from pathlib import Path

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "FilesystemContentStore",
    "content_digest",
    "detect_media_type",
    "pdf_has_active_content",
    "sanitize_file_name",
    "write_atomically",
]

ACCEPTED_MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def detect_media_type(content: bytes) -> str | None:
    """``application/pdf``, ``image/jpeg`` or ``image/png`` when the bytes are one, else None."""
    if content.startswith(b"%PDF-") and _is_pdf(content):
        return "application/pdf"
    if content.startswith(_PNG_SIGNATURE) and _is_png(content):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff") and _is_jpeg(content):
        return "image/jpeg"
    return None


def _is_pdf(content: bytes) -> bool:
    # A version in the header, a cross-reference pointer and an end-of-file marker in the trailer.
    if not re.match(rb"%PDF-[12]\.\d", content[:8]):
        return False
    tail = content[-2048:]
    return b"%%EOF" in tail and b"startxref" in tail and b"obj" in content


def _is_png(content: bytes) -> bool:
    # Walk every chunk: lengths must fit, CRCs must match, IHDR first and IEND last.
    offset, first = len(_PNG_SIGNATURE), True
    while offset + 12 <= len(content):
        (length,) = struct.unpack(">I", content[offset : offset + 4])
        kind = content[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(content):
            return False
        (crc,) = struct.unpack(">I", content[end - 4 : end])
        if zlib.crc32(content[offset + 4 : end - 4]) != crc:
            return False
        if first and (kind != b"IHDR" or length != 13):
            return False
        first = False
        if kind == b"IEND":
            return True
        offset = end
    return False


def _is_jpeg(content: bytes) -> bool:
    # Segments from SOI up to start-of-scan must chain by their lengths; the image ends with EOI.
    if not content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return False
    offset, seen_frame = 2, False
    while offset + 4 <= len(content):
        if content[offset] != 0xFF:
            return False
        marker = content[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        (length,) = struct.unpack(">H", content[offset + 2 : offset + 4])
        if length < 2:
            return False
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            seen_frame = True
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            return seen_frame
        offset += 2 + length
    return False


_ACTIVE_PDF_NAMES = re.compile(
    rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|ImportData)(?![A-Za-z])"
)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def pdf_has_active_content(content: bytes) -> bool:
    """Scripts, launch actions, embedded files or forms that a scan never needs (names unescaped first)."""
    unescaped = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), content)
    return _ACTIVE_PDF_NAMES.search(unescaped) is not None


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def sanitize_file_name(raw: str | None) -> str:
    """A display name only: no directories, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[-120:] or "document"


_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _checked(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise ValueError("not a SHA-256 digest")
    return digest


def write_atomically(target: Path, content: bytes) -> None:
    """Write ``target`` whole or not at all: a temporary file beside it, synced, then renamed."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FilesystemContentStore:
    """Files under ``root/ab/cd/<sha256>``, written atomically (temporary file, then rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_of(self, digest: str) -> Path:
        digest = _checked(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, digest: str, content: bytes, media_type: str = "") -> None:
        target = self.path_of(digest)
        if target.exists():
            return  # same bytes already stored
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, content)

    def get(self, digest: str) -> bytes:
        return self.path_of(digest).read_bytes()
