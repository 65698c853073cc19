"""The console at scale: pages against the health endpoint of the same server, in the same run.

    .venv/bin/python bench/console.py [--devices 100000] [--runs 5] [--out FILE]

A SQLite database holds the 91-unit district with ``--devices`` devices (inserted in bulk by
``figures_scale.fill_database``, as ingest and the imports would leave them) and one PC with a year of daily
history (365 observations). A real uvicorn process serves it; an admin signs in over HTTP. Measured, warm
(each page asked once before timing), the best of ``--runs`` wall-clock times per request:

- ``/api/v1/health`` (the baseline), the filtered device list, the device page with a year of history, the
  overview: target <= 5x the health endpoint;
- the XLSX export of about 10,000 rows (a filter picks them): target <= 3 s.
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
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures_scale import AS_OF, SEEN, fill_database  # noqa: E402

from bench.harness import free_port  # noqa: E402
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


def _serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KIEMKE_DATA_DIR": str(folder), "KIEMKE_ENV": "development", "KIEMKE_SCHEDULER": "false"}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also append the results as Markdown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'kiemke.db'}"
        started = time.perf_counter()
        fill_database(url, args.devices)
        add_history(url, 1)
        engine = open_database(url)
        create_user(engine, "admin", PASSWORD, "admin", None, actor="bench")
        engine.dispose()
        filled = time.perf_counter() - started
        process, base = _serve(folder)
        try:
            with httpx.Client(base_url=base, timeout=600, follow_redirects=False) as client:
                form = client.get("/login").text
                csrf = re.search(r'name="csrf" value="([^"]+)"', form)
                assert csrf is not None
                signed = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                                     "csrf": csrf.group(1), "next": "/"})
                assert signed.status_code == 303, signed.text
                day = f"as_of={AS_OF.isoformat()}"
                health, _ = _best(client, "/api/v1/health", args.runs * 4)
                pages = {
                    "device list, filtered (desktops in use with a problem, sorted by age)":
                        f"/devices?{day}&kind=desktop&status=in_use&issue=any&sort=age&dir=desc",
                    "device page with a year of history": f"/devices/1?{day}",
                    "overview": f"/?{day}",
                }
                results = {name: _best(client, path, args.runs)[0] for name, path in pages.items()}
                export_path = f"/devices.xlsx?{day}&kind=desktop&age=5-8"
                export, _ = _best(client, export_path, max(1, args.runs // 2))
                count = re.search(r"(\d[\d.]*) thiết bị", client.get(f"/devices?{day}&kind=desktop&age=5-8").text)
        finally:
            process.terminate()
            process.wait(timeout=30)
    lines = [f"bench/console.py: {args.devices:,} devices, SQLite, best of {args.runs} warm requests "
             f"(database filled in {filled:.0f} s)", "",
             "| what | time | vs health |", "|---|---|---|",
             f"| `/api/v1/health` (baseline) | {health * 1000:.1f} ms | 1.0x |"]
    for name, seconds in results.items():
        lines.append(f"| {name} | {seconds * 1000:.1f} ms | {seconds / health:.1f}x |")
    exported = count.group(1) if count else "?"
    lines.append(f"| XLSX export of {exported} rows | {export:.2f} s | (target <= 3 s) |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
