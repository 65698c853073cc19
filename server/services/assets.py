"""Hand edits of an asset's kept facts and hand-entered assets, versioned and audited like a spreadsheet import.

The form's text is read with the spreadsheet's cell rules (``spreadsheets.parse_date``, the same kinds and
statuses) and written through ``records.save_device``, the function the import calls: the earlier version is
closed at the edit's instant, so a past cut-off keeps its figures and a later report says it was corrected.
Each edit is one audit entry with who, when, and every changed field's old and new value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.db import writing
from server.models import Device, OrgUnit, utcnow
from server.services.records import DEVICE_FIELDS, audit, normalise_serial, save_device
from server.services.spreadsheets import RowError, parse_date
from server.vocab import COMPUTER_KINDS, DEVICE_KINDS, HAND_KINDS, IN_USE, STATUSES
from shared.text import clean_text

#: The fields a person edits in the form, in the form's order.
FORM_FIELDS = ("name", "unit", "kind", "status", "vendor", "model", "serial", "purchased_on", "air_gapped", "notes")
_LIMITS = {"name": 256, "vendor": 512, "model": 512, "serial": 512, "notes": 2000}


class FormError(ValueError):
    """A form that cannot be saved: ``problems`` maps a field to a message key (``err:...``) and its values."""

    def __init__(self, problems: dict[str, tuple[str, dict[str, object]]]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AssetForm:
    """What the form sent, as text."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """The cleaned text of one field ('' when absent); notes keep their line breaks."""
        return clean_text(self.values.get(name, ""), multiline=name == "notes").strip()


@dataclass(frozen=True)
class Saved:
    """An edit that was written: the device id and the fields that changed, ``{field: (old, new)}``."""

    device_id: int
    changes: dict[str, tuple[Any, Any]]


def _facts(form: AssetForm, units: dict[str, int], today: date) -> dict[str, Any]:
    problems: dict[str, tuple[str, dict[str, object]]] = {}
    facts: dict[str, Any] = {}
    for name, limit in _LIMITS.items():
        text = form.get(name)
        if len(text) > limit:
            problems[name] = ("err:too_long", {"limit": limit})
        facts[name] = text or None
    unit = form.get("unit")
    if unit not in units:
        problems["unit"] = ("err:unit", {})
    else:
        facts["unit_id"] = units[unit]
    kind = form.get("kind")
    if kind not in DEVICE_KINDS:
        problems["kind"] = ("err:choice", {})
    facts["kind"] = kind
    status = form.get("status") or IN_USE
    if status not in STATUSES:
        problems["status"] = ("err:choice", {})
    facts["status"] = status
    try:
        bought = parse_date(form.get("purchased_on"), "purchased_on")
    except RowError:
        problems["purchased_on"] = ("err:date", {})
        bought = None
    if bought is not None and bought > today:
        problems["purchased_on"] = ("err:future", {})
    facts["purchased_on"] = bought
    facts["air_gapped"] = form.get("air_gapped") in ("on", "yes", "true", "1")
    if problems:
        raise FormError(problems)
    return facts


def _units(session: Session, allowed: set[str]) -> dict[str, int]:
    rows = session.execute(sa.select(OrgUnit.code, OrgUnit.id))  # type: ignore[call-overload]
    return {code: uid for code, uid in rows if code in allowed}


def _unit_code(session: Session, unit_id: int) -> str | None:
    unit = session.get(OrgUnit, unit_id)
    return unit.code if unit else None


def _shown(name: str, value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def edit_device(engine: Engine, device_id: int, form: AssetForm, *, actor: str, allowed: set[str],
                today: date, at: datetime | None = None) -> Saved:
    """Change a device's hand-kept facts; ``allowed`` are the unit codes the actor may reach (before and after).

    ``LookupError`` when the device does not exist or is out of reach; ``FormError`` with per-field problems.
    """
    at = at or utcnow()
    with writing(engine) as session:
        device = session.get(Device, device_id)
        if device is None or _unit_code(session, device.unit_id) not in allowed:
            raise LookupError(device_id)
        facts = _facts(form, _units(session, allowed), today)
        if device.machine_id is not None and facts["kind"] not in COMPUTER_KINDS | {"other"}:
            raise FormError({"kind": ("err:agent_kind", {})})
        before = {name: getattr(device, name) for name in DEVICE_FIELDS}
        for name, value in facts.items():
            setattr(device, name, value)
        device.serial_key = normalise_serial(device.serial)
        changes = {name: (before[name], getattr(device, name)) for name in DEVICE_FIELDS
                   if before[name] != getattr(device, name)}
        if changes and save_device(session, device, at):
            audit(session, actor, "device.edit", at, device_id=device_id, device=device.name or device.hostname,
                  unit=_unit_code(session, device.unit_id), changes=_changes_json(session, changes))
        return Saved(device_id, changes)


def add_asset(engine: Engine, form: AssetForm, *, actor: str, allowed: set[str], today: date,
              at: datetime | None = None) -> Saved:
    """Create a hand-entered asset (no agent); ``FormError`` when the form is refused."""
    at = at or utcnow()
    with writing(engine) as session:
        facts = _facts(form, _units(session, allowed), today)
        problems: dict[str, tuple[str, dict[str, object]]] = {}
        if facts["kind"] not in HAND_KINDS:
            problems["kind"] = ("err:choice", {})
        key = normalise_serial(facts["serial"])
        if key is None and not facts["name"]:
            problems["name"] = ("err:name_or_serial", {})
        if key is not None and session.exec(select(Device).where(Device.serial_key == key)).first() is not None:
            problems["serial"] = ("err:serial_taken", {})
        if problems:
            raise FormError(problems)
        device = Device(**facts)
        device.serial_key = key
        save_device(session, device, at)
        assert device.id is not None
        changes = {name: (None, facts[name]) for name in DEVICE_FIELDS if facts.get(name) not in (None, False)}
        audit(session, actor, "device.create", at, device_id=device.id, device=device.name,
              unit=_unit_code(session, device.unit_id), changes=_changes_json(session, changes))
        return Saved(device.id, changes)


def _changes_json(session: Session, changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    """Changed fields for the audit log; a unit is named by its code, not its id."""
    out: dict[str, list[Any]] = {}
    for name, (old, new) in changes.items():
        if name == "unit_id":
            out["unit"] = [_unit_code(session, old) if old else None, _unit_code(session, new)]
        else:
            out[name] = [_shown(name, old), _shown(name, new)]
    return out
