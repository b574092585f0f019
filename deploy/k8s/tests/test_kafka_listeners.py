"""The cluster's two listeners: the services' inside, and the analysts' outside, from their network only.

Both speak TLS and SCRAM-SHA-512; the analysts' one is reached through a load balancer that admits
the analysts' network alone, with Strimzi's NetworkPolicy for its port saying the same; the AsyncAPI
document names both as servers, with the addresses and ports the manifests give them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import mai_contracts
import pytest
from mai_contracts.asyncapi import ANALYSTS_HOST, ANALYSTS_PORT, SECURITY_SCHEME, asyncapi_document
from manifests import OVERLAYS, of_kind

#: The analysts' name for the external bootstrap address, per overlay.
ANALYSTS_NAMES = {"prod": ANALYSTS_HOST, "dev": "kafka-analysts.eservicii.dev.mai.internal"}


def _listeners(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (kafka,) = of_kind(objects, "Kafka")
    return {listener["name"]: listener for listener in kafka["spec"]["kafka"]["listeners"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_there_is_one_listener_inside_the_cluster_and_one_for_the_analysts_both_tls_and_scram(rendered, overlay):
    listeners = _listeners(rendered[overlay])

    assert sorted((name, listener["type"]) for name, listener in listeners.items()) == [
        ("analysts", "loadbalancer"),
        ("scram", "internal"),
    ]
    for listener in listeners.values():
        assert listener["tls"] is True
        assert listener["authentication"]["type"] == "scram-sha-512"
    assert len({listener["port"] for listener in listeners.values()}) == 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_analysts_network_reaches_the_external_listener(rendered, overlay):
    analysts = _listeners(rendered[overlay])["analysts"]
    configuration = analysts["configuration"]
    ranges = [ipaddress.ip_network(cidr) for cidr in configuration["loadBalancerSourceRanges"]]

    assert ranges, "the load balancer would admit every source"
    for network in ranges:
        assert network.is_private, f"{network} is not a private network"
        assert network.prefixlen >= 16, f"{network} is wider than one network"
    # The NetworkPolicy Strimzi writes for the port admits the same addresses and nothing else (no
    # pod or namespace selector: no workload inside the cluster uses this listener).
    peers = analysts["networkPolicyPeers"]
    assert all(set(peer) == {"ipBlock"} and "except" not in peer["ipBlock"] for peer in peers)
    assert sorted(ipaddress.ip_network(peer["ipBlock"]["cidr"]) for peer in peers) == sorted(ranges)
    # Without Local, the nodes would pass on their own address and the policy could not tell.
    assert configuration["externalTrafficPolicy"] == "Local"
    # The brokers' certificates name the address the analysts use, so their TLS checks it.
    assert configuration["bootstrap"]["alternativeNames"] == [ANALYSTS_NAMES[overlay]]


def test_the_asyncapi_document_names_both_listeners_with_their_security_and_addresses(rendered):
    document = asyncapi_document()
    servers = document["servers"]
    listeners = _listeners(rendered["prod"])
    (kafka,) = of_kind(rendered["prod"], "Kafka")
    namespace = kafka["metadata"]["namespace"]

    assert servers["production"]["host"] == (
        f"{kafka['metadata']['name']}-kafka-bootstrap.{namespace}.svc:{listeners['scram']['port']}"
    )
    assert servers["analysts"]["host"] == f"{ANALYSTS_HOST}:{ANALYSTS_PORT}"
    assert listeners["analysts"]["port"] == ANALYSTS_PORT
    for name in ("production", "analysts", "local"):
        assert servers[name]["protocol"] == "kafka-secure", name
        assert servers[name]["security"] == [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}]
    assert document["components"]["securitySchemes"][SECURITY_SCHEME]["type"] == "scramSha512"
    # The analysts' server is there for the user that may read only the redacted copies.
    analyst = next(u for u in mai_contracts.kafka_users() if u.name == mai_contracts.ANALYST)
    assert {g.name for g in analyst.grants if g.resource_type == "topic"} == {mai_contracts.ANALYTICS_PREFIX}
