"""Civil-status data of the applicant, fetched from identity-svc with the applicant's own token."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .domain import CivilStatus, is_valid_cnp
from .errors import CivilStatusUnavailable, CivilStatusUnreadable, IdentityServiceDown

__all__ = ["CIVIL_STATUS_PATH", "CivilStatusSource", "IdentityCivilStatusClient", "parse_civil_status"]

logger = logging.getLogger(__name__)

CIVIL_STATUS_PATH = "/internal/v1/civil-status"


class CivilStatusSource(Protocol):
    def fetch(self, bearer_token: str) -> CivilStatus:
        """The civil status of the token's subject; raises a ``NeighbourUnavailable`` when it cannot."""
        ...


def _well_formed_cnp(value: str) -> None:
    if not is_valid_cnp(value):
        raise ValidationError("not a valid CNP")  # the value itself is never echoed


class _CivilStatusSchema(Schema):
    """What identity-svc answers, of which only the verified identity is read: the profile's other
    fields (address, birth place, parents' names, citizenship) are the citizen's own, unverified
    words and are ignored, as are fields identity-svc adds later."""

    class Meta:
        unknown = EXCLUDE

    cnp = fields.String(required=True, validate=_well_formed_cnp)
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)
    email = fields.Email(load_default=None, allow_none=True)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> CivilStatus:
        return CivilStatus(**data)


def parse_civil_status(payload: Any) -> CivilStatus:
    result: CivilStatus = _CivilStatusSchema().load(payload)
    return result


class IdentityCivilStatusClient:
    """``GET {IDENTITY_URL}/internal/v1/civil-status`` with the citizen's bearer token."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, session: requests.Session | None = None) -> None:
        self.url = base_url.rstrip("/") + CIVIL_STATUS_PATH
        self.timeout = timeout
        self.session = session or _session()

    def fetch(self, bearer_token: str) -> CivilStatus:
        try:
            response = self.session.get(
                self.url,
                headers={"Authorization": f"Bearer {bearer_token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            logger.warning("identity-svc unreachable for civil status: %s", exc.__class__.__name__)
            raise IdentityServiceDown() from None
        if response.status_code in (401, 403, 404):
            raise CivilStatusUnavailable()
        if response.status_code != 200:
            logger.warning("identity-svc answered %d for civil status", response.status_code)
            raise IdentityServiceDown()
        try:
            return parse_civil_status(response.json())
        except (ValueError, ValidationError) as exc:
            # Field names only: the values are personal data.
            bad = sorted(exc.messages) if isinstance(exc, ValidationError) and isinstance(exc.messages, dict) else []
            logger.error("identity-svc sent unusable civil status (fields: %s)", ", ".join(bad) or "body")
            raise CivilStatusUnreadable() from None


def _session() -> requests.Session:
    """Pooled connections to identity-svc; a GET that meets a connection the server has just
    closed (its keep-alive ran out, or its worker was replaced) is sent again on a fresh one."""
    session = requests.Session()
    retries = Retry(total=2, connect=2, read=1, status=0, other=0, allowed_methods={"GET"}, backoff_factor=0.05)
    session.mount("http://", HTTPAdapter(max_retries=retries))
    session.mount("https://", HTTPAdapter(max_retries=retries))
    return session
