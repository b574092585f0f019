"""What notify-svc listens to, read from the contracts: the event types and their sealed fields."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import mai_contracts

__all__ = ["SERVICE", "open_sealed_fields", "sealed_paths", "subscribed_event_types", "without_sealed_fields"]

SERVICE = "notify-svc"

FieldPath = tuple[str, ...]


@functools.cache
def subscribed_event_types() -> tuple[str, ...]:
    """Every event type whose topic names notify-svc among its consumers in topics.yaml."""
    return tuple(
        topic.event_type for topic in mai_contracts.load_topics(include_dlq=False) if SERVICE in topic.consumers
    )


def _walk(schema: dict[str, Any], prefix: FieldPath) -> Iterator[FieldPath]:
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("x-sealed") is True:
            yield (*prefix, name)
        elif prop.get("type") == "object":
            yield from _walk(prop, (*prefix, name))


@functools.cache
def sealed_paths(event_type: str) -> tuple[FieldPath, ...]:
    """Paths of the fields the event's schema marks ``"x-sealed": true``."""
    return tuple(_walk(mai_contracts.schema(event_type), ()))


def _transform(data: dict[str, Any], paths: tuple[FieldPath, ...], change: Any) -> dict[str, Any]:
    result = dict(data)
    for path in paths:
        parent = result
        for key in path[:-1]:
            child = parent.get(key)
            if not isinstance(child, dict):
                break
            parent[key] = parent = dict(child)
        else:
            if path[-1] in parent:
                change(parent, path[-1])
    return result


def open_sealed_fields(event_type: str, data: dict[str, Any], opener: Any) -> dict[str, Any]:
    """A copy of ``data`` with its sealed fields opened by ``opener(sealed) -> str``."""

    def _open(parent: dict[str, Any], key: str) -> None:
        parent[key] = opener(parent[key])

    return _transform(data, sealed_paths(event_type), _open)


def without_sealed_fields(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without its sealed fields (what a subject is rendered from)."""

    def _drop(parent: dict[str, Any], key: str) -> None:
        del parent[key]

    return _transform(data, sealed_paths(event_type), _drop)
