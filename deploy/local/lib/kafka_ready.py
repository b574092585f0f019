"""Wait until a Kafka broker answers a Metadata request (stdlib only, so no virtualenv is needed).

Usage: kafka_ready.py HOST:PORT[,HOST:PORT...] [--timeout SECONDS] [--pid PID]

A listening socket is not enough: a KRaft broker only serves requests once it has joined the
cluster, so this sends a real Metadata request (v4, which every Kafka 4.x broker accepts) and
succeeds when the answer lists at least one broker and an active controller.

A broker that requires SASL/SCRAM (the local one does) is first authenticated to, with the user
that KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD name (SCRAM-SHA-256 or -512).
With KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL the connection is TLS, the broker's certificate checked
against KAFKA_SSL_CAFILE (the system's CAs when unset) and its address.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import logging
import os
import secrets
import socket
import ssl
import struct
import sys
import time

logger = logging.getLogger("kafka-ready")

METADATA_API_KEY = 3
METADATA_VERSION = 4
SASL_HANDSHAKE_API_KEY = 17
SASL_HANDSHAKE_VERSION = 1
SASL_AUTHENTICATE_API_KEY = 36
SASL_AUTHENTICATE_VERSION = 0
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
CLIENT_ID = b"mai-kafka-ready"
POLL_INTERVAL_S = 0.5
CONNECT_TIMEOUT_S = 3.0


class MetadataAnswer:
    """What the broker said about the cluster."""

    def __init__(self, brokers: list[tuple[int, str, int]], controller_id: int) -> None:
        self.brokers = brokers
        self.controller_id = controller_id


class Credentials:
    """A SASL/SCRAM user to authenticate as before asking for metadata."""

    def __init__(self, mechanism: str, username: str, password: str) -> None:
        if mechanism not in SCRAM_HASHES:
            raise SystemExit(f"unsupported SASL mechanism {mechanism!r}: {', '.join(SCRAM_HASHES)}")
        self.mechanism = mechanism
        self.username = username
        self.password = password

    @classmethod
    def from_env(cls) -> Credentials | None:
        mechanism = os.environ.get("KAFKA_SASL_MECHANISM", "")
        if not mechanism:
            return None
        return cls(mechanism, os.environ.get("KAFKA_SASL_USERNAME", ""), os.environ.get("KAFKA_SASL_PASSWORD", ""))


def _request(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID))
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def _exchange(sock: socket.socket, api_key: int, version: int, body: bytes) -> _Reader:
    correlation_id = secrets.randbits(31)
    sock.sendall(_request(api_key, version, correlation_id, body))
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = _Reader(_recv_exact(sock, size))
    if reader.take(">i") != correlation_id:
        raise ConnectionError("answer does not match the request")
    return reader


def _authenticate(sock: socket.socket, credentials: Credentials) -> None:
    """SaslHandshake then a SCRAM exchange (RFC 5802) in SaslAuthenticate requests."""
    mechanism = credentials.mechanism.encode()
    reader = _exchange(
        sock, SASL_HANDSHAKE_API_KEY, SASL_HANDSHAKE_VERSION, struct.pack(">h", len(mechanism)) + mechanism
    )
    if reader.take(">h") != 0:
        raise ConnectionError(f"the broker does not accept {credentials.mechanism}")
    digest = SCRAM_HASHES[credentials.mechanism]
    username = credentials.username.replace("=", "=3D").replace(",", "=2C")
    client_nonce = secrets.token_urlsafe(24)
    client_first_bare = f"n={username},r={client_nonce}"
    server_first = _sasl_step(sock, ("n,," + client_first_bare).encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields.get("r", "").startswith(client_nonce):
        raise ConnectionError("SCRAM: the server's nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(digest, credentials.password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", digest)
    stored_key = hashlib.new(digest, client_key).digest()
    final_without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{final_without_proof}".encode()
    signature = hmac.digest(stored_key, auth_message, digest)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server_final = _sasl_step(sock, f"{final_without_proof},p={base64.b64encode(proof).decode()}".encode())
    server_key = hmac.digest(salted, b"Server Key", digest)
    expected = "v=" + base64.b64encode(hmac.digest(server_key, auth_message, digest)).decode()
    if server_final.decode() != expected:
        raise ConnectionError("SCRAM: the server's signature is wrong")


def _sasl_step(sock: socket.socket, message: bytes) -> bytes:
    reader = _exchange(
        sock, SASL_AUTHENTICATE_API_KEY, SASL_AUTHENTICATE_VERSION, struct.pack(">i", len(message)) + message
    )
    error_code = reader.take(">h")
    error_message = reader.string()
    if error_code != 0:
        raise ConnectionError(f"SASL authentication failed: {error_message}")
    return reader.blob()


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

    def blob(self) -> bytes:
        length = self.take(">i")
        raw = self._data[self._pos : self._pos + max(length, 0)]
        self._pos += max(length, 0)
        return raw

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        raw = self._data[self._pos : self._pos + length]
        self._pos += length
        return raw.decode("utf-8")


def tls_context_from_env() -> ssl.SSLContext | None:
    """A client TLS context when KAFKA_SECURITY_PROTOCOL asks for TLS (verifying the broker), else None."""
    if not os.environ.get("KAFKA_SECURITY_PROTOCOL", "").upper().endswith("SSL"):
        return None
    return ssl.create_default_context(cafile=os.environ.get("KAFKA_SSL_CAFILE") or None)


def ask_metadata(
    host: str, port: int, credentials: Credentials | None = None, tls: ssl.SSLContext | None = None
) -> MetadataAnswer:
    """Send one Metadata request (over TLS and authenticated first, if asked) and parse brokers and controller."""
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as plain:
        sock = tls.wrap_socket(plain, server_hostname=host) if tls is not None else plain
        if credentials is not None:
            _authenticate(sock, credentials)
        # topics: an empty array (no topic details wanted); allow_auto_topic_creation: false
        reader = _exchange(sock, METADATA_API_KEY, METADATA_VERSION, struct.pack(">ib", 0, 0))
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


def wait_until_ready(
    bootstrap: str,
    timeout: float,
    pid: int | None,
    credentials: Credentials | None = None,
    tls: ssl.SSLContext | None = None,
) -> MetadataAnswer:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while True:
        if pid is not None and not _process_alive(pid):
            raise RuntimeError(f"the broker process {pid} has exited")
        for host, port in _parse_bootstrap(bootstrap):
            try:
                answer = ask_metadata(host, port, credentials, tls)
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
        answer = wait_until_ready(
            args.bootstrap, args.timeout, args.pid, Credentials.from_env(), tls_context_from_env()
        )
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
