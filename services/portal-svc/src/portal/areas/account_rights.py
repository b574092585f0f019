"""The citizen's rights over their data: download everything the platform holds about them, and
delete the account (confirmed with the password; the page then says what was kept and why)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext, ngettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api, login_required
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.sessions import end_session
from wtforms import PasswordField
from wtforms.validators import DataRequired

__all__ = ["DeleteAccountForm", "blueprint", "kept_item"]

blueprint = Blueprint("account_rights", __name__, url_prefix="/account")

_TERM = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


class DeleteAccountForm(PageForm):
    password = PasswordField(
        lazy_gettext("Your password"), validators=[DataRequired(lazy_gettext("Enter your password"))]
    )


def _term(text: str) -> str:
    """``P10Y`` -> "10 years" in the page's language (the API's ISO 8601 durations)."""
    match = _TERM.match(text or "")
    if match is None:
        return text
    parts = []
    if match["years"]:
        parts.append(ngettext("%(num)d year", "%(num)d years", int(match["years"])))
    if match["months"]:
        parts.append(ngettext("%(num)d month", "%(num)d months", int(match["months"])))
    if match["days"]:
        parts.append(ngettext("%(num)d day", "%(num)d days", int(match["days"])))
    return ", ".join(str(p) for p in parts) or text


def kept_item(kept: dict[str, Any]) -> dict[str, str]:
    """One class of kept data as the citizen reads it: what, how long, why."""
    data_class, term = str(kept.get("data_class", "")), _term(str(kept.get("term", "")))
    if data_class == "closed-petitions":
        return {
            "what": gettext("The petitions you sent, with their answers"),
            "how_long": gettext("%(term)s after the petition is closed", term=term),
            "why": gettext(
                "Petitions are correspondence registers that the institution keeps for the term of its archive "
                "nomenclature (Law 16/1996 on the National Archives). A petition still open is still answered, "
                "by e-mail, at the address it was sent from."
            ),
        }
    if data_class == "expired-certificates":
        return {
            "what": gettext("The criminal record certificates issued to you"),
            "how_long": gettext("%(term)s after the certificate expires", term=term),
            "why": gettext(
                "Whoever you gave a certificate to can still check that it is genuine, and it is kept a while "
                "longer in case of disputes."
            ),
        }
    return {"what": data_class, "how_long": term, "why": str(kept.get("basis", ""))}


@blueprint.get("/data", endpoint="download_data")
@login_required
def download_data() -> Response:
    """The ZIP with everything every service holds about the citizen, straight from the API."""
    answer = call_api("GET", "/api/v1/accounts/me/export", timeout=60)
    response = Response(answer.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = 'attachment; filename="mai-e-services-data.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/delete", methods=["GET", "POST"], endpoint="delete")
@login_required
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            answer = call_api("DELETE", "/api/v1/accounts/me", json={"password": form.password.data})
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            if problem.kind == "password-refused":
                form.password.errors = [gettext("The password is wrong. Your account was not deleted.")]
            elif problem.status == 429:
                form.page_errors.append(
                    gettext("Too many wrong passwords. Your account was not deleted; try again later.")
                )
            else:
                show_problem(form, problem)
        else:
            # The session ends with the account: the result is shown at once, not after a redirect.
            end_session()
            kept = [kept_item(k) for k in answer.json().get("kept", [])]
            rows = [(k["what"], k["how_long"], k["why"]) for k in kept]
            return render_template("account/deleted.html", kept=rows)
    status = 400 if form.is_submitted() else 200
    return render_template("account/delete.html", form=form), status
