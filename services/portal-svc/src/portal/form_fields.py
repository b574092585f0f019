"""The form fields several page areas ask for alike: an e-mail address, a code from an e-mail and a
new password typed twice (their texts are the ``fields`` catalogue's)."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

__all__ = ["PASSWORD_LENGTH", "email_field", "mail_code_field", "new_password_fields"]

PASSWORD_LENGTH = Length(min=10, max=256, message=lazy_gettext("Your password must have 10 to 256 characters"))


def email_field(required: str | None = None) -> EmailField:
    """An e-mail address (``required``: what to say when it is left empty)."""
    return EmailField(
        lazy_gettext("E-mail address"),
        validators=[
            DataRequired(required or lazy_gettext("Enter your e-mail address")),
            Email(lazy_gettext("Enter an e-mail address like name@example.com")),
            Length(max=254),
        ],
    )


def mail_code_field(label: str) -> StringField:
    """The code identity-svc mailed (confirmation or password reset)."""
    return StringField(
        label,
        validators=[
            DataRequired(lazy_gettext("Enter the code from the e-mail")),
            Length(min=4, max=20, message=lazy_gettext("The code from the e-mail has 8 letters and digits")),
        ],
    )


def new_password_fields(name: str, label: str, again_label: str) -> tuple[PasswordField, PasswordField]:
    """A new password and the same typed again (``name`` is the first field's, which the second must equal)."""
    return (
        PasswordField(label, validators=[DataRequired(lazy_gettext("Choose a password")), PASSWORD_LENGTH]),
        PasswordField(
            again_label,
            validators=[
                DataRequired(lazy_gettext("Type the password again")),
                EqualTo(name, lazy_gettext("The two passwords are not the same")),
            ],
        ),
    )
