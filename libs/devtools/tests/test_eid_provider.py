"""The development identification provider: a real OpenID Connect provider on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from mai_devtools.eid_provider import SAMPLE_CITIZENS, LocalEidProvider

AUTHORIZE = "/oauth2/authorize"
REQUEST = {
    "response_type": "code",
    "client_id": "a-client",
    "redirect_uri": "http://127.0.0.1:8080/account/verification/callback",
    "scope": "openid profile",
    "state": "state-of-the-attempt",
    "nonce": "nonce-of-the-attempt",
}


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalEidProvider]:
    with LocalEidProvider() as started:
        yield started


def _authorization_url(provider: LocalEidProvider) -> str:
    return requests.Request("GET", provider.issuer + AUTHORIZE, params=REQUEST).prepare().url or ""


def test_discovery_names_the_issuer_and_its_endpoints(provider):
    metadata = requests.get(provider.discovery_url, timeout=10).json()
    assert metadata["issuer"] == provider.issuer
    assert metadata["authorization_endpoint"] == provider.issuer + AUTHORIZE
    assert metadata["jwks_uri"].startswith(provider.issuer + "/")


def test_its_page_loads_nothing_from_another_host(provider):
    page = requests.get(_authorization_url(provider), timeout=10)
    assert page.status_code == 200
    assert 'name="sub"' in page.text and ">Authorize<" in page.text and 'value="deny"' in page.text
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page.text)


def test_identifying_someone_sends_the_browser_back_with_a_code_and_the_state(provider):
    provider.enrol("maria", cnp="2900215400014", family_name="Ionescu", given_name="Maria")
    back = provider.identify(_authorization_url(provider), "maria")
    assert back["redirect_uri"] == REQUEST["redirect_uri"] and back["state"] == REQUEST["state"] and back["code"]


def test_a_refusal_carries_the_state_too(provider):
    back = provider.deny(_authorization_url(provider))
    assert back == {"error": "access_denied", "error_description": back["error_description"], "state": REQUEST["state"],
                    "redirect_uri": REQUEST["redirect_uri"]}  # fmt: skip


def test_the_sample_citizens_are_one_click_away_when_asked_for(provider):
    assert 'value="ana.popescu"' not in requests.get(_authorization_url(provider), timeout=10).text
    with LocalEidProvider(sample_citizens=True) as with_samples:
        page = requests.get(_authorization_url(with_samples), timeout=10).text
        assert all(f'value="{citizen["sub"]}"' in page for citizen in SAMPLE_CITIZENS)
        back = with_samples.identify(_authorization_url(with_samples), SAMPLE_CITIZENS[0]["sub"])
        assert back["state"] == REQUEST["state"] and back["code"]
