"""Console fixtures: a small part of the demo district seeded once per session, users of each reach, an app.

Each test gets a private copy of the seeded district on SQLite (a copied file) and on PostgreSQL (a database
made from a seeded template database); the browser tests use the SQLite one only.

The district's 91 units, its hand-kept assets and licences come in through the officer's spreadsheet imports;
agent reports come from the demo fleet for a few units only (enough to fill every figure, fast to seed), plus
an air-gapped PC that reports the internet reachable and a PC whose host name is an HTML script tag.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from server.config import Settings
from server.db import make_engine, reading, upgrade
from server.demo import district, fleet
from server.main import create_app
from server.services.ingest import Delivery, receive
from server.services.records import unit_by_code
from server.services.spreadsheets import import_assets, import_licences, import_units
from server.services.users import create_user
from tests.server.conftest import new_postgres_database
from tests.server.factories import make_report

#: Units whose PCs report: two departments (PB07 keeps a classified-document PC), a town and a school.
REPORTING_UNITS = ("PB01", "PB07", "X01", "TH01")
SCRIPT_HOST = "<script>alert(1)</script>"
PASSWORDS = {"admin": "admin-password-1", "xa": "viewer-password-1", "pb": "officer-password-1"}


def _placed(unit_id: int) -> Callable[[Connection], Delivery]:
    """How a report from an agent of ``unit_id`` arrives."""
    return lambda _conn: Delivery(unit_id=unit_id)


def _seed(url: str, folder: Path) -> None:
    engine = make_engine(url)
    upgrade(engine)
    paths = district.write_spreadsheets(folder)
    import_units(engine, paths["units"], "test")
    import_assets(engine, paths["assets"], "test")
    import_licences(engine, paths["licences"], "test")
    ids: dict[str, int] = {}
    with reading(engine) as session:
        for code in REPORTING_UNITS:
            unit = unit_by_code(session, code)
            assert unit is not None and unit.id is not None
            ids[code] = unit.id
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    pcs = [pc for pc in fleet.fleet() if pc.unit_code in REPORTING_UNITS]
    for pc, report in fleet.history(pcs, now):
        receive(engine, report, _placed(ids[pc.unit_code]))
    receive(engine, make_report("script-pc", serial="SN-SCRIPT", hostname=SCRIPT_HOST, collected_at=now),
            _placed(ids["X01"]))
    # A classified-document PC entered by hand, whose agent then says the internet is reachable.
    secret = next(r for r in district.asset_rows() if r["air_gapped"] == "yes" and r["unit"] == "PB07")
    receive(engine, make_report("secret-pc", serial=secret["serial"], hostname="PB07-MAT", collected_at=now,
                                reachable=True), _placed(ids["PB07"]))
    create_user(engine, "admin", PASSWORDS["admin"], "admin", None, actor="test")
    create_user(engine, "xa", PASSWORDS["xa"], "viewer", "X01", actor="test")
    create_user(engine, "pb", PASSWORDS["pb"], "officer", "PB01", actor="test")
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the seeded district, copied by each test that changes it."""
    folder = tmp_path_factory.mktemp("console-seed")
    path = folder / "kiemke.db"
    _seed(f"sqlite:///{path}", folder / "sheets")
    return path


@pytest.fixture(scope="session")
def seeded_postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database holding the seeded district, the template each test's database is made from."""
    with new_postgres_database() as url:
        _seed(url, tmp_path_factory.mktemp("console-seed-pg") / "sheets")
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private copy of the seeded district on each engine: its URL."""
    if request.param == "sqlite":
        target = tmp_path / "kiemke.db"
        shutil.copy(request.getfixturevalue("seeded_template"), target)
        yield f"sqlite:///{target}"
        return
    with new_postgres_database(template=request.getfixturevalue("seeded_postgres_template")) as url:
        yield url


@pytest.fixture
def console_settings(seeded_db: str, tmp_path: Path) -> Settings:
    """Settings of a console on the seeded copy (development secret: a key file in the data dir)."""
    return Settings(environment="test", data_dir=tmp_path, database_url=seeded_db)


@pytest.fixture
def app_client(console_settings: Settings) -> Iterator[TestClient]:
    """The whole app in-process, nobody signed in."""
    app = create_app(console_settings)
    with TestClient(app, follow_redirects=False) as client:
        yield client
    app.state.engine.dispose()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str | None = None, next_url: str = "/") -> int:
    """Sign in through the form as a browser would; returns the status of the POST."""
    form = client.get("/login")
    response = client.post("/login", data={
        "username": username, "password": password or PASSWORDS[username], "csrf": csrf_of(form.text),
        "next": next_url})
    return int(response.status_code)


@pytest.fixture
def admin(app_client: TestClient) -> TestClient:
    """The client signed in as the administrator."""
    assert sign_in(app_client, "admin") == 303
    return app_client


@pytest.fixture
def commune_viewer(app_client: TestClient) -> TestClient:
    """The client signed in as a viewer bound to the town X01."""
    assert sign_in(app_client, "xa") == 303
    return app_client


# --- a real server and a real browser -------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path("/tmp")


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the browser tests: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """uvicorn serving the app on a free loopback port, on a copy of the seeded district."""
    _require_browser()
    folder = tmp_path_factory.mktemp("browser")
    shutil.copy(seeded_template, folder / "kiemke.db")
    settings = Settings(environment="development", data_dir=folder)
    port = _free_port()
    env = {**os.environ, "KIEMKE_DATA_DIR": str(folder), "KIEMKE_ENV": "development"}
    env.pop("KIEMKE_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield base, settings
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(server: tuple[str, Settings], browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()
