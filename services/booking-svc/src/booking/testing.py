"""Sample scanned documents and seeded slots for booking-svc's tests and benchmark (never used in production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mai_chassis.testing.samples import renamed_executable, sample_jpeg, sample_pdf, sample_png

__all__ = ["renamed_executable", "sample_jpeg", "sample_pdf", "sample_png"]


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
