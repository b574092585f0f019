"""A PostgreSQL server of a test's own (initdb, start, stop, WAL archive), and free loopback ports.

PostgreSQL refuses to run as root: as root (CI), the server's files live in a private directory
under /var/tmp owned by the ``postgres`` system user, and every server command runs as that user,
as deploy/local/postgres.sh does for the shared server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SERVER_USER = "postgres"


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server installed from Debian's packages (postgresql-NN)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server: initdb, start, stop, with WAL archived to a directory as in production."""

    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="mai-ops-pg-", dir="/var/tmp" if self.as_root else None))
        self.data = self.root / "data"
        self.archive = self.root / "wal-archive"
        self.base_backup = self.root / "base-backup"
        self.socket_dir = self.root / "socket"
        self.port = free_port()
        self.archive.mkdir()
        self.socket_dir.mkdir()
        if self.as_root:
            try:
                owner = pwd.getpwnam(SERVER_USER)
            except KeyError:
                pytest.fail(f"as root the server runs as the {SERVER_USER} user, which is missing (install postgresql)")
            for path in (self.root, self.archive, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def tool(self, name: str) -> str:
        return str(self.bin / name)

    def run(self, *args: str) -> str:
        """Run a server command, as the server's user."""
        command = ["runuser", "-u", SERVER_USER, "--", *args] if self.as_root else list(args)
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        self.run(self.tool("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--data-checksums")  # fmt: skip
        # As CloudNativePG runs it: WAL archived by an archive_command that never overwrites a segment.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'test ! -f {self.archive}/%f && cp %p {self.archive}/%f'",
            "max_wal_senders": "4",
            "timezone": "UTC",
        }
        self.append_settings(settings)

    def append_settings(self, settings: dict[str, str]) -> None:
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self.run("sh", "-c", f"cat >> '{self.data}/postgresql.conf' <<'EOF'\n{lines}EOF\n")

    def start(self) -> None:
        self.run(self.tool("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                 "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.run(self.tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self.run(self.tool("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                        "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql).strip()  # fmt: skip

    def wait_until(self, sql: str, expected: str, database: str = "postgres", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (value := self.psql(sql, database)) != expected:
            assert time.monotonic() < deadline, f"{sql} still answers {value!r}, not {expected!r}"
            time.sleep(0.2)

    def take_base_backup(self) -> None:
        """pg_basebackup of the running server, with a manifest; the WAL comes from the archive."""
        self.run(self.tool("pg_basebackup"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                 "-D", str(self.base_backup), "-X", "none", "-c", "fast", "--manifest-checksums=SHA256")  # fmt: skip

    def lose_data(self) -> None:
        """The server dies and its data directory is gone."""
        self.stop("immediate")
        self.run("rm", "-rf", str(self.data))

    def restore(self, target_time: str) -> None:
        """The base backup (checked against its manifest), then the archived WAL up to target_time."""
        self.run(self.tool("pg_verifybackup"), "-n", str(self.base_backup))
        self.run("cp", "-a", str(self.base_backup), str(self.data))
        self.run("chmod", "0700", str(self.data))
        self.append_settings(
            {
                "restore_command": f"'cp {self.archive}/%f %p'",
                "recovery_target_time": f"'{target_time}'",
                "recovery_target_action": "'promote'",
            }
        )
        self.run("touch", str(self.data / "recovery.signal"))

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
