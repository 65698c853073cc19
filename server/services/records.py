"""Hand-kept records (units, devices, licences) with their version history.

Every change to a record closes its open version row and opens a new one at the same instant, so the
record as it stood at any past moment is the version whose span covers that moment. Callers change the
current row through these functions only; they never write version rows themselves.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from server.models import (
    AntivirusLicence,
    AntivirusLicenceVersion,
    AuditLog,
    Device,
    DeviceFacts,
    DeviceVersion,
    LicenceFacts,
    OrgUnit,
    OrgUnitVersion,
    UnitFacts,
)

UNIT_FIELDS = tuple(UnitFacts.model_fields)
DEVICE_FIELDS = tuple(DeviceFacts.model_fields)
LICENCE_FIELDS = tuple(LicenceFacts.model_fields)


def os_user() -> str:
    """The operating-system user running this command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"


def audit(session: Session, actor: str, action: str, at: datetime, **detail: Any) -> None:
    """Append an audit log entry."""
    session.add(AuditLog(at=at, actor=actor, action=action, detail=json.dumps(detail, default=str, sort_keys=True)))


def _facts(row: SQLModel, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def _new_version(
    session: Session,
    version_cls: type[SQLModel],
    owner: str,
    owner_id: int,
    facts: dict[str, Any],
    at: datetime,
    spans: tuple[str, str],
) -> bool:
    """Open a version with ``facts`` unless the open one already says the same; True when it changed."""
    start, end = spans
    owner_col = getattr(version_cls, owner)
    end_col = getattr(version_cls, end)
    current = session.exec(select(version_cls).where(owner_col == owner_id, col(end_col).is_(None))).first()
    if current is not None:
        if _facts(current, tuple(facts)) == facts:
            return False
        if getattr(current, start) >= at:
            # Changed twice within one instant: the first version never held, so replace it in place.
            for name, value in facts.items():
                setattr(current, name, value)
            session.add(current)
            return True
        setattr(current, end, at)
        session.add(current)
    session.add(version_cls(**facts, **{owner: owner_id, start: at}))
    return True


def save_unit(session: Session, unit: OrgUnit, at: datetime) -> bool:
    """Insert or update ``unit`` and record its version; True when anything changed."""
    unit.updated_at = at
    session.add(unit)
    session.flush()
    assert unit.id is not None
    return _new_version(session, OrgUnitVersion, "unit_id", unit.id, _facts(unit, UNIT_FIELDS), at,
                        ("valid_from", "valid_to"))


def save_device(session: Session, device: Device, at: datetime) -> bool:
    """Insert or update ``device``'s hand-kept facts and record its version; True when anything changed."""
    device.updated_at = at
    if device.created_at is None:
        device.created_at = at
    session.add(device)
    session.flush()
    assert device.id is not None
    return _new_version(session, DeviceVersion, "device_id", device.id, _facts(device, DEVICE_FIELDS), at,
                        ("valid_from", "valid_to"))


def save_licence(session: Session, licence: AntivirusLicence, at: datetime) -> bool:
    """Insert or update ``licence`` and record its version; True when anything changed."""
    licence.updated_at = at
    session.add(licence)
    session.flush()
    assert licence.id is not None
    return _new_version(session, AntivirusLicenceVersion, "licence_id", licence.id,
                        _facts(licence, LICENCE_FIELDS), at, ("recorded_from", "recorded_to"))


def unit_by_code(session: Session, code: str) -> OrgUnit | None:
    """The unit with ``code`` (codes compare case-sensitively, as the officer typed them)."""
    unit: OrgUnit | None = session.exec(select(OrgUnit).where(OrgUnit.code == code)).first()
    return unit


def normalise_serial(serial: str | None) -> str | None:
    """The comparison key of a serial number; None for blanks and well-known placeholders."""
    if serial is None:
        return None
    key = "".join(serial.split()).upper()
    if len(key) < 3 or key in PLACEHOLDER_SERIALS or len(set(key)) == 1:  # "0000000", "XXXXXX"
        return None
    return key


# Strings firmware vendors leave in the serial field; matching on them would merge unrelated PCs.
PLACEHOLDER_SERIALS = frozenset(
    {
        "TOBEFILLEDBYO.E.M.",
        "TOBEFILLEDBYOEM",
        "DEFAULTSTRING",
        "SYSTEMSERIALNUMBER",
        "CHASSISSERIALNUMBER",
        "NOTSPECIFIED",
        "NOTAPPLICABLE",
        "NONE",
        "N/A",
        "NA",
        "NULL",
        "UNKNOWN",
        "INVALID",
        "OEM",
        "O.E.M.",
        "123456789",
        "0123456789",
        "1234567890",
        "SERIALNUMBER",
        "BASEBOARDSERIALNUMBER",
        "EMPTY",
        "DEFAULT",
        "NOTAVAILABLE",
        "VMWARE",
    }
)
