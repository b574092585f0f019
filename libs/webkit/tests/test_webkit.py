"""The shared web pieces on their own: safe redirects, problems turned into field errors, catalogues."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from mai_webkit.api import ApiProblem
from mai_webkit.auth import safe_next
from mai_webkit.catalogues import missing_translations
from mai_webkit.forms import PageForm, chosen_files, error_list, files_within, show_problem
from mai_webkit.i18n import compile_catalogues
from werkzeug.datastructures import FileStorage, MultiDict
from wtforms import MultipleFileField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/account", "/account"),
        ("/petitions/status?number=MAI-1", "/petitions/status?number=MAI-1"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("account", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_paths_on_this_site_are_followed_after_a_form(candidate: str | None, expected: str) -> None:
    assert safe_next(candidate) == expected


def test_nested_problem_errors_are_flattened_to_dotted_field_names() -> None:
    problem = ApiProblem(
        422,
        {
            "type": "https://e-services.mai.gov.ro/problems/validation-error",
            "errors": {"petitioner": {"email": ["Not a valid email address."]}, "text": ["Too short."]},
        },
    )

    assert problem.kind == "validation-error"
    assert problem.field_errors == {"petitioner.email": ["Not a valid email address."], "text": ["Too short."]}


class _ContactForm(PageForm):
    email = StringField("E-mail")
    message = StringField("Message")


@pytest.fixture
def app() -> Flask:
    from flask_babel import Babel

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x" * 40, WTF_CSRF_ENABLED=False)
    Babel(app)
    return app


def test_a_problem_puts_each_message_beside_its_field_and_the_rest_at_the_top(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = _ContactForm()
        form.validate()
        show_problem(
            form,
            ApiProblem(422, {"errors": {"petitioner.email": ["Enter a valid address."], "kind": ["Unknown kind."]}}),
            field_map={"text": "message"},
        )

        assert form.email.errors == ["Enter a valid address."]
        assert form.page_errors == ["Unknown kind."]
        assert error_list(form) == [("", "Unknown kind."), ("email", "Enter a valid address.")]


def test_a_problem_without_field_errors_shows_its_detail_at_the_top(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = _ContactForm()
        show_problem(form, ApiProblem(409, {"detail": "This slot was just taken."}))

        assert form.page_errors == ["This slot was just taken."]


def test_catalogues_are_compiled_without_a_build_step(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "src" / "mai_webkit" / "translations" / "webkit"

    [compiled] = compile_catalogues([source], into=tmp_path)

    assert (Path(compiled) / "ro" / "LC_MESSAGES" / "messages.mo").stat().st_size > 0


def test_the_shared_texts_are_all_translated_to_romanian() -> None:
    assert missing_translations(Path(__file__).parents[1] / "src" / "mai_webkit") == {}


class _ChoiceForm(PageForm):
    kind = RadioField("Kind", choices=[SelectChoice("a"), SelectChoice("b")], validators=[InputRequired("Choose one")])


def test_the_summary_links_a_group_of_radios_through_its_first_option(app: Flask) -> None:
    with app.test_request_context(method="POST", data={}):
        form = _ChoiceForm()
        form.validate()

        assert error_list(form) == [("kind-0", "Choose one")]


class _UploadForm(PageForm):  # type: ignore[misc]
    files = MultipleFileField("Files", validators=[files_within(2, 1024 * 1024)])


@pytest.mark.parametrize(
    ("uploads", "error"),
    [
        ([(b"%PDF-1", "a.pdf")], None),
        ([(b"", "")], None),  # no file chosen: the browser sends an empty part without a name
        ([(b"1", "a.pdf"), (b"2", "b.pdf"), (b"3", "c.pdf")], "Choose at most 2 files."),
        ([(b"x" * (1024 * 1024 + 1), "big.pdf")], "big.pdf is larger than 1 MB."),
        ([(b"", "empty.pdf")], "empty.pdf is empty."),
    ],
)
def test_chosen_files_are_held_to_the_apis_limits(
    app: Flask, uploads: list[tuple[bytes, str]], error: str | None
) -> None:
    data = MultiDict([("files", FileStorage(io.BytesIO(content), filename=name)) for content, name in uploads])
    with app.test_request_context(method="POST"):
        form = _UploadForm(formdata=data)
        assert form.validate() is (error is None)
        assert form.files.errors == ([error] if error else [])
        assert [f.filename for f in chosen_files(form.files)] == [name for _content, name in uploads if name]


def test_template_texts_follow_the_requests_language_and_a_forced_one() -> None:
    from flask import render_template_string
    from flask_babel import force_locale
    from mai_webkit.i18n import init_babel

    site = Flask(__name__)
    init_babel(site, [])
    text = "{{ _('Skip to main content') }}"

    with site.test_request_context("/"):
        romanian = render_template_string(text)
        with force_locale("en"):
            forced = render_template_string(text)
        again = render_template_string(text)
    with site.test_request_context("/", headers={"Cookie": "lang=en"}):
        english = render_template_string(text)

    assert (romanian, forced, again, english) == (
        "Salt la conținutul principal",
        "Skip to main content",
        "Salt la conținutul principal",
        "Skip to main content",
    )
