"""Administering a broker from contracts/: topics, each service's and stream's user, and its ACLs.

`mai-kafka provision`, run as the administrator (the super user, whose settings come from the
environment like every client's), creates every declared topic, a SCRAM-SHA-512 credential for
every user of :func:`mai_contracts.kafka_users` and exactly the ACLs derived for it. `mai-topics`
is the topic command of ``contracts/`` with the same settings.

On a development or test broker the users' passwords are derived from the administrator's
(:func:`derived_user_security`): whoever may administer the broker can start a service as its
user, and two test runs sharing a broker agree on them. In production the Strimzi User Operator
makes the users and their passwords (``deploy/k8s/base/kafka/users.yaml``, from the same contracts).
"""

from __future__ import annotations

import argparse
import base64
import hmac
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

import mai_contracts

from . import kafka_clients
from .kafka_clients import KafkaSecurity

__all__ = [
    "acl_entries",
    "delete_acls_under",
    "derived_user_security",
    "main",
    "provision",
    "provision_users",
    "topics_main",
]

logger = logging.getLogger(__name__)

CLIENT_ID: Final = "mai-kafka"
SCRAM_MECHANISM: Final = "SCRAM-SHA-512"
#: Kafka refuses fewer than 4096 iterations for SCRAM-SHA-512.
SCRAM_ITERATIONS: Final = 8192


def derived_user_security(user: str, administrator: KafkaSecurity) -> KafkaSecurity:
    """``user``'s settings on a development or test broker: its password is keyed on the administrator's."""
    if not administrator.password:
        raise ValueError("the administrator's settings have no password to derive users' passwords from")
    digest = hmac.digest(administrator.password.encode(), f"mai-kafka-user:{user}".encode(), "sha256")
    return administrator.as_user(user, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def acl_entries(user: mai_contracts.KafkaUser) -> list[Any]:
    """kafka-python ``ACL`` objects allowing exactly ``user``'s grants (from any host)."""
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    resource_types = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    patterns = {"literal": ACLResourcePatternType.LITERAL, "prefix": ACLResourcePatternType.PREFIXED}
    operations = {"Read": ACLOperation.READ, "Write": ACLOperation.WRITE, "Describe": ACLOperation.DESCRIBE}
    return [
        ACL(
            principal=f"User:{user.name}",
            host="*",
            operation=operations[grant.operation],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(resource_types[grant.resource_type], grant.name, patterns[grant.pattern]),
        )
        for grant in user.grants
    ]


def provision_users(admin: Any, users: Iterable[mai_contracts.KafkaUser], passwords: dict[str, str]) -> None:
    """Give each user its SCRAM credential and its ACLs (both idempotent: a rerun changes nothing)."""
    from kafka.admin import UserScramCredentialUpsertion

    users = list(users)
    answers = admin.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(u.name, SCRAM_MECHANISM, passwords[u.name], iterations=SCRAM_ITERATIONS)
            for u in users
        ]
    )
    refused = {name: error for name, error in answers.items() if error}
    if refused:
        raise RuntimeError(f"the broker refused credentials for {', '.join(sorted(refused))}: {refused}")
    acls = [acl for u in users for acl in acl_entries(u)]
    result = admin.create_acls(acls)
    if result["failed"]:
        raise RuntimeError(f"the broker refused {len(result['failed'])} ACL(s): {result['failed'][:3]}")
    _wait_until_in_force(admin, users)
    logger.info("%d users with %d ACLs provisioned", len(users), len(acls))


def _wait_until_in_force(admin: Any, users: list[mai_contracts.KafkaUser], timeout: float = 30.0) -> None:
    """Wait until the broker's authorizer knows every grant (the controller commits them a moment earlier)."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    deadline = time.monotonic() + timeout
    for user in users:
        wanted = {(g.name, g.operation.upper()) for g in user.grants}
        query = ACLFilter(
            principal=f"User:{user.name}",
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
        )
        while True:
            found, _error = admin.describe_acls(query)
            known = {(acl.resource_pattern.resource_name, acl.operation.name) for acl in found}
            if wanted <= known:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ACLs of {user.name} are not in force after {timeout:.0f} s")
            time.sleep(0.1)


def delete_acls_under(admin: Any, prefix: str) -> int:
    """Delete every ACL on a topic or group named ``prefix…`` (a finished test run's); returns how many."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    if not prefix:
        raise ValueError("refusing to delete ACLs without a prefix")
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    found, _error = admin.describe_acls(everything)
    doomed = [acl for acl in found if acl.resource_pattern.resource_name.startswith(prefix)]
    if doomed:
        admin.delete_acls(doomed)
    return len(doomed)


def provision(
    bootstrap_servers: str,
    *,
    administrator: KafkaSecurity | None = None,
    topic_prefix: str = "",
    users: Iterable[str] | None = None,
) -> dict[str, KafkaSecurity]:
    """Create the users derived from contracts/ (ACLs on ``topic_prefix`` topics); returns their settings.

    The passwords are derived from the administrator's (a development or test broker only).
    """
    administrator = administrator or KafkaSecurity.from_env()
    wanted = [u for u in mai_contracts.kafka_users(topic_prefix) if users is None or u.name in set(users)]
    settings = {u.name: derived_user_security(u.name, administrator) for u in wanted}
    admin = kafka_clients.admin(bootstrap_servers, security=administrator, client_id=CLIENT_ID)
    try:
        provision_users(admin, wanted, {name: s.password for name, s in settings.items()})
    finally:
        admin.close()
    return settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mai-kafka", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    provision_cmd = commands.add_parser(
        "provision", help="create the declared topics, the users derived from contracts/ and their ACLs"
    )
    provision_cmd.add_argument("--bootstrap-servers", required=True, metavar="HOST:PORT[,HOST:PORT]")
    provision_cmd.add_argument("--replication-factor", type=int, metavar="N", help="1 on a single broker")
    provision_cmd.add_argument("--no-topics", action="store_true", help="users and ACLs only")
    user_env = commands.add_parser(
        "user-env", help="print a user's client settings on this development broker (VARIABLE=value lines)"
    )
    user_env.add_argument("user", help="a service, analytics-redactor, analytics-archiver or analyst")
    commands.add_parser("acls", help="print every user's ACLs as derived from contracts/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`mai-kafka`: provision a broker, print a user's settings, or list the derived ACLs."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        administrator = KafkaSecurity.from_env()
    except ValueError as exc:
        print(f"mai-kafka: {exc}", file=sys.stderr)
        return 2
    if args.command == "acls":
        for user in mai_contracts.kafka_users():
            for grant in user.grants:
                print(f"User:{user.name}\t{grant.operation}\t{grant.resource_type}\t{grant.pattern}\t{grant.name}")
        return 0
    if args.command == "user-env":
        try:
            mai_contracts.kafka_user(args.user)
        except KeyError as exc:
            print(f"mai-kafka: {exc.args[0]}", file=sys.stderr)
            return 2
        if not administrator.uses_sasl:
            print("mai-kafka: a user's settings derive from the administrator's (KAFKA_SASL_*)", file=sys.stderr)
            return 2
        for name, value in derived_user_security(args.user, administrator).environment().items():
            print(f"{name}={value}")
        return 0
    if not args.no_topics:
        topic_args = ["create", "--bootstrap-servers", args.bootstrap_servers]
        if args.replication_factor:
            topic_args += ["--replication-factor", str(args.replication_factor)]
        status = topics_main(topic_args, security=administrator)
        if status:
            return status
    if not administrator.uses_sasl:
        print("mai-kafka: the broker takes no SASL users (KAFKA_SECURITY_PROTOCOL); no users provisioned")
        return 0
    users = provision(args.bootstrap_servers, administrator=administrator)
    print(f"{len(users)} users provisioned with their ACLs: {', '.join(users)}")
    return 0


def topics_main(argv: Sequence[str] | None = None, *, security: KafkaSecurity | None = None) -> int:
    """`mai-topics`: contracts' topic command, as the client the environment's settings name."""
    from mai_contracts import topics_cli

    return topics_cli.main(argv, client_options=kafka_clients.client_options(security))


if __name__ == "__main__":
    sys.exit(main())
