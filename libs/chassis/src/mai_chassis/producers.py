"""Discarding a Kafka producer that may still hold unacknowledged records.

kafka-python's ``KafkaProducer.close(timeout)`` flushes first and raises ``KafkaTimeoutError``
when a record is still in flight once the timeout is up (always, for ``timeout=0``). The producer
is then left half-closed: its network thread keeps running and its sockets stay open until the
garbage collector finalises the object, whose ``__del__`` tries again and fails again. A relay
that replaces its producer after every broker outage would collect such threads.

``discard_producer`` never blocks the caller: the close runs on a daemon thread with a deadline
past the producer's ``delivery_timeout_ms``, by which every in-flight record has either been
acknowledged or expired, so the flush can complete and the network thread stops.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)

# Past this, kafka-python has completed every batch (acknowledged or expired).
_CLOSE_MARGIN_S = 5.0


def discard_producer(producer: Any, *, what: str) -> threading.Thread:
    """Close ``producer`` in the background; the returned thread ends when it is closed."""
    delivery_timeout_s = float(producer.config.get("delivery_timeout_ms", 120_000)) / 1000.0

    def close() -> None:
        from kafka.errors import KafkaTimeoutError

        # Until it has closed: a producer given up half-closed would keep its network thread and
        # fail again in its finaliser. Records past their delivery timeout fail and let it close.
        while True:
            try:
                producer.close(timeout=delivery_timeout_s + _CLOSE_MARGIN_S)
                return
            except KafkaTimeoutError:
                logger.warning("%s producer still has records in flight; closing it again", what)
            except Exception:
                logger.warning("%s producer did not close cleanly", what, exc_info=True)
                return

    thread = threading.Thread(target=close, name=f"close-{what}-producer", daemon=True)
    thread.start()
    return thread
