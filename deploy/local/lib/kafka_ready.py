"""Wait until a Kafka broker answers a Metadata request (stdlib only, so no virtualenv is needed).

Usage: kafka_ready.py HOST:PORT[,HOST:PORT...] [--timeout SECONDS] [--pid PID]

A listening socket is not enough: a KRaft broker only serves requests once it has joined the
cluster, so this sends a real Metadata request (v4, which every Kafka 4.x broker accepts) and
succeeds when the answer lists at least one broker and an active controller.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import struct
import sys
import time

logger = logging.getLogger("kafka-ready")

METADATA_API_KEY = 3
METADATA_VERSION = 4
CLIENT_ID = b"mai-kafka-ready"
POLL_INTERVAL_S = 0.5
CONNECT_TIMEOUT_S = 3.0


class MetadataAnswer:
    """What the broker said about the cluster."""

    def __init__(self, brokers: list[tuple[int, str, int]], controller_id: int) -> None:
        self.brokers = brokers
        self.controller_id = controller_id


def _metadata_request(correlation_id: int) -> bytes:
    header = struct.pack(">hhih", METADATA_API_KEY, METADATA_VERSION, correlation_id, len(CLIENT_ID))
    # topics: empty array (no topic details wanted); allow_auto_topic_creation: false
    body = struct.pack(">ib", 0, 0)
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        raw = self._data[self._pos : self._pos + length]
        self._pos += length
        return raw.decode("utf-8")


def ask_metadata(host: str, port: int) -> MetadataAnswer:
    """Send one Metadata request and parse the brokers and controller out of the answer."""
    correlation_id = int(time.monotonic() * 1000) & 0x7FFFFFFF
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as sock:
        sock.sendall(_metadata_request(correlation_id))
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        reader = _Reader(_recv_exact(sock, size))
    if reader.take(">i") != correlation_id:
        raise ConnectionError("answer does not match the request")
    reader.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(reader.take(">i")):
        node_id = reader.take(">i")
        broker_host = reader.string() or ""
        broker_port = reader.take(">i")
        reader.string()  # rack
        brokers.append((node_id, broker_host, broker_port))
    reader.string()  # cluster_id
    return MetadataAnswer(brokers, controller_id=reader.take(">i"))


def _parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    addresses = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit(f"not a HOST:PORT address: {item!r}")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def wait_until_ready(bootstrap: str, timeout: float, pid: int | None) -> MetadataAnswer:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while True:
        if pid is not None and not _process_alive(pid):
            raise RuntimeError(f"the broker process {pid} has exited")
        for host, port in _parse_bootstrap(bootstrap):
            try:
                answer = ask_metadata(host, port)
            except (OSError, struct.error, UnicodeDecodeError) as exc:
                last_error = f"{host}:{port}: {exc}"
                continue
            if answer.brokers and answer.controller_id >= 0:
                return answer
            last_error = f"{host}:{port}: cluster not formed yet"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no ready broker at {bootstrap} after {timeout:.0f} s ({last_error})")
        time.sleep(POLL_INTERVAL_S)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"  # an exited process not yet reaped by its parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", help="HOST:PORT[,HOST:PORT...]")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait (default 90)")
    parser.add_argument("--pid", type=int, help="give up early if this process exits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        answer = wait_until_ready(args.bootstrap, args.timeout, args.pid)
    except (TimeoutError, RuntimeError) as exc:
        logger.error("Kafka not ready: %s", exc)
        return 1
    logger.info(
        "Kafka answers at %s: brokers %s, controller %d",
        args.bootstrap,
        ", ".join(f"{node}@{host}:{port}" for node, host, port in answer.brokers),
        answer.controller_id,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
