"""Benchmark: ``kiemke-agent collect --json`` against FusionInventory's inventory of the same fact families.

Both run N times, interleaved, as fresh processes; each run's wall time and peak resident memory come from
``os.wait4`` (the child's own rusage). Prints the medians and the ratios ours/theirs against the targets
(wall <= 0.5x, memory <= 0.6x).

The agent runs as an installed agent would: with its bytecode cached (a warm-up run fills a private cache
folder), and with its connectivity check aimed at a loopback listener the benchmark opens, so no packet
leaves the machine. FusionInventory: ``apt-get install fusioninventory-agent dmidecode`` (Debian/Ubuntu).

    python bench/agent_collect.py [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUSION = "fusioninventory-inventory"
FUSION_ARGS = ["--no-category=software,process,environment,user,local_user,local_group"]
TARGET_WALL = 0.5
TARGET_MEMORY = 0.6


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one run; raises when the command fails."""
    begin = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - begin
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {err.decode(errors='replace')[-400:]}")
    return wall, usage.ru_maxrss / 1024.0  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit 1 when a target is missed, 2 when it cannot run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    fusion = shutil.which(FUSION)
    if sys.platform != "linux":
        print("the benchmark runs on Linux", file=sys.stderr)
        return 2

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener, tempfile.TemporaryDirectory() as cache:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        target = f"127.0.0.1:{listener.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        ours_env = {**env, "PYTHONPYCACHEPREFIX": cache, "PYTHONPATH": str(ROOT)}
        ours = [sys.executable, "-m", "agent", "collect", "--json", "--public-target", target]
        theirs = [fusion, *FUSION_ARGS] if fusion else None
        run_once(ours, ours_env)  # warm-up: fills the bytecode cache, as installing the agent does
        if theirs:
            run_once(theirs, env)
        samples: dict[str, list[tuple[float, float]]] = {"kiemke": [], "fusioninventory": []}
        for _ in range(args.runs):
            samples["kiemke"].append(run_once(ours, ours_env))
            if theirs:
                samples["fusioninventory"].append(run_once(theirs, env))

    figures: dict[str, dict[str, float]] = {}
    for name, runs in samples.items():
        if runs:
            figures[name] = {"wall_s": statistics.median(w for w, _ in runs),
                             "peak_rss_mb": statistics.median(m for _, m in runs), "runs": len(runs)}
    result: dict[str, object] = {"figures": figures, "targets": {"wall": TARGET_WALL, "memory": TARGET_MEMORY}}
    ok = True
    if "fusioninventory" in figures:
        wall = figures["kiemke"]["wall_s"] / figures["fusioninventory"]["wall_s"]
        memory = figures["kiemke"]["peak_rss_mb"] / figures["fusioninventory"]["peak_rss_mb"]
        ok = wall <= TARGET_WALL and memory <= TARGET_MEMORY
        result["ratios"] = {"wall": round(wall, 3), "memory": round(memory, 3), "met": ok}

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'':18}{'median wall':>14}{'median peak RSS':>18}")
        for name, fig in figures.items():
            print(f"{name:18}{fig['wall_s']:>12.3f} s{fig['peak_rss_mb']:>15.1f} MB   ({int(fig['runs'])} runs)")
        if "ratios" in result:
            ratios = result["ratios"]
            assert isinstance(ratios, dict)
            print(f"ratio ours/theirs  wall {ratios['wall']:.2f}x (target <= {TARGET_WALL}x)   "
                  f"memory {ratios['memory']:.2f}x (target <= {TARGET_MEMORY}x)   {'MET' if ok else 'MISSED'}")
        else:
            print(f"{FUSION} not found: apt-get install fusioninventory-agent dmidecode, then run again for ratios")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
