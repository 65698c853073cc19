"""How cost grows with the fleet: 1,000, 10,000 and 100,000 devices with a year of history each, on SQLite.

    .venv/bin/python bench/growth.py [--sizes 1000 10000 100000] [--history 12] [--out FILE]

For each size, a SQLite database is filled in bulk through ``bench/figures_scale.fill_database`` (the 91-unit
district, 70% agent computers, ``--history`` monthly observations each over the year before the cut-off;
building it through HTTP would take hours on this machine), then, in the same run:

- ingest: ``services.ingest.ingest`` of 300 changed reports for existing devices (one transaction per 50);
- figures: ``history.snapshot`` + ``coverage_for`` as of the cut-off (the console's overview and ``figures``);
- report: ``make_report`` as of the cut-off, rendered as Markdown and JSON;
- database size, after a checkpoint.

Times are CPU seconds of this process (SQLite runs in it), the best of a few runs, so other jobs on a shared
machine do not decide the ratios. Target: each step at 100k at most 12x its time at 10k (linear or better).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures_scale import AS_OF, SEEN, best_of, fill_database  # noqa: E402

INGESTED = 300


def ingest_seconds(url: str) -> float:
    """CPU seconds to ingest ``INGESTED`` changed reports of existing agent computers."""
    import sqlalchemy as sa

    from server.db import open_database, writer
    from server.demo import fleet
    from server.models import Device, table_of
    from server.services.ingest import Delivery, ingest
    from shared.schema import Peripherals

    engine = open_database(url)
    c = table_of(Device).c
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(c.machine_id, c.unit_id).where(c.machine_id.is_not(None))
                                 .order_by(c.id).limit(INGESTED)))
    at = SEEN + timedelta(hours=2)
    reports = [fleet.report_at(fleet.simulated_pc(i), at).model_copy(
        update={"machine_id": machine_id, "peripherals": Peripherals()}) for i, (machine_id, _) in enumerate(rows)]
    gc.collect()
    start = time.process_time()
    for begin in range(0, len(reports), 50):
        with writer(engine).begin() as conn:
            for report, (_, unit_id) in zip(reports[begin:begin + 50], rows[begin:begin + 50], strict=True):
                ingest(conn, report, Delivery(via="import", unit_id=unit_id, imported_by="bench"),
                       now=at + timedelta(minutes=1))
    spent = time.process_time() - start
    engine.dispose()
    return spent


def figures_and_report(url: str) -> tuple[float, float, int]:
    """CPU seconds for the figures and for the report as of the cut-off, and the devices seen."""
    from server.db import open_database, reading
    from server.report import render
    from server.report.generate import ReportRequest, make_report
    from server.services.figures import figures_as_of
    from server.services.policy import Policy

    engine = open_database(url)
    seen: list[int] = []

    def figures() -> None:
        with reading(engine) as session:
            snap = figures_as_of(session, AS_OF, policy=Policy()).snapshot
        seen.append(len(snap.devices))

    def report() -> None:
        with reading(engine) as session:
            document = make_report(session, ReportRequest(as_of=AS_OF), Policy())
        render(document, "md")
        render(document, "json")

    figures_s = best_of(2, figures)
    report_s = best_of(2, report)
    engine.dispose()
    return figures_s, report_s, seen[-1]


def size_mb(path: Path) -> float:
    """The SQLite file's size in MB after folding the WAL in."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size / 1e6


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--history", type=int, default=12, help="observations per agent computer (default 12)")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            path = Path(folder) / f"growth-{n}.db"
            url = f"sqlite:///{path}"
            began = time.perf_counter()
            fill_database(url, n, history=args.history)
            filled = time.perf_counter() - began
            figures_s, report_s, seen = figures_and_report(url)
            assert seen == n, f"the snapshot saw {seen} devices, not {n}"
            ingest_s = min(ingest_seconds(url) for _ in range(2))
            results[n] = {"fill_s": filled, "ingest_per_s": INGESTED / ingest_s, "ingest_s": ingest_s,
                          "figures_s": figures_s, "report_s": report_s, "size_mb": size_mb(path)}
            r = results[n]
            print(f"{n:>7} devices: built in {filled:.0f} s | ingest {r['ingest_per_s']:.0f} reports/s CPU | figures "
                  f"{figures_s:.2f} s | report {report_s:.2f} s | {r['size_mb']:.0f} MB", flush=True)
    lines = [f"growth: {args.history} observations a year per agent computer, as of {AS_OF}, SQLite, CPU seconds",
             "", "| devices | ingest (reports/s) | figures | report (md + json) | database |", "|---|---|---|---|---|"]
    for n, r in results.items():
        lines.append(f"| {n:,} | {r['ingest_per_s']:.0f} | {r['figures_s']:.2f} s | {r['report_s']:.2f} s | "
                     f"{r['size_mb']:.0f} MB |")
    ok = True
    sizes = sorted(results)
    for small, large in itertools.pairwise(sizes):
        a, b = results[small], results[large]
        ratios = {"ingest time per report": b["ingest_s"] / a["ingest_s"], "figures": b["figures_s"] / a["figures_s"],
                  "report": b["report_s"] / a["report_s"], "database size": b["size_mb"] / a["size_mb"]}
        limit = 1.2 * large / small
        ok = ok and all(v <= limit for v in ratios.values())
        lines.append("")
        lines.append(f"{large:,} vs {small:,} (target <= {limit:.0f}x): " +
                     ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
