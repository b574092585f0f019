"""A flame graph's summary: the frames a sampling profile spent its time in, with their shares.

Reads py-spy's collapsed stacks (``py-spy record --format raw``; one ``frame;frame;... count`` line
per distinct stack) of one or more processes and prints, for the busiest frames, the share of the
samples in which the frame is on the stack (inclusive) and the share in which it is the innermost
frame (self). Idle samples (a thread waiting in ``select``, ``epoll`` or a lock) are counted apart,
so that the shares are of the time the processes were working.

    py-spy record --format raw --nonblocking --duration 10 --pid PID --output gateway.txt
    python -m bench.flame_summary gateway.txt [--top 25] [--match gateway/]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["FrameShares", "summarise"]

#: Innermost frames that mean the thread was waiting, not working.
_IDLE = re.compile(r"\b(select|poll|epoll|wait|accept|sleep|acquire|_wait_for_tstate_lock|recv_into|readinto)\b")
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<function>[^ ]+) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")


class FrameShares:
    """Samples per frame: on the stack (inclusive) and innermost (self), of the working samples."""

    def __init__(self) -> None:
        self.total = 0
        self.idle = 0
        self.inclusive: Counter[str] = Counter()
        self.own: Counter[str] = Counter()

    @property
    def working(self) -> int:
        return self.total - self.idle

    def add(self, frames: list[str], count: int) -> None:
        self.total += count
        if not frames or _IDLE.search(frames[-1].split(" (", 1)[0]):
            self.idle += count
            return
        for name in dict.fromkeys(frames):  # a recursive frame counts once per sample
            self.inclusive[name] += count
        self.own[frames[-1]] += count


def _frame_name(raw: str) -> str:
    """``function (path/to/module.py:123)`` -> ``function (module path from site-packages or src)``."""
    match = _FRAME.match(raw.strip())
    if match is None:
        return raw.strip()
    path = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarise(lines: Iterable[str]) -> FrameShares:
    shares = FrameShares()
    for line in lines:
        match = _LINE.match(line.rstrip("\n"))
        if match is None:
            continue
        frames = [_frame_name(frame) for frame in match["stack"].split(";")]
        # py-spy puts "process NNN" and "thread (0x...)" first when asked to: not frames of the program.
        frames = [frame for frame in frames if not frame.startswith(("process ", "thread "))]
        shares.add(frames, int(match["count"]))
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="py-spy raw (collapsed) outputs")
    parser.add_argument("--top", type=int, default=25, help="frames listed in each table")
    parser.add_argument("--match", default="", help="only frames whose name contains this (inclusive table)")
    options = parser.parse_args()

    shares = FrameShares()
    for path in options.files:
        part = summarise(path.read_text().splitlines())
        shares.total += part.total
        shares.idle += part.idle
        shares.inclusive.update(part.inclusive)
        shares.own.update(part.own)
    working = shares.working or 1
    print(f"samples: {shares.total}, working: {shares.working}, idle: {shares.idle}")
    print("\n| inclusive | frame |\n|---:|---|")
    inclusive = [(name, n) for name, n in shares.inclusive.most_common() if options.match in name]
    for name, count in inclusive[: options.top]:
        print(f"| {count / working:.0%} | `{name}` |")
    print("\n| self | frame |\n|---:|---|")
    for name, count in shares.own.most_common(options.top):
        print(f"| {count / working:.0%} | `{name}` |")


if __name__ == "__main__":
    main()
