"""``devices list`` and ``figures`` show agents' monitors and network evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from server.cli import main
from server.services.ingest import Delivery, receive
from tests.server.factories import T0, make_report, make_unit

DELL = {"manufacturer": "DEL", "model": "DELL 1908FP", "serial": "G3217A1B2C3", "year_of_manufacture": 2008}
WIFI = {"interfaces": [{"name": "Wi-Fi", "kind": "wifi", "is_up": True, "ipv4": ["192.168.0.7"]}]}


def test_monitors_are_listed_and_counted(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIEMKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KIEMKE_DATA_DIR", str(tmp_path))
    report = make_report(collected_at=T0, peripherals={"monitors": [DELL]}, network=WIFI)
    unit = make_unit(engine, "UBND", staff=3, wifi=False)
    assert receive(engine, report, lambda _c: Delivery(unit_id=unit)).status == "accepted"

    assert main(["devices", "list", "--as-of", "2024-05-01", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["data"]
    [monitor] = [r for r in rows if r["kind"] == "monitor"]
    assert (monitor["unit"], monitor["serial"], monitor["attached_to"]) == ("UBND", "G3217A1B2C3", "pc-1")
    assert (monitor["age_source"], monitor["in_service_date"], monitor["past_service_life"]) == (
        "edid", "2008-07-01", True)

    assert main(["figures", "--as-of", "2024-05-01", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    # The PC (Haswell, 2014 BIOS) and the 2008 monitor are both past five years.
    assert (figures["past_service_life"]["numerator"], figures["past_service_life"]["denominator"]) == (2, 2)
    wifi = figures["units_with_wifi"]
    assert (wifi["numerator"], wifi["denominator"]) == (1, 1)
    assert wifi["detail"] == {"from_agents": 1, "hand_entry_contradicted": 1}
