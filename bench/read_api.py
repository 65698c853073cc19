"""The read API at scale: its four endpoints against the health endpoint of the same server, in the same run.

    .venv/bin/python bench/read_api.py [--devices 100000] [--runs 5] [--engine sqlite|postgresql|both] [--out FILE]

The same database as ``bench/console.py`` (the 91-unit district with ``--devices`` devices, one PC with a
year of history), served by a real uvicorn process; an admin's personal API token is made with the service
the console and ``kiemke-server apitoken`` use. Each request is asked once first (warm: the scope is computed
and cached, as the console's pages are), then timed; the best of ``--runs`` wall-clock times is kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from console import LABELS, _best, _serve, engine_arguments, fill_with_admin, on_each_engine  # noqa: E402
from figures_scale import AS_OF  # noqa: E402

from bench.harness import publish  # noqa: E402
from server.clock import utcnow  # noqa: E402
from server.db import open_database, writing  # noqa: E402
from server.services.api_tokens import create_api_token  # noqa: E402

PATHS = {
    "devices, filtered (desktops in use with a problem, by age), 100 a page":
        "/api/v1/devices?{day}&kind=desktop&status=in_use&issue=any&sort=age&dir=desc",
    "devices, 1,000 a page": "/api/v1/devices?{day}&size=1000",
    "one device": "/api/v1/devices/1?{day}",
    "units with their subtree figures": "/api/v1/units?{day}&figures=true",
    "figures": "/api/v1/figures?{day}",
    "figures without item lists": "/api/v1/figures?{day}&items=false",
}


def measure(url: str, folder: Path, devices: int, runs: int) -> dict[str, Any]:
    """Fill the database at ``url``, serve it, and time each endpoint warm (seconds), with health's time."""
    started = time.perf_counter()
    fill_with_admin(url, devices)
    engine = open_database(url)
    with writing(engine) as session:
        secret, _ = create_api_token(session, "admin", "bench", days=1, actor="bench", now=utcnow())
    engine.dispose()
    filled = time.perf_counter() - started
    process, base = _serve(folder, url)
    try:
        with httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {secret}"}) as client:
            day = f"as_of={AS_OF.isoformat()}"
            health, _ = _best(client, "/api/v1/health", runs * 4)
            results = {name: _best(client, path.format(day=day), runs)[0] for name, path in PATHS.items()}
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"filled": filled, "health": health, "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    engine_arguments(parser)
    parser.add_argument("--out", type=Path, help="also append the results as Markdown")
    args = parser.parse_args()
    measured = on_each_engine(args, lambda url, folder: measure(url, folder, args.devices, args.runs))
    labels = LABELS
    lines = [f"bench/read_api.py: {args.devices:,} devices, best of {args.runs} warm requests; "
             + "; ".join(f"{labels[n]}: database filled in {m['filled']:.0f} s" for n, m in measured.items()), "",
             "| what | " + " | ".join(f"{labels[n]} time | vs health" for n in measured) + " |",
             "|---|" + "---|---|" * len(measured),
             "| `/api/v1/health` (baseline) | " + " | ".join(
                 f"{m['health'] * 1000:.1f} ms | 1.0x" for m in measured.values()) + " |"]
    for name in PATHS:
        lines.append(f"| {name} | " + " | ".join(
            f"{m['results'][name] * 1000:.1f} ms | {m['results'][name] / m['health']:.1f}x"
            for m in measured.values()) + " |")
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
