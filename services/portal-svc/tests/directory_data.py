"""A small institutions directory, FAQ and advice, as petition-svc's public API answers them."""

from __future__ import annotations

from typing import Any

PUBLIC_ORDER = {"code": "public-order", "name": {"ro": "Ordine și siguranță publică", "en": "Public order and safety"}}
PASSPORTS = {"code": "passports", "name": {"ro": "Pașapoarte", "en": "Passports"}}
STAFF = {
    "code": "staff-conduct",
    "name": {"ro": "Activitatea personalului MAI", "en": "Conduct of the Ministry's staff"},
}

INSTITUTIONS: dict[str, Any] = {
    "items": [
        {
            "code": "MAI",
            "name": {"ro": "Ministerul Afacerilor Interne - Aparatul central", "en": "Ministry of Internal Affairs"},
            "competencies": {"ro": "Politica ministerului, activitatea personalului.", "en": "Policy, staff conduct."},
            "fields": [STAFF, PUBLIC_ORDER],
            "contact": {"address": "Piața Revoluției nr. 1A, București", "website": "https://www.mai.gov.ro"},
        },
        {
            "code": "IGPR",
            "name": {"ro": "Inspectoratul General al Poliției Române", "en": "General Inspectorate of the Police"},
            "competencies": {"ro": "Apărarea vieții și proprietății.", "en": "Protecting life and property."},
            "fields": [PUBLIC_ORDER],
            "contact": {"address": "Str. Mihai Vodă nr. 6, București"},
        },
        {
            "code": "DGP",
            "name": {"ro": "Direcția Generală de Pașapoarte", "en": "Directorate General for Passports"},
            "competencies": {"ro": "Eliberarea pașapoartelor.", "en": "Issuing passports."},
            "fields": [PASSPORTS],
            "contact": {"phone": "021 000 00 00"},
        },
    ]
}
FAQ: dict[str, Any] = {
    "items": [
        {
            "field": "passports",
            "question": {"ro": "Cât durează un pașaport?", "en": "How long does a passport take?"},
            "answer": {"ro": "Cel mult 10 zile lucrătoare.", "en": "At most 10 working days."},
        }
    ]
}
RECOMMENDATIONS: dict[str, Any] = {
    "items": [
        {
            "code": "online-fraud",
            "field": "public-order",
            "title": {"ro": "Fraude online", "en": "Online fraud"},
            "text": {"ro": "Nu dați datele cardului.", "en": "Never give out your card details."},
        }
    ]
}


def serve_directory(fake_api: Any) -> None:
    fake_api.answer("GET", "/api/v1/institutions", 200, INSTITUTIONS)
    fake_api.answer("GET", "/api/v1/faq", 200, FAQ)
    fake_api.answer("GET", "/api/v1/recommendations", 200, RECOMMENDATIONS)
