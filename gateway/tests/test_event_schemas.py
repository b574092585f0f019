"""Every event's `dataschema` URL resolves through the gateway, versioned and cacheable."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import mai_contracts

from .conftest import GatewayUnderTest

EVENT_TYPES = [t.event_type for t in mai_contracts.load_topics(include_dlq=False)]


def test_each_declared_event_types_dataschema_is_served_as_the_contract_says(gateway: GatewayUnderTest) -> None:
    client = gateway.test_client()
    for event_type in EVENT_TYPES:
        url = urlsplit(mai_contracts.schema_uri(event_type))
        assert url.path.startswith("/events/") and ".v1." in url.path, url.path  # the version is in the name

        response = client.get(url.path, headers={"Host": url.netloc})

        assert response.status_code == 200, (event_type, response.status_code)
        assert response.mimetype == "application/schema+json"
        assert json.loads(response.data) == mai_contracts.schema(event_type)
        assert json.loads(response.data)["$id"] == mai_contracts.schema_uri(event_type)
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        assert response.headers["ETag"]


def test_a_cache_revalidates_with_the_etag_and_gets_304(gateway: GatewayUnderTest) -> None:
    client = gateway.test_client()
    path = urlsplit(mai_contracts.schema_uri("ro.mai.petition.submitted.v1")).path
    etag = client.get(path).headers["ETag"]

    again = client.get(path, headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert client.head(path).status_code == 200


def test_only_declared_schemas_are_served(gateway: GatewayUnderTest) -> None:
    client = gateway.test_client()
    for path in ("/events/nothing.v1.schema.json", "/events/..%2Ftopics.yaml", "/events/topics.yaml"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
