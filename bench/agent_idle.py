"""Measure the idle agent daemon: resident memory and CPU between runs (target: < 45 MB, ~0 CPU).

Starts the real server on a loopback port, enrols a real agent, starts ``kiemke-agent run`` with the default
timetable (first collection at once here), waits for that collection to be delivered, then watches the
daemon for ``--seconds`` of idleness with psutil. Prints one JSON object.

    .venv/bin/python -m bench.agent_idle [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.agent.realprocs import Agent, RealServer, wait_for


def measure(seconds: float) -> dict[str, object]:
    """Run the scenario and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = RealServer(root)
        server.start()
        agent = Agent(root / "agent", {"KIEMKE_AGENT_START_WINDOW_SECONDS": "0"})
        daemon = None
        try:
            agent.enroll(server)
            daemon = agent.start("run")
            process = psutil.Process(daemon.pid)
            wait_for(lambda: agent.status()["last_delivery_at"], timeout=120, what="the first delivery")
            wait_for(lambda: not process.children(), timeout=60, what="the collection child to exit")
            time.sleep(1)
            before = process.cpu_times()
            rss_samples = []
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                rss_samples.append(process.memory_info().rss)
                time.sleep(1)
            elapsed = time.monotonic() - start
            after = process.cpu_times()
            cpu = (after.user - before.user) + (after.system - before.system)
            return {
                "platform": f"{platform.system()} {platform.release()} / Python {platform.python_version()}",
                "idle_seconds": round(elapsed, 1),
                "rss_mb_max": round(max(rss_samples) / 2**20, 1),
                "rss_mb_last": round(rss_samples[-1] / 2**20, 1),
                "uss_mb": round(process.memory_full_info().uss / 2**20, 1),
                "cpu_seconds": round(cpu, 3),
                "cpu_percent": round(100 * cpu / elapsed, 3),
                "threads": process.num_threads(),
                "target_rss_mb": 45,
            }
        finally:
            if daemon is not None:
                daemon.send_signal(signal.SIGTERM)
                daemon.communicate(timeout=60)
            server.stop()


def main() -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to watch the idle daemon")
    result = measure(parser.parse_args().seconds)
    print(json.dumps(result, indent=2))
    return 0 if float(result["rss_mb_max"]) < 45 else 1  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
