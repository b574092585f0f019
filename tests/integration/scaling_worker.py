"""One worker process of a scaled-out service: consumes identity.verified in a shared consumer group.

Run by test_worker_scaling.py as ``python scaling_worker.py DB_URL SERVERS PREFIX GROUP WORKER_NAME``.
Each applied event leaves one row in ``effects`` (written in the consumer's transaction, beside its
processed-event marker). Every change of the partitions it owns is logged as
``WORKER <name> ASSIGNED <comma-separated partitions>`` so the test can watch a rebalance.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from mai_chassis import Database, EventConsumer, UnitOfWork
from mai_chassis.events import Event
from sqlalchemy import text

EVENT_TYPE = "ro.mai.identity.verified.v1"
# A little work per event, so the stream is still flowing when a worker is killed.
WORK_PER_EVENT_S = 0.01

logger = logging.getLogger("scaling_worker")


def main() -> None:
    database_url, servers, prefix, group, worker_name = sys.argv[1:6]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    def record_verification(uow: UnitOfWork, event: Event) -> None:
        time.sleep(WORK_PER_EVENT_S)
        uow.session.execute(
            text("INSERT INTO effects (event_id, worker) VALUES (:event_id, :worker)"),
            {"event_id": event.id, "worker": worker_name},
        )

    consumer = EventConsumer(
        Database(database_url),
        service="scaling-test",
        group_id=group,
        bootstrap_servers=servers,
        topic_prefix=prefix,
        handlers={EVENT_TYPE: record_verification},
        poll_timeout_ms=200,
    )
    owned: list[int] = []
    report_lag = consumer._report_lag

    def report_assignment_then_lag() -> None:
        current = sorted(tp.partition for tp in (consumer._consumer.assignment() if consumer._consumer else ()))
        if current != owned:
            owned[:] = current
            logger.info("WORKER %s ASSIGNED %s", worker_name, ",".join(map(str, current)))
        report_lag()

    consumer._report_lag = report_assignment_then_lag  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    consumer.run(stop)


if __name__ == "__main__":
    main()
