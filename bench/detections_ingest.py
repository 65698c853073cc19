"""What detections cost ingest: changed reports carrying detections against the same reports without any.

    .venv/bin/python bench/detections_ingest.py [--reports 400] [--detections 20] [--engine sqlite|postgresql]

Three fleets of the same size report in turns on one database through ``ingest.receive`` (one transaction per
report, as an import does), every report changing a fact (so each stores an observation): the baseline's carry
an empty, readable history; the steady fleet's carry ``--detections`` Defender detections that do not change
(the usual case: a PC whose history lists old, removed detections); the changing fleet's carry them with one
changing status on every report (the worst case: an event and a detection update per report). Printed: CPU
milliseconds per report of each and the ratios to the baseline (best of three rounds, so other jobs on a
shared machine do not decide them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.db import make_engine, upgrade
from server.services.ingest import Delivery, receive
from tests.server.factories import make_report, make_unit

T0 = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)


def _items(n: int, step: int | None) -> list[dict[str, object]]:
    out = []
    for k in range(n):
        status = "remediated" if step is None or k != step % n or step % 2 else "active"
        out.append({"id": f"{{D-{k}}}", "threat": f"Trojan:Win32/Bench.{k}", "severity": "severe",
                    "detected_at": (T0 - timedelta(days=k)).isoformat(), "status": status, "source": "defender",
                    "resources": [rf"file:_C:\bench\{k}.exe"], "action": "quarantine"})
    return out


def _round(engine: object, unit: int, reports: int, detections: int, offset: int) -> tuple[float, ...]:
    spent = {0: 0.0, 1: 0.0, 2: 0.0}
    for n in range(reports):
        for fleet in (0, 1, 2):
            items = [] if fleet == 0 else _items(detections, n if fleet == 2 else None)
            report = make_report(f"bench-{fleet}-{n % 20}", serial=f"B{fleet}-{n % 20}", hostname=f"h{offset + n}",
                                 collected_at=T0 + timedelta(minutes=offset + n),
                                 detections={"readable": True, "sources": ["defender"], "items": items})
            start = time.process_time()
            assert receive(engine, report, lambda _c: Delivery(unit_id=unit),  # type: ignore[arg-type]
                           now=T0 + timedelta(days=1)).status == "accepted"
            spent[fleet] += time.process_time() - start
    return spent[0] / reports, spent[1] / reports, spent[2] / reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--detections", type=int, default=20)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.engine == "postgresql":
        from tests.server.conftest import new_postgres_database

        context = new_postgres_database()
        url = context.__enter__()
    else:
        folder = tempfile.mkdtemp()
        url = f"sqlite:///{folder}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    unit = make_unit(engine)
    rounds = [_round(engine, unit, args.reports, args.detections, r * args.reports) for r in range(3)]
    plain, steady, changing = (min(r[k] for r in rounds) for k in range(3))
    engine.dispose()
    if args.engine == "postgresql":
        context.__exit__(None, None, None)
    result = {"engine": args.engine, "reports": args.reports, "detections": args.detections,
              "plain_ms": round(plain * 1000, 3), "steady_ms": round(steady * 1000, 3),
              "changing_ms": round(changing * 1000, 3), "steady_ratio": round(steady / plain, 2),
              "changing_ratio": round(changing / plain, 2)}
    print(json.dumps(result) if args.json else
          f"{args.engine}: changed report {result['plain_ms']} ms CPU; with {args.detections} detections, "
          f"unchanged {result['steady_ms']} ms ({result['steady_ratio']}x), one changing "
          f"{result['changing_ms']} ms ({result['changing_ratio']}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
