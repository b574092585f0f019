"""Every event notify-svc consumes has templates, in both languages, that render from the contract's examples."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import mai_contracts
import pytest
from notify.subscriptions import subscribed_event_types, without_sealed_fields
from notify.template_registry import LANGUAGES, TemplateMissingError, TemplateRegistry

from .conftest import PUBLIC_BASE_URL

EVENT = {"id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "type": "", "time": "2025-03-14T09:30:00Z"}


def examples(event_type: str) -> list[dict]:
    found = mai_contracts.schema(event_type).get("examples") or []
    assert found, f"the schema of {event_type} has no examples to render its templates from"
    return found


def render_all(registry: TemplateRegistry, event_type: str, language: str, data: dict):
    version = registry.latest_version(event_type)
    context = registry.context(data, event={**EVENT, "type": event_type}, language=language)
    mail = registry.render_mail(event_type, version, language, context)
    # A subject is rendered when the notification is recorded, without sealed values.
    subject_alone = registry.render_subject(
        event_type,
        version,
        language,
        registry.context(without_sealed_fields(event_type, data), event=EVENT, language=language),
    )
    return mail, subject_alone


def test_notify_svc_consumes_the_citizen_facing_events_the_contracts_route_to_it() -> None:
    consumed = set(subscribed_event_types())
    assert "ro.mai.petition.submitted.v1" in consumed
    assert "ro.mai.petition.closed.v1" not in consumed  # no consumer declared for it


@pytest.mark.parametrize("event_type", subscribed_event_types())
def test_every_subscribed_event_type_has_all_its_templates(registry: TemplateRegistry, event_type: str) -> None:
    assert registry.missing_parts(event_type) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event_type", subscribed_event_types())
def test_every_template_renders_from_the_schema_examples(
    registry: TemplateRegistry, event_type: str, language: str
) -> None:
    for example in examples(event_type):
        data = copy.deepcopy(example)
        data["recipient"]["language"] = language
        mail, subject_alone = render_all(registry, event_type, language, data)
        assert mail.subject and "\n" not in mail.subject
        assert subject_alone == mail.subject
        assert data["recipient"]["name"] in mail.text
        assert "{{" not in mail.text and "{%" not in mail.html
        assert mail.html.lstrip().startswith("<!DOCTYPE html>")
        assert f'lang="{language}"' in mail.html
        assert PUBLIC_BASE_URL in mail.text and PUBLIC_BASE_URL in mail.html
        for number_field in ("registration_number",):
            if number_field in data:
                assert data[number_field] in mail.subject + mail.text
                assert data[number_field] in mail.html


def test_romanian_mails_use_comma_below_diacritics_never_the_cedilla_forms() -> None:
    root = Path(__file__).parents[1] / "src" / "notify" / "templates"
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".mail", ".subject", ".txt", ".html", ".yaml"):
            text = path.read_text(encoding="utf-8")
            assert not re.search("[şţŞŢ]", text), f"{path} uses ş/ţ with a cedilla"


def test_a_petition_registration_mail_in_romanian_says_everything_the_petitioner_needs(
    registry: TemplateRegistry,
) -> None:
    data = copy.deepcopy(examples("ro.mai.petition.submitted.v1")[0])
    mail, _ = render_all(registry, "ro.mai.petition.submitted.v1", "ro", data)
    assert mail.subject == "Petiția dvs. a fost înregistrată cu numărul IGPR-2025-000123"
    assert "Bună ziua, Ana Popescu," in mail.text
    assert "Inspectoratul General al Poliției Române" in mail.text
    assert "14 martie 2025, ora 11:30" in mail.text  # 09:30 UTC is 11:30 in Bucharest
    assert "Termen de răspuns: 13 aprilie 2025" in mail.text
    assert f"{PUBLIC_BASE_URL}/petitions/status?registration_number=IGPR-2025-000123" in mail.text


def test_an_appointment_mail_in_english_says_when_and_where(registry: TemplateRegistry) -> None:
    data = copy.deepcopy(examples("ro.mai.appointment.booked.v1")[0])
    mail, _ = render_all(registry, "ro.mai.appointment.booked.v1", "en", data)
    assert "24 March 2025, 10:00" in mail.text
    assert "Bucharest Immigration Directorate, counter 3" in mail.text


def test_values_from_events_are_escaped_in_html_but_not_in_plain_text(registry: TemplateRegistry) -> None:
    data = copy.deepcopy(examples("ro.mai.petition.answered.v1")[0])
    data["answer"] = "<script>alert(1)</script> & co"
    mail, _ = render_all(registry, "ro.mai.petition.answered.v1", "ro", data)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in mail.html
    assert "<script>alert(1)</script> & co" in mail.text


def test_an_event_type_without_templates_is_reported_missing(registry: TemplateRegistry) -> None:
    with pytest.raises(TemplateMissingError):
        registry.latest_version("ro.mai.petition.closed.v1")
    assert registry.missing_parts("ro.mai.petition.closed.v1") == [
        "ro.mai.petition.closed.v1/v1/ro.mail",
        "ro.mai.petition.closed.v1/v1/en.mail",
    ]


def _one_file_templates(root: Path) -> TemplateRegistry:
    """A registry over the real frames and labels with one-file templates of a made-up event."""
    for shared in ("_layout", "_labels"):
        (root / shared).symlink_to(Path(__file__).parents[1] / "src" / "notify" / "templates" / shared)
    folder = root / "ro.mai.petition.withdrawn.v1" / "v1"
    folder.mkdir(parents=True)
    (folder / "ro.mail").write_text(
        "Petiția nr. {{ registration_number }} a fost retrasă\n"
        "\n"
        "Petiția dumneavoastră nr. {{ registration_number }} a fost retrasă la cererea dumneavoastră.\n"
        "Motivul: {{ reason }}\n"
        "\n"
        'Vedeți petiția: {{ url("/petitions/status", registration_number=registration_number) }}\n',
        encoding="utf-8",
    )
    (folder / "en.mail").write_text("Petition no. {{ registration_number }} withdrawn\n\nReason: {{ reason }}\n")
    return TemplateRegistry(public_base_url=PUBLIC_BASE_URL, directory=root)


def test_a_one_file_template_gives_the_subject_the_text_and_the_html_mail(tmp_path: Path) -> None:
    registry = _one_file_templates(tmp_path)
    event_type = "ro.mai.petition.withdrawn.v1"
    assert registry.missing_parts(event_type) == []
    data = {
        "registration_number": "IGPR-2025-000123",
        "reason": "<b>rezolvat</b> & închis",
        "recipient": {"name": "Ana"},
    }
    context = registry.context(data, event={**EVENT, "type": event_type}, language="ro")
    mail = registry.render_mail(event_type, 1, "ro", context)
    assert mail.subject == "Petiția nr. IGPR-2025-000123 a fost retrasă"
    assert mail.text.startswith("Bună ziua, Ana,\n\nPetiția dumneavoastră nr. IGPR-2025-000123")
    assert "Motivul: <b>rezolvat</b> & închis\n" in mail.text and "Cu stimă," in mail.text
    assert "{" not in mail.text and "a fost retrasă\n\nPetiția" not in mail.text  # the subject is not repeated
    assert mail.html.lstrip().startswith("<!DOCTYPE html>")
    assert "<title>Petiția nr. IGPR-2025-000123 a fost retrasă</title>" in mail.html
    assert "la cererea dumneavoastră.<br>\nMotivul: &lt;b&gt;rezolvat&lt;/b&gt; &amp; închis</p>" in mail.html
    link = f"{PUBLIC_BASE_URL}/petitions/status?registration_number=IGPR-2025-000123"
    assert f'<a href="{link}" style="color:#002b7f;">{link}</a>' in mail.html
    english = registry.render_mail(event_type, 1, "en", {**context, "language": "en"})
    assert english.subject == "Petition no. IGPR-2025-000123 withdrawn"
    assert "Dear Ana," in english.text and "<p>Reason: &lt;b&gt;" in english.html


def test_a_hand_written_part_wins_over_the_one_built_from_the_one_file_template(tmp_path: Path) -> None:
    registry = _one_file_templates(tmp_path)
    folder = tmp_path / "ro.mai.petition.withdrawn.v1" / "v1"
    (folder / "en.subject").write_text("Withdrawn: {{ registration_number }}", encoding="utf-8")
    (folder / "ro.mail").unlink()
    (folder / "ro.txt").write_text("{{ registration_number }}", encoding="utf-8")
    assert registry.missing_parts("ro.mai.petition.withdrawn.v1") == [
        "ro.mai.petition.withdrawn.v1/v1/ro.subject",
        "ro.mai.petition.withdrawn.v1/v1/ro.html",
    ]
    context = {"registration_number": "X-1", "reason": "r", "recipient": {"name": "A"}, "language": "en"}
    assert registry.render_subject("ro.mai.petition.withdrawn.v1", 1, "en", context) == "Withdrawn: X-1"


def test_the_highest_template_version_is_used(tmp_path: Path) -> None:
    for version in ("v1", "v2"):
        folder = tmp_path / "ro.mai.petition.submitted.v1" / version
        folder.mkdir(parents=True)
        (folder / "ro.subject").write_text(f"{version} {{{{ registration_number }}}}", encoding="utf-8")
    registry = TemplateRegistry(public_base_url=PUBLIC_BASE_URL, directory=tmp_path)
    assert registry.latest_version("ro.mai.petition.submitted.v1") == 2
    subject = registry.render_subject("ro.mai.petition.submitted.v1", 2, "ro", {"registration_number": "X-1"})
    assert subject == "v2 X-1"
