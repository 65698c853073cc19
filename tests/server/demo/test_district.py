"""The demo district has the seed report's shape and the fleet is deterministic and valid."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from server.demo import district, fleet
from shared.schema import InventoryReport


def test_district_has_the_seed_reports_shape() -> None:
    kinds = Counter(u.kind for u in district.units())
    assert kinds == {"district": 1, "department": 11, "commune": 15, "school": 64}
    assert sum(u.one_stop_shop for u in district.units()) == 16  # district + 15 communes and towns
    assert len({u.code for u in district.units()}) == len(district.units())


def test_spreadsheets_use_the_import_columns(tmp_path: Path) -> None:
    paths = district.write_spreadsheets(tmp_path)
    for name, columns in (("units", district.UNIT_COLUMNS), ("assets", district.ASSET_COLUMNS),
                          ("licences", district.LICENCE_COLUMNS)):
        with paths[name].open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert tuple(rows[0].keys()) == columns
    units = {r["code"] for r in district.unit_rows()}
    assert {r["unit"] for r in district.asset_rows()} <= units
    assert any(r["air_gapped"] == "yes" for r in district.asset_rows())


def test_fleet_is_deterministic_and_reports_validate() -> None:
    first, second = fleet.fleet(), fleet.fleet()
    assert first == second
    assert {pc.unit_code for pc in first} == {u.code for u in district.units()}
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    reports = list(fleet.history(first, now))
    for _, report in reports[:50]:
        InventoryReport.model_validate_json(report.model_dump_json())
    assert len({r.report_id for _, r in reports}) == len(reports)
    assert all(r.collected_at <= now for _, r in reports)


def test_an_updated_bios_is_reported_after_the_update_only() -> None:
    pc = next(p for p in fleet.fleet() if p.bios_updated is not None)
    assert pc.bios_updated is not None
    before = fleet.report_at(pc, datetime(2019, 1, 1, tzinfo=timezone.utc))
    after = fleet.report_at(pc, datetime(2025, 6, 1, tzinfo=timezone.utc))
    assert before.hardware.bios_date == pc.bios_date
    assert after.hardware.bios_date == pc.bios_updated
