"""``status`` prints names and messages from the officer, the server and the OS as text."""

from __future__ import annotations

from typing import Any

import pytest

from agent.commands.status import render


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "enrolled": True, "offline": True, "device_name": "PC", "unit_code": "U1", "server": None,
        "plain_http": False, "data_dir": "/var/lib/kiemke-agent", "last_collection_at": None,
        "last_delivery_at": None, "last_heartbeat_at": None, "spool_depth": 0, "rejected": 0,
        "next_retry_at": None, "retry_attempts": 0, "next_run_at": None, "daemon_running": False,
        "reenrol_required": False, "errors": [],
    }
    data.update(changes)
    return data


def test_bracketed_strings_are_printed_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    render(_data(
        device_name="Ke toan [/b]", unit_code="[red]U1", data_dir="C:\\[x]",
        errors=[{"at": "2026-11-30T07:00:00+00:00", "message": "HTTP 400: bad [/opt] value"}],
    ))
    out = capsys.readouterr().out
    assert "Ke toan [/b]" in out and "[red]U1" in out and "C:\\[x]" in out and "bad [/opt] value" in out
