"""`make bench`: run every benchmark, print their tables, then draw the results as PNG charts.

Each benchmark is a module in bench/ with a ``main()`` that prints its table and writes
``bench/results/<name>.json`` through :func:`bench.harness.report`. They run one after another
(never in parallel: they would measure each other), each in its own process with a time limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import RESULTS_DIR, ROOT

BENCHMARKS = [
    "event_delivery",
    "gateway_overhead",
    "petition_submit",
    "submit_to_mail",
    "identity_login",
    "certificate_issue",
    "certificate_verify",
    "booking_slots",
    "notify_throughput",
    "launch_day",
    "portal_pages",
]
TIME_LIMIT = 900


def run(name: str) -> bool:
    if not (ROOT / "bench" / f"{name}.py").exists():
        print(f"\n## {name}: not present, skipped")
        return True
    started = time.monotonic()
    try:
        completed = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        print(f"\n## {name}: stopped after {TIME_LIMIT}s")
        return False
    print(f"   ({name} took {time.monotonic() - started:.0f}s, exit code {completed.returncode})")
    return completed.returncode == 0


def draw_charts() -> list[Path]:
    """One PNG of throughput ratios against baselines, one of latency percentiles where reported."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    documents = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("*.json"))]
    drawn: list[Path] = []
    ratios = [
        (f"{d['name']}: {r['figure']}"[:70], r["ratio"])
        for d in documents
        for r in d["rows"]
        if r.get("ratio") is not None and r["unit"].endswith("/s")
    ]
    if ratios:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(ratios) + 1.5))
        labels, values = zip(*ratios, strict=True)
        bars = ax.barh(labels, values, color="#2b6cb0")
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize=8)
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        # Ratios span 0.05 (a consumer against raw reads) to 100+ (a step against its day's need).
        ax.set_xscale("log")
        ax.set_xlabel("throughput relative to its baseline (same run; log scale, 1 = baseline)")
        ax.invert_yaxis()
        fig.tight_layout()
        path = RESULTS_DIR / "throughput_ratios.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        drawn.append(path)
    latency = [
        (f"{d['name']}: {r['figure']}"[:70], r["value"]) for d in documents for r in d["rows"] if r["unit"] == "ms"
    ]
    if latency:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(latency) + 1.5))
        labels, values = zip(*latency, strict=True)
        ax.barh(labels, values, color="#c05621")
        ax.set_xlabel("latency (ms)")
        ax.invert_yaxis()
        fig.tight_layout()
        path = RESULTS_DIR / "latency.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        drawn.append(path)
    return drawn


def main() -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    names = sys.argv[1:] or BENCHMARKS
    failed = [name for name in names if not run(name)]
    for path in draw_charts():
        print(f"chart: {path.relative_to(ROOT)}")
    print(f"results: {RESULTS_DIR.relative_to(ROOT)}/*.json")
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
