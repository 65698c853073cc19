"""The Word report at scale: 100 units against 1,000 (the demo district's shape scaled), and the demo itself.

    .venv/bin/python bench/report_docx.py [--units 100 1000] [--runs 3]

Each district has the demo's mix (per 90 units: 11 departments, 15 communes with one-stop shops, 64 schools)
under one district office, and about eight devices a unit (the demo: about 700 PCs and their peripherals in
91 units), built in memory with ``bench/figures_scale.py``'s fleet. For each size it times, in CPU seconds of
this process (best of ``--runs``), the figures (``coverage_for``), the document (``build_report``) and the
.docx (``render``), and prints the ratio of the largest size to the smallest.

Targets (issue 14): the demo district's .docx (91 units) in <= 3 s; 1,000 units <= 12x the time of 100
(linear: every table is built row by row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures_scale import AS_OF, SEEN, best_of, fleet, licences  # noqa: E402

from server.report import build_report, render  # noqa: E402
from server.services.coverage import coverage_for  # noqa: E402
from server.services.policy import Policy  # noqa: E402
from server.services.state import DeviceState, Snapshot, UnitState  # noqa: E402

DEVICES_PER_UNIT = 8


def district(units: int) -> Snapshot:
    """A district of ``units`` units (one office, the rest in the demo's proportions) and its devices."""
    import random
    from datetime import timedelta

    rng = random.Random(units)
    below = units - 1
    departments, communes = round(below * 11 / 90), round(below * 15 / 90)
    groups = (("PB", "department", departments), ("XA", "commune", communes),
              ("TR", "school", below - departments - communes))
    states = [UnitState("PH", "UBND huyện", "district", None, staff=30, lan=True, wifi=True, wan=True,
                        internet="fibre", one_stop_shop=True)]
    for prefix, kind, count in groups:
        for i in range(1, count + 1):
            states.append(UnitState(
                f"{prefix}{i:04d}", f"{kind} số {i}", kind, "PH",  # type: ignore[arg-type]
                staff=None if rng.random() < 0.05 else rng.randint(5, 40), lan=rng.random() < 0.9,
                wifi=rng.choice((True, False, None)), wan=rng.random() < 0.2,
                internet=rng.choice(("fibre", "fibre", "other", None)), one_stop_shop=kind == "commune",
            ))
    unit_states = tuple(states)
    count = units * DEVICES_PER_UNIT
    devices = []
    for facts in fleet(count, unit_states):
        if "machine_id" in facts:
            facts = {**facts, "has_agent": True, "first_seen": SEEN - timedelta(days=300), "reports_received": 2}
            facts.pop("bios_date")
        devices.append(DeviceState(**facts))
    return Snapshot(AS_OF, unit_states, tuple(devices), licences(count))


def measure(units: int, runs: int) -> dict[str, float]:
    """CPU seconds of each step for a district of ``units`` units."""
    snap = district(units)
    policy = Policy()
    cov = coverage_for(snap, policy)
    document = build_report(cov, snap, "vi")
    size = len(render(document, "docx"))
    return {
        "coverage": best_of(runs, lambda: coverage_for(snap, policy)),
        "document": best_of(runs, lambda: build_report(cov, snap, "vi")),
        "docx": best_of(runs, lambda: render(document, "docx")),
        "bytes": float(size),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, nargs="+", default=[91, 100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for units in args.units:
        r = measure(units, args.runs)
        results[units] = r
        total = r["coverage"] + r["document"] + r["docx"]
        print(f"{units:>5} units, {units * DEVICES_PER_UNIT:>5} devices: figures {r['coverage']:.2f} s, "
              f"document {r['document']:.2f} s, .docx {r['docx']:.2f} s ({r['bytes'] / 1024:.0f} KiB); "
              f"all {total:.2f} s")
    sizes = sorted(u for u in results if u != 91) or sorted(results)
    small, large = sizes[0], sizes[-1]
    if small != large:
        ratio = results[large]["docx"] / results[small]["docx"]
        whole = sum(results[large][k] for k in ("coverage", "document", "docx")) / sum(
            results[small][k] for k in ("coverage", "document", "docx"))
        print(f".docx {large} units / {small} units: {ratio:.1f}x (target <= {12 * large / 1000:.0f}x); "
              f"figures + document + .docx: {whole:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
