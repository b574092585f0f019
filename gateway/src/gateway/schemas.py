"""``/events/<name>.schema.json``: the event schemas of ``contracts/``, where each event's ``dataschema`` points.

Every event carries ``dataschema: https://contracts.e-services.mai.gov.ro/events/<name>.vN.schema.json``;
that host is routed to the gateway, which answers the path from the contracts package it is built
with. The version is in the name (a breaking change is a new ``vN`` file beside the old one), so a
schema may be cached for a day; additive changes keep the name, and the ETag (a digest of the
file) lets a cache revalidate cheaply (304).
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

import mai_contracts
from flask import Blueprint, Response, current_app, request
from mai_chassis import Problem

__all__ = ["SCHEMA_PATH_PREFIX", "schemas_blueprint"]

SCHEMA_PATH_PREFIX = "/events/"
CACHE_CONTROL = "public, max-age=86400"


@functools.cache
def _schema_files() -> dict[str, tuple[bytes, str]]:
    """Each declared schema's file name -> (bytes, ETag); only these names are ever served."""
    folder = resources.files(mai_contracts).joinpath("events")
    files = {}
    for topic in mai_contracts.load_topics(include_dlq=False):
        body = folder.joinpath(topic.schema_file).read_bytes()
        files[topic.schema_file] = (body, hashlib.sha256(body).hexdigest()[:32])
    return files


def schemas_blueprint() -> Blueprint:
    blueprint = Blueprint("schemas", __name__)

    @blueprint.route(SCHEMA_PATH_PREFIX + "<name>", methods=["GET", "HEAD"])
    def event_schema(name: str) -> Response:
        found = _schema_files().get(name)
        if found is None:
            raise Problem(404, "No event schema of that name is declared in contracts/.", kind="not-found")
        body, etag = found
        response = current_app.response_class(body, mimetype="application/schema+json")
        response.set_etag(etag)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["Access-Control-Allow-Origin"] = "*"  # public documents, read by validators anywhere
        response.make_conditional(request)
        return response

    return blueprint
