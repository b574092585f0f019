"""Web front ends that call the API on a citizen's behalf, and whose word for the citizen's address counts.

The citizen portal serves pages and calls the API through the gateway; without this, every citizen
would share the portal's address and its rate limit. A request whose peer is in one of the
configured networks is taken to be from the citizen the last ``X-Forwarded-For`` entry names (the
portal sets exactly one); from any other peer the header means nothing (ProxyFix, or nothing, then
decides). The networks come from ``GATEWAY_TRUSTED_PROXY_NETWORKS``, e.g. ``10.42.7.0/24``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from mai_chassis import ConfigurationError

__all__ = ["TrustedFrontEnds", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"gateway cannot start: {value!r} is not a network (CIDR)") from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


class TrustedFrontEnds:
    """WSGI middleware: a trusted front end's ``X-Forwarded-For`` becomes the client's address."""

    def __init__(self, app: Any, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def _trusted(self, peer: str) -> bool:
        address = _address(peer)
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded and self._trusted(environ.get("REMOTE_ADDR", "")):
            client = _address(forwarded.split(",")[-1])
            if client is not None:
                environ["mai.front_end_address"] = environ["REMOTE_ADDR"]
                environ["REMOTE_ADDR"] = str(client)
                # Already resolved: no further proxy step may read the header again.
                del environ["HTTP_X_FORWARDED_FOR"]
        return self.app(environ, start_response)
