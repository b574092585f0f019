"""Messages in the page's language for the account API's field errors (its own are in English)."""

from __future__ import annotations

from flask_babel import gettext

__all__ = ["api_field_message"]


def api_field_message(field: str) -> str | None:
    """What to show beside ``field`` when identity-svc refuses its value; ``None`` for a field we do not know."""
    messages = {
        "cnp": gettext("Check your CNP: it is not a valid personal numeric code"),
        "email": gettext("Enter an e-mail address like name@example.com"),
        "password": gettext("Your password must have 10 to 256 characters"),
        "new_password": gettext("Your password must have 10 to 256 characters"),
        "last_name": gettext("Enter your last name (at most 100 characters)"),
        "first_name": gettext("Enter your first name (at most 100 characters)"),
        "code": gettext("The code from the e-mail has 8 letters and digits"),
        "address": gettext("The address can have at most 500 characters"),
        "birth_place": gettext("The place of birth can have at most 200 characters"),
        "father_first_name": gettext("The name can have at most 100 characters"),
        "mother_first_name": gettext("The name can have at most 100 characters"),
    }
    return messages.get(field)
