"""The alert rules against the figures over the same snapshot, at 10,000 and 100,000 devices.

    .venv/bin/python bench/alerts_rules.py [--sizes 10000 100000] [--json]

The scheduled evaluation judges every computer with the figures' own functions (``check_computer``, one seat
allotment by ``assess_licences``), so it should cost about what ``coverage_for`` costs on the same in-memory
``Snapshot`` (``figures_scale.memory_snapshot``: the 91-unit district with a realistic mix), and grow linearly.

Targets: rules <= 1.5x the figures at each size; 100k under 11x the 10k time. CPU seconds, best of three.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures_scale import best_of, memory_snapshot  # noqa: E402
from server.alerts.rules import district_conditions  # noqa: E402
from server.services.coverage import coverage_for  # noqa: E402
from server.services.policy import Policy  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    policy = Policy()
    rows = []
    for size in args.sizes:
        snap = memory_snapshot(size)
        figures = best_of(3, lambda snap=snap: coverage_for(snap, policy))
        rules = best_of(3, lambda snap=snap: district_conditions(snap, policy, ()))
        found = len(district_conditions(snap, policy, ()))
        rows.append({"devices": size, "figures_s": round(figures, 3), "rules_s": round(rules, 3),
                     "rules_vs_figures": round(rules / figures, 2), "conditions": found})
    scale = round(rows[-1]["rules_s"] / rows[0]["rules_s"], 2) if len(rows) > 1 else None
    if args.json:
        print(json.dumps({"rows": rows, "scale": scale}, indent=2))
    else:
        for row in rows:
            print(f"{row['devices']:>7} devices: figures {row['figures_s']:.3f} s, rules {row['rules_s']:.3f} s "
                  f"({row['rules_vs_figures']}x), {row['conditions']} conditions")
        if scale is not None:
            print(f"rules {rows[-1]['devices']} / {rows[0]['devices']}: {scale}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
