"""The public directory of police counter units: where to verify in person, where a referral leads."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_the_directory_lists_each_unit_with_address_and_opening_hours(client: FlaskClient) -> None:
    response = client.get("/api/v1/identity/counter-units")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    body = response.get_json()
    codes = [unit["code"] for unit in body["items"]]
    assert {"IGPR-CAZIER", "DGPMB", "IPJ-CJ"} <= set(codes)
    assert codes[:2] == ["DGPMB", "IGPR-CAZIER"]  # the capital first, then by county
    cluj = next(unit for unit in body["items"] if unit["code"] == "IPJ-CJ")
    assert cluj["city"] == "Cluj-Napoca" and cluj["address"]
    assert cluj["opening_hours"][0] == {"day": "monday", "intervals": ["08:30-12:30"]}
    assert [d["day"] for d in cluj["opening_hours"]] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert body["accepted_documents"] == ["identity_card", "provisional_identity_card", "passport"]


def test_one_unit_is_read_by_the_code_a_referral_names(client: FlaskClient) -> None:
    response = client.get("/api/v1/identity/counter-units/IGPR-CAZIER")

    assert response.status_code == 200
    unit = response.get_json()
    assert unit["name_en"].startswith("Criminal Records")
    assert unit["name_ro"].startswith("Serviciul Cazier Judiciar")
    assert unit["accepted_documents"] == ["identity_card", "provisional_identity_card", "passport"]


def test_an_unknown_unit_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/identity/counter-units/NOWHERE")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_units_are_documented_in_openapi(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]

    assert "/api/v1/identity/counter-units" in paths
    assert "404" in paths["/api/v1/identity/counter-units/{code}"]["get"]["responses"]
