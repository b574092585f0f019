"""What the MAI e-services web front ends (the citizen portal, the staff console) share.

One call wires it into a chassis app::

    app = create_service_app(settings, import_name=__name__, database=database, token_verifier=None)
    init_webkit(app, WebkitOptions(api_base_url=..., secret_key=..., catalogue_dirs=[...]), database=database)

and the pages then use:

- :mod:`mai_webkit.api` — ``api()`` (the public API through the gateway), ``ApiProblem``, ``ApiUnavailable``
- :mod:`mai_webkit.auth` — ``login_required``, ``call_api`` (as the signed-in person), ``sign_in``,
  ``sign_out``, ``safe_next``, ``is_signed_in``
- :mod:`mai_webkit.forms` — ``PageForm`` (CSRF-protected), ``show_problem`` (problem -> field errors)
- :mod:`mai_webkit.fragments` — ``render_shared`` (a fragment the same for every visitor, rendered once)
- templates ``webkit/base.html`` (the layout) and ``webkit/macros.html`` (field, error summary,
  button, panel, table, summary list), the stylesheet ``webkit/static/webkit.css``
- Flask-Babel (``gettext``/``_``), Romanian by default, ``/language/<code>`` to switch
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Flask, Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from mai_chassis import Database, create_service_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from .api import ApiClient, ApiUnavailable, PublicCache
from .auth import SignInRequired
from .forms import error_list
from .fragments import SharedFragments
from .i18n import init_babel, install_filters, language_blueprint
from .security import install_security_headers
from .sessions import ServerSideSessionInterface

__all__ = ["WebkitOptions", "area_blueprints", "create_site_app", "init_webkit", "site_options"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class WebkitOptions:
    #: The gateway's internal address; every API call goes through it.
    api_base_url: str
    #: Signs the CSRF tokens; required, never defaulted.
    secret_key: str
    #: The app's catalogue directories (``<dir>/<lang>/LC_MESSAGES/messages.po``), merged.
    catalogue_dirs: Sequence[Path] = ()
    #: Off only for plain-HTTP local runs.
    cookie_secure: bool = True
    cookie_name: str = "session"
    idle_timeout: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    api_timeout_seconds: float = 15.0
    #: Origins (besides our own) a form may post or be redirected to (an identity provider).
    form_action: Sequence[str] = ()
    #: Where ``login_required`` sends people who are not signed in.
    sign_in_endpoint: str = "auth.sign_in"
    site_name: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def site_options(settings: Any, *, translations: Path, cookie_name: str, site_name: str, **more: Any) -> WebkitOptions:
    """A site's options from its settings (the gateway's address, the secret, the session cookie and
    its lifetimes) and its catalogue tree (``translations/<area>/<lang>/LC_MESSAGES/messages.po``)."""
    return WebkitOptions(
        api_base_url=settings.api_base_url,
        secret_key=settings.secret_key,
        catalogue_dirs=sorted(p for p in translations.iterdir() if p.is_dir()),
        cookie_secure=settings.session_cookie_secure,
        cookie_name=cookie_name,
        idle_timeout=timedelta(minutes=settings.session_idle_minutes),
        max_age=timedelta(hours=settings.session_max_hours),
        site_name=site_name,
        **more,
    )


def create_site_app(
    settings: Any, *, import_name: str, translations: Path, cookie_name: str, site_name: str, **more: Any
) -> Flask:
    """A site's app (portal-svc, console-svc): the chassis app on the site's database (no token
    verifier: the site holds the person's token and the API checks it), the forwarded host trusted
    as far as ``settings.trusted_proxy_hops``, webkit with :func:`site_options`, and the site's
    ``layout.html`` as the pages' layout."""
    from .mounting import trust_forwarded_host

    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=import_name, database=database, token_verifier=None)
    trust_forwarded_host(app, settings.trusted_proxy_hops)
    options = site_options(settings, translations=translations, cookie_name=cookie_name, site_name=site_name, **more)
    init_webkit(app, options, database=database)
    app.jinja_env.globals["layout_template"] = "layout.html"
    return app


def area_blueprints(package_name: str) -> list[Blueprint]:
    """Every page area's blueprint: each module of the package ``package_name`` that defines ``blueprint``
    (a site registers its areas without a list to edit)."""
    package = importlib.import_module(package_name)
    blueprints = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package_name}.{module_info.name}")
        blueprint = getattr(module, "blueprint", None)
        if isinstance(blueprint, Blueprint):
            blueprints.append(blueprint)
    return blueprints


def init_webkit(app: Flask, options: WebkitOptions, *, database: Database) -> None:
    app.secret_key = options.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=options.cookie_name,
        SESSION_COOKIE_SECURE=options.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session does
        WEBKIT_SIGN_IN_ENDPOINT=options.sign_in_endpoint,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.session_interface = ServerSideSessionInterface(
        database, idle_timeout=options.idle_timeout, max_age=options.max_age
    )
    CSRFProtect(app)
    init_babel(app, options.catalogue_dirs)
    install_filters(app)
    install_security_headers(app, form_action=options.form_action)
    client = ApiClient(options.api_base_url, timeout=options.api_timeout_seconds)
    app.extensions["mai_webkit"] = SimpleNamespace(
        api=client, public_cache=PublicCache(client), fragments=SharedFragments(), options=options
    )
    app.register_blueprint(
        Blueprint(
            "webkit", __name__, template_folder="templates", static_folder="static", static_url_path="/static/webkit"
        )
    )
    app.register_blueprint(language_blueprint())
    app.jinja_env.globals["site_name"] = options.site_name
    app.jinja_env.globals["webkit_error_list"] = error_list
    app.jinja_env.add_extension("jinja2.ext.do")  # {% do list.append(x) %} in templates

    @app.errorhandler(SignInRequired)
    def _sign_in_required(exc: SignInRequired) -> Response:
        return exc.get_response()  # type: ignore[no-any-return]

    @app.errorhandler(CSRFError)
    def _csrf_failed(_exc: CSRFError) -> tuple[str, int]:
        return render_template("webkit/error.html", status=400, reason="csrf"), 400

    @app.errorhandler(ApiUnavailable)
    def _api_unavailable(_exc: ApiUnavailable) -> tuple[str, int]:
        return render_template("webkit/error.html", status=503, reason="unavailable"), 503

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> WerkzeugResponse | tuple[str, int]:
        if exc.code is not None and exc.code < 400:
            return exc.get_response()  # a redirect raised as an exception
        status = exc.code or 500
        return render_template("webkit/error.html", status=status, reason=""), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        logger.error("unhandled error", exc_info=exc)
        return render_template("webkit/error.html", status=500, reason=""), 500
