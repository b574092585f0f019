"""What booking-svc's handlers need besides the unit of work, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from .appointment_links import AppointmentLinks, AppointmentLinkSigner
from .catalog import Catalog, load_catalog
from .config import Settings
from .documents import DocumentStore, FilesystemDocumentStore, S3DocumentStore

__all__ = ["BookingDeps", "booking_deps", "document_store"]


@dataclass(frozen=True)
class BookingDeps:
    settings: Settings
    catalog: Catalog
    store: DocumentStore
    links: AppointmentLinks


def document_store(settings: Settings) -> DocumentStore:
    """The document store ``settings`` configure (S3, or a folder)."""
    return (
        S3DocumentStore.from_settings(settings.s3_endpoint_url, settings.s3_bucket, settings.s3_region)
        if settings.document_store == "s3"
        else FilesystemDocumentStore(settings.documents_dir)
    )


def booking_deps(settings: Settings, *, store: DocumentStore | None = None) -> BookingDeps:
    """The dependencies ``settings`` describe (``store`` replaces the configured document store)."""
    if store is None:
        store = document_store(settings)
    sealer = None
    if settings.event_sealing_keys:
        from mai_chassis.sealing import Sealer

        sealer = Sealer(list(settings.event_sealing_keys))
    links = AppointmentLinks(AppointmentLinkSigner(settings.appointment_link_key), settings.public_base_url, sealer)
    return BookingDeps(settings=settings, catalog=load_catalog(), store=store, links=links)
