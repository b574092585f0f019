"""Test tiers for the whole repository, given by what a test uses rather than marked test by test.

- ``integration``: a real Kafka broker or PostgreSQL server (the fixtures that hand them out, the
  platform as processes, or a directory that holds only such tests).
- ``toolchain``: a program from outside the Python environment: node/npm, kustomize, promtool,
  podman, chromium, poppler-utils (`docs/prerequisites.md` names each).
- ``component``: a service or library through its real interface in this process: a Flask app and
  test client on a migrated SQLite file, loopback HTTP or SMTP servers.
- ``unit``: anything else: domain rules, schemas, fakes; no files beyond tmp_path, no servers.

A test is ``unit`` or ``component`` only when it is neither ``integration`` nor ``toolchain`` (a
browser test is both). ``make test-unit`` runs the unit and component tiers; ``pytest -m unit`` the
fastest alone. A test that needs a tool no fixture reveals says so with ``@pytest.mark.toolchain``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

#: Fixtures that hand out a real broker or database server (mai_chassis.testing.plugin, tests/).
INTEGRATION_FIXTURES = frozenset(
    {
        "kafka_bootstrap_servers",
        "topic_prefix",
        "postgres_admin_url",
        "database_factory",
        "start_platform",
        "portal_platform",
    }
)
#: Directories whose every test runs the platform, or its images, against the real servers.
INTEGRATION_DIRECTORIES = (ROOT / "tests" / "integration", ROOT / "tests" / "browser", ROOT / "deploy" / "images")
#: Fixtures that run a program from outside the Python environment.
TOOLCHAIN_FIXTURES = frozenset(
    {
        "rendered",  # deploy/k8s: kustomize (installed with go when missing)
        "promtool",  # deploy/k8s: Prometheus' rule checker
        "asyncapi_parser",  # contracts: the AsyncAPI parser on node/npm
        "browser",  # tests/browser: Debian's chromium, axe-core from npm
    }
)
TOOLCHAIN_DIRECTORIES = (ROOT / "deploy" / "images",)  # podman
#: Fixtures of a whole service or library in this process (app, test client, SQLite, loopback servers).
COMPONENT_FIXTURES = frozenset(
    {
        "app",
        "client",
        "gateway",
        "make_gateway",
        "sqlite_database",
        "database",
        "database_url",
        "jwks_url",
        "smtp_sink",
        "eid_provider",
        "petition_upstream",
        "module_petition_upstream",
        "identity_upstream",
        "garbage_upstream",
        "stopped_upstream_url",
    }
)
TIERS = {
    "unit": "no server, no program outside Python, no app: rules, schemas, fakes",
    "component": "a service or library in this process: Flask app and client, SQLite, loopback servers",
    "integration": "needs a real Kafka broker and PostgreSQL server",
    "toolchain": "needs a program outside Python: node/npm, kustomize, promtool, podman, chromium, poppler-utils",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in TIERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def _under(path: Path, directories: tuple[Path, ...]) -> bool:
    return any(directory == path or directory in path.parents for directory in directories)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        fixtures = set(getattr(item, "fixturenames", ()))
        integration = (
            item.get_closest_marker("integration") is not None
            or bool(fixtures & INTEGRATION_FIXTURES)
            or _under(path, INTEGRATION_DIRECTORIES)
        )
        toolchain = (
            item.get_closest_marker("toolchain") is not None
            or bool(fixtures & TOOLCHAIN_FIXTURES)
            or _under(path, TOOLCHAIN_DIRECTORIES)
        )
        if integration and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
        if toolchain and item.get_closest_marker("toolchain") is None:
            item.add_marker(pytest.mark.toolchain)
        if not (integration or toolchain):
            item.add_marker(pytest.mark.component if fixtures & COMPONENT_FIXTURES else pytest.mark.unit)
