"""Hostile agents against the API: one key writes one PC, the server's clock files reports, no 500 from input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import make_engine, reading, writing
from server.models import Agent, AuditLog, Device, Observation, ReceivedReport, table_of
from server.services.compliance import check_computer
from server.services.enrolment import create_token
from server.services.history import snapshot
from server.services.policy import Policy
from server.services.records import save_device
from shared.protocol import ENROLL_PATH, REPORTS_PATH
from tests.server.factories import ENROLLED_AT, T0, enrolled_agent, make_report, make_unit

NOW = T0 + timedelta(days=10)  # the server's clock in these tests


@pytest.fixture
def db(client: TestClient, database_url: str) -> Iterator[Engine]:
    """Two communes X1 and X2 under the district, and an engine to look at what the API wrote."""
    engine = make_engine(database_url)
    make_unit(engine, "UBND")
    make_unit(engine, "X1", kind="commune", parent="UBND")
    make_unit(engine, "X2", kind="commune", parent="UBND")
    yield engine
    engine.dispose()


@pytest.fixture
def frozen() -> Iterator[None]:
    """The server's clock stands at NOW."""
    with time_machine.travel(NOW, tick=False):
        yield


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def _post(client: TestClient, key: str, body: str | bytes) -> Any:
    return client.post(REPORTS_PATH, content=body, headers=_bearer(key))


def _device(engine: Engine, machine_id: str) -> Device:
    with reading(engine) as session:
        device = session.exec(select(Device).where(Device.machine_id == machine_id)).one()
        session.expunge(device)
        return device


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one())


def _actions(engine: Engine) -> list[str]:
    with reading(engine) as session:
        return [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]  # type: ignore[arg-type]


# --- an agent is one machine ----------------------------------------------------------------------------------


def test_a_key_cannot_write_another_units_pc(client: TestClient, db: Engine, frozen: None) -> None:
    _, x2_key = enrolled_agent(db, "X2", machine_id="pc-x2")
    assert _post(client, x2_key, make_report("pc-x2", hostname="x2-ketoan").model_dump_json()).status_code == 201
    _, x1_key = enrolled_agent(db, "X1", machine_id="pc-x1")
    hostile = make_report("pc-x2", hostname="owned", collected_at=T0 + timedelta(days=1))
    hostile.firewall.enabled = False
    response = _post(client, x1_key, hostile.model_dump_json())
    assert response.status_code == 403
    assert "belongs to machine 'pc-x1'" in response.json()["detail"]
    device = _device(db, "pc-x2")
    assert (device.hostname, device.reports_received) == ("x2-ketoan", 1)
    assert _count(db, Observation) == 1 and "report.refused" in _actions(db)
    with reading(db) as session:
        agents = {a.machine_id: a.device_id for a in session.exec(select(Agent))}
    assert agents["pc-x1"] is None  # not re-linked to X2's device


def test_invented_machine_ids_add_no_pcs(client: TestClient, db: Engine, frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-x1")
    assert _post(client, key, make_report("pc-x1").model_dump_json()).status_code == 201
    refused = [_post(client, key, make_report(f"invented-{n}", serial=f"FAKE{n}").model_dump_json()).status_code
               for n in range(5)]
    assert refused == [403] * 5
    assert _count(db, Device) == 1


def test_enrolment_cannot_claim_another_units_device(client: TestClient, db: Engine, frozen: None) -> None:
    _, x2_key = enrolled_agent(db, "X2", machine_id="pc-x2")
    assert _post(client, x2_key, make_report("pc-x2").model_dump_json()).status_code == 201
    with writing(db) as session:
        token, _ = create_token(session, "X1", days=1, actor="test")
    response = client.post(ENROLL_PATH, json={"token": token, "machine_id": "pc-x2", "hostname": "owned"})
    assert response.status_code == 403 and "another unit" in response.json()["detail"]
    # The X2 agent still reports: its key was not revoked by the attempt.
    later = make_report("pc-x2", collected_at=T0 + timedelta(days=1))
    assert _post(client, x2_key, later.model_dump_json()).status_code == 201


def test_reinstalled_pc_claims_its_device_and_revokes_the_old_key(client: TestClient, db: Engine,
                                                                   frozen: None) -> None:
    _, old_key = enrolled_agent(db, "X1", machine_id="pc-x1")
    first = _post(client, old_key, make_report("pc-x1").model_dump_json())
    _, new_key = enrolled_agent(db, "X1", machine_id="pc-x1")
    again = _post(client, new_key, make_report("pc-x1", collected_at=T0 + timedelta(days=1)).model_dump_json())
    assert again.status_code == 201 and again.json()["device_id"] == first.json()["device_id"]
    assert _device(db, "pc-x1").reports_received == 2  # the history is kept
    assert _post(client, old_key, make_report("pc-x1", collected_at=T0 + timedelta(days=2))
                 .model_dump_json()).status_code == 401
    assert "agent.claim_device" in _actions(db)


def test_serial_of_another_units_asset_is_a_possible_duplicate_not_a_takeover(
    client: TestClient, db: Engine, frozen: None
) -> None:
    x2 = make_unit(db, "X2", kind="commune", parent="UBND")
    with writing(db) as session:
        asset = Device(unit_id=x2, kind="desktop", name="Máy mật", serial="SN-MAT", serial_key="SN-MAT",
                       air_gapped=True)
        save_device(session, asset, T0 - timedelta(days=60))
        asset_id = asset.id
    _, key = enrolled_agent(db, "X1", machine_id="pc-new")
    answer = _post(client, key, make_report("pc-new", serial="SN-MAT", reachable=True).model_dump_json())
    assert answer.status_code == 201 and answer.json()["device_id"] != asset_id
    with reading(db) as session:
        kept = session.get(Device, asset_id)
        assert kept is not None and kept.machine_id is None and kept.reports_received == 0
        state = snapshot(session, NOW.date())
    mine = next(d for d in state.devices if d.machine_id == "pc-new")
    assert mine.unit_code == "X1" and mine.possible_duplicate_of == asset_id
    theirs = next(d for d in state.devices if d.id == asset_id)
    assert "air_gap_violation" not in check_computer(theirs, NOW.date(), Policy()).issues


def test_devices_list_shows_the_possible_duplicate(client: TestClient, db: Engine, database_url: str, frozen: None,
                                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli import main

    x2 = make_unit(db, "X2", kind="commune", parent="UBND")
    with writing(db) as session:
        asset = Device(unit_id=x2, kind="desktop", name="Máy mật", serial="SN-MAT", serial_key="SN-MAT")
        save_device(session, asset, T0 - timedelta(days=60))
        asset_id = asset.id
    _, key = enrolled_agent(db, "X1", machine_id="pc-new")
    assert _post(client, key, make_report("pc-new", serial="SN-MAT").model_dump_json()).status_code == 201
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    assert main(["devices", "list", "--unit", "X1", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["data"]
    assert row["possible_duplicate_of"] == asset_id
    monkeypatch.setenv("COLUMNS", "250")  # the table on one line
    assert main(["devices", "list", "--unit", "X1"]) == 0
    assert f"possible duplicate of #{asset_id}" in capsys.readouterr().out


# --- time is the server's --------------------------------------------------------------------------------------


def _issues(engine: Engine, machine_id: str) -> tuple[str, ...]:
    with reading(engine) as session:
        state = snapshot(session, NOW.date())
    device = next(d for d in state.devices if d.machine_id == machine_id)
    return check_computer(device, NOW.date(), Policy()).issues


@pytest.mark.parametrize("claimed", [
    "0100-01-01T00:00:00Z", "0999-06-01T00:00:00Z", "1970-01-01T00:00:00Z", "2000-01-01T00:00:00Z",
    "2009-01-01T08:00:00+07:00", "2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
])
def test_a_wrong_clock_is_filed_at_receipt_and_flagged(client: TestClient, db: Engine, frozen: None,
                                                       claimed: str) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    data = json.loads(make_report("pc-1", hostname="wrong-clock").model_dump_json())
    data["collected_at"] = claimed
    assert _post(client, key, json.dumps(data)).status_code == 201
    device = _device(db, "pc-1")
    assert device.last_seen == NOW and device.first_seen == NOW and device.created_at == NOW
    with reading(db) as session:
        report = session.exec(select(ReceivedReport)).one()
        observation = session.exec(select(Observation)).one()
    assert report.collected_at == NOW and observation.observed_at == NOW and observation.clock_wrong
    assert report.claimed_collected_at is not None
    assert datetime.fromisoformat(report.claimed_collected_at) == datetime.fromisoformat(claimed.replace("Z", "+00:00"))
    assert "clock_wrong" in _issues(db, "pc-1")
    # A later good report moves the facts on and clears the issue.
    good = make_report("pc-1", hostname="fixed", collected_at=NOW)
    assert _post(client, key, good.model_dump_json()).status_code == 201
    assert _device(db, "pc-1").hostname == "fixed"
    assert "clock_wrong" not in _issues(db, "pc-1")


def test_a_report_from_2099_does_not_hold_last_seen_or_the_hostname(client: TestClient, db: Engine,
                                                                      frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    future = make_report("pc-1", hostname="from-2099", collected_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    assert _post(client, key, future.model_dump_json()).status_code == 201
    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        later = make_report("pc-1", hostname="today", collected_at=NOW + timedelta(hours=5))
        assert _post(client, key, later.model_dump_json()).status_code == 201
    device = _device(db, "pc-1")
    assert (device.hostname, device.last_seen) == ("today", NOW + timedelta(hours=5))


def test_a_late_report_spooled_or_carried_keeps_its_date(client: TestClient, db: Engine, frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    spooled = make_report("pc-1", collected_at=ENROLLED_AT + timedelta(days=2))
    assert _post(client, key, spooled.model_dump_json()).status_code == 201
    with reading(db) as session:
        report = session.exec(select(ReceivedReport)).one()
        observation = session.exec(select(Observation)).one()
    assert report.collected_at == ENROLLED_AT + timedelta(days=2) and report.received_at == NOW
    assert report.claimed_collected_at is None and not observation.clock_wrong
    assert "clock_wrong" not in _issues(db, "pc-1")


def test_a_clock_a_few_hours_ahead_is_tolerated_but_not_stored_ahead(client: TestClient, db: Engine,
                                                                      frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    ahead = make_report("pc-1", collected_at=NOW + timedelta(hours=3))
    assert _post(client, key, ahead.model_dump_json()).status_code == 201
    assert _device(db, "pc-1").last_seen == NOW
    assert "clock_wrong" not in _issues(db, "pc-1")


# --- no 500 from input -------------------------------------------------------------------------------------------


def test_deep_json_is_422_before_and_after_the_key_check(client: TestClient, db: Engine, frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    deep = "[" * 1000 + "]" * 1000
    nested = json.loads(make_report("pc-1").model_dump_json())
    inner: Any = {}
    nested["hardware"]["extra"] = inner
    for _ in range(900):
        inner["x"] = {}
        inner = inner["x"]
    for body in (deep, json.dumps(nested)[:60_000]):
        answer = _post(client, key, body)
        assert answer.status_code == 422 and answer.json()["detail"]
    assert _post(client, "kk_x_y", deep).status_code == 401
    enrol = client.post(ENROLL_PATH, content=deep, headers={"Content-Type": "application/json"})
    assert enrol.status_code == 422


def test_an_unconvertible_date_is_422_with_a_readable_message(client: TestClient, db: Engine, frozen: None) -> None:
    _, key = enrolled_agent(db, "X1", machine_id="pc-1")
    for field in ("collected_at", "os.last_boot", "network.internet.checked_at"):
        data = json.loads(make_report("pc-1").model_dump_json())
        target, *rest = field.split(".")
        holder = data
        for part in [target, *rest][:-1]:
            holder = holder[part]
        holder[field.split(".")[-1]] = "0001-01-01T00:00:00+05:00"
        answer = _post(client, key, json.dumps(data))
        assert answer.status_code == 422, field
        assert "out of range" in answer.json()["detail"]
    assert _count(db, ReceivedReport) == 0


def test_control_characters_in_agent_text_are_stripped(client: TestClient, db: Engine, frozen: None) -> None:
    with writing(db) as session:
        token, _ = create_token(session, "X1", days=1, actor="test", now=ENROLLED_AT)
    with time_machine.travel(ENROLLED_AT, tick=False):
        enrol = client.post(ENROLL_PATH, json={"token": token, "machine_id": "pc\x00-1",
                                               "hostname": "ho\x00st\x1b[31m"})
    assert enrol.status_code == 201, enrol.text
    key = enrol.json()["agent_key"]
    data = json.loads(make_report("pc-1").model_dump_json())
    data["machine_id"] = "pc-1\x00"
    data["hostname"] = "ke\x00toan\x1b[2J"
    data["peripherals"] = {"monitors": [{"manufacturer": "DEL", "model": "P22\x00 19H", "serial": "AB\x00C"}]}
    data["antivirus"][0]["name"] = "Windows\x00 Defender"
    answer = _post(client, key, json.dumps(data))
    assert answer.status_code == 201, answer.text
    device = _device(db, "pc-1")
    assert device.hostname == "ketoan[2J"
    with reading(db) as session:
        monitor = session.exec(select(Device).where(Device.kind == "monitor")).one()
        agent = session.exec(select(Agent)).one()
    assert (monitor.model, monitor.serial) == ("P22 19H", "ABC")
    assert (agent.machine_id, agent.hostname) == ("pc-1", "host[31m")
    only_nul = dict(data, machine_id="\x00\x01")
    answer = _post(client, key, json.dumps(only_nul))
    assert answer.status_code == 422 and "machine_id" in answer.json()["detail"]
