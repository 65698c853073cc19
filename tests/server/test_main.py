"""The app runs the scheduled report job in its own process outside tests, and not when told not to."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from server.clock import local_today
from server.config import Settings
from server.main import create_app
from server.models import ReportSnapshot, table_of


def _kept(settings: Settings, wait_s: float) -> int:
    app = create_app(settings)
    deadline = time.monotonic() + wait_s
    with TestClient(app):
        while True:
            with app.state.engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(table_of(ReportSnapshot))).scalar_one()
            if count or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    app.state.engine.dispose()
    return int(count)


def test_start_up_keeps_the_report_of_a_cut_off_that_just_ended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(environment="development", data_dir=tmp_path)
    yesterday = local_today(settings.tz) - timedelta(days=1)
    monkeypatch.setenv("KIEMKE_REPORT_CUTOFFS", yesterday.strftime("%m-%d"))
    assert _kept(settings, wait_s=30) == 1


def test_scheduler_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(environment="development", data_dir=tmp_path, scheduler=False)
    yesterday = local_today(settings.tz) - timedelta(days=1)
    monkeypatch.setenv("KIEMKE_REPORT_CUTOFFS", yesterday.strftime("%m-%d"))
    assert _kept(settings, wait_s=1) == 0
