"""identity-svc's commands (beside the chassis' web, worker, migrate): the first admin, signing keys."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click
from mai_chassis import Database
from mai_chassis.clock import SystemClock

from . import retention
from .config import Settings

__all__ = ["COMMANDS", "create_admin", "ensure_first_signing_key", "rotate_keys_command"]


def _settings() -> Settings:
    from mai_chassis import ConfigurationError

    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.command("create-admin", help="Create the first admin (every unit). The password is read from a prompt or stdin.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def create_admin(email: str, name: str, password_stdin: bool) -> None:
    from .commands import CreateFirstAdmin
    from .deps import build_deps
    from .errors import AccountExists
    from .handlers import create_first_admin

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not 10 <= len(password) <= 256:
        raise click.UsageError("the password must have 10 to 256 characters")
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.unit_of_work(source=settings.service_name) as uow:
            command = CreateFirstAdmin(email=email, name=name, password=password)
            account = create_first_admin(uow, build_deps(settings, database), command)
    except AccountExists as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    click.echo(f"admin account {account.id} created")


def _add_signing_key(session: Any, settings: Settings) -> Any:
    """A new signing key in the key ring (published now, signing after the publish lead)."""
    from .secrets_at_rest import FieldCipher
    from .signing import rotate_keys

    return rotate_keys(
        session,
        FieldCipher(settings.encryption_keys),
        clock=SystemClock(),
        publish_lead=timedelta(seconds=settings.key_publish_lead_seconds),
        token_lifetime=timedelta(seconds=settings.access_token_seconds),
        leeway=timedelta(seconds=60),
    )


@click.command("rotate-keys", help="Add a signing key: published now, signing after the publish lead.")
def rotate_keys_command() -> None:
    settings = _settings()
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.session() as session:
            key = _add_signing_key(session, settings)
            session.commit()
            click.echo(f"signing key {key.kid} published; signs from {key.signs_from.isoformat()}")
    finally:
        database.dispose()


def ensure_first_signing_key(settings: Settings) -> None:
    """A fresh deployment gets a signing key at once; an existing key ring is left alone."""
    from sqlalchemy import func, select

    from .tables import SigningKey

    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.session() as session:
            if session.scalar(select(func.count()).select_from(SigningKey)):
                return
            key = _add_signing_key(session, settings)
            session.commit()
            click.echo(f"first signing key {key.kid} created")
    finally:
        database.dispose()


COMMANDS = [create_admin, rotate_keys_command, retention.purge]
