"""The device page with a year of history, against the health endpoint, in-process and over a real uvicorn.

    .venv/bin/python bench/device_page.py [--devices 20000] [--runs 50] [--engine sqlite|postgresql|both]
                                          [--keep DIR] [--profile]

The database is the one of ``bench/console.py`` (``fill_database`` plus one PC, device 1, with 365 daily
observations). ``--keep DIR`` keeps the SQLite file (and names the PostgreSQL database after the size) so a
second run reuses them instead of filling again. Times are the best of ``--runs`` warm requests (each page asked
once first). ``--profile`` prints the in-process yappi CPU profile of the device page's warm requests (per
request: total, own time, calls; ``PROFILE_LINES`` lines).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from console import _best, _serve, add_history  # noqa: E402
from figures_scale import AS_OF, fill_database  # noqa: E402

from bench.harness import DEFAULT_POSTGRES  # noqa: E402
from server.db import open_database  # noqa: E402
from server.services.users import create_user  # noqa: E402

PASSWORD = "bench-device-page"  # noqa: S105 - a scratch database's admin, the same on every run that reuses it
PAGE = f"/devices/1?as_of={AS_OF.isoformat()}"


def _fill(url: str, devices: int) -> None:
    fill_database(url, devices)
    add_history(url, 1)
    engine = open_database(url)
    create_user(engine, "admin", PASSWORD, "admin", None, actor="bench")
    engine.dispose()


def _postgres(base: str, name: str) -> tuple[str, bool]:
    """The URL of database ``name`` next to ``base``'s, and whether it had to be made."""
    import sqlalchemy as sa

    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}", not exists


def _sign_in(get: Callable[[str], httpx.Response], post: Callable[..., httpx.Response]) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', get("/login").text)
    assert csrf is not None
    signed = post("/login", data={"username": "admin", "password": PASSWORD, "csrf": csrf.group(1), "next": "/"})
    assert signed.status_code == 303, signed.text


def _profile(request: Callable[[], object], runs: int) -> None:
    """The CPU profile of ``runs`` requests across threads (the handler runs in the thread pool): yappi."""
    import yappi  # not a dependency: pip install yappi

    yappi.set_clock_type("cpu")
    yappi.start()
    for _ in range(runs):
        request()
    yappi.stop()
    stats = yappi.get_func_stats()
    stats.sort("ttot")
    for line in list(stats)[:int(os.environ.get("PROFILE_LINES", "60"))]:
        print(f"{line.ttot / runs * 1000:8.3f} ms {line.tsub / runs * 1000:8.3f} ms {line.ncall // runs:6d}  "
              f"{line.module.rsplit('/', 2)[-1]}:{line.lineno} {line.name}")
    yappi.clear_stats()


def in_process(url: str, folder: Path, runs: int, profile: bool) -> tuple[float, float]:
    """Best warm seconds of health and of the device page through the app in this process (TestClient)."""
    from fastapi.testclient import TestClient

    from server.config import Settings
    from server.main import create_app

    os.environ.update({"KIEMKE_DATA_DIR": str(folder), "KIEMKE_ENV": "development", "KIEMKE_SCHEDULER": "false",
                       "KIEMKE_DATABASE_URL": url})
    os.environ.pop("DATABASE_URL", None)
    with TestClient(create_app(Settings.from_env()), base_url="https://testserver", follow_redirects=False) as client:
        _sign_in(client.get, client.post)
        health = _best(client, "/api/v1/health", runs * 4)[0]  # type: ignore[arg-type]
        page = _best(client, PAGE, runs)[0]  # type: ignore[arg-type]
        if profile:
            _profile(lambda: client.get(PAGE), runs)
    return health, page


def over_http(url: str, folder: Path, runs: int) -> tuple[float, float]:
    """Best warm seconds of health and of the device page over a uvicorn process."""
    process, base = _serve(folder, url)
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            _sign_in(client.get, client.post)
            return _best(client, "/api/v1/health", runs * 4)[0], _best(client, PAGE, runs)[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the databases: the SQLite file goes here")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
            if name == "sqlite":
                path = folder / f"devpage-{args.devices}.db"
                url, fresh = f"sqlite:///{path}", not path.exists()
            else:
                url, fresh = _postgres(args.postgres, f"kiemke_devpage_{args.devices}")
            if fresh:
                started = time.perf_counter()
                _fill(url, args.devices)
                print(f"{name}: filled {args.devices:,} devices in {time.perf_counter() - started:.0f} s")
            health, page = in_process(url, folder, args.runs, args.profile)
            print(f"{name} in-process: health {health * 1000:.2f} ms, device page {page * 1000:.2f} ms "
                  f"({page / health:.1f}x)")
            health, page = over_http(url, folder, args.runs)
            print(f"{name} uvicorn:    health {health * 1000:.2f} ms, device page {page * 1000:.2f} ms "
                  f"({page / health:.1f}x)")
            if args.keep is None and name == "postgresql":
                from console import _drop_postgres

                _drop_postgres(args.postgres, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
