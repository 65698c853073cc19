"""The console at scale: pages against the health endpoint of the same server, in the same run.

    .venv/bin/python bench/console.py [--devices 100000] [--runs 20] [--engine sqlite|postgresql|both] [--out FILE]

A SQLite database, and a PostgreSQL one made for the run and dropped after it, each hold the 91-unit district
with ``--devices`` devices (inserted in bulk by ``figures_scale.fill_database``, as ingest and the imports would
leave them) and one PC with a year of daily history (365 observations). A real uvicorn process serves each; an
admin signs in over HTTP. The first overview is timed cold (the whole inventory computed); then, warm
(each page asked once before timing), the best of ``--runs`` wall-clock times per request (on a shared machine
a page's few milliseconds of CPU are often cut by other processes' time slices; the best of many is the
page's own cost, as it is for the health endpoint's):

- ``/api/v1/health`` (the baseline), the filtered device list, the device page with a year of history, the
  overview: target <= 5x the health endpoint;
- for what the pages keep (rendered rows, a device's timeline), the same pages not asked before: further
  pages of the list and other devices' pages, each asked once (the best of ``--runs``);
- the XLSX export of the devices aged 5 to 8 years (14,135 rows at 100,000 devices): target <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures_scale import AS_OF, SEEN, fill_database  # noqa: E402

from bench.harness import free_port, publish  # noqa: E402
from server.db import open_database  # noqa: E402
from server.models import Observation, ReceivedReport, table_of  # noqa: E402
from server.services.users import create_user  # noqa: E402

PASSWORD = secrets.token_urlsafe(18)  # a fresh admin for each run


def add_history(url: str, device_id: int, days: int = 365) -> None:
    """A year of daily observations for one PC, each a little different (IP address, signature date)."""
    engine = open_database(url)
    rows, reports = [], []
    for day in range(days):
        when = SEEN - timedelta(days=days - day)
        facts = {"hostname": "PC-HISTORY", "agent_version": "0.1.0",
                 "hardware": {"cpu_model": "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", "ram_bytes": 8 << 30},
                 "os": {"name": "Microsoft Windows 10 Pro", "version": "10.0.19045"},
                 "antivirus": [{"name": "Windows Defender", "enabled": True}],
                 "network": {"interfaces": [{"name": "Ethernet", "ipv4": [f"10.0.{day // 250}.{day % 250 + 1}"],
                                             "mac": "00:11:22:33:44:55"}]}}
        report_id = uuid.uuid4()
        rows.append({"device_id": device_id, "observed_at": when, "received_at": when, "report_id": report_id,
                     "content_hash": uuid.uuid4().hex, "hostname": "PC-HISTORY", "platform": "windows",
                     "chassis": "desktop", "os_name": "Microsoft Windows 10 Pro", "os_version": "10.0.19045",
                     "os_build": "19045", "antivirus": "[]", "facts": json.dumps(facts), "delivered_offline": False})
        reports.append({"report_id": report_id, "device_id": device_id, "collected_at": when, "received_at": when,
                        "via": "http", "signed": True, "stored": True})
    with engine.begin() as conn:
        conn.execute(table_of(Observation).insert(), rows)
        conn.execute(table_of(ReceivedReport).insert(), reports)
    engine.dispose()


def _serve(folder: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KIEMKE_DATA_DIR": str(folder), "KIEMKE_ENV": "development", "KIEMKE_SCHEDULER": "false",
           "KIEMKE_DATABASE_URL": url}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host",
                                "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def _best(client: httpx.Client, path: str, runs: int) -> tuple[float, httpx.Response]:
    response = client.get(path)  # warm: the first request computes and caches the scope
    response.raise_for_status()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return min(times), response


def _first(client: httpx.Client, paths: list[str]) -> float:
    """The best time of asking each of ``paths`` once (none of them asked before)."""
    times = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return min(times)


def _postgres_database(base: str) -> str:
    """A new, empty database on the PostgreSQL server of ``base``: its URL."""
    import sqlalchemy as sa

    name = f"kiemke_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres(base: str, url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.dispose()


LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine sqlite|postgresql|both`` and ``--postgres URL`` (the server the scratch databases go on)."""
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("KIEMKE_TEST_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def on_each_engine(args: argparse.Namespace,
                   measure: Callable[[str, Path], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``measure(url, folder)`` on a scratch database of each engine asked for (dropped after), by engine."""
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    measured: dict[str, dict[str, Any]] = {}
    for name in engines:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            url = f"sqlite:///{folder / 'kiemke.db'}" if name == "sqlite" else _postgres_database(args.postgres)
            try:
                measured[name] = measure(url, folder)
            finally:
                if name == "postgresql":
                    _drop_postgres(args.postgres, url)
    return measured


def fill_with_admin(url: str, devices: int) -> float:
    """The district with ``devices`` devices, one PC's year of history and the user ``admin``: seconds taken."""
    started = time.perf_counter()
    fill_database(url, devices)
    add_history(url, 1)
    engine = open_database(url)
    create_user(engine, "admin", PASSWORD, "admin", None, actor="bench")
    engine.dispose()
    return time.perf_counter() - started


def measure(url: str, folder: Path, devices: int, runs: int) -> dict[str, Any]:
    """Fill the database at ``url``, serve it, and time the pages warm: seconds per page, plus the export's rows."""
    filled = fill_with_admin(url, devices)
    process, base = _serve(folder, url)
    try:
        with httpx.Client(base_url=base, timeout=600, follow_redirects=False) as client:
            form = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None
            signed = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                                 "csrf": csrf.group(1), "next": "/"})
            assert signed.status_code == 303, signed.text
            day = f"as_of={AS_OF.isoformat()}"
            first = time.perf_counter()
            client.get(f"/?{day}").raise_for_status()
            cold = time.perf_counter() - first
            health, _ = _best(client, "/api/v1/health", runs * 4)
            pages = {
                "device list, filtered (desktops in use with a problem, sorted by age)":
                    f"/devices?{day}&kind=desktop&status=in_use&issue=any&sort=age&dir=desc",
                "device page with a year of history": f"/devices/1?{day}",
                "overview": f"/?{day}",
            }
            results = {name: _best(client, path, runs)[0] for name, path in pages.items()}
            # What the kept renderings do not cover: pages of the list and devices nobody has opened yet.
            unseen = {
                "device list, a page not shown before":
                    [f"{pages[next(iter(pages))]}&page={n}" for n in range(2, runs + 2)],
                "device page, a device not opened before": [f"/devices/{n}?{day}" for n in range(2, runs + 2)],
            }
            results.update({name: _first(client, paths) for name, paths in unseen.items()})
            export, _ = _best(client, f"/devices.xlsx?{day}&age=5-8", max(1, min(5, runs // 4)))
            count = re.search(r"(\d[\d.]*) thiết bị", client.get(f"/devices?{day}&age=5-8").text)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"filled": filled, "cold": cold, "health": health, "pages": results, "export": export,
            "rows": count.group(1) if count else "?"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page, the best kept (default 20)")
    engine_arguments(parser)
    parser.add_argument("--out", type=Path, help="also append the results as Markdown")
    args = parser.parse_args()
    measured = on_each_engine(args, lambda url, folder: measure(url, folder, args.devices, args.runs))
    labels = LABELS
    lines = [f"bench/console.py: {args.devices:,} devices, best of {args.runs} warm requests "
             + "; ".join(f"{labels[n]}: filled in {m['filled']:.0f} s, first overview (cold) {m['cold']:.1f} s"
                         for n, m in measured.items()), "",
             "| what | " + " | ".join(f"{labels[n]} time | vs health" for n in measured) + " |",
             "|---|" + "---|---|" * len(measured)]
    lines.append("| `/api/v1/health` (baseline) | " + " | ".join(
        f"{m['health'] * 1000:.1f} ms | 1.0x" for m in measured.values()) + " |")
    first = next(iter(measured.values()))
    for page in first["pages"]:
        lines.append(f"| {page} | " + " | ".join(
            f"{m['pages'][page] * 1000:.1f} ms | {m['pages'][page] / m['health']:.1f}x" for m in measured.values())
            + " |")
    lines.append(f"| XLSX export of {first['rows']} rows (target <= 3 s) | " + " | ".join(
        f"{m['export']:.2f} s | " for m in measured.values()) + " |")
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
