"""``/openapi.json`` (the merged document) and ``/docs`` (Swagger UI, with a plain listing beneath it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template_string

from .browser_policy import DOCS_CDN, DOCS_CONTENT_SECURITY_POLICY
from .openapi import HTTP_METHODS, OpenApiCatalogue

__all__ = ["docs_blueprint"]

# Pinned Swagger UI, checked by the browser against these digests (swagger-ui-dist on npm).
SWAGGER_UI_VERSION = "5.35.0"
_SWAGGER_UI_ASSETS = f"{DOCS_CDN}/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
_SWAGGER_UI_BUNDLE_SRI = "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"
_SWAGGER_UI_CSS_SRI = "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — API documentation</title>
<link rel="stylesheet" href="{{ assets }}/swagger-ui.css" integrity="{{ css_sri }}" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui"></div>
<main id="operations">
<h1>{{ title }}</h1>
<p>The machine-readable description is at <a href="openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
{% for note_service, note in notes.items() if note.status != "current" %}
<p><strong>{{ note_service }}</strong>: {{ note.note }}</p>
{% endfor %}
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>Service</th></tr></thead>
<tbody>
{% for operation in operations %}
<tr><td>{{ operation.method }}</td><td><code>{{ operation.path }}</code></td>
<td>{{ operation.summary }}</td><td>{{ operation.service }}</td></tr>
{% else %}
<tr><td colspan="4">No operation is documented right now.</td></tr>
{% endfor %}
</tbody>
</table>
</main>
<script src="{{ assets }}/swagger-ui-bundle.js" integrity="{{ bundle_sri }}" crossorigin="anonymous"></script>
<script src="docs/swagger-initializer.js"></script>
</body>
</html>
"""

# Served from the gateway itself so that the page's policy needs no inline script.
_INITIALIZER = """window.addEventListener("load", function () {
  if (typeof SwaggerUIBundle !== "function") { return; }  // CDN unreachable: the listing stays
  document.getElementById("operations").hidden = true;
  window.ui = SwaggerUIBundle({ url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
"""


def _operations(document: dict[str, Any]) -> list[dict[str, str]]:
    listed = []
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                listed.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": str(operation.get("summary") or operation.get("description") or ""),
                        "service": ", ".join(operation.get("tags") or []),
                    }
                )
    return listed


def docs_blueprint(catalogue: OpenApiCatalogue) -> Blueprint:
    blueprint = Blueprint("docs", __name__)

    @blueprint.get("/openapi.json")
    def openapi_document() -> Response:
        response = jsonify(catalogue.document())
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @blueprint.get("/docs")
    def docs_page() -> Response:
        document = catalogue.document()
        page = render_template_string(
            _DOCS_PAGE,
            title=document["info"]["title"],
            operations=_operations(document),
            notes=document.get("x-gateway-upstreams", {}),
            assets=_SWAGGER_UI_ASSETS,
            css_sri=_SWAGGER_UI_CSS_SRI,
            bundle_sri=_SWAGGER_UI_BUNDLE_SRI,
        )
        response = current_app.response_class(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/docs/swagger-initializer.js")
    def docs_initializer() -> Response:
        response = current_app.response_class(_INITIALIZER, mimetype="text/javascript")
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    return blueprint
