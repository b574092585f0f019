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

__all__ = ["TrustedFrontEnds", "parse_networks", "resolve_client"]

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


def _in_networks(peer: str, networks: tuple[Network, ...]) -> bool:
    """Whether the peer's address is in one of the trusted front ends' networks."""
    address = _address(peer)
    return address is not None and any(address in network for network in networks)


class TrustedFrontEnds:
    """WSGI middleware: a trusted front end's ``X-Forwarded-For`` becomes the client's address."""

    def __init__(self, app: Any, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded and _in_networks(environ.get("REMOTE_ADDR", ""), self.networks):
            client = _address(forwarded.split(",")[-1])
            if client is not None:
                environ["mai.front_end_address"] = environ["REMOTE_ADDR"]
                environ["REMOTE_ADDR"] = str(client)
                # Already resolved: no further proxy step may read the header again.
                del environ["HTTP_X_FORWARDED_FOR"]
        return self.app(environ, start_response)


def _forwarded_value(value: str, trusted: int) -> str | None:
    """The value ``trusted`` hops from the right of a comma-separated forwarding header (as ProxyFix reads it)."""
    values = [part.strip() for part in value.split(",")]
    return values[-trusted] if len(values) >= trusted else None


def resolve_client(request: Any, front_ends: tuple[Network, ...], trusted_proxies: int) -> tuple[str, str, str]:
    """(client address, scheme, host) of an aiohttp request, by the rules the Flask pages follow.

    First a trusted front end's ``X-Forwarded-For`` (its last entry) names the citizen, as
    :class:`TrustedFrontEnds` does; otherwise, with ``trusted_proxies`` reverse proxies in front,
    their ``X-Forwarded-For``/``-Proto``/``-Host`` are read that many hops from the right, as
    werkzeug's ``ProxyFix`` does. A header from any other peer means nothing.
    """
    peer = request.remote or ""
    headers = request.headers
    scheme = request.scheme
    host = headers.get("Host", "")
    forwarded = headers.get("X-Forwarded-For", "")
    if forwarded and front_ends and _in_networks(peer, front_ends):
        client = _address(forwarded.split(",")[-1])
        if client is not None:
            return str(client), scheme, host
    if trusted_proxies:
        if forwarded:
            peer = _forwarded_value(forwarded, trusted_proxies) or peer
        proto = headers.get("X-Forwarded-Proto", "")
        if proto:
            scheme = _forwarded_value(proto, trusted_proxies) or scheme
        forwarded_host = headers.get("X-Forwarded-Host", "")
        if forwarded_host:
            host = _forwarded_value(forwarded_host, trusted_proxies) or host
    return peer, scheme, host
