"""``kiemke-server demo``: the product in one command, on SQLite.

The first run writes a year of history of the demo district through the service layer (``load.py``: the
officer's spreadsheets, the fleet's enrolments and monthly reports, replaced PCs retired, the reports kept on
the year's cut-off dates), then starts the real server and lets the simulated fleet send today's reports over
HTTP like real agents (``server/simulate``), enrols the agent of this very machine and has it report, and
keeps serving until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import webbrowser
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from server.clock import utcnow
from server.demo import fleet, load
from shared.protocol import HEALTH_PATH

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
    fleet_reports: int = 0  # today's, over HTTP
    history_reports: int = 0  # the year before, through the service layer
    kept_reports: list[str] = field(default_factory=list)  # cut-off dates of the year whose report is kept
    seconds_to_load: float = 0.0  # writing the year of history
    seconds_to_ready: float = 0.0  # from start to the console link, today's reports in
    local_agent: str = "skipped"
    console_user: str | None = None
    notes: list[str] = field(default_factory=list)


def load_year(data_dir: Path, now: datetime) -> load.Loaded:
    """The demo district with a year of history before ``now``, written through the service layer."""
    from server.config import Settings
    from server.db import open_database
    from server.services.policy import Policy

    settings = Settings.from_env()
    engine = open_database(settings.url)
    try:
        return load.load(engine, now, data_dir / "seed", policy=Policy.from_settings(settings), tz=settings.tz)
    finally:
        engine.dispose()


def report_today(base_url: str, loaded: load.Loaded, state_path: Path, workers: int = 4) -> int:
    """Today's report of every machine still in use, over HTTP through the fleet simulator; reports accepted.

    The machines' keys go to the simulator's state file, so ``kiemke-server simulate --state`` can go on.
    """
    from server.simulate import state as state_file
    from server.simulate.drift import MachineState
    from server.simulate.runner import Plan, Simulator

    pcs = {pc.machine_id: pc for pc in fleet.fleet()}
    agents = [
        state_file.SimulatedAgent(MachineState(pcs[machine_id]), agent_key=key, unit_code=unit, enrolled_at=since)
        for machine_id, (key, unit, since) in sorted(loaded.agents.items())
        if not pcs[machine_id].stale  # these agents stopped reporting weeks ago
    ]
    state = state_file.SimulatorState(server=base_url, seed=0, agents=agents)
    simulator = Simulator(base_url, agents, Plan(interval=0, workers=workers, resend_rate=0.0))
    try:
        summary = simulator.run()
    finally:
        state_file.save(state_path, state)
    if summary.errors or summary.refused:
        raise DemoError(f"today's fleet reports: {summary.refused} refused, {summary.errors} without an answer")
    return summary.accepted


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
    began = time.monotonic()
    seeded = prepare(data_dir, reset)
    base_url = f"http://{host}:{port}"
    result = DemoResult(url=base_url + "/", data_dir=str(data_dir), seeded=seeded)
    loaded = None
    if seeded:
        loaded = load_year(data_dir, utcnow())
        result.history_reports, result.seconds_to_load = loaded.reports, round(time.monotonic() - began, 1)
        result.kept_reports = [cut_off.isoformat() for cut_off in loaded.kept]
    server = start_server(host, port)
    try:
        _wait_healthy(base_url, server)
        if loaded is not None:
            result.fleet_reports = report_today(base_url, loaded, data_dir / "simulator.json")
        if local_agent:
            try:
                result.local_agent = run_local_agent(base_url, data_dir)
            except (DemoError, subprocess.SubprocessError) as exc:
                # The demo still stands without this PC's own report: say why and go on.
                result.local_agent = "failed"
                result.notes.append(str(exc))
        link = _console_link(base_url)
        result.seconds_to_ready = round(time.monotonic() - began, 1)
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
