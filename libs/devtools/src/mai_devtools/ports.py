"""Free TCP ports for the servers that tests and benchmarks start on this machine.

A port is chosen first and bound later by another process (a gunicorn web, a worker's metrics
server, the SMTP sink), so two things can take it in between:

* another port chosen the same way: the kernel hands out the port of a socket just closed again
  (seven ``bind(("127.0.0.1", 0))`` probes in a row gave a repeat in 0.13 % of tries here), and a
  platform whose web and worker metrics server got the same port looks healthy while the web
  never started;
* an outgoing connection — a migration's, a Kafka client's — whose local port the kernel picks
  from the same ephemeral range (``net.ipv4.ip_local_port_range``).

So ports come from just below the ephemeral range, where the kernel places no outgoing
connection, are probed on the wildcard address (a listener on any local address conflicts), and
no port is handed out twice in one process.
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

__all__ = ["free_port"]

_BELOW_EPHEMERAL = 12_000  # how far below the ephemeral range ports are drawn from
_LOWEST = 10_000  # never lower: leaves registered service ports (Kafka 9092, …) alone
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_handed_out: set[int] = set()
_lock = threading.Lock()
_random = random.Random()  # noqa: S311 (spreads probes over ports; nothing secret)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no conflict
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 (a probe, closed at once)
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("0.0.0.0", 0))  # noqa: S104 (a probe, closed at once)
        return int(probe.getsockname()[1])


def free_port() -> int:
    """A TCP port nothing is bound to, outside the range of outgoing connections, new to this process."""
    low, _ = _ephemeral_range()
    start = max(_LOWEST, low - _BELOW_EPHEMERAL)
    with _lock:
        if start < low:
            for _ in range(1000):
                port = _random.randrange(start, low)
                if port not in _handed_out and _bindable(port):
                    _handed_out.add(port)
                    return port
        # The range below the ephemeral one is unusable or full: take the kernel's choice.
        while True:
            port = _kernel_port()
            if port not in _handed_out:
                _handed_out.add(port)
                return port
