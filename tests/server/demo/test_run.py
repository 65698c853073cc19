"""``kiemke-server demo --once``: the product in one command, through real processes, on SQLite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from server.clock import local_today
from server.config import report_timezone
from server.demo import fleet


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KIEMKE_DATABASE_URL")}
    env["KIEMKE_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.mark.slow
def test_demo_seeds_fills_and_reports_then_the_figures_show_it(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    done = _server("demo", "--data-dir", str(data), "--port", str(_free_port()), "--once", "--no-browser", "--json",
                   data_dir=data)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["seeded"] is True
    assert result["fleet_reports"] > 0
    assert result["history_reports"] > result["fleet_reports"]  # the year before, month after month
    assert "delivered" in result["local_agent"], result
    assert result["console_user"] == "admin"
    assert "password" in done.stderr and "/login/link?token=" in done.stderr

    figures = _server("figures", "--json", data_dir=data)
    assert figures.returncode == 0, figures.stderr
    by_key = json.loads(figures.stdout)["figures"]
    # Every simulated PC that has reported, plus this machine's own agent, counts as a computer with an agent.
    reporting = {pc.machine_id for pc in fleet.fleet()}
    assert by_key["computers_with_agent"]["numerator"] >= len(reporting) - 30
    assert by_key["computers_with_agent"]["numerator"] <= by_key["computers_with_agent"]["denominator"]
    assert by_key["units_with_scanner"]["denominator"] == 91

    # Half a year ago the district had agents reporting too, and fewer antivirus programs switched on.
    earlier = local_today(report_timezone()) - timedelta(days=182)
    before = _server("figures", "--json", "--as-of", earlier.isoformat(), data_dir=data)
    assert before.returncode == 0, before.stderr
    then = json.loads(before.stdout)["figures"]
    assert then["computers_with_agent"]["numerator"] > 0.8 * by_key["computers_with_agent"]["numerator"]
    assert then["antivirus_enabled"]["percent"] < by_key["antivirus_enabled"]["percent"]

    again = _server("demo", "--data-dir", str(data), "--port", str(_free_port()), "--once", "--no-browser",
                    "--no-agent", "--json", data_dir=data)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["seeded"] is False  # a second run keeps the district, sends nothing twice
