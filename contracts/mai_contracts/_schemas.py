"""Event payload schemas: loading, validation with readable errors, and x-pii paths and redaction."""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any, Final

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ._topics import find_topic_for_event_type

REDACTED: Final = "[redacted]"
PII_MARK: Final = "x-pii"
SEALED_MARK: Final = "x-sealed"
PSEUDONYM_PREFIX: Final = "pn1:"
ANY_ITEM: Final = "*"

# Errors whose jsonschema message names fields only, never a value.
_NAME_ONLY_VALIDATORS: Final = frozenset({"required", "additionalProperties", "dependentRequired"})


class ContractViolation(ValueError):
    """An event payload does not match its schema; `errors` lists each problem as 'path: problem'."""

    def __init__(self, event_type: str, errors: tuple[str, ...]) -> None:
        self.event_type = event_type
        self.errors = errors
        count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
        super().__init__(f"{event_type} payload breaks its contract ({count}): " + "; ".join(errors))


@functools.cache
def _schema(event_type: str) -> Mapping[str, Any]:
    topic = find_topic_for_event_type(event_type)
    path = resources.files(__package__).joinpath("events", topic.schema_file)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def schema(event_type: str) -> dict[str, Any]:
    """Return a copy of the JSON Schema of event_type's data payload."""
    return copy.deepcopy(dict(_schema(event_type)))


def schema_uri(event_type: str) -> str:
    """Return the schema's `$id`, the value producers put in the CloudEvents `dataschema`."""
    return str(_schema(event_type)["$id"])


@functools.cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(event_type), format_checker=Draft202012Validator.FORMAT_CHECKER)


@functools.cache
def _fast_validator(event_type: str) -> Any:
    return jsonschema_rs.validator_for(dict(_schema(event_type)), validate_formats=True)


def validate(event_type: str, data: Any) -> None:
    """Check data against event_type's schema; raise ContractViolation listing every error.

    The messages name paths and rules but never echo values, since a value may be personal data
    and these messages end up in logs and dead-letter headers.

    Every event produced or consumed is checked, so the check is made in two steps: the compiled
    ``jsonschema-rs`` validator answers the common case, a valid payload, in a microsecond or two
    (``jsonschema`` took a few hundred: a fifth of a petition submit's CPU). Only a payload it
    refuses goes to ``jsonschema``, the reference implementation, which lists the errors; where the
    two disagree (a format the compiled one checks more strictly), the reference's answer stands.
    The compiled validator never accepts what the reference refuses: tested on every schema.
    """
    if _fast_validator(event_type).is_valid(data):
        return
    found = sorted(
        _validator(event_type).iter_errors(data),
        key=lambda e: ([str(p) for p in e.absolute_path], str(e.validator)),
    )
    if found:
        raise ContractViolation(event_type, tuple(_describe(e) for e in found))


def _describe(error: ValidationError) -> str:
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    rule, expected = str(error.validator), error.validator_value
    if rule in _NAME_ONLY_VALIDATORS:
        problem = error.message
    elif rule == "format":
        problem = f"is not a valid {expected}"
    elif rule == "type":
        problem = f"is not of type {expected!r}"
    elif rule == "enum":
        problem = f"is not one of {expected!r}"
    elif rule == "const":
        problem = f"is not {expected!r}"
    elif rule == "pattern":
        problem = f"does not match {expected!r}"
    elif rule in {"minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum"}:
        problem = f"breaks {rule} {expected!r}"
    else:
        problem = f"breaks the {rule!r} rule"
    return f"{path}: {problem}"


def pii_paths(event_type: str) -> list[tuple[str, ...]]:
    """Return the paths of the fields marked x-pii; "*" in a path stands for every array item."""
    return list(_pii_paths(event_type))


@functools.cache
def _pii_paths(event_type: str) -> tuple[tuple[str, ...], ...]:
    return _marked_paths(event_type, PII_MARK)


def sealed_paths(event_type: str) -> list[tuple[str, ...]]:
    """Return the paths of the fields marked x-sealed (values only their one consumer may open)."""
    return list(_marked_paths(event_type, SEALED_MARK))


@functools.cache
def _marked_paths(event_type: str, mark: str) -> tuple[tuple[str, ...], ...]:
    root = _schema(event_type)
    seen: dict[tuple[str, ...], None] = {}
    for path in _walk_pii(root, root, (), frozenset(), mark):
        seen.setdefault(path, None)
    return tuple(seen)


def _walk_pii(
    node: Any, root: Mapping[str, Any], path: tuple[str, ...], refs: frozenset[str], mark: str = PII_MARK
) -> Iterator[tuple[str, ...]]:
    if not isinstance(node, Mapping):
        return
    if node.get(mark) is True:
        yield path
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in refs:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        yield from _walk_pii(target, root, path, refs | {ref}, mark)
    for name, sub in (node.get("properties") or {}).items():
        yield from _walk_pii(sub, root, (*path, name), refs, mark)
    if isinstance(node.get("items"), Mapping):
        yield from _walk_pii(node["items"], root, (*path, ANY_ITEM), refs, mark)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword) or ():
            yield from _walk_pii(sub, root, path, refs, mark)
    for keyword in ("then", "else"):
        yield from _walk_pii(node.get(keyword), root, path, refs, mark)


def redact(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a deep copy of data with every x-pii value replaced by "[redacted]"."""
    copied: dict[str, Any] = copy.deepcopy(dict(data))
    for path in _pii_paths(event_type):
        _replace_at(copied, path, lambda _value: REDACTED)
    return copied


def pseudonym(key: bytes, value: Any) -> str:
    """A keyed, stable stand-in for a personal value: equal values give equal pseudonyms.

    HMAC-SHA-256 over the value's canonical JSON, so that without the key nobody can test a guess
    (an e-mail address, a name) against it; strings are compared case- and space-insensitively so
    that "Ana@Example.ro " and "ana@example.ro" count as one person.
    """
    if isinstance(value, str):
        value = " ".join(value.split()).casefold()
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return PSEUDONYM_PREFIX + hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonymise(event_type: str, data: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """Return a deep copy of data for analysts: x-sealed fields removed, x-pii values pseudonymised."""
    if not key:
        raise ValueError("a pseudonymisation key is required")
    copied: dict[str, Any] = copy.deepcopy(dict(data))
    for path in _marked_paths(event_type, SEALED_MARK):
        _remove_at(copied, path)
    for path in _pii_paths(event_type):
        _replace_at(copied, path, lambda value: pseudonym(key, value))
    return copied


def _replace_at(node: Any, path: tuple[str, ...], replace: Callable[[Any], Any]) -> None:
    head, rest = path[0], path[1:]
    if head == ANY_ITEM:
        if isinstance(node, list):
            for index, item in enumerate(node):
                if rest:
                    _replace_at(item, rest, replace)
                else:
                    node[index] = replace(item)
    elif isinstance(node, dict) and head in node:
        if rest:
            _replace_at(node[head], rest, replace)
        else:
            node[head] = replace(node[head])


def _remove_at(node: Any, path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if head == ANY_ITEM:
        if isinstance(node, list):
            for item in node:
                if rest:
                    _remove_at(item, rest)
    elif isinstance(node, dict) and head in node:
        if rest:
            _remove_at(node[head], rest)
        else:
            del node[head]
