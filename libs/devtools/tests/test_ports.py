from __future__ import annotations

import socket
from pathlib import Path

import pytest
from mai_devtools import ports
from mai_devtools.ports import free_port


def test_ports_are_never_handed_out_twice_and_lie_below_the_range_of_outgoing_connections() -> None:
    low, _ = ports._ephemeral_range()
    chosen = [free_port() for _ in range(2000)]

    assert len(set(chosen)) == len(chosen)
    assert all(max(10_000, low - 12_000) <= port < low for port in chosen)


def test_a_chosen_port_can_be_bound_on_every_address() -> None:
    port = free_port()
    with socket.create_server(("0.0.0.0", port)) as server:
        assert server.getsockname()[1] == port


def test_a_port_something_listens_on_is_not_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare_probe:
        spare = spare_probe.getsockname()[1]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        taken = listener.getsockname()[1]
        # The draw offers the port in use twice, then a free one.
        draws = iter([taken, taken, spare])
        monkeypatch.setattr(ports._random, "randrange", lambda start, stop: next(draws))
        assert free_port() == spare


def test_without_room_below_the_ephemeral_range_the_kernel_chooses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("1024\t65535\n")
    monkeypatch.setattr(ports, "_RANGE_FILE", range_file)

    chosen = [free_port() for _ in range(50)]

    assert len(set(chosen)) == 50
    assert all(1024 <= port <= 65535 for port in chosen)
