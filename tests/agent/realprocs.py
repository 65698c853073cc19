"""Real processes for the agent service tests: the kiemke server under uvicorn and ``python -m agent`` runs.

The server runs as ``kiemke-server serve`` on a free loopback port with a SQLite file in a temporary
directory; units and tokens come from its own commands, and the test reads ``received_report`` in that file
to see what arrived. Agents are separate ``python -m agent`` processes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from shared.protocol import HEALTH_PATH

from .helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def fast_agent_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for agent processes: loopback only, short timeouts and backoffs."""
    env = dict(os.environ)
    env.update(
        {
            "KIEMKE_PUBLIC_TARGET": "none",  # no connectivity probe beyond the test's loopback server
            "KIEMKE_AGENT_CONNECT_TIMEOUT": "2",
            "KIEMKE_AGENT_READ_TIMEOUT": "10",
            "KIEMKE_AGENT_RETRY_BASE_SECONDS": "0.5",
            "KIEMKE_AGENT_RETRY_MAX_SECONDS": "2",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.pop("KIEMKE_AGENT_FAULT", None)
    env.pop("KIEMKE_AGENT_DIR", None)
    env.update(extra or {})
    return env


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class RealServer:
    """The kiemke server as a separate process; stop and start it again on the same port and database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "server"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "kiemke.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = dict(os.environ, KIEMKE_DATA_DIR=str(self.data_dir), KIEMKE_ENV="test", PYTHONPATH=str(ROOT))
        self.env.pop("DATABASE_URL", None)
        self.env.pop("KIEMKE_DATABASE_URL", None)

    def add_unit(self, code: str = "UBND", name: str = "UBND huyện") -> None:
        """Create an organisational unit with ``kiemke-server units import``."""
        sheet = self.root / f"units-{code}.csv"
        sheet.write_text(f"code,name,kind\n{code},{name},district\n", encoding="utf-8")
        done = self.cli("units", "import", str(sheet))
        assert done.returncode == 0, done.stdout + done.stderr

    def token(self, unit: str = "UBND") -> str:
        """A fresh enrolment token for ``unit`` from ``kiemke-server token create``."""
        self.add_unit(unit)
        done = self.cli("token", "create", "--unit", unit, "--days", "1")
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    def start(self) -> None:
        """Start the server and wait until its health endpoint answers."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [PYTHON, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        log.close()

        def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, "server exited"
            try:
                return requests.get(self.url + HEALTH_PATH, timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(healthy, timeout=60, what="the server to start")

    def stop(self) -> None:
        """Stop the server process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def received(self) -> list[uuid.UUID]:
        """Every report the server recorded as received, one entry per row (duplicates would show twice)."""
        if not self.db_path.exists():
            return []
        with sqlite3.connect(self.db_path) as conn:
            rows = conn.execute("SELECT report_id FROM received_report").fetchall()
        return [uuid.UUID(str(r[0])) for r in rows]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``kiemke-server ARGS`` against this server's database."""
        return subprocess.run(
            [PYTHON, "-m", "server", *args], env=self.env, capture_output=True, text=True, timeout=timeout,
            cwd=ROOT, check=False,
        )


class Agent:
    """One agent's data directory, driven through ``python -m agent`` processes."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = fast_agent_env(env)

    def command(self, *args: str) -> list[str]:
        """The command line of ``kiemke-agent ARGS --data-dir DIR``."""
        return [PYTHON, "-m", "agent", *args, "--data-dir", str(self.data_dir)]

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a sub-command to completion."""
        return subprocess.run(
            self.command(*args), env={**self.env, **env}, capture_output=True, text=True, timeout=timeout,
            cwd=ROOT, check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """Start a sub-command in the background."""
        return subprocess.Popen(
            self.command(*args), env={**self.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=ROOT,
        )

    def enroll(self, server: RealServer, unit: str = "UBND") -> None:
        """Enrol against the real server (plain HTTP on loopback, so --allow-http)."""
        done = self.run("enroll", "--server", server.url, "--token", server.token(unit), "--allow-http")
        assert done.returncode == 0, done.stdout + done.stderr

    def status(self) -> dict[str, Any]:
        """``status --json``."""
        done = self.run("status", "--json")
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def queued(self) -> list[uuid.UUID]:
        """Report ids waiting in the spool, oldest first."""
        queue = self.data_dir / "spool" / "queue"
        if not queue.is_dir():
            return []
        names = sorted(p.name for p in queue.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
        return [uuid.UUID(n[:-5].split("-", 1)[1]) for n in names]

    def temporaries(self) -> list[Path]:
        """Unfinished spool writes."""
        queue = self.data_dir / "spool" / "queue"
        return sorted(queue.glob(".*.tmp")) if queue.is_dir() else []


def report_id_of(output: str) -> uuid.UUID:
    """The report id ``kiemke-agent report`` printed."""
    for word in output.split():
        try:
            return uuid.UUID(word.strip(".,"))
        except ValueError:
            continue
    raise AssertionError(f"no report id in {output!r}")
