"""First-report throughput: what a fleet's enrolment day costs, against a routine report, in the same run.

    .venv/bin/python bench/first_report.py [--engine sqlite|postgresql|both] [--agents N] [--rounds R]

A machine's first report creates its device (with its first version), its monitor's device and the first
observation with its monitor sighting; a routine report only counts itself on an existing device. For each
engine, one server process (``bench.ingest:bench_app``: the real app plus the trivial ``/bench/validate``
route) receives, over ``rounds`` interleaved rounds, each round for its own slice of freshly enrolled agents:

- ``baseline``: the slice's first reports posted to the trivial endpoint (validated, no database);
- ``first``: the same reports to ``/api/v1/reports``: every one creates a device (desktops also a monitor);
- ``routine``: each of the slice's agents reports again with unchanged facts (new report id and time).

Printed: requests per second of each phase, their ratios to the baseline, and how many routine reports one
first report costs (routine rate / first rate), each the median over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    BENCH_PATH,
    ENROLLED,
    REPORTS,
    T0,
    Target,
    _drop,
    _free_port,
    _postgres_target,
    _request,
    _wait,
    measure,
)

UNITS = 10


def _enrol(url: str, agents: int) -> list[tuple[str, Any]]:
    """``agents`` simulated PCs in ``UNITS`` units, each enrolled with a real token: [(key, pc)]."""
    from server.db import open_database, writing
    from server.demo import fleet
    from server.models import OrgUnit
    from server.services.enrolment import create_token, enroll
    from server.services.records import save_unit
    from shared.protocol import EnrollRequest

    engine = open_database(url)
    codes = [f"FR{n:02d}" for n in range(UNITS)]
    tokens: dict[str, str] = {}
    with writing(engine) as session:
        for code in codes:
            save_unit(session, OrgUnit(code=code, name=code, kind="other"), ENROLLED - timedelta(days=1))
    with writing(engine) as session:
        for code in codes:
            tokens[code] = create_token(session, code, days=1, actor="bench", now=ENROLLED)[0]
    pairs = []
    for n in range(agents):
        pc = fleet.simulated_pc(n, seed=11, unit_code=codes[n % UNITS])
        with writing(engine) as session:
            response = enroll(session, EnrollRequest(token=tokens[pc.unit_code], machine_id=pc.machine_id),
                              now=ENROLLED)
        pairs.append((response.agent_key, pc))
    engine.dispose()
    return pairs


def _bodies(port: int, pairs: list[tuple[str, Any]], path: str, *, again: bool) -> list[bytes]:
    from server.demo import fleet

    out = []
    for key, pc in pairs:
        report = fleet.report_at(pc, T0)
        if again:
            report = report.model_copy(update={"report_id": uuid.uuid4(), "collected_at": T0 + timedelta(hours=4)})
        out.append(_request(port, path, key, report.model_dump_json().encode()))
    return out


def run_engine(target: Target, agents: int, connections: int, rounds: int) -> dict[str, float]:
    """Enrol, start the server on ``target`` and measure the three phases over ``rounds`` slices of agents."""
    pairs = _enrol(target.url, agents)
    size = len(pairs) // rounds
    port = _free_port()
    samples: dict[str, list[float]] = {"baseline": [], "first": [], "routine": []}
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "KIEMKE_DATABASE_URL": target.url, "KIEMKE_DATA_DIR": data_dir, "KIEMKE_ENV": "test"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bench.ingest:bench_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )
        try:
            _wait(port)
            for r in range(rounds):
                chunk = pairs[r * size:(r + 1) * size]
                samples["baseline"].append(measure(port, _bodies(port, chunk, BENCH_PATH, again=False),
                                                   connections, 201))
                samples["first"].append(measure(port, _bodies(port, chunk, REPORTS, again=False), connections, 201))
                samples["routine"].append(measure(port, _bodies(port, chunk, REPORTS, again=True), connections, 201))
        finally:
            server.terminate()
            server.wait(timeout=30)
    results = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("first", "routine"):
        results[f"{name}_ratio"] = statistics.median(
            x / b for x, b in zip(samples[name], samples["baseline"], strict=True))
    results["first_cost"] = statistics.median(
        r / f for r, f in zip(samples["routine"], samples["first"], strict=True))
    results["reports_per_phase"] = float(size * rounds)
    return results


def main() -> int:
    """Run the benchmark and print one line per engine."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--agents", type=int, default=1500, help="agents enrolled, each sends one first report")
    parser.add_argument("--connections", type=int, default=32, help="concurrent agents' connections (default 32)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, each its own agents (default 5)")
    parser.add_argument("--postgres", default=os.environ.get("KIEMKE_TEST_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results: dict[str, dict[str, float]] = {}
    for name in engines:
        if name == "sqlite":
            tmp = tempfile.mkdtemp(prefix="kiemke-bench-")
            target = Target("sqlite", f"sqlite:///{tmp}/kiemke.db", remove=tmp)
        else:
            target = _postgres_target(args.postgres)
        try:
            results[name] = run_engine(target, args.agents, args.connections, args.rounds)
        finally:
            if target.drop:
                _drop(args.postgres, target.drop)
            if target.remove:
                shutil.rmtree(target.remove, ignore_errors=True)
        r = results[name]
        print(f"{name:10} baseline {r['baseline']:7.0f} req/s | first {r['first']:7.0f} req/s "
              f"({r['first_ratio']:.0%}) | routine {r['routine']:7.0f} req/s ({r['routine_ratio']:.0%}) | "
              f"a first report costs {r['first_cost']:.1f} routine ones", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
