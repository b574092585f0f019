"""A service's OpenAPI document from the chassis: OpenAPI 3.1, the bearer scheme, components, served once."""

from __future__ import annotations

import pytest
from flask import Flask
from mai_chassis.openapi import json_response, problem_response, serve_openapi, service_spec
from marshmallow import Schema, fields

pytestmark = pytest.mark.unit


class Thing(Schema):
    name = fields.String(required=True)


def _document() -> dict:
    spec = service_spec(
        title="things",
        description="Things and their names.",
        security_scheme="bearerAuth",
        schemas={"Thing": Thing, "Problem": {"type": "object", "required": ["status"]}},
        responses={"NotFound": problem_response("No such thing.")},
        servers=[{"url": "/"}],
    )
    spec.path(
        path="/api/v1/things/{id}",
        operations={
            "get": {
                "responses": {
                    "200": json_response("The thing", "Thing"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                }
            }
        },
    )
    return spec.to_dict()


def test_a_service_document_is_openapi_3_1_with_its_schemes_components_and_paths() -> None:
    document = _document()
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "things", "version": "1.0.0", "description": "Things and their names."}
    assert document["servers"] == [{"url": "/"}]
    components = document["components"]
    assert components["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    # A marshmallow schema becomes JSON Schema; a dict stays as written.
    assert components["schemas"]["Thing"]["properties"]["name"]["type"] == "string"
    assert components["schemas"]["Thing"]["required"] == ["name"]
    assert components["schemas"]["Problem"] == {"type": "object", "required": ["status"]}
    not_found = components["responses"]["NotFound"]["content"]["application/problem+json"]["schema"]
    assert not_found == {"$ref": "#/components/schemas/Problem"}
    ok = document["paths"]["/api/v1/things/{id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}


def test_the_document_is_served_at_openapi_json_and_built_once() -> None:
    built = []

    def document() -> dict:
        built.append(1)
        return _document()

    app = Flask(__name__)
    serve_openapi(app, document)
    client = app.test_client()
    first, second = client.get("/openapi.json"), client.get("/openapi.json")
    assert first.status_code == 200 and first.is_json
    assert first.get_json() == second.get_json() == _document()
    assert len(built) == 1
