"""Sample scanned documents and seeded slots for booking-svc's tests and benchmark (never used in production)."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["renamed_executable", "sample_jpeg", "sample_pdf", "sample_png"]


def sample_pdf(padding: int = 0) -> bytes:
    body = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    if padding:
        body += b"%" + b"0" * padding + b"\n"
    return body + b"trailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sample_png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def sample_jpeg() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 1, 1, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof + sos + b"\x12\x34\x56" + b"\xff\xd9"


def renamed_executable() -> bytes:
    """A Windows program's first bytes (MZ header), as if renamed to passport.pdf."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode."
    )


def accepted_application(
    database: Any, *, citizen_id: str, office: str, application_type: str = "travel-document"
) -> str:
    """An application whose documents an officer accepted, created through the handlers (fast seeding)."""
    from datetime import UTC, datetime

    from . import handlers
    from .catalog import load_catalog
    from .domain import DocumentDecision

    catalog = load_catalog()
    store = _NullStore()
    now = datetime.now(UTC)
    recipient = handlers.Recipient("applicant@example.org", "Test Applicant", "en")
    with database.unit_of_work(source="booking-svc") as uow:
        application = handlers.create_draft(
            uow,
            catalog,
            citizen_id=citizen_id,
            application_type=application_type,
            office=office,
            recipient=recipient,
            now=now,
        )
    codes = catalog.application_types[application_type].required_codes
    for code in codes:
        with database.unit_of_work(source="booking-svc") as uow:
            handlers.upload_document(
                uow,
                catalog,
                store,
                application_id=application.id,
                citizen_id=citizen_id,
                document_type=code,
                content=sample_pdf(),
                file_name=f"{code}.pdf",
                now=now,
            )
    with database.unit_of_work(source="booking-svc") as uow:
        handlers.submit(uow, catalog, application_id=application.id, citizen_id=citizen_id, now=now)
    with database.unit_of_work(source="booking-svc") as uow:
        handlers.review(
            uow,
            application_id=application.id,
            officer=handlers.Officer("seeder", frozenset({office})),
            decisions=[DocumentDecision(code, True) for code in codes],
            now=now,
        )
    return application.id


class _NullStore:
    """Keeps nothing: seeded applications only need their documents' hashes."""

    def put(self, digest: str, content: bytes, media_type: str) -> None:
        return None

    def get(self, digest: str) -> bytes:
        raise KeyError(digest)


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a loopback port with a thread per request; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
