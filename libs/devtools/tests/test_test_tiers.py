"""The test tiers of the repository's conftest.py: each test's tier follows from what it uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from mai_devtools.service_list import repository_root

ROOT = repository_root()


def _tiers_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("repository_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Item:
    """What the hook reads of a collected test: its path, fixtures and marks."""

    def __init__(self, path: str, fixtures: tuple[str, ...] = (), marks: tuple[str, ...] = ()) -> None:
        self.path = ROOT / path
        self.fixturenames = list(fixtures)
        self.marks = list(marks)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.marks else None

    def add_marker(self, mark: pytest.MarkDecorator) -> None:
        self.marks.append(mark.name)


def _tiers(item: _Item) -> set[str]:
    _tiers_module().pytest_collection_modifyitems([item])  # type: ignore[list-item]
    return set(item.marks) & {"unit", "component", "integration", "toolchain"}


@pytest.mark.parametrize(
    ("item", "tiers"),
    [
        (_Item("services/petition-svc/tests/test_domain.py"), {"unit"}),
        (_Item("services/petition-svc/tests/test_api.py", ("client", "app", "tmp_path")), {"component"}),
        (_Item("libs/chassis/tests/test_x.py", ("sqlite_database",)), {"component"}),
        (_Item("libs/chassis/tests/test_x.py", ("postgres_admin_url", "sqlite_database")), {"integration"}),
        (_Item("services/booking-svc/tests/test_x.py", ("database_factory",)), {"integration"}),
        (_Item("contracts/tests/test_x.py", (), ("integration",)), {"integration"}),
        (_Item("tests/integration/test_x.py"), {"integration"}),
        (_Item("deploy/k8s/tests/test_x.py", ("rendered",)), {"toolchain"}),
        (_Item("deploy/k8s/tests/test_x.py", ("declared_topics",)), {"unit"}),
        (_Item("contracts/tests/test_asyncapi.py", ("asyncapi_parser",)), {"toolchain"}),
        (_Item("services/record-svc/tests/test_api.py", ("client",), ("toolchain",)), {"toolchain"}),
        (_Item("tests/browser/test_x.py", ("browser", "portal_platform")), {"integration", "toolchain"}),
        (_Item("deploy/images/tests/test_images.py"), {"integration", "toolchain"}),
    ],
    ids=lambda value: "-".join(sorted(value)) if isinstance(value, set) else Path(str(value.path)).name,
)
def test_a_test_gets_its_tier_from_what_it_uses(item: _Item, tiers: set[str]) -> None:
    assert _tiers(item) == tiers
