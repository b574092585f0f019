"""The citizen's download of their data: identity-svc's own part, and every other service's part
fetched from that service (``GET <url>/internal/v1/export``) with the citizen's own token — no
service reads another's database, and each answers only about the token's subject."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Mapping
from typing import Any, Protocol

import requests
from mai_chassis.personal_data import EXPORT_PATH

from .errors import ExportSourceUnavailable

__all__ = ["ExportSource", "HttpExportSource", "zip_export"]

logger = logging.getLogger(__name__)


class ExportSource(Protocol):
    """Where one service's part of a citizen's data comes from."""

    name: str

    def fetch(self, bearer_token: str) -> Mapping[str, Any]: ...


class HttpExportSource:
    """A service's export endpoint, called with the citizen's bearer token (never logged)."""

    def __init__(self, name: str, base_url: str, *, timeout: float, session: requests.Session | None = None) -> None:
        self.name = name
        self.url = base_url.rstrip("/") + EXPORT_PATH
        self.timeout = timeout
        self.session = session or requests.Session()

    def fetch(self, bearer_token: str) -> Mapping[str, Any]:
        try:
            response = self.session.get(
                self.url,
                headers={"Authorization": f"Bearer {bearer_token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("export source %s failed: %s", self.name, exc.__class__.__name__)
            raise ExportSourceUnavailable(self.name) from None
        if not isinstance(document, dict):
            raise ExportSourceUnavailable(self.name)
        return document


def zip_export(parts: Mapping[str, Mapping[str, Any]], *, readme: str) -> bytes:
    """One ZIP: ``README.txt`` and one ``<service>.json`` per part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for name, document in parts.items():
            archive.writestr(f"{name}.json", json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))
    return buffer.getvalue()
