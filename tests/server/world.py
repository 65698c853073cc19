"""A small district with one caller of every kind, and the real server process the proof tests call.

Units: the district ``UBND`` with two communes ``X1`` and ``X2``. Callers: an agent enrolled in X1, a viewer
and an officer bound to X1, an officer bound to X2 (out of X1's scope), an unbound administrator. One report
of X1 is kept so that ``/api/v1/report/kept/{id}`` has something to find, and X1 has a hand-entered printer
so that the device pages have one to show.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.api.deps import SESSION_COOKIE
from server.db import reading, writing
from server.report.generate import ReportRequest, keep, make_report
from server.services.assets import AssetForm, add_asset
from server.services.policy import Policy
from server.services.users import create_user
from shared.protocol import HEALTH_PATH
from tests.server.factories import enrolled_agent, make_unit

KEPT_AS_OF = date(2024, 5, 18)
PASSWORD = "proof-password-1"
#: Console users: name -> (role, unit they are bound to).
USERS = {"admin": ("admin", None), "viewer": ("viewer", "X1"), "officer": ("officer", "X1"),
         "outsider": ("officer", "X2")}


@dataclass(frozen=True)
class World:
    """What ``seed`` made: the agent's key and machine id, the kept report's id, X1's printer's device id."""

    agent_key: str
    machine_id: str
    kept_id: int
    device_id: int


def seed(engine: Engine) -> World:
    """Units, an enrolled agent, users of each role and reach, one kept report and a hand-entered printer."""
    make_unit(engine, "UBND", "district", name="Huyện")
    make_unit(engine, "X1", "commune", parent="UBND", name="Xã Một")
    make_unit(engine, "X2", "commune", parent="UBND", name="Xã Hai")
    _, key = enrolled_agent(engine, "X1", machine_id="proof-pc-1")
    for name, (role, unit) in USERS.items():
        create_user(engine, name, PASSWORD, role, unit, actor="test")
    with reading(engine) as session:
        document = make_report(session, ReportRequest(as_of=KEPT_AS_OF, unit_code="X1", lang="vi"), Policy())
    with writing(engine) as session:
        kept = keep(session, document, trigger="manual")
        assert kept.id is not None
        kept_id = kept.id
    printer = add_asset(engine, AssetForm({"name": "Máy in tổ một cửa", "unit": "X1", "kind": "printer",
                                           "status": "in_use"}), actor="test", allowed={"X1"}, today=KEPT_AS_OF)
    return World(agent_key=key, machine_id="proof-pc-1", kept_id=kept_id, device_id=printer.device_id)


def session_cookie(client: httpx.Client | TestClient, username: str) -> str:
    """Sign ``username`` in through the console's form; the session cookie's value."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, "no CSRF field on the sign-in page"
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf.group(1),
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = answer.cookies.get(SESSION_COOKIE)
    assert cookie
    client.cookies.clear()
    return str(cookie)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(database_url: str, data_dir: Path) -> Iterator[str]:
    """A real uvicorn process serving the app on a free loopback port: its base URL."""
    env = {**os.environ, "KIEMKE_DATABASE_URL": database_url, "KIEMKE_DATA_DIR": str(data_dir),
           "KIEMKE_ENV": "test", "KIEMKE_SCHEDULER": "false"}
    port = _free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "server.main:app_from_env", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + HEALTH_PATH, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
