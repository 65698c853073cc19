"""``kiemke-server demo``: the product in one command, on SQLite.

Seeds the demo district through the same spreadsheet imports an officer uses, starts the real server,
lets the simulated fleet enrol and report over HTTP like real agents, enrols the agent of this very
machine and has it report, then prints the figures and keeps serving until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
import webbrowser
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from server.demo import district, fleet
from shared.protocol import ENROLL_PATH, HEALTH_PATH, REPORTS_PATH, EnrollResponse
from shared.schema import InventoryReport

if TYPE_CHECKING:
    from server.console.auth import DemoSignIn

#: Unit whose token the local agent uses: the office that writes the report.
LOCAL_AGENT_UNIT = "PB08"


class DemoError(RuntimeError):
    """A step of the demo that failed, with what to do about it."""


@dataclass
class DemoResult:
    """What the demo did, for ``--json`` and the summary."""

    url: str
    data_dir: str
    seeded: bool
    fleet_reports: int = 0
    local_agent: str = "skipped"
    console_user: str | None = None
    notes: list[str] = field(default_factory=list)


def _cli(*argv: str) -> None:
    """Run a kiemke-server command in this process, as the officer would type it."""
    from server.cli import main

    with contextlib.redirect_stdout(sys.stderr):  # the demo's own stdout stays for its summary (--json)
        code = main(list(argv))
    if code != 0:
        raise DemoError(f"`kiemke-server {' '.join(argv)}` failed with exit code {code}")


def seed_records(folder: Path) -> None:
    """Import the demo district's units, assets and licences from spreadsheets."""
    paths = district.write_spreadsheets(folder)
    _cli("units", "import", str(paths["units"]))
    _cli("assets", "import", str(paths["assets"]))
    _cli("licences", "import", str(paths["licences"]))


def _tokens(units: set[str]) -> dict[str, str]:
    from server.config import Settings
    from server.db import open_database, writing
    from server.services.enrolment import create_token

    engine = open_database(Settings.from_env().url)
    try:
        with writing(engine) as session:
            return {code: create_token(session, code, days=1, actor="demo")[0] for code in sorted(units)}
    finally:
        engine.dispose()


def _backdate_enrolments(agent_ids: list[uuid.UUID], at: datetime) -> None:
    """Date the simulated agents' enrolment at ``at``: the fleet's history starts before today, and the server
    believes no report collected before its agent's enrolment (a wrong clock)."""
    import sqlalchemy as sa

    from server.config import Settings
    from server.db import open_database, writing
    from server.models import Agent, table_of

    engine = open_database(Settings.from_env().url)
    agent = table_of(Agent).c
    try:
        with writing(engine) as session:
            session.execute(sa.update(table_of(Agent)).where(agent.id.in_(agent_ids)).values(created_at=at))
    finally:
        engine.dispose()


def run_fleet(base_url: str, now: datetime, workers: int = 4) -> int:
    """Enrol every simulated PC, then send its reports over HTTP; returns reports accepted."""
    import requests

    pcs = fleet.fleet()
    tokens = _tokens({pc.unit_code for pc in pcs})
    by_pc: dict[str, list[InventoryReport]] = {}
    for pc, report in fleet.history(pcs, now):
        by_pc.setdefault(pc.machine_id, []).append(report)

    def enrol(pc: fleet.SimulatedPC) -> EnrollResponse:
        with requests.Session() as http:
            answer = http.post(base_url + ENROLL_PATH, timeout=30, json={
                "token": tokens[pc.unit_code], "machine_id": pc.machine_id, "hostname": pc.hostname})
            answer.raise_for_status()
            return EnrollResponse.model_validate(answer.json())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        keys = dict(zip((pc.machine_id for pc in pcs), pool.map(enrol, pcs), strict=True))
    earliest = min((r.collected_at for reports in by_pc.values() for r in reports), default=now)
    _backdate_enrolments([k.agent_id for k in keys.values()], earliest - timedelta(days=1))

    def deliver(pc: fleet.SimulatedPC) -> int:
        with requests.Session() as http:
            sent = 0
            for report in by_pc.get(pc.machine_id, []):
                posted = http.post(base_url + REPORTS_PATH, data=report.model_dump_json(), timeout=30, headers={
                    "Authorization": f"Bearer {keys[pc.machine_id].agent_key}", "Content-Type": "application/json"})
                posted.raise_for_status()
                sent += 1
            return sent

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(deliver, pcs))


def run_local_agent(base_url: str, data_dir: Path) -> str:
    """Enrol this machine's agent with plain HTTP on loopback and have it report once."""
    token = _tokens({LOCAL_AGENT_UNIT})[LOCAL_AGENT_UNIT]
    agent_dir = data_dir / "agent"
    env = {**os.environ, "KIEMKE_AGENT_DIR": str(agent_dir)}
    if not (agent_dir / "config.json").exists():
        subprocess.run(
            [sys.executable, "-m", "agent", "enroll", "--server", base_url, "--token", token, "--allow-http"],
            check=True, env=env, timeout=60, stdout=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "agent", "report"], env=env, timeout=120, capture_output=True, text=True)
    if done.returncode != 0:
        raise DemoError(f"the local agent could not report: {done.stderr.strip() or done.stdout.strip()}")
    return (done.stdout.strip().splitlines() or ["reported"])[-1]


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise DemoError(f"the server exited with code {server.returncode}: is the port already in use?")
        try:
            if requests.get(base_url + HEALTH_PATH, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise DemoError(f"the server did not answer at {base_url} within {seconds:.0f} s")


def _graphical_session() -> bool:
    """True where a browser window can open; without one, webbrowser would start a text browser in the terminal."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _console_link(base_url: str) -> DemoSignIn:
    from server.console.auth import demo_sign_in

    return demo_sign_in(base_url)


def _stop_on_sigterm() -> None:
    """SIGTERM ends the demo like Ctrl-C, so the server it started is stopped too."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def start_server(host: str, port: int) -> subprocess.Popen[bytes]:
    """The real server in its own process, on the configured (demo) database."""
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--host", host, "--port", str(port), "--log-level", "warning"])


def prepare(data_dir: Path, reset: bool) -> bool:
    """Point this process (and its children) at the demo data dir; True when it must be seeded."""
    if reset and data_dir.exists():
        for name in ("kiemke.db", "kiemke.db-wal", "kiemke.db-shm"):
            (data_dir / name).unlink(missing_ok=True)
        import shutil

        shutil.rmtree(data_dir / "agent", ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["KIEMKE_DATA_DIR"] = str(data_dir.resolve())
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KIEMKE_DATABASE_URL", None)
    return not (data_dir / "kiemke.db").exists()


def run_demo(data_dir: Path, host: str, port: int, *, reset: bool, local_agent: bool,
             browser: bool, serve_forever: bool) -> DemoResult:
    """Seed (first time), serve, fill with the fleet and the local agent; keep serving if asked."""
    _stop_on_sigterm()
    seeded = prepare(data_dir, reset)
    if seeded:
        seed_records(data_dir / "seed")
    base_url = f"http://{host}:{port}"
    result = DemoResult(url=base_url + "/", data_dir=str(data_dir), seeded=seeded)
    server = start_server(host, port)
    try:
        _wait_healthy(base_url, server)
        if seeded:
            result.fleet_reports = run_fleet(base_url, datetime.now(timezone.utc))
        if local_agent:
            try:
                result.local_agent = run_local_agent(base_url, data_dir)
            except (DemoError, subprocess.SubprocessError) as exc:
                # The demo still stands without this PC's own report: say why and go on.
                result.local_agent = "failed"
                result.notes.append(str(exc))
        link = _console_link(base_url)
        result.console_user = link.username
        if link.password:
            print(f"Console: user {link.username}, password {link.password} (shown once)", file=sys.stderr)
        print(f"Console sign-in link (one use, 10 minutes): {link.url}", file=sys.stderr)
        if browser and _graphical_session():
            webbrowser.open(link.url)  # signed, one use, ten minutes, loopback only
        if serve_forever:
            print(f"kiemke demo at {result.url} (data in {data_dir}); Ctrl-C stops it.", file=sys.stderr)
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    return result
