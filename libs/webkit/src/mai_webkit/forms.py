"""Forms: Flask-WTF base class, and the API's problem answers turned into messages beside fields.

A page posts its form, calls the API, and on an :class:`~mai_webkit.api.ApiProblem` calls
:func:`show_problem`, which puts each of the problem's ``errors`` beside the form field of that
name (or of the name ``field_map`` gives it) and everything else at the top of the form::

    try:
        call_api("POST", "/api/v1/petitions", json=payload)
    except ApiProblem as problem:
        show_problem(form, problem, field_map={"petitioner.email": "email"})
        return render_template(..., form=form), problem.status if problem.status < 500 else 502
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from .api import ApiProblem

__all__ = [
    "PHONE_NUMBER",
    "PageForm",
    "chosen_files",
    "error_list",
    "files_within",
    "password_field",
    "phone_field",
    "show_problem",
]

#: A phone number as people write it: digits, spaces, brackets, dots, dashes, a leading plus.
PHONE_NUMBER = r"^\+?[0-9 ()./-]{6,32}$"


class PageForm(FlaskForm):  # type: ignore[misc]
    """Base of every form: CSRF-protected, with room for errors that belong to no field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_errors: list[str] = []


def show_problem(form: PageForm, problem: ApiProblem, *, field_map: Mapping[str, str] | None = None) -> None:
    """Add the problem's messages to ``form``: per field where a field matches, else to the page."""
    mapping = dict(field_map or {})
    placed = False
    for name, messages in problem.field_errors.items():
        target = mapping.get(name, name)
        field = form._fields.get(target)
        if field is None:
            # "petitioner.email" may be the form's "email"
            field = form._fields.get(target.rsplit(".", 1)[-1])
        if field is not None and field.name != "csrf_token":
            errors = list(field.errors) if isinstance(field.errors, list | tuple) else []
            field.errors = errors + [m for m in messages if m not in errors]
            placed = True
        else:
            form.page_errors.extend(messages)
    if not placed and not form.page_errors:
        form.page_errors.append(problem.detail or gettext("Something went wrong. Try again later."))


def error_list(form: PageForm) -> list[tuple[str, str]]:
    """``(field id, message)`` for the error summary, in the order the fields are on the page."""
    listed: list[tuple[str, str]] = [("", message) for message in getattr(form, "page_errors", [])]
    csrf = form._fields.get("csrf_token")
    if csrf is not None and csrf.errors:
        listed.append(("", gettext("This form has expired. Check your answers and send it again.")))
    for field in form:
        if field.errors and field.name != "csrf_token":
            errors = field.errors if isinstance(field.errors, list | tuple) else [str(field.errors)]
            # A group of radios is reached through its first option (the macro's ids: <id>-0, <id>-1 ...).
            target = f"{field.id}-0" if field.type == "RadioField" else field.id
            listed.extend((target, str(message)) for message in errors)
    return listed


def chosen_files(field: Any) -> list[FileStorage]:
    """The files chosen in a file field (an empty choice sends a part without a name: not a file)."""
    data = field.data if isinstance(field.data, list) else [field.data]
    return [f for f in data if isinstance(f, FileStorage) and f.filename]


def files_within(max_files: int, max_bytes: int) -> Callable[[Any, Any], None]:
    """A validator of a ``MultipleFileField``: at most ``max_files`` files, none empty or over ``max_bytes``
    (the API's limits, checked before anything is sent)."""

    def validate(_form: Any, field: Any) -> None:
        files = chosen_files(field)
        if len(files) > max_files:
            raise ValidationError(gettext("Choose at most %(count)s files.", count=max_files))
        for upload in files:
            upload.stream.seek(0, 2)
            size = upload.stream.tell()
            upload.stream.seek(0)
            if size > max_bytes:
                megabytes = max_bytes // (1024 * 1024)
                message = gettext("%(name)s is larger than %(size)s MB.", name=upload.filename, size=megabytes)
                raise ValidationError(message)
            if size == 0:
                raise ValidationError(gettext("%(name)s is empty.", name=upload.filename))

    return validate


def phone_field() -> StringField:
    """An optional phone number, checked for its characters and length only."""
    return StringField(
        lazy_gettext("Phone number (optional)"),
        validators=[
            Optional(),
            Regexp(PHONE_NUMBER, message=lazy_gettext("Enter a phone number, like 0722 123 456")),
        ],
    )


def password_field() -> PasswordField:
    """The password of a sign-in (its rules are checked where it is set, not here)."""
    return PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(lazy_gettext("Enter your password")), Length(max=256)]
    )
