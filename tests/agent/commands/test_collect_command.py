"""``kiemke-agent collect``: tables, --json, --out, --replay, exit codes, and only the imports it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from shared.schema import InventoryReport
from tests.agent.helpers import REPLAY

ROOT = REPLAY.parents[2]


def test_json_from_a_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--replay", str(REPLAY / "windows10-defender"), "--json"]) == 0
    report = InventoryReport.model_validate_json(capsys.readouterr().out)
    assert report.platform == "windows" and report.antivirus[0].name == "Windows Defender"


def test_out_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert main(["collect", "--replay", str(REPLAY / "macos-m2"), "--out", str(out)]) == 0
    assert InventoryReport.model_validate_json(out.read_text(encoding="utf-8")).hardware.chassis == "laptop"
    captured = capsys.readouterr()
    assert captured.out == "" and "report written" in captured.err


def test_tables_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--replay", str(REPLAY / "windows11-bitdefender")]) == 0
    out = capsys.readouterr().out
    assert "Bitdefender" in out and "Age evidence" in out and "laptop" in out


def test_no_report_is_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--replay", str(tmp_path / "missing"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no report" in err


def test_unwritable_out_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no-such-dir" / "r.json"
    assert main(["collect", "--replay", str(REPLAY / "macos-m2"), "--out", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="collects this Linux machine")
def test_live_json_loads_neither_http_client_nor_scheduler_nor_rich(tmp_path: Path) -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from agent.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    rc = main(['collect', '--json', '--public-target', 'none'])\n"
        "json.loads(out.getvalue())\n"
        "print(json.dumps([rc, sorted(m for m in ('requests', 'apscheduler', 'rich', 'urllib3', 'cryptography')"
        " if m in sys.modules)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIEMKE_AGENT_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          check=True, timeout=60)
    assert json.loads(done.stdout) == [0, []]


@pytest.mark.skipif(sys.platform != "linux", reason="collects this Linux machine")
def test_python_dash_m_agent_collect_json(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIEMKE_PUBLIC_TARGET": "none", "KIEMKE_AGENT_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "agent", "collect", "--json"], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    report = InventoryReport.model_validate_json(done.stdout)
    assert report.platform == "linux" and report.network.internet.reachable is None
