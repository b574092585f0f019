"""Every link of every mail notify-svc can send opens a page of the running portal.

Each template of every event type notify-svc consumes is rendered, in both languages, from the
examples of the event's contract, with the site's real address; sealed fields get the values
notify-svc would open them to (the appointment link is a real one, mailed for a real appointment).
Each link is opened as a visitor who is signed in to nothing: it must answer an HTML page (after
at most a redirect to the sign-in page), never a 404, an error or JSON. The links of the
immigration mails are opened again by the applicant they were written for, with the ids of a real
application: they show that application.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import mai_contracts
import pytest
import requests
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform
from notify.subscriptions import sealed_paths, subscribed_event_types
from notify.template_registry import LANGUAGES, TemplateRegistry

from .conftest import PASSWORD, TIMEOUT, Person, book_appointment, verified_citizen

EVENT = {"id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "type": "", "time": "2026-12-07T09:30:00Z"}
#: A one-time code as the account mails carry it (their pages show a form for any code).
SAMPLE_CODE = "K7P29QXM"
_TEXT_LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class MailLink:
    event_type: str
    language: str
    url: str


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links_of(text: str, html: str) -> set[str]:
    """The links a reader can follow: the plain text's URLs and the HTML's anchors."""
    anchors = _Anchors()
    anchors.feed(html)
    return {link.rstrip(".,;:") for link in _TEXT_LINK.findall(text)} | set(anchors.hrefs)


def opened(event_type: str, data: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``data`` with each sealed field set to what notify-svc opens it to (by the field's name)."""
    for path in sealed_paths(event_type):
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if path[-1] in parent:
            assert path[-1] in values, f"{event_type}: give the test an opened value for {path[-1]}"
            parent[path[-1]] = values[path[-1]]
    return data


def mail_links(site: str, sealed_values: dict[str, str], overrides: dict[str, str]) -> Iterator[MailLink]:
    """Every link of every template, rendered from the contracts' examples for ``site``."""
    registry = TemplateRegistry(public_base_url=site)
    for event_type in subscribed_event_types():
        version = registry.latest_version(event_type)
        for example in mai_contracts.schema(event_type)["examples"]:
            for language in LANGUAGES:
                data = copy.deepcopy(example)
                data["recipient"]["language"] = language
                data.update({name: value for name, value in overrides.items() if name in data})
                context = registry.context(
                    opened(event_type, data, sealed_values), event={**EVENT, "type": event_type}, language=language
                )
                mail = registry.render_mail(event_type, version, language, context)
                for url in sorted(links_of(mail.text, mail.html)):
                    yield MailLink(event_type, language, url)


def portal_session(site: str, person: Person) -> requests.Session:
    """A browser-like session signed in through the portal's own form."""
    session = requests.Session()
    form = session.get(f"{site}/sign-in", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token, form
    signed = session.post(
        f"{site}/sign-in",
        data={"csrf_token": token.group(1), "email": person.email, "password": PASSWORD},
        timeout=TIMEOUT,
    )
    assert signed.status_code == 200 and "/sign-in" not in signed.url, signed.text
    return session


def page_problem(response: requests.Response) -> str | None:
    """Why this answer is not a page a person can read, or None when it is one."""
    if response.status_code != 200:
        return f"answered {response.status_code}"
    if not response.headers.get("Content-Type", "").startswith("text/html"):
        return f"answered {response.headers.get('Content-Type')} instead of a page"
    if "<html" not in response.text[:500].lower():
        return "answered something that is not an HTML document"
    return None


@dataclass(frozen=True)
class RenderedLinks:
    site: str
    citizen: Person
    application_id: str
    manage_link: str
    links: tuple[MailLink, ...]


@pytest.fixture(scope="module")
def rendered(portal_platform: Platform, mail: SmtpSink, officer: Person, office_slots: int) -> RenderedLinks:
    """Every mail link, with a real application and its real appointment link where the mails name them."""
    assert office_slots > 0
    site = portal_platform.gateway_url
    citizen = verified_citizen(portal_platform, mail)
    application_id, manage_link = book_appointment(site, mail, officer, citizen)
    sealed = {"sealed_manage_link": manage_link, "sealed_confirmation": SAMPLE_CODE, "sealed_reset": SAMPLE_CODE}
    links = tuple(mail_links(site, sealed, {"application_id": application_id}))
    assert links, "no link in any mail"
    assert any(link.url == manage_link for link in links)
    return RenderedLinks(site, citizen, application_id, manage_link, links)


def failing_pages(rendered: RenderedLinks, links: list[MailLink]) -> dict[str, str]:
    """Each link (opened as a visitor signed in to nothing) that does not answer a page, and why."""
    failures: dict[str, str] = {}
    for url in sorted({link.url for link in links}):
        problem = page_problem(requests.Session().get(url, timeout=TIMEOUT))
        if problem:
            used_by = sorted({f"{link.event_type} ({link.language})" for link in links if link.url == url})
            failures[url.removeprefix(rendered.site)] = f"{problem}; in {', '.join(used_by)}"
    return failures


def report(failures: dict[str, str]) -> str:
    return "mail links that do not open a page:\n" + "\n".join(f"  {url}: {why}" for url, why in failures.items())


def test_mails_link_only_to_the_site(rendered: RenderedLinks) -> None:
    site = rendered.site
    elsewhere = sorted({link.url for link in rendered.links if not (link.url + "/").startswith(site + "/")})
    assert not elsewhere, f"mail links that leave the site: {elsewhere}"


def test_every_link_of_the_immigration_mails_opens_its_page(rendered: RenderedLinks) -> None:
    immigration = [link for link in rendered.links if link.event_type.split(".")[2] in ("application", "appointment")]
    assert {link.event_type for link in immigration} >= {
        "ro.mai.application.reviewed.v1",
        "ro.mai.application.ready.v1",
        "ro.mai.appointment.booked.v1",
        "ro.mai.appointment.cancelled.v1",
    }
    failures = failing_pages(rendered, immigration)
    assert not failures, report(failures)
    visitor = requests.Session()
    opened_link = visitor.get(rendered.manage_link, timeout=TIMEOUT)
    assert opened_link.url == f"{rendered.site}/appointments/manage"  # the token left the address at once
    assert "Programarea dumneavoastră" in opened_link.text

    # The applicant the mails were written for sees the application itself.
    applicant = portal_session(rendered.site, rendered.citizen)
    own_pages = sorted({link.url for link in immigration if f"/applications/{rendered.application_id}" in link.url})
    assert own_pages, "no mail links to the application"
    for url in own_pages:
        answer = applicant.get(url, timeout=TIMEOUT)
        assert page_problem(answer) is None, f"{url}: {page_problem(answer)}"
        assert answer.url == url, f"{url} went on to {answer.url}"
        assert "Document de călătorie" in answer.text


def test_every_link_in_every_mail_opens_a_page_of_the_portal(rendered: RenderedLinks) -> None:
    """Across the areas: petitions, account, verification, certificates and units' pages included."""
    failures = failing_pages(rendered, list(rendered.links))
    assert not failures, report(failures)
