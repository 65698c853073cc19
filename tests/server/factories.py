"""Small factories for server tests: units, reports, enrolled agents."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.engine import Engine

from server.db import writing
from server.models import OrgUnit
from server.services.enrolment import create_token, enroll
from server.services.records import save_unit, unit_by_code
from shared.protocol import EnrollRequest
from shared.schema import InventoryReport

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def make_unit(engine: Engine, code: str = "UBND", kind: str = "district", parent: str | None = None,
              at: datetime = T0, **facts: Any) -> int:
    """Create (or update) a unit; returns its id."""
    with writing(engine) as session:
        unit = unit_by_code(session, code) or OrgUnit(code=code, name=facts.pop("name", code), kind=kind)
        unit.kind = kind
        if parent is not None:
            parent_row = unit_by_code(session, parent)
            assert parent_row is not None
            unit.parent_id = parent_row.id
        for name, value in facts.items():
            setattr(unit, name, value)
        save_unit(session, unit, at)
        assert unit.id is not None
        return unit.id


def make_report(machine_id: str = "machine-1", *, collected_at: datetime = T0, serial: str | None = "SN-1001",
                hostname: str = "pc-1", bios_date: date | None = date(2014, 6, 1), av_enabled: bool = True,
                reachable: bool | None = True, **extra: Any) -> InventoryReport:
    """A realistic report of a Windows desktop."""
    data: dict[str, Any] = {
        "report_id": str(uuid.uuid4()),
        "machine_id": machine_id,
        "machine_id_source": "smbios_uuid",
        "hostname": hostname,
        "platform": "windows",
        "collected_at": collected_at.isoformat(),
        "agent_version": "0.1.0",
        "hardware": {
            "vendor": "Dell Inc.", "model": "OptiPlex 9020", "serial": serial, "chassis": "desktop",
            "cpu_model": "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", "cpu_cores": 4, "cpu_threads": 4,
            "ram_bytes": 8 * 2**30, "bios_date": bios_date.isoformat() if bios_date else None,
        },
        "os": {"name": "Microsoft Windows 10 Pro", "version": "10.0.19045", "build": "19045",
               "install_date": "2019-03-02", "last_boot": collected_at.isoformat()},
        "antivirus": [{"name": "Windows Defender", "enabled": av_enabled, "up_to_date": True,
                       "source": "security_center", "product_state": 397568}],
        "firewall": {"enabled": True, "source": "netfirewallprofile"},
        "network": {"internet": {"reachable": reachable, "latency_ms": 12.5, "checked_at": collected_at.isoformat()}},
    }
    data.update(extra)
    return InventoryReport.model_validate(data)


#: When factory agents enrol: before ``T0``, so that reports collected from ``T0`` on are believed.
ENROLLED_AT = T0 - timedelta(days=30)


def enrolled_agent(engine: Engine, unit_code: str = "UBND", machine_id: str = "machine-1",
                   public_key: str | None = None, at: datetime = ENROLLED_AT) -> tuple[uuid.UUID, str]:
    """Enrol an agent through a fresh token at ``at``; returns (agent id, bearer key)."""
    with writing(engine) as session:
        token, _ = create_token(session, unit_code, days=7, actor="test", now=at)
    with writing(engine) as session:
        response = enroll(session, EnrollRequest(token=token, machine_id=machine_id, public_key=public_key), now=at)
    return response.agent_id, response.agent_key
