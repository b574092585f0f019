"""booking-svc: immigration applications, document review, counter appointments and pickup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, jsonify
from mai_chassis import Database, create_service_app

from .config import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    store: object | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    from .api import BookingContext, appointments, immigration, offices, register_error_mapping
    from .catalog import load_catalog
    from .documents import FilesystemDocumentStore, S3DocumentStore
    from .handlers import AppointmentLinks
    from .links import AppointmentLinkSigner
    from .openapi import openapi_document

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database)
    if store is None:
        store = (
            S3DocumentStore.from_settings(settings.s3_endpoint_url, settings.s3_bucket, settings.s3_region)
            if settings.document_store == "s3"
            else FilesystemDocumentStore(settings.documents_dir)
        )
    sealer = None
    if settings.event_sealing_keys:
        from mai_chassis.sealing import Sealer

        sealer = Sealer(list(settings.event_sealing_keys))
    app.extensions["booking"] = BookingContext(
        settings=settings,
        database=database,
        catalog=load_catalog(),
        store=store,  # type: ignore[arg-type]
        links=AppointmentLinks(AppointmentLinkSigner(settings.appointment_link_key), settings.public_base_url, sealer),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    register_error_mapping(app)
    for blueprint in (immigration, appointments, offices):
        app.register_blueprint(blueprint)

    @app.get("/openapi.json")
    def openapi() -> object:
        return jsonify(openapi_document())

    return app
