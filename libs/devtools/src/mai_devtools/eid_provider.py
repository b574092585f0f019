"""A real OpenID Connect provider on loopback: the "bank-card" identification provider of development.

identity-svc reaches every eID route as an OpenID Connect provider; in development and in tests that
provider is `oidc-provider-mock` (a small provider built on Authlib), run as its own process. It
accepts any client id and secret and any redirect URI, signs ID tokens with a key of its own
(published at ``/jwks``), and shows an authorization page where the tester says who is identified:

- the person's claims are set beforehand with ``PUT /users/<sub>`` (a JSON object: ``cnp``,
  ``family_name``, ``given_name``, ``birthdate``, ``acr``, ...) — :meth:`LocalEidProvider.enrol` —
  or built in (``--sample-citizens``: the sample citizens of ``make run``);
- on the authorization page a browser fills the text field named ``sub`` (placeholder "sub") and
  presses the button "Authorize"; a predefined or recently used person is one button named after
  the ``sub`` under "Authenticate predefined users"; "Deny" refuses (the provider then redirects
  with ``error=access_denied`` and ``state``);
- the provider answers the form with a 302 to the redirect URI, carrying ``code`` and ``state``.

identity-svc refuses this provider in production (``EID_<N>_TEST_PROVIDER=true``, an ``http``
issuer on this machine). ``mai-eid-provider --sample-citizens`` starts it for ``make run``.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
from werkzeug.serving import make_server

from mai_devtools.ports import free_port

__all__ = ["DEV_CLIENT_ID", "SAMPLE_CITIZENS", "SUBSTANTIAL", "LocalEidProvider", "main"]

DEV_CLIENT_ID = "mai-eservices-dev"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
HIGH = "http://eidas.europa.eu/LoA/high"
#: Who the development provider can identify with one click (the same people as identity's tests).
SAMPLE_CITIZENS: tuple[dict[str, str], ...] = (
    {
        "sub": "ana.popescu",
        "cnp": "1800101221144",
        "family_name": "Popescu",
        "given_name": "Ana",
        "birthdate": "1980-01-01",
        "acr": SUBSTANTIAL,
    },
    {
        "sub": "ioana.ionescu",
        "cnp": "2900215400014",
        "family_name": "Ionescu",
        "given_name": "Ioana",
        "birthdate": "1990-02-15",
        "acr": SUBSTANTIAL,
    },
)


class _AuthorizationForm(HTMLParser):
    """The provider's authorization page as a browser sees it: the form with the ``sub`` field."""

    def __init__(self) -> None:
        super().__init__()
        self.has_sub_field = False
        self.buttons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "sub":
            self.has_sub_field = True

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.buttons.append(data.strip())


class LocalEidProvider:
    """oidc-provider-mock as a process on a loopback port, with what a test does on its pages."""

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        token_max_age: int = 600,
        sample_citizens: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.token_max_age = token_max_age
        self.sample_citizens = sample_citizens
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "mai_devtools.eid_provider",
            "--port",
            str(self.port),
            "--token-max-age",
            str(self.token_max_age),
        ]
        return command + (["--sample-citizens"] if self.sample_citizens else [])

    def start(self, timeout: float = 30.0) -> LocalEidProvider:
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        if self.log_path:
            output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the OpenID Connect provider exited with {self.proc.returncode}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the OpenID Connect provider did not answer within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> LocalEidProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def identity_env(self, *, name: str, redirect_uris: list[str], client_secret: str) -> dict[str, str]:
        """The ``EID_*`` variables that make identity-svc use this provider under ``name``."""
        prefix = "EID_" + name.upper().replace("-", "_") + "_"
        return {
            "EID_PROVIDERS": name,
            prefix + "ISSUER": self.issuer,
            prefix + "CLIENT_ID": DEV_CLIENT_ID,
            prefix + "CLIENT_SECRET": client_secret,
            prefix + "REDIRECT_URIS": ",".join(redirect_uris),
            prefix + "TEST_PROVIDER": "true",
        }

    # -- what the tester does --------------------------------------------------------------------

    def enrol(
        self,
        sub: str,
        *,
        cnp: str | None,
        family_name: str,
        given_name: str,
        birthdate: str | None = None,
        acr: str | None = SUBSTANTIAL,
        **claims: Any,
    ) -> None:
        """Tell the provider who ``sub`` is: the claims its ID tokens will carry."""
        values = {"family_name": family_name, "given_name": given_name, **claims}
        for claim, value in (("cnp", cnp), ("birthdate", birthdate), ("acr", acr)):
            if value is not None:
                values[claim] = value
        answer = requests.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=values, timeout=10)
        answer.raise_for_status()

    def identify(self, authorization_url: str, sub: str, *, session: Any = None) -> dict[str, str]:
        """A browser on the authorization page: type ``sub``, press "Authorize"; the redirect's query.

        Returns the parameters the provider sends back to the redirect URI (``code`` and ``state``,
        or ``error``) and, under ``redirect_uri``, where it sends them; the redirect is not followed.
        """
        http = session or requests
        page = http.get(authorization_url, timeout=10)
        if page.status_code != 200:
            raise RuntimeError(f"authorization page answered {page.status_code}: {page.text[:300]}")
        form = _AuthorizationForm()
        form.feed(page.text)
        if not form.has_sub_field or "Authorize" not in form.buttons:
            raise RuntimeError("the authorization page has no sub field and Authorize button")
        return self._submit(http, authorization_url, {"sub": sub})

    def deny(self, authorization_url: str, *, session: Any = None) -> dict[str, str]:
        """A browser on the authorization page pressing "Deny"."""
        return self._submit(session or requests, authorization_url, {"action": "deny"})

    @staticmethod
    def _submit(http: Any, authorization_url: str, form: dict[str, str]) -> dict[str, str]:
        answer = http.post(authorization_url, data=form, allow_redirects=False, timeout=10)
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"authorization form answered {answer.status_code}: {answer.text[:300]}")
        location = urljoin(authorization_url, answer.headers["Location"])
        sent = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        return {**sent, "redirect_uri": location.split("?")[0]}


def provider_app(*, users: tuple[dict[str, str], ...] = (), token_max_age: int = 600) -> Any:
    """The provider as a WSGI app: oidc-provider-mock's endpoints, with a page frame of our own.

    The frame (``eid_provider_templates/_base.html``) loads nothing from other hosts (the package's
    own loads a stylesheet from a CDN), and the interactive debugger the package wraps around the
    app is taken off: an error is a plain 500.
    """
    import flask
    import jinja2
    import oidc_provider_mock

    app = flask.Flask(__name__)
    app.jinja_loader = jinja2.ChoiceLoader(  # our frame first, the package's pages after it
        [
            jinja2.FileSystemLoader(Path(__file__).parent / "eid_provider_templates"),
            jinja2.FileSystemLoader(Path(oidc_provider_mock.__file__).parent / "templates"),
        ]
    )
    app.secret_key = os.urandom(16)
    oidc_provider_mock.init_app(
        app,
        require_nonce=True,
        access_token_max_age=timedelta(seconds=token_max_age),
        user_claims=[
            oidc_provider_mock.User(sub=u["sub"], claims={k: v for k, v in u.items() if k != "sub"}) for u in users
        ],
    )
    _sign_with_one_imported_key()
    app.debug = False
    app.wsgi_app = getattr(app.wsgi_app, "app", app.wsgi_app)  # type: ignore[method-assign] # no DebuggedApplication

    @app.after_request
    def state_on_refusals(response: flask.Response) -> flask.Response:
        """An error redirect carries the request's ``state`` (RFC 6749, 4.1.2.1), as real providers
        do; the package's "Deny" leaves it out."""
        state, location = flask.request.args.get("state"), response.headers.get("Location")
        if state and location and response.status_code in (302, 303):
            parts = urlsplit(location)
            sent = parse_qs(parts.query)
            if "error" in sent and "state" not in sent:
                query = urlencode([*((k, v) for k, vs in sent.items() for v in vs), ("state", state)])
                response.headers["Location"] = urlunsplit(parts._replace(query=query))
        return response

    return app


def _sign_with_one_imported_key() -> None:
    """The package hands Authlib its private key as a JWK dict for every ID token, and importing it
    (with the RSA consistency check) costs ~100-200 ms of CPU; import it once per key instead. The
    bank-card step of the launch-day replay then measures our side, not this stand-in's."""
    from joserfc.jwk import import_key
    from oidc_provider_mock import _app as internals

    code_extension = getattr(internals, "OpenIDCode", None)
    exported = getattr(code_extension, "resolve_client_private_key", None)
    if exported is None or getattr(exported, "imports_once", False):
        return
    imported: dict[str, Any] = {}

    def resolve_client_private_key(self: Any, client: Any) -> Any:
        data = exported(self, client)
        if not isinstance(data, dict) or "n" not in data:
            return data
        if data["n"] not in imported:
            imported[data["n"]] = import_key(data)
        return imported[data["n"]]

    resolve_client_private_key.imports_once = True  # type: ignore[attr-defined]
    code_extension.resolve_client_private_key = resolve_client_private_key  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> None:
    """``mai-eid-provider``: serve the development provider on loopback until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--token-max-age", type=int, default=600, help="seconds an ID token is valid")
    parser.add_argument("--sample-citizens", action="store_true", help="one-click buttons for the sample citizens")
    args = parser.parse_args(argv)
    import authlib.deprecate  # noqa: F401 - it turns its warnings on at import; off again below

    warnings.simplefilter("ignore")  # the package imports modules its Authlib deprecates
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines carry states and nonces
    app = provider_app(users=SAMPLE_CITIZENS if args.sample_citizens else (), token_max_age=args.token_max_age)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    logging.getLogger(__name__).info("test OpenID Connect provider at http://127.0.0.1:%d", args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
