"""What every service's retention tests check of its ``purge`` rules, on a real database.

::

    def one_pod() -> int:
        return purge(database, service="record-svc", rules=rules, now=now, batch_size=4)["expired-certificates"]

    assert sum(purged_by_two_pods(one_pod)) == 30
    assert one_pod() == 0
    assert {rule.data_class for rule in rules} == enforced_classes("record-svc")
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["enforced_classes", "purged_by_two_pods"]


def purged_by_two_pods(one_pod: Callable[[], int]) -> list[int]:
    """Run ``one_pod`` (a purge, answering how many rows it removed) in two threads at once, as two
    pods of the job would; the two counts."""
    with ThreadPoolExecutor(max_workers=2) as pods:
        return list(pods.map(lambda _: one_pod(), range(2)))


def enforced_classes(service: str) -> set[str]:
    """The data classes contracts' retention table says ``service`` enforces."""
    from mai_contracts.retention import retention_classes

    return {c.name for c in retention_classes() if c.service == service and c.enforced}
