"""Uploaded files: what their bytes really are, and a content-addressed store to keep them.

The media type is decided from the bytes alone, never from the file name or the declared
Content-Type, and a file is accepted only if it is wholly what it claims to be:

- a PDF is parsed with qpdf (pikepdf), object streams and incremental updates included, and every
  object of the final revision is inspected. Only what a scanned document needs passes: pages,
  images, fonts, outlines and links within the document. Scripts, actions other than "go to a
  page" (``/OpenAction`` or ``/AA`` actions, ``/Launch``, ``/GoToR``, ``/GoToE``, ``/URI``,
  ``/Rendition``, ``/SubmitForm``, ``/ImportData`` ...), embedded files, rich media and XFA forms
  are refused, and so are encrypted files and files qpdf can only read by repairing them;
- a JPEG or PNG is decoded in full with Pillow, must end where the image ends, and its size in
  pixels is bounded. SVG is never accepted (it is a program as much as a picture);
- a file that is also a ZIP archive (a polyglot) is refused whatever it starts with.

Bytes are stored under their SHA-256, so a file name never becomes a path; an original name is
kept, sanitised, as metadata only.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "MAX_IMAGE_PIXELS",
    "FilesystemContentStore",
    "UploadRefused",
    "check_upload",
    "content_digest",
    "detect_media_type",
    "pdf_has_active_content",
    "sanitize_file_name",
    "write_atomically",
]

ACCEPTED_MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")
#: A scan of an A3 page at 600 dpi is about 70 million pixels; nothing larger is a document.
MAX_IMAGE_PIXELS = 80_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class UploadRefused(ValueError):
    """An upload that is not a plain PDF, JPEG or PNG; ``str()`` says why, for the uploader.

    ``active`` is True when the file is a real PDF that carries active content (as opposed to a
    file that is not what it claims to be).
    """

    def __init__(self, reason: str, *, active: bool = False) -> None:
        super().__init__(reason)
        self.active = active


def check_upload(content: bytes) -> str:
    """The media type of a plain PDF, JPEG or PNG; raises :class:`UploadRefused` for anything else."""
    if _is_zip(content):
        raise UploadRefused("The file is also a ZIP archive; upload the scan alone.")
    if content.startswith(b"%PDF-"):
        _check_pdf(content)
        return "application/pdf"
    if content.startswith(_PNG_SIGNATURE):
        if not _is_png(content):
            raise UploadRefused("The PNG image is damaged or has data after its end.")
        _check_image(content, "PNG")
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        if not _is_jpeg(content):
            raise UploadRefused("The JPEG image is damaged or has data after its end.")
        _check_image(content, "JPEG")
        return "image/jpeg"
    raise UploadRefused("The file is not a PDF, JPEG or PNG.")


def detect_media_type(content: bytes) -> str | None:
    """``application/pdf``, ``image/jpeg`` or ``image/png`` when the bytes are wholly one, else None.

    A PDF carrying active content still counts as a PDF here; :func:`pdf_has_active_content` or
    :func:`check_upload` refuse it.
    """
    try:
        return check_upload(content)
    except UploadRefused as refused:
        return "application/pdf" if refused.active else None


def pdf_has_active_content(content: bytes) -> bool:
    """Whether a PDF carries anything a scan never needs (scripts, actions, embedded files, forms)."""
    try:
        check_upload(content)
    except UploadRefused as refused:
        return refused.active
    return False


def _is_zip(content: bytes) -> bool:
    """Whether a ZIP reader finds an archive with entries in the bytes (it looks from the end)."""
    if b"PK\x05\x06" not in content[-66000:]:  # no end-of-central-directory record where readers look
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return False  # four bytes that only look like a ZIP record, inside image or PDF data


# -- PDF -------------------------------------------------------------------------------------------

#: Action types a scanned document may use: moving to one of its own pages.
_ALLOWED_ACTIONS = frozenset({"/GoTo"})
#: Keys whose mere presence means active or embedded content, wherever they appear.
_FORBIDDEN_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/AA": "an automatic action (/AA)",
    "/EmbeddedFiles": "embedded files",
    "/EF": "an embedded file",
    "/XFA": "an XFA form",
    "/RichMediaContent": "rich media",
}
_FORBIDDEN_TYPES = {"/EmbeddedFile": "an embedded file", "/Filespec": "a reference to another file"}
_FORBIDDEN_SUBTYPES = {
    "/FileAttachment": "a file attachment",
    "/RichMedia": "rich media",
    "/Screen": "a media screen",
    "/Movie": "a movie",
    "/Sound": "a sound",
    "/3D": "3D content",
}
#: Keys whose value is an action (a link's /A, an outline item's /A, the catalog's /OpenAction).
_ACTION_KEYS = ("/A", "/OpenAction")


def _check_pdf(content: bytes) -> None:
    import pikepdf

    if not re.match(rb"%PDF-[12]\.\d", content[:8]):
        raise UploadRefused("The file is not a PDF, JPEG or PNG.")
    # Nothing but white space may follow the last end-of-file marker (a file appended after it is
    # invisible to a PDF reader but not to other programs).
    end = content.rfind(b"%%EOF")
    if end < 0 or content[end + 5 :].strip(b"\r\n\t\x00 "):
        raise UploadRefused("The PDF is damaged or has data after its end.")
    try:
        pdf = pikepdf.open(io.BytesIO(content), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise UploadRefused("The PDF is encrypted; upload it without a password.") from None
    except Exception:  # qpdf reports damage in several ways
        raise UploadRefused("The PDF is damaged and cannot be read.") from None
    with pdf:
        if pdf.is_encrypted:
            raise UploadRefused("The PDF is encrypted; upload it without a password.")
        try:
            if len(pdf.pages) == 0:
                raise UploadRefused("The PDF has no pages.")
            reason = _active_content(pdf)
        except UploadRefused:
            raise
        except Exception:
            raise UploadRefused("The PDF is damaged and cannot be read.") from None
    if reason:
        raise UploadRefused(
            f"The PDF carries {reason}: scripts, actions and embedded files are refused; upload a plain scan.",
            active=True,
        )


def _dictionaries(pdf: Any) -> Iterator[Any]:
    """Every dictionary of the file's final revision: objects (in object streams too) and nested ones."""
    import pikepdf

    containers = (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [pdf.trailer, *pdf.objects]
    while stack:
        item = stack.pop()
        if not isinstance(item, containers):
            continue
        if item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, pikepdf.Dictionary):
            yield item
            children = [item.get(key) for key in item.keys()]
        else:
            children = list(item)
        stack.extend(child for child in children if isinstance(child, containers))


def _active_content(pdf: Any) -> str | None:
    import pikepdf

    for dictionary in _dictionaries(pdf):
        for key, what in _FORBIDDEN_KEYS.items():
            if key in dictionary:
                return what
        kind = dictionary.get("/Type")
        if isinstance(kind, pikepdf.Name) and str(kind) in _FORBIDDEN_TYPES:
            return _FORBIDDEN_TYPES[str(kind)]
        subtype = dictionary.get("/Subtype")
        if isinstance(subtype, pikepdf.Name) and str(subtype) in _FORBIDDEN_SUBTYPES:
            return _FORBIDDEN_SUBTYPES[str(subtype)]
        actions = [dictionary.get(key) for key in _ACTION_KEYS]
        if isinstance(kind, pikepdf.Name) and str(kind) == "/Action":
            actions.append(dictionary)
        for action in actions:
            refused = _refused_action(action, pikepdf)
            if refused:
                return refused
    return None


def _refused_action(action: Any, pikepdf: Any, depth: int = 0) -> str | None:
    """Why an action (and the actions chained after it by /Next) is refused; None if it only goes to a page."""
    if action is None or (isinstance(action, pikepdf.Array) and depth == 0 and _is_destination(action, pikepdf)):
        return None  # /OpenAction may be a plain destination: "show page 1", not an action
    if depth > 32:
        return "a chain of actions too long to check"
    if isinstance(action, pikepdf.Array):
        for item in action:
            refused = _refused_action(item, pikepdf, depth + 1)
            if refused:
                return refused
        return None
    if not isinstance(action, pikepdf.Dictionary):
        return None
    kind = action.get("/S")
    name = str(kind) if isinstance(kind, pikepdf.Name) else "unnamed"
    if name not in _ALLOWED_ACTIONS:
        return f"a {name.lstrip('/')} action"
    return _refused_action(action.get("/Next"), pikepdf, depth + 1)


def _is_destination(array: Any, pikepdf: Any) -> bool:
    return len(array) >= 2 and isinstance(array[1], pikepdf.Name)


# -- images ----------------------------------------------------------------------------------------


def _check_image(content: bytes, expected_format: str) -> None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[expected_format]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise UploadRefused("The image has too many pixels for a scanned document.")
                image.load()  # decodes every pixel: a damaged or truncated image fails here
    except UploadRefused:
        raise
    except Exception:  # Pillow raises several types for bad input
        raise UploadRefused(f"The {expected_format} image is damaged and cannot be decoded.") from None


def _is_png(content: bytes) -> bool:
    # Walk every chunk: lengths must fit, CRCs must match, IHDR first and IEND last, nothing after.
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
            return bool(end == len(content))
        offset = end
    return False


def _is_jpeg(content: bytes) -> bool:
    # Segments from SOI up to start-of-scan must chain by their lengths; the image ends with EOI,
    # and the end-of-image marker ends the file (some cameras pad with zero bytes after it).
    content = content.rstrip(b"\x00")
    if not content.endswith(b"\xff\xd9"):
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
            return seen_frame and _scan_ends_at_eoi(content, offset + 2 + length)
        offset += 2 + length
    return False


def _scan_ends_at_eoi(content: bytes, offset: int) -> bool:
    """After the first scan, only entropy-coded data and markers up to one final EOI."""
    eoi = content.find(b"\xff\xd9", offset)
    return eoi == len(content) - 2


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
