"""Gateway overhead: a trivial endpoint called directly and through the gateway, in one run.

The upstream is the raw Flask "hello" (bench/hello_app.py) under gunicorn; the gateway is the real
``gateway web`` (gunicorn, the same number of workers, aiohttp's event-loop workers) with a route
table naming that upstream, its rate limiter on (in memory) and its per-request log line written.
The same closed-loop load generator drives both for the same time, in alternating slices (direct,
gateway, direct, ...) so that both see the same background load on a shared machine. Targets: the
gateway keeps at least 50% of direct throughput and adds at most 2 ms at the median.

    python -m bench.gateway_overhead [--seconds 15] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import requests
import yaml

from bench.harness import BIN, LoadResult, Row, free_port, gunicorn, process, report, run_load

WORKERS = 2
THREADS = 8
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_ADDED_P50_MS = 2.0
SLICES = 5


def _measure(url: str, *, seconds: float, concurrency: int) -> LoadResult:
    return run_load(
        lambda session, _n: session.get(url, timeout=10),
        concurrency=concurrency,
        duration=seconds,
        warmup=0.5,
        ok=lambda response: response.status_code == 200,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per target")
    parser.add_argument("--concurrency", type=int, default=8, help="clients sending back to back")
    options = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="gateway-bench-") as scratch,
        gunicorn("bench.hello_app:app", workers=WORKERS, threads=THREADS, log_name="hello_upstream") as upstream,
    ):
        routes_file = Path(scratch) / "routes.yaml"
        routes_file.write_text(
            yaml.safe_dump(
                {
                    "routes": [
                        {
                            "prefix": "/hello",
                            "upstream": upstream,
                            "service": "hello",
                            "rate_limit": "1000000/minute",  # exercised, never reached
                            "methods": ["GET", "POST"],
                        }
                    ]
                }
            )
        )
        port = free_port()
        gateway_env = {
            "GATEWAY_ROUTES_FILE": str(routes_file),
            "WEB_CONCURRENCY": str(WORKERS),
            "WEB_THREADS": str(THREADS),
            "LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(Path(scratch) / "metrics"),
        }
        with process(
            [str(BIN / "gateway"), "web", "--bind", f"127.0.0.1:{port}"],
            env=gateway_env,
            ready_url=f"http://127.0.0.1:{port}/healthz",
            log_name="gateway",
        ):
            gateway = f"http://127.0.0.1:{port}"
            check = requests.get(f"{gateway}/hello", timeout=5)
            if check.status_code != 200 or check.json() != {"hello": "world"}:
                raise SystemExit(f"the gateway does not route /hello: {check.status_code} {check.text[:200]}")
            direct_slices, gateway_slices = [], []
            for _ in range(SLICES):
                slice_seconds = options.seconds / SLICES
                direct_slices.append(
                    _measure(f"{upstream}/hello", seconds=slice_seconds, concurrency=options.concurrency)
                )
                gateway_slices.append(
                    _measure(f"{gateway}/hello", seconds=slice_seconds, concurrency=options.concurrency)
                )
            direct, through = LoadResult.combined(direct_slices), LoadResult.combined(gateway_slices)

    ratio = through.throughput / direct.throughput if direct.throughput else 0.0
    added_p50 = through.percentile(50) - direct.percentile(50)
    met = ratio >= TARGET_THROUGHPUT_RATIO and added_p50 <= TARGET_ADDED_P50_MS and through.errors == 0
    rows = [
        Row("throughput through the gateway (direct = baseline)", "req/s", through.throughput, direct.throughput),
        Row("p50 latency through the gateway", "ms", through.percentile(50), direct.percentile(50)),
        Row("p99 latency through the gateway", "ms", through.percentile(99), direct.percentile(99)),
        Row("added p50 latency (gateway - direct)", "ms", added_p50),
        Row("failed requests through the gateway", "count", through.errors, direct.errors),
    ]
    report(
        "gateway_overhead",
        f"Gateway overhead ({options.concurrency} clients, {options.seconds:g} s each in {SLICES} alternating slices, "
        f"{WORKERS} workers both sides: hello {THREADS} threads each, the gateway aiohttp)",
        rows,
        extra={
            "direct": direct.summary(),
            "through_gateway": through.summary(),
            "target_throughput_ratio": TARGET_THROUGHPUT_RATIO,
            "target_added_p50_ms": TARGET_ADDED_P50_MS,
            "target_met": met,
            "slice_ratios": [
                round(g.throughput / d.throughput, 3) if d.throughput else None
                for d, g in zip(direct_slices, gateway_slices, strict=True)
            ],
        },
    )
    print(
        f"targets (>= {TARGET_THROUGHPUT_RATIO:.0%} of direct throughput, <= {TARGET_ADDED_P50_MS:g} ms added at p50, "
        f"no error): {'met' if met else 'NOT met'} at {ratio:.0%}, +{added_p50:.2f} ms, {through.errors:g} errors"
    )


if __name__ == "__main__":
    main()
