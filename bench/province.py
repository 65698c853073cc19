"""A province on one server: 15,000 simulated agents reporting through the real HTTP API.

    .venv/bin/python bench/province.py [--agents 15000] [--engine sqlite|postgresql|both] [--workers 16]

For each engine, one uvicorn server process (the real app plus the trivial ``/bench/validate`` route of
``bench/ingest.py``) and, in the same run, the fleet simulator (``server/simulate``) as the client:

1. enrolment of every agent over HTTP with real tokens (not timed);
2. ``ceiling``: every agent posts its report to the trivial endpoint (bearer header, body read and validated,
   no database): what this machine's HTTP stack and client can carry at all;
3. ``first``: every agent posts its first report to ``/api/v1/reports`` (each creates a device and its monitor);
4. ``province``: every agent reports again, as fast as the server takes them: the steady state of a province,
   its 4-hour reporting interval compressed into this phase's seconds (see the printed figure).

Reported: throughput, p50/p99 latency, errors, the ratio to the ceiling, and the check that nothing is
lost or doubled (accepted equals the rows stored, and every agent's report was answered).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_PATH, DEFAULT_POSTGRES, bench_server, scratch_database  # noqa: E402


def _units_and_tokens(url: str, units: int) -> list[str]:
    """A district of ``units`` units and one enrolment token each."""
    from datetime import timedelta

    from server.clock import utcnow
    from server.db import open_database, writing
    from server.models import OrgUnit
    from server.services.enrolment import create_token
    from server.services.records import save_unit

    engine = open_database(url)
    at = utcnow() - timedelta(days=1)
    with writing(engine) as session:
        root = OrgUnit(code="TINH", name="province", kind="district")
        save_unit(session, root, at)
        for i in range(units):
            save_unit(session, OrgUnit(code=f"U{i:03d}", name=f"unit {i}", kind="commune", parent_id=root.id), at)
    with writing(engine) as session:
        tokens = [create_token(session, f"U{i:03d}", days=1, actor="bench")[0] for i in range(units)]
    engine.dispose()
    return tokens


def _stored(url: str) -> int:
    import sqlalchemy as sa

    from server.models import ReceivedReport, table_of

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(table_of(ReceivedReport))).scalar_one())
    engine.dispose()
    return count


def run_engine(engine: str, url: str, agents: int, workers: int) -> dict[str, Any]:
    """Enrol, then the ceiling and the province phases against one server on ``url``'s database."""
    from server.db import open_database
    from server.simulate.runner import Plan, Simulator
    from server.simulate.state import SimulatorState

    open_database(url).dispose()  # create the schema before the server starts
    tokens = _units_and_tokens(url, 120)
    out: dict[str, Any] = {}
    with bench_server(url) as port:
        base = f"http://127.0.0.1:{port}"
        state = SimulatorState(server=base, seed=11)
        state.grow(agents)
        plan = Plan(interval=0, workers=workers, resend_rate=0.0, rates=_steady())
        Simulator(base, state.agents, plan).enrol(tokens)
        enrolled = sum(1 for a in state.agents if a.agent_key)
        ceiling = Simulator(base, state.agents, plan, reports_path=BENCH_PATH, seed=1).run()
        first = Simulator(base, state.agents, plan, seed=2).run()
        province = Simulator(base, state.agents, plan, seed=3).run()
    stored = _stored(url)
    answered = all(run.accepted == run.sent == enrolled for run in (first, province))
    out = {"engine": engine, "agents": agents, "enrolled": enrolled, "ceiling": asdict(ceiling),
           "first": asdict(first), "province": asdict(province), "stored": stored,
           "ratio": province.throughput / ceiling.throughput if ceiling.throughput else 0.0,
           "first_ratio": first.throughput / ceiling.throughput if ceiling.throughput else 0.0,
           "lost_or_doubled": stored != first.accepted + province.accepted or not answered}
    return out


def _steady() -> Any:
    """No machine switched off or retired during the benchmark: every enrolled agent sends one report."""
    from server.simulate.drift import DriftRates

    return DriftRates(goes_offline=0.0, retired=0.0)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=15_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=16, help="the simulator's concurrent requests (default 16)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results = []
    for name in engines:
        with scratch_database(name, args.postgres) as url:
            r = run_engine(name, url, args.agents, args.workers)
        results.append(r)
        p, c, f = r["province"], r["ceiling"], r["first"]
        print(f"{name:10} {r['agents']} agents ({r['enrolled']} enrolled): ceiling {c['throughput']:.0f}/s | "
              f"first reports {f['throughput']:.0f}/s ({r['first_ratio']:.0%}), p50 {f['p50_ms']} ms, "
              f"p99 {f['p99_ms']} ms | "
              f"province {p['throughput']:.0f}/s ({r['ratio']:.0%} of ceiling), p50 {p['p50_ms']} ms, "
              f"p99 {p['p99_ms']} ms | accepted {f['accepted']}+{p['accepted']} stored {r['stored']}"
              f" refused {p['refused']} "
              f"errors {p['errors']} | 4 h compressed into {p['seconds']:.0f} s "
              f"({4 * 3600 / p['seconds']:.0f}x) | lost or doubled: {r['lost_or_doubled']}", flush=True)
    if args.out:
        import json

        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if not any(r["lost_or_doubled"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
