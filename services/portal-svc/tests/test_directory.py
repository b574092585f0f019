"""Institutions, FAQ and advice: read from the API, searchable without JavaScript, in both languages."""

from __future__ import annotations

from flask.testing import FlaskClient
from portal.areas.directory import find_institutions

from .conftest import FakeApi
from .directory_data import INSTITUTIONS, serve_directory


def test_the_search_ignores_case_and_diacritics_and_reads_both_languages() -> None:
    items = INSTITUTIONS["items"]

    assert [i["code"] for i in find_institutions(items, query="politiei")] == ["IGPR"]
    assert [i["code"] for i in find_institutions(items, query="PAȘAPOARTE")] == ["DGP"]
    assert [i["code"] for i in find_institutions(items, query="passports")] == ["DGP"]
    assert [i["code"] for i in find_institutions(items, field="public-order")] == ["MAI", "IGPR"]
    assert [i["code"] for i in find_institutions(items, query="staff", field="public-order")] == ["MAI"]
    assert len(find_institutions(items)) == 3
    assert find_institutions(items, query="nothing like this") == []


def test_the_directory_lists_institutions_with_competencies_and_contacts(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    serve_directory(fake_api)

    html = client.get("/institutions").get_data(as_text=True)

    assert "Inspectoratul General al Poliției Române" in html
    assert "Apărarea vieții și proprietății." in html
    assert 'href="/petitions/new?institution=IGPR"' in html
    detail = client.get("/institutions/igpr").get_data(as_text=True)
    assert "Str. Mihai Vodă nr. 6, București" in detail
    assert "Fraude online" in detail  # advice of its field


def test_searching_the_directory_narrows_the_list(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)

    html = client.get("/institutions?q=pasapoarte").get_data(as_text=True)

    assert "1 instituție găsită" in html
    assert "Direcția Generală de Pașapoarte" in html
    assert "Inspectoratul General al Poliției Române" not in html


def test_the_directory_is_read_once_a_minute_not_on_every_page(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)

    for _ in range(3):
        assert client.get("/institutions").status_code == 200

    assert len(fake_api.sent("GET", "/api/v1/institutions")) == 1


def test_an_unknown_institution_is_a_404_page(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)

    assert client.get("/institutions/NOPE").status_code == 404


def test_faq_and_advice_are_grouped_by_field_and_filterable(client: FlaskClient, fake_api: FakeApi) -> None:
    serve_directory(fake_api)
    client.get("/language/en")

    faq = client.get("/faq").get_data(as_text=True)
    assert "<h2>Passports</h2>" in faq
    assert "How long does a passport take?" in faq
    advice = client.get("/recommendations?field=public-order").get_data(as_text=True)
    assert "Never give out your card details." in advice
    assert client.get("/recommendations?field=passports").get_data(as_text=True).count("card details") == 0
