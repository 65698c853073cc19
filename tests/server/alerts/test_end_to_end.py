"""Issue 12's "done when", with real parts only: a real server process, a real agent process replaying a capture
with an active Defender detection, the real command line, and a real SMTP server demanding STARTTLS.

The detection appears once on the server however many reports carry it, counts in the period's figures and the
report's II.8 sentence, opens a ``detection_unremediated`` alert that the officer's digest delivers, and clears
when a later report (the same capture with the threat quarantined, same DetectionID) shows it remediated.

The processes run on the machine's own clock: every date below is the command's default ("today in the
district's zone"), so the test reads the same whatever the day, and the agent's reports are filed now.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.alerts.store import AlertLine, list_alerts
from server.db import reading
from server.models import Detection, table_of
from server.services.users import create_user, set_contact
from tests.agent.helpers import REPLAY
from tests.agent.realprocs import ROOT, Agent, wait_for
from tests.server.alerts.smtp import MailServer, smtp_server
from tests.server.factories import make_unit
from tests.server.world import served

pytestmark = [pytest.mark.slow, pytest.mark.dates]
CAPTURE = REPLAY / "windows10-defender-active-threat"
THREAT = "Trojan:Win32/Wacatac.B!ml"
DETECTION_ID = "{3F9A7C21-4B6D-4E8F-A1B2-C3D4E5F60718}"
OFFICER_MAIL = "canbo.antoan@x1.ubnd.example.vn"
_DETECTION = table_of(Detection)


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailServer]:
    with smtp_server(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def server_env(database_url: str, tmp_path: Path, mail: MailServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The server's settings, for the uvicorn process and every ``kiemke-server`` command alike."""
    values = {
        "KIEMKE_DATABASE_URL": database_url, "KIEMKE_DATA_DIR": str(tmp_path / "server"), "KIEMKE_ENV": "test",
        "KIEMKE_TIMEZONE": "Asia/Ho_Chi_Minh", "KIEMKE_SMTP_HOST": mail.host, "KIEMKE_SMTP_PORT": str(mail.port),
        "KIEMKE_SMTP_CA_FILE": str(mail.ca), "KIEMKE_SMTP_FROM": "kiemke@ubnd.example.vn",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)  # ``served`` starts uvicorn with this environment
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return values


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``kiemke-server ARGS`` as a separate process on the test's database and SMTP server."""
    done = subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _json(*args: str) -> Any:
    return json.loads(_cli(*args, "--json").stdout)


def _alerts(engine: Engine, **kw: Any) -> list[AlertLine]:
    with reading(engine) as session:
        return list_alerts(session, rules=["detection_unremediated"], **kw)


def _figures() -> dict[str, dict[str, Any]]:
    """The district's figures as of today, by key, from ``kiemke-server figures --json``."""
    figures: dict[str, dict[str, Any]] = _json("figures")["figures"]
    return figures


def _remediated_copy(folder: Path) -> Path:
    """The capture as Defender shows it after quarantining the threat: same DetectionID, status 3."""
    shutil.copytree(CAPTURE, folder)
    windows = folder / "windows"
    detection = json.loads((windows / "MpThreatDetection.json").read_text(encoding="utf-8"))
    assert detection["DetectionID"] == DETECTION_ID
    detection.update(ThreatStatusID=3, CleaningActionID=2, ActionSuccess=True, CurrentThreatExecutionStatusID=1,
                     RemediationTime="/Date(1732958160000)/", LastThreatStatusChangeTime="/Date(1732958160000)/")
    (windows / "MpThreatDetection.json").write_text(json.dumps(detection, indent=4), encoding="utf-8")
    threat = json.loads((windows / "MpThreat.json").read_text(encoding="utf-8"))
    threat.update(IsActive=False, RollupStatus=33)
    (windows / "MpThreat.json").write_text(json.dumps(threat, indent=4), encoding="utf-8")
    return folder


def test_a_detection_reaches_the_figures_the_report_and_the_officer_then_clears(
        engine: Engine, database_url: str, server_env: dict[str, str], mail: MailServer, tmp_path: Path) -> None:
    make_unit(engine, "UBND", "district", name="Huyện")
    make_unit(engine, "X1", "commune", parent="UBND", name="Xã Một")
    create_user(engine, "can-bo-x1", "mat-khau-dai-12345", "officer", "X1", actor="test")
    set_contact(engine, "can-bo-x1", OFFICER_MAIL, "vi", "test")
    token = _cli("token", "create", "--unit", "X1", "--days", "1").stdout.strip()

    with served(database_url, Path(server_env["KIEMKE_DATA_DIR"])) as url:
        # 1. a real agent enrols and reports twice from the capture: the same detection both times
        agent = Agent(tmp_path / "agent", {"KIEMKE_AGENT_REPLAY": str(CAPTURE)})
        enrolled = agent.run("enroll", "--server", url, "--token", token, "--allow-http")
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        for _ in range(2):
            done = agent.run("report")
            assert done.returncode == 0 and "delivered" in done.stdout, done.stdout + done.stderr

        with reading(engine) as session:
            rows = session.execute(sa.select(_DETECTION.c.key, _DETECTION.c.status)).all()
            received = session.execute(sa.text("SELECT count(*) FROM received_report")).scalar_one()
        assert received == 2
        assert [tuple(r) for r in rows] == [(DETECTION_ID, "active")]  # two reports, one detection
        listed = _json("detections", "list", "--unit", "X1")
        [entry] = listed["data"]
        assert (entry["threat"], entry["status"], entry["severity"], entry["unit"]) == (THREAT, "active", "severe",
                                                                                       "X1")
        assert [h["status"] for h in entry["history"]] == ["active"]

        # 2. the period's figures and the report's II.8 sentence count it
        figures = _figures()
        computers, unremediated = figures["computers_with_detections"], figures["detections_unremediated"]
        assert (computers["numerator"], computers["denominator"]) == (1, 1)
        assert (unremediated["numerator"], unremediated["denominator"]) == (1, 1)
        text = _cli("report", "--format", "txt", "--lang", "vi", "--no-compare").stdout
        assert "Trong kỳ, phát hiện và xử lý 1 trường hợp phần mềm độc hại trên 1 máy tính" in text
        assert "còn 1 trường hợp chưa xử lý xong." in text

        # 3. the alert opened as the report arrived, and the officer's digest carries it over STARTTLS
        [alert] = wait_for(lambda: _alerts(engine, states=["open"]), timeout=30, what="the alert to open")
        assert (alert.subject, alert.unit_code, alert.detail["threat"]) == (DETECTION_ID, "X1", THREAT)
        with reading(engine) as session:  # the capture's signatures are old too: that alert goes in the digest
            open_ = {a.rule for a in list_alerts(session, states=["open"])}
        assert open_ == {"detection_unremediated", "antivirus_out_of_date"}
        digest = _json("alerts", "digest")
        assert digest["sent"] == [{"username": "can-bo-x1", "alerts": 2}], digest
        [message] = mail.mailbox.to(OFFICER_MAIL)
        assert all(tls for _, _, tls in mail.mailbox.messages)
        assert message["Subject"].startswith("[Kiểm kê CNTT]")
        body = message.get_body(("plain",))
        assert body is not None
        plain = body.get_content()
        assert "Phần mềm độc hại chưa xử lý xong" in plain and THREAT in plain and "PC-VANTHU-01" in plain

        # 4. a later report shows it quarantined: the alert resolves, nothing is left unremediated
        fixed = _remediated_copy(tmp_path / "remediated")
        done = agent.run("report", KIEMKE_AGENT_REPLAY=str(fixed))
        assert done.returncode == 0 and "delivered" in done.stdout, done.stdout + done.stderr
        [closed] = wait_for(lambda: _alerts(engine, states=["resolved"]), timeout=30, what="the alert to resolve")
        assert closed.id == alert.id and not _alerts(engine, states=["open", "acknowledged"])
        with reading(engine) as session:
            rows = session.execute(sa.select(_DETECTION.c.key, _DETECTION.c.status)).all()
        assert [tuple(r) for r in rows] == [(DETECTION_ID, "remediated")]  # still one row, its status moved

    figures = _figures()
    computers, unremediated = figures["computers_with_detections"], figures["detections_unremediated"]
    assert (computers["numerator"], computers["denominator"]) == (1, 1)
    assert (unremediated["numerator"], unremediated["denominator"]) == (0, 1)
    text = _cli("report", "--format", "txt", "--lang", "vi", "--no-compare").stdout
    assert "Trong kỳ, phát hiện và xử lý 1 trường hợp phần mềm độc hại trên 1 máy tính" in text
    assert "đã xử lý xong toàn bộ." in text
