"""The wire contract keeps its promises: described fields, bounded input, versioning, golden reports."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from shared import schema
from shared.protocol import split_agent_key

DATA = Path(__file__).resolve().parents[1] / "data"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for field in model.model_fields.values():
        for arg in _types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                _models(arg, seen)
    return seen


def _types(annotation: object) -> list[object]:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    out: list[object] = []
    for arg in args:
        out.extend(_types(arg))
    return out


def test_every_field_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models(schema.InventoryReport, set())
        for name, field in model.model_fields.items()
        if not field.description
    ]
    assert missing == []


def test_required_names_exist() -> None:
    report = schema.InventoryReport.model_fields
    for name in ("schema_version", "report_id", "machine_id", "hostname", "collected_at", "agent_version",
                 "errors", "hardware", "os", "antivirus", "firewall", "network", "peripherals"):
        assert name in report
    assert {"vendor", "model", "serial", "chassis", "cpu_model", "cpu_cores", "ram_bytes", "disks",
            "bios_vendor", "bios_version", "bios_date"} <= set(schema.Hardware.model_fields)
    assert {"name", "enabled", "up_to_date", "signatures_updated_at", "product_state", "source"} <= set(
        schema.AntivirusProduct.model_fields)
    assert {"name", "kind", "mac", "ipv4", "ipv6", "speed_mbps", "is_up"} <= set(
        schema.NetworkInterface.model_fields)
    assert {"reachable", "latency_ms", "target", "checked_at"} <= set(schema.InternetCheck.model_fields)


def test_minimal_report_has_honest_unknowns() -> None:
    report = schema.InventoryReport(machine_id="m-1", collected_at=datetime.now(timezone.utc))
    assert report.schema_version == schema.SCHEMA_VERSION
    assert report.hardware.bios_date is None
    assert report.network.internet.reachable is None
    assert report.antivirus == []


def test_collected_at_is_normalised_to_utc() -> None:
    report = schema.InventoryReport.model_validate(
        {"machine_id": "m", "collected_at": "2024-05-18T07:00:00+07:00"})
    assert report.collected_at == datetime(2024, 5, 18, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", [
    {"collected_at": "2024-05-18T07:00:00+07:00"},                       # no machine_id
    {"machine_id": "m", "collected_at": "2024-05-18T07:00:00"},          # naive time
    {"machine_id": "m" * 129, "collected_at": "2024-05-18T07:00:00Z"},   # oversized id
    {"machine_id": "m", "collected_at": "2024-05-18T07:00:00Z", "hardware": {"chassis": "toaster"}},
    {"machine_id": "m", "collected_at": "2024-05-18T07:00:00Z", "antivirus": [{"name": "x"}] * 65},
])
def test_bad_reports_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        schema.InventoryReport.model_validate(bad)


def test_accepted_versions() -> None:
    assert schema.SCHEMA_VERSION in schema.ACCEPTED_SCHEMA_VERSIONS
    assert min(schema.ACCEPTED_SCHEMA_VERSIONS) >= 1


def test_golden_reports_validate() -> None:
    files = sorted(DATA.glob("report-*.json"))
    platforms = set()
    for path in files:
        report = schema.InventoryReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
        platforms.add(report.platform)
    assert {"windows", "linux", "darwin"} <= platforms, f"golden reports found: {[p.name for p in files]}"


def test_split_agent_key() -> None:
    key = "kk_0b7f2c5e-1111-4222-8333-944455556666_secret"
    parsed = split_agent_key(key)
    assert parsed is not None and parsed[1] == "secret"
    assert split_agent_key("nope") is None
    assert split_agent_key("kk_not-a-uuid_x") is None


def test_version_1_reports_are_still_accepted_and_say_detections_were_not_collected() -> None:
    assert schema.SCHEMA_VERSION == 2 and 1 in schema.ACCEPTED_SCHEMA_VERSIONS
    report = schema.InventoryReport.model_validate(
        {"schema_version": 1, "machine_id": "m", "collected_at": "2024-05-18T07:00:00Z"})
    assert report.detections is None


def test_detections_are_bounded_and_typed() -> None:
    item = {"id": "{A1}", "threat": "Trojan:Win32/Wacatac.B!ml", "source": "defender", "status": "active",
            "severity": "severe", "detected_at": "2026-11-30T09:15:00+07:00", "resources": ["file:_C:\\x.exe"]}
    report = schema.InventoryReport.model_validate(
        {"machine_id": "m", "collected_at": "2026-12-01T00:00:00Z",
         "detections": {"readable": True, "sources": ["defender"], "items": [item]}})
    assert report.detections is not None
    found = report.detections.items[0]
    assert found.detected_at == datetime(2026, 11, 30, 2, 15, tzinfo=timezone.utc)
    assert found.status == "active" and found.severity == "severe"
    for bad in ({"items": [item] * 201}, {"items": [{**item, "status": "gone"}]},
                {"items": [{**item, "resources": ["f"] * 17}]}, {"items": [{**item, "source": "bkav"}]}):
        with pytest.raises(ValidationError):
            schema.InventoryReport.model_validate(
                {"machine_id": "m", "collected_at": "2026-12-01T00:00:00Z", "detections": bad})
