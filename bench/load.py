"""Load: 200 concurrent agents for a bounded time against one real server process on loopback.

    .venv/bin/python bench/load.py [--engine sqlite|postgresql|both] [--agents 200] [--seconds 20]

Each agent holds its own keep-alive connection and sends its reports one after another (each a change, so
each adds an Observation), as fast as the server answers, until the time is up. In the same run and on the
same server, the same 200 connections first call a trivial endpoint (``/bench/validate`` of
``bench/ingest.py``: key header, size-limited body validated as a report, no database) for the same time.
Printed: requests, errors (any answer but 201 or a broken connection: the target is 0), requests per
second, p50/p95/p99 latency, and the ratios of ingest to the trivial endpoint.
"""

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path set-up
    BENCH_PATH,
    DEFAULT_POSTGRES,
    REPORTS,
    T0,
    answer_status,
    bench_server,
    post,
    prepare_agents,
    report_bodies,
    scratch_database,
)


async def _agent(port: int, requests: list[bytes], deadline: float, latencies: list[float],
                 errors: list[str]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        errors.append(f"connect: {exc}")
        return
    try:
        for request in requests:
            if time.perf_counter() >= deadline:
                return
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            code = await answer_status(reader)
            latencies.append(time.perf_counter() - start)
            if code != 201:
                errors.append(f"status {code}")
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(f"connection: {exc!r}")
    finally:
        writer.close()


def phase(port: int, per_agent: list[list[bytes]], seconds: float) -> dict[str, float]:
    """Run every agent for ``seconds``; figures of the phase."""
    latencies: list[float] = []
    errors: list[str] = []

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(_agent(port, reqs, deadline, latencies, errors) for reqs in per_agent))
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    if errors:
        print(f"  errors: {len(errors)}, e.g. {errors[:3]}", flush=True)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"requests": float(len(latencies)), "errors": float(len(errors)), "per_second": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "p99_ms": q[98] * 1000}


def run_engine(url: str, agents: int, seconds: float, per_agent: int) -> dict[str, dict[str, float]]:
    """Start one server on ``url``'s database; the trivial phase, then the ingest phase."""
    pairs = prepare_agents(url, agents)
    seed = report_bodies(pairs, 1, T0, changed=True)
    reports = report_bodies(pairs, per_agent, T0 + timedelta(days=1), changed=True)
    by_agent: dict[str, list[bytes]] = {}
    for key, body in reports:
        by_agent.setdefault(key, []).append(body)
    with bench_server(url, "--backlog", "1024") as port:
        host = f"127.0.0.1:{port}"
        trivial = [[post(host, BENCH_PATH, k, b) for b in bodies] for k, bodies in by_agent.items()]
        ingest = [[post(host, REPORTS, k, b) for b in bodies] for k, bodies in by_agent.items()]
        phase(port, [[post(host, REPORTS, k, b)] for k, b in seed], 60)  # the devices exist
        return {"trivial": phase(port, trivial, seconds), "ingest": phase(port, ingest, seconds)}


def main() -> int:
    """Run the load and print the figures; exit 1 on any error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--agents", type=int, default=200, help="concurrent agents (default 200)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase (default 20)")
    parser.add_argument("--reports", type=int, default=60, help="reports prepared per agent (default 60)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    failed = False
    for name in engines:
        with scratch_database(name, args.postgres) as url:
            results: dict[str, Any] = run_engine(url, args.agents, args.seconds, args.reports)
        for label, r in results.items():
            print(f"{name:10} {label:8} {r['requests']:6.0f} requests, {r['errors']:.0f} errors, "
                  f"{r['per_second']:6.0f} req/s, p50 {r['p50_ms']:6.1f} ms, p95 {r['p95_ms']:6.1f} ms, "
                  f"p99 {r['p99_ms']:6.1f} ms", flush=True)
        t, i = results["trivial"], results["ingest"]
        print(f"{name:10} ingest/trivial: throughput {i['per_second'] / t['per_second']:.0%}, "
              f"p50 {i['p50_ms'] / t['p50_ms']:.2f}x, p99 {i['p99_ms'] / t['p99_ms']:.2f}x", flush=True)
        failed = failed or bool(t["errors"] or i["errors"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
