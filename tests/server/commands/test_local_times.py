"""Tables of tokens and users show moments in the district's zone, not UTC (a token made at 23:21 UTC on 1/12
expires, for the officer in Asia/Ho_Chi_Minh, at 06:21 local on the following days)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine

from server.cli import main
from tests.server.commands.test_commands import cli_env  # noqa: F401 - fixture

pytestmark = pytest.mark.dates


def test_token_and_user_tables_are_in_local_time(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    (cli_env / "u.csv").write_text("code,name,kind,parent\nPH,UBND,district,\n", encoding="utf-8")
    with time_machine.travel(datetime(2026, 12, 1, 23, 21, tzinfo=timezone.utc), tick=False):
        assert main(["units", "import", str(cli_env / "u.csv")]) == 0
        assert main(["token", "create", "--unit", "PH", "--days", "2"]) == 0
        created = capsys.readouterr().err
        assert main(["token", "list"]) == 0
        listed = capsys.readouterr().out
    assert "2026-12-04 06:21" in created and "UTC" not in created
    assert "2026-12-04 06:21" in listed and "2026-12-03 23:21" not in listed


def test_clock_local_minute_reads_naive_as_utc() -> None:
    from zoneinfo import ZoneInfo

    from server.clock import local_minute

    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    assert local_minute(datetime(2026, 12, 1, 22, 21), hcm) == "2026-12-02 05:21"
    assert local_minute(None, hcm) == ""
