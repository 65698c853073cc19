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
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PATH = "/bench/validate"
REPORTS = "/api/v1/reports"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
ENROLLED = T0 - timedelta(days=1)


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


def _request(port: int, path: str, key: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _connection(port: int, queue: list[bytes], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            writer.write(queue.pop())
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def _run(port: int, requests: list[bytes], connections: int) -> tuple[float, list[int]]:
    queue = list(reversed(requests))
    statuses: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, statuses) for _ in range(connections)))
    return time.perf_counter() - start, statuses


def measure(port: int, requests: list[bytes], connections: int, expect: int) -> float:
    """Requests per second over the whole list; every answer must be ``expect``."""
    elapsed, statuses = asyncio.run(_run(port, requests, connections))
    wrong = [s for s in statuses if s != expect]
    if wrong or len(statuses) != len(requests):
        raise SystemExit(f"unexpected answers: {len(wrong)} not {expect}, e.g. {wrong[:5]}")
    return len(requests) / elapsed


# --- set-up -----------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Target:
    """A database to run against and how to clean it up."""

    name: str
    url: str
    drop: str | None = None  # PostgreSQL database to drop afterwards
    remove: str | None = None  # SQLite directory to remove afterwards


def _postgres_target(base: str) -> Target:
    import sqlalchemy as sa

    name = f"kiemke_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return Target("postgresql", base.rsplit("/", 1)[0] + f"/{name}", drop=name)


def _drop(base: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _prepare(url: str, agents: int) -> list[tuple[str, Any]]:
    """Units, enrolled agents, and each agent's PC from the demo fleet: [(key, simulated pc)]."""
    from server.db import open_database, writing
    from server.demo import fleet
    from server.models import OrgUnit
    from server.services.enrolment import create_token, enroll
    from server.services.records import save_unit, unit_by_code
    from shared.protocol import EnrollRequest

    engine = open_database(url)
    pcs = fleet.fleet()[:agents]
    with writing(engine) as session:
        for code in sorted({pc.unit_code for pc in pcs}):
            save_unit(session, OrgUnit(code=code, name=code, kind="other"), T0 - timedelta(days=1))
    pairs = []
    tokens: dict[str, str] = {}
    for pc in pcs:
        with writing(engine) as session:
            if pc.unit_code not in tokens:
                assert unit_by_code(session, pc.unit_code) is not None
                tokens[pc.unit_code] = create_token(session, pc.unit_code, days=1, actor="bench", now=ENROLLED)[0]
            # Enrolled before the reports' times: the server believes no report collected before enrolment.
            response = enroll(session, EnrollRequest(token=tokens[pc.unit_code], machine_id=pc.machine_id),
                              now=ENROLLED)
        pairs.append((response.agent_key, pc))
    engine.dispose()
    return pairs


def _bodies(pairs: list[tuple[str, Any]], rounds: int, start: datetime, *, changed: bool,
            base: datetime = T0) -> list[tuple[str, bytes]]:
    """Report bodies: ``changed`` ones carry fresh antivirus signatures; the others repeat the facts of the
    report made at ``base`` with a new report id and time."""
    from server.demo import fleet

    out = []
    for r in range(rounds):
        at = start + timedelta(minutes=r)
        for key, pc in pairs:
            if changed:
                report = fleet.report_at(pc, at)
            else:
                report = fleet.report_at(pc, base).model_copy(update={"report_id": uuid.uuid4(), "collected_at": at})
            out.append((key, report.model_dump_json().encode()))
    return out


def run_engine(target: Target, requests: int, connections: int, agents: int, rounds: int) -> dict[str, float]:
    """Start the server on ``target`` and measure the three phases, interleaved over ``rounds`` rounds.

    The machine may be shared: interleaving the phases and taking the median of each round's ratio keeps a
    burst of someone else's work from landing on one phase only.
    """
    pairs = _prepare(target.url, agents)
    per_round = max(1, requests // (len(pairs) * rounds))
    seed = _bodies(pairs, 1, T0, changed=True)
    port = _free_port()
    samples: dict[str, list[float]] = {"baseline": [], "unchanged": [], "changed": []}
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "KIEMKE_DATABASE_URL": target.url, "KIEMKE_DATA_DIR": data_dir, "KIEMKE_ENV": "test"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bench.ingest:bench_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )
        try:
            _wait(port)
            measure(port, [_request(port, REPORTS, k, b) for k, b in seed], connections, 201)  # devices exist
            for r in range(rounds):
                start = T0 + timedelta(days=1 + r)
                unchanged = _bodies(pairs, per_round, start, changed=False, base=T0)
                changed = _bodies(pairs, per_round, start + timedelta(hours=12), changed=True)
                baseline = [_request(port, BENCH_PATH, k, b) for k, b in changed]
                samples["baseline"].append(measure(port, baseline, connections, 201))
                samples["unchanged"].append(measure(port, [_request(port, REPORTS, k, b) for k, b in unchanged],
                                                    connections, 201))
                samples["changed"].append(measure(port, [_request(port, REPORTS, k, b) for k, b in changed],
                                                  connections, 201))
        finally:
            server.terminate()
            server.wait(timeout=30)
    results = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("unchanged", "changed"):
        ratios = [x / b for x, b in zip(samples[name], samples["baseline"], strict=True)]
        results[f"{name}_ratio"] = statistics.median(ratios)
    results["reports_per_phase"] = float(per_round * len(pairs) * rounds)
    return results


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=4500, help="reports per phase (default 4500)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent agents' connections (default 32)")
    parser.add_argument("--agents", type=int, default=300, help="distinct enrolled agents (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the three phases (default 5)")
    parser.add_argument("--postgres", default=os.environ.get("KIEMKE_TEST_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    all_results: dict[str, dict[str, float]] = {}
    for name in engines:
        if name == "sqlite":
            tmp = tempfile.mkdtemp(prefix="kiemke-bench-")
            target = Target("sqlite", f"sqlite:///{tmp}/kiemke.db", remove=tmp)
        else:
            target = _postgres_target(args.postgres)
        try:
            all_results[name] = run_engine(target, args.requests, args.connections, args.agents, args.rounds)
        finally:
            if target.drop:
                _drop(args.postgres, target.drop)
            if target.remove:
                shutil.rmtree(target.remove, ignore_errors=True)
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
