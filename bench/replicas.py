"""Ingest through nginx (TLS) with one and with two server replicas on PostgreSQL.

    .venv/bin/python bench/replicas.py [--requests N] [--connections C] [--agents A] [--rounds R]

For 1 and then 2 replicas, bench/topology.py starts the deployment of deploy/ (a new PostgreSQL database,
the replicas, nginx with deploy/nginx/kiemke.conf.template terminating TLS with a private CA). The replicas
run the real app plus the trivial endpoint of bench/ingest.py, so each run measures, interleaved over
rounds, through the same proxy and TLS:

- ``baseline``: ``POST /bench/validate`` (bearer header, body read and validated, no database);
- ``ingest``: real reports with changed facts (each adds an Observation).

It prints requests per second, the ratio ingest / baseline of the same run, and how 2 replicas compare
with 1. Every ingested report must be answered 201 and stored once (received rows = reports sent).
The client is an asyncio HTTP/1.1 keep-alive client over TLS on the same machine.
"""

import argparse
import asyncio
import json
import os
import ssl
import statistics
import sys
import tempfile
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
    post,
    prepare_agents,
    report_bodies,
    scratch_postgres,
    send_queue,
)
from bench.topology import topology  # noqa: E402


async def _connection(port: int, context: ssl.SSLContext, queue: list[bytes], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
    await send_queue(reader, writer, queue, statuses)


def measure(port: int, context: ssl.SSLContext, requests: list[bytes], connections: int) -> float:
    """Requests per second over the whole list; every answer must be 201."""

    async def run() -> tuple[float, list[int]]:
        queue = list(reversed(requests))
        statuses: list[int] = []
        start = time.perf_counter()
        await asyncio.gather(*(_connection(port, context, queue, statuses) for _ in range(connections)))
        return time.perf_counter() - start, statuses

    elapsed, statuses = asyncio.run(run())
    wrong = [s for s in statuses if s != 201]
    if wrong or len(statuses) != len(requests):
        raise SystemExit(f"unexpected answers: {len(wrong)} not 201, e.g. {wrong[:5]}")
    return len(requests) / elapsed


def _stored(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT COUNT(*) FROM received_report")).scalar_one())
    engine.dispose()
    return count


def run_replicas(base: str, replicas: int, args: argparse.Namespace) -> dict[str, Any]:
    """One deployment with ``replicas`` replicas: median req/s of each phase and the median ratio."""
    samples: dict[str, list[float]] = {"baseline": [], "ingest": []}
    with scratch_postgres(base) as url, tempfile.TemporaryDirectory() as work:
        pairs = prepare_agents(url, args.agents)
        per_round = max(1, args.requests // (len(pairs) * args.rounds))
        with topology(url, Path(work), replicas, factory="bench.ingest:bench_app", log_requests=False) as topo:
            port = int(topo.url.rsplit(":", 1)[1])
            host = f"127.0.0.1:{port}"
            context = ssl.create_default_context(cafile=str(topo.ca))
            sent = 0
            for r in range(args.rounds):
                bodies = report_bodies(pairs, per_round, T0 + timedelta(days=1 + r), changed=True)
                samples["baseline"].append(measure(port, context, [post(host, BENCH_PATH, k, b) for k, b in bodies],
                                                   args.connections))
                samples["ingest"].append(measure(port, context, [post(host, REPORTS, k, b) for k, b in bodies],
                                                 args.connections))
                sent += len(bodies)
            stored = _stored(url)
    if stored != sent:
        raise SystemExit(f"{sent} reports accepted but {stored} stored")
    ratios = [i / b for i, b in zip(samples["ingest"], samples["baseline"], strict=True)]
    return {"replicas": replicas, "baseline": statistics.median(samples["baseline"]),
            "ingest": statistics.median(samples["ingest"]), "ratio": statistics.median(ratios),
            "reports": sent, "stored": stored}


def main() -> int:
    """Run 1 and 2 replicas and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2400, help="reports per phase (default 2400)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--agents", type=int, default=200, help="distinct enrolled agents (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="deploy 1 then 2 replicas this many times, alternating (default 1)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    results = []
    for _ in range(args.repeat):
        for n in (1, 2):
            load = os.getloadavg()[0]
            r = {**run_replicas(args.postgres, n, args), "load_before": load}
            results.append(r)
            print(f"{r['replicas']} replica(s): baseline {r['baseline']:6.0f} req/s | ingest {r['ingest']:6.0f} req/s "
                  f"({r['ratio']:.0%} of baseline) | {r['reports']} reports sent, {r['stored']} stored "
                  f"| load average before {load:.1f}", flush=True)
    one = statistics.median(r["ingest"] for r in results if r["replicas"] == 1)
    two = statistics.median(r["ingest"] for r in results if r["replicas"] == 2)
    print(f"2 replicas / 1 replica, median ingest: {two / one:.2f}x on {os.cpu_count()} CPUs")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
