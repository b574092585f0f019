"""CPU time by component, read from /proc: where a benchmark step's cycles went.

A component is a named process with all its descendants (a gunicorn master and its workers), or
every process whose command name matches (``postgres``, ``java`` for the broker). The benchmark
process itself counts as ``load generator`` (client threads and the SMTP sink).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds of the process and its reaped children)."""
    found: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after the last ')'.
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        parent = int(fields[1])
        # Its own time plus that of its children that have ended and been waited for (a gunicorn
        # worker replaced after max_requests): ended processes are not lost from a component.
        ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        found[int(entry.name)] = (parent, name, ticks / _TICK)
    return found


def snapshot(roots: Mapping[str, int], by_command: Mapping[str, str]) -> dict[str, float]:
    """CPU seconds so far per component (live processes only: keep the components running)."""
    processes = _processes()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (parent, _, _) in processes.items():
        children[parent].append(pid)
    totals: dict[str, float] = defaultdict(float)
    claimed: set[int] = set()
    for label, root in roots.items():
        pending = [root]
        while pending:
            pid = pending.pop()
            if pid in claimed or pid not in processes:
                continue
            claimed.add(pid)
            totals[label] += processes[pid][2]
            pending.extend(children.get(pid, []))
    for pid, (_, name, seconds) in processes.items():
        if pid not in claimed and name in by_command:
            totals[by_command[name]] += seconds
    own = os.times()
    totals["load generator"] += own.user + own.system
    return dict(totals)


def difference(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {label: after[label] - before.get(label, 0.0) for label in after}
