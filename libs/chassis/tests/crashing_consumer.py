"""Runs a consumer that dies (exit code 9) right after its first database commit, before the offset commit.

Used by the integration tests as a separate process: ``python crashing_consumer.py DB_URL SERVERS PREFIX GROUP``.
"""

from __future__ import annotations

import os
import sys
import threading

from mai_chassis import Database, EventConsumer
from sqlalchemy import text

EVENT_TYPE = "ro.mai.petition.submitted.v1"


def record_effect(uow, event):  # type: ignore[no-untyped-def]
    uow.session.execute(text("INSERT INTO effects (event_id) VALUES (:id)"), {"id": event.id})


def main() -> None:
    database_url, servers, prefix, group = sys.argv[1:5]
    consumer = EventConsumer(
        Database(database_url),
        service="crash-test",
        group_id=group,
        bootstrap_servers=servers,
        topic_prefix=prefix,
        handlers={EVENT_TYPE: record_effect},
    )
    original = consumer._handle_message

    def handle_then_die(message):  # type: ignore[no-untyped-def]
        consumer._consumer.commit = lambda *a, **k: os._exit(9)  # the kill lands between the two commits
        original(message)

    consumer._handle_message = handle_then_die  # type: ignore[method-assign]
    consumer.run(threading.Event())


if __name__ == "__main__":
    main()
