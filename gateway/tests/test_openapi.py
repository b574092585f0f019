"""The merged OpenAPI document and the docs page."""

from __future__ import annotations

import pytest

ERROR_SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}}


def _document(title: str, path: str, schema: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            path: {
                "get": {
                    "operationId": "show",
                    "summary": f"Show one ({title})",
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
                        },
                        "404": {"$ref": "#/components/responses/NotFound"},
                    },
                }
            },
            "/internal/lookup": {"get": {"responses": {"200": {"description": "internal"}}}},
            "/healthz": {"get": {"responses": {"200": {"description": "alive"}}}},
        },
        "components": {
            "schemas": {schema: {"type": "object"}, "Error": ERROR_SCHEMA},
            "responses": {
                "NotFound": {
                    "description": "Not found",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@pytest.fixture
def documented_gateway(make_gateway, petition_upstream, identity_upstream):
    petition_upstream.openapi = _document("petitions", "/api/v1/petitions/{number}", "Petition")
    identity_upstream.openapi = _document("accounts", "/api/v1/accounts/{id}", "Account")
    return make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/api/v1/accounts", "upstream": identity_upstream.url, "service": "identity-svc"},
        ]
    )


def test_the_merged_document_has_every_routed_path_and_no_internal_one(documented_gateway):
    document = documented_gateway.test_client().get("/openapi.json").json

    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/api/v1/petitions/{number}", "/api/v1/accounts/{id}"}


def test_component_names_are_namespaced_per_service_and_references_follow(documented_gateway):
    document = documented_gateway.test_client().get("/openapi.json").json

    schemas = document["components"]["schemas"]
    assert {"PetitionSvc.Error", "IdentitySvc.Error", "PetitionSvc.Petition", "IdentitySvc.Account"} <= set(schemas)
    petition = document["paths"]["/api/v1/petitions/{number}"]["get"]
    assert petition["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/PetitionSvc.Petition"
    )
    assert petition["responses"]["404"]["$ref"] == "#/components/responses/PetitionSvc.NotFound"
    not_found = document["components"]["responses"]["IdentitySvc.NotFound"]
    assert (
        not_found["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/IdentitySvc.Error"
    )
    assert petition["security"] == [{"PetitionSvc.bearer": []}]
    assert petition["operationId"] == "PetitionSvc.show"


def test_a_down_upstream_is_left_out_with_a_note(make_gateway, petition_upstream, stopped_upstream_url):
    petition_upstream.openapi = _document("petitions", "/api/v1/petitions/{number}", "Petition")
    app = make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/api/v1/offices", "upstream": stopped_upstream_url, "service": "booking-svc"},
        ]
    )

    document = app.test_client().get("/openapi.json").json

    assert list(document["paths"]) == ["/api/v1/petitions/{number}"]
    assert document["x-gateway-upstreams"]["booking-svc"]["status"] == "omitted"
    assert document["x-gateway-upstreams"]["petition-svc"]["status"] == "current"


def test_an_upstream_that_goes_down_keeps_its_last_known_document(documented_gateway, identity_upstream):
    client = documented_gateway.test_client()
    client.get("/openapi.json")
    identity_upstream.stop()
    documented_gateway.extensions["gateway"]["openapi"].refresh_seconds = 0  # every document is due a refresh

    document = client.get("/openapi.json").json

    assert "/api/v1/accounts/{id}" in document["paths"]
    assert document["x-gateway-upstreams"]["identity-svc"]["status"] == "stale"


def test_the_docs_page_loads_a_pinned_docs_ui_and_lists_operations_without_script(documented_gateway):
    response = documented_gateway.test_client().get("/docs")
    page = response.get_data(as_text=True)

    assert response.mimetype == "text/html"
    assert 'integrity="sha384-' in page
    assert "swagger-ui-bundle.js" in page
    assert "/api/v1/petitions/{number}" in page
    assert "Show one (accounts)" in page
    initializer = documented_gateway.test_client().get("/docs/swagger-initializer.js")
    assert initializer.status_code == 200
    assert "SwaggerUIBundle" in initializer.get_data(as_text=True)


def test_text_from_an_upstream_document_is_escaped_on_the_docs_page(make_gateway, petition_upstream):
    petition_upstream.openapi = _document("<script>alert(1)</script>", "/api/v1/petitions/{number}", "Petition")
    app = make_gateway([{"prefix": "/api/v1/petitions", "upstream": petition_upstream.url}])

    page = app.test_client().get("/docs").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
