"""Ingest throughput: one uvicorn server process, many concurrent simulated agents on loopback.

    .venv/bin/python bench/ingest.py [--engine sqlite|postgresql|both] [--requests N] [--connections C]

For each engine, one server process (the real app from ``server.main.create_app`` plus one extra route)
receives, in the same run:

- ``baseline``: ``POST /bench/validate``, a trivial endpoint on the same stack: bearer header required, body
  read under the same size limit and validated as an ``InventoryReport``, no database;
- ``unchanged``: real reports whose facts equal the device's last observation (new report id and time only);
- ``changed``: real reports whose facts differ (fresh antivirus signatures), so each adds an Observation.

Targets: unchanged >= 50% and changed >= 30% of the baseline's requests per second. The client is a minimal
asyncio HTTP/1.1 keep-alive client so that it, not the server, costs as little as possible; it shares the
machine with the server, equally for every phase. Results go to stdout (and ``--out`` as Markdown).
"""

import argparse
import asyncio
import json
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
    bench_server,
    post,
    prepare_agents,
    report_bodies,
    scratch_database,
    send_queue,
)


def bench_app() -> Any:
    """The server's app plus the baseline route (``uvicorn --factory bench.ingest:bench_app``)."""
    # No "from __future__ import annotations" in this file: FastAPI reads the route's annotations as objects.
    from fastapi import HTTPException, Request, status

    from server.api.body import read_limited
    from server.main import create_app
    from server.services.validation import InvalidReport, report_from_json
    from shared.protocol import IngestResponse

    app = create_app()
    limit = app.state.settings.max_report_bytes

    @app.post(BENCH_PATH, status_code=201)
    async def validate_only(request: Request) -> IngestResponse:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing agent key")
        try:
            report = report_from_json(await read_limited(request, limit))
        except InvalidReport as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
        return IngestResponse(status="accepted", report_id=report.report_id)

    return app


# --- the client -------------------------------------------------------------------------------------------


async def _run(port: int, requests: list[bytes], connections: int) -> tuple[float, list[int]]:
    queue = list(reversed(requests))
    statuses: list[int] = []
    start = time.perf_counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await send_queue(reader, writer, queue, statuses)

    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start, statuses


def measure(port: int, requests: list[bytes], connections: int, expect: int) -> float:
    """Requests per second over the whole list; every answer must be ``expect``."""
    elapsed, statuses = asyncio.run(_run(port, requests, connections))
    wrong = [s for s in statuses if s != expect]
    if wrong or len(statuses) != len(requests):
        raise SystemExit(f"unexpected answers: {len(wrong)} not {expect}, e.g. {wrong[:5]}")
    return len(requests) / elapsed


def run_engine(url: str, requests: int, connections: int, agents: int, rounds: int) -> dict[str, float]:
    """Start the server on ``url``'s database and measure the three phases, interleaved over ``rounds`` rounds.

    The machine may be shared: interleaving the phases and taking the median of each round's ratio keeps a
    burst of someone else's work from landing on one phase only.
    """
    pairs = prepare_agents(url, agents)
    per_round = max(1, requests // (len(pairs) * rounds))
    seed = report_bodies(pairs, 1, T0, changed=True)
    samples: dict[str, list[float]] = {"baseline": [], "unchanged": [], "changed": []}
    with bench_server(url) as port:
        host = f"127.0.0.1:{port}"
        measure(port, [post(host, REPORTS, k, b) for k, b in seed], connections, 201)  # the devices exist
        for r in range(rounds):
            start = T0 + timedelta(days=1 + r)
            unchanged = report_bodies(pairs, per_round, start, changed=False, base=T0)
            changed = report_bodies(pairs, per_round, start + timedelta(hours=12), changed=True)
            samples["baseline"].append(measure(port, [post(host, BENCH_PATH, k, b) for k, b in changed],
                                               connections, 201))
            samples["unchanged"].append(measure(port, [post(host, REPORTS, k, b) for k, b in unchanged],
                                                connections, 201))
            samples["changed"].append(measure(port, [post(host, REPORTS, k, b) for k, b in changed],
                                              connections, 201))
    results = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("unchanged", "changed"):
        ratios = [x / b for x, b in zip(samples[name], samples["baseline"], strict=True)]
        results[f"{name}_ratio"] = statistics.median(ratios)
    results["reports_per_phase"] = float(per_round * len(pairs) * rounds)
    return results


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=4500, help="reports per phase (default 4500)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent agents' connections (default 32)")
    parser.add_argument("--agents", type=int, default=300, help="distinct enrolled agents (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the three phases (default 5)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    all_results: dict[str, dict[str, float]] = {}
    for name in engines:
        with scratch_database(name, args.postgres) as url:
            all_results[name] = run_engine(url, args.requests, args.connections, args.agents, args.rounds)
        r = all_results[name]
        print(f"{name:10} baseline {r['baseline']:7.0f} req/s | unchanged {r['unchanged']:7.0f} req/s "
              f"({r['unchanged_ratio']:.0%}, target >= 50%) | changed {r['changed']:7.0f} req/s "
              f"({r['changed_ratio']:.0%}, target >= 30%)", flush=True)
    if args.out:
        args.out.write_text(json.dumps(all_results, indent=2) + "\n")
    ok = all(r["unchanged_ratio"] >= 0.5 and r["changed_ratio"] >= 0.3 for r in all_results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
