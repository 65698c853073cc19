"""The console's lookups on a hand-made snapshot: order of the device list, the CSV, the unit picker."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from server.console.data import CSV_COLUMNS, devices_csv, reachable
from server.console.i18n import EN, VI
from server.services.compliance import ISSUE_ORDER
from server.services.coverage import coverage_for
from server.services.device_filter import select_devices
from server.services.figure import FIGURE_KEYS
from server.services.policy import Policy
from server.services.state import AntivirusState, DeviceState, Snapshot, UnitState

AS_OF = date(2024, 5, 18)
SEEN = datetime(2024, 5, 18, 2, 0, tzinfo=timezone.utc)
DEFENDER = AntivirusState(name="Windows Defender", enabled=True, up_to_date=True, signatures_updated_at=SEEN,
                          source="security_center")


def _pc(id: int, host: str, **facts: object) -> DeviceState:
    values: dict[str, object] = {
        "unit_code": "XA", "kind": "desktop", "hostname": host, "has_agent": True, "last_seen": SEEN,
        "reports_received": 3, "os_name": "Microsoft Windows 11 Pro", "os_version": "10.0.26100",
        "os_build": "26100", "antivirus": (DEFENDER,), "firewall_enabled": True, "internet_reachable": True,
        "purchased_on": date(2022, 1, 1), **facts}
    return DeviceState(id=id, **values)  # type: ignore[arg-type]


SNAPSHOT = Snapshot(
    as_of=AS_OF,
    units=(UnitState(code="XA", name="Xã A", kind="commune", staff=5),),
    devices=(
        _pc(1, "XA-OK"),
        _pc(2, "=HYPERLINK(\"http://evil\")", antivirus=()),
        _pc(3, "XA-MAT", air_gapped=True),
        _pc(4, "XA-OLD", purchased_on=date(2015, 1, 1)),
        DeviceState(id=5, unit_code="XA", kind="printer", name="Máy in", purchased_on=date(2023, 1, 1)),
    ),
)


def test_most_serious_first() -> None:
    cov = coverage_for(SNAPSHOT, Policy())
    ordered = [d.id for d in select_devices(SNAPSHOT, cov)]
    assert ordered[:2] == [3, 2]  # the air-gap violation, then the PC without antivirus
    assert ordered.index(4) < ordered.index(1)  # past service life before a device with nothing to fix
    assert [d.id for d in select_devices(SNAPSHOT, cov, issue="air_gap_violation")] == [3]
    assert [d.id for d in select_devices(SNAPSHOT, cov, issue="past_service_life")] == [4]
    assert [d.id for d in select_devices(SNAPSHOT, cov, search="mat")] == [3]
    agent_items = set(cov.figures["computers_with_agent"].items)
    assert {d.id for d in select_devices(SNAPSHOT, cov, figure="computers_with_agent")} == agent_items


def test_csv_columns_and_formula_cells() -> None:
    cov = coverage_for(SNAPSHOT, Policy())
    text = devices_csv(select_devices(SNAPSHOT, cov), cov, {"XA": "Xã A"})
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["issues"] == "air_gap_violation"
    assert rows[1]["hostname"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1]["unit_name"] == "Xã A" and rows[1]["air_gapped"] == "false"


def test_unit_picker_is_bounded_and_survives_cycles() -> None:
    units = {"PH": ("Huyện", None), "A": ("A", "PH"), "B": ("B", "A"), "C": ("C", "PH"), "L1": ("L1", "L2"),
             "L2": ("L2", "L1")}
    assert [(c.code, c.depth) for c in reachable(units, "A")] == [("A", 0), ("B", 1)]
    assert [c.code for c in reachable(units, None)] == ["PH", "A", "B", "C"]  # a parent cycle is not a root
    assert reachable(units, "NOPE") == []


def test_every_issue_and_figure_has_words() -> None:
    from server.console.i18n import Texts

    for texts in (VI, EN):
        assert all(f"issue:{issue}" in texts for issue in ISSUE_ORDER)
    for lang in ("vi", "en"):
        t = Texts(lang)
        assert all(t(f"fig:{key}") != f"fig:{key}" for key in FIGURE_KEYS)
