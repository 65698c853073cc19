"""The IT officer's spreadsheets (CSV or XLSX with a header row): units, assets, antivirus licences.

Each import validates every row first, then writes the good ones in one transaction: a bad row is reported
with its row number (as the spreadsheet shows it, the header being row 1) and the reason, and never costs the
good rows. Extra columns are ignored. A later import updates units by code, assets by serial (or, without a
serial, by unit + kind + name) and licences by product + unit + start date; every change is versioned.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.clock import local_today
from server.config import report_timezone
from server.db import writing
from server.models import AntivirusLicence, Device, OrgUnit, utcnow
from server.services.records import audit, normalise_serial, save_device, save_licence, save_unit
from server.services.state import COMPUTER_KINDS

UNIT_KINDS = ("district", "department", "commune", "school", "other")
DEVICE_KINDS = ("desktop", "laptop", "server", "printer", "scanner", "photocopier", "camera", "network", "monitor",
                "other")
STATUSES = ("in_use", "spare", "retired")
INTERNET = ("fibre", "other", "none")
_YES = {"yes", "y", "có", "co", "1", "x", "true", "đúng"}
_NO = {"no", "n", "không", "khong", "0", "", "false", "sai"}

Row = dict[str, str]


class RowError(ValueError):
    """One cell that cannot be read; the message names the column."""


@dataclass
class ImportResult:
    """What an import did."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)

    def as_json(self) -> dict[str, object]:
        """Counts and row errors, for ``--json``."""
        return {"kind": self.kind, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "errors": [{"row": row, "reason": reason} for row, reason in self.errors]}


# --- reading ----------------------------------------------------------------------------------------------


def _header(name: object) -> str:
    return re.sub(r"\s+", "_", str(name or "").strip().lower())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12 as 12.0
    return str(value).strip()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1258")  # Vietnamese Windows code page, what older Excel versions export


def read_rows(path: Path) -> Iterator[tuple[int, Row]]:
    """(row number, {header: text}) for every non-empty data row of a CSV or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
        return
    text = _decode(path.read_bytes())
    first = text.split("\n", 1)[0]
    # Excel in a Vietnamese locale separates with ';' because ',' is the decimal mark.
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    headers = [_header(h) for h in next(reader, [])]
    for number, values in enumerate(reader, start=2):
        if any(v.strip() for v in values):
            yield number, {h: v.strip() for h, v in zip(headers, values, strict=False) if h}


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Row]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        headers = [_header(h) for h in next(rows, ())]
        for number, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values]
            if any(cells):
                yield number, {h: v for h, v in zip(headers, cells, strict=False) if h}
    finally:
        book.close()


# --- cells ------------------------------------------------------------------------------------------------


def yes_no(value: str, column: str) -> bool:
    """yes/no, có/không, 1/0, x/blank."""
    text = value.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowError(f"{column}: {value!r} is not yes/no (yes/no, có/không, 1/0, x/blank)")


def parse_date(value: str, column: str) -> date | None:
    """YYYY-MM-DD or DD/MM/YYYY; None when blank."""
    text = value.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowError(f"{column}: {value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _count(value: str, column: str) -> int | None:
    text = re.sub(r"[.,\s]", "", value)  # "1.200" is how a Vietnamese sheet writes 1200
    if not text:
        return None
    if not text.isdigit():
        raise RowError(f"{column}: {value!r} is not a whole number")
    return int(text)


def _choice(value: str, column: str, choices: tuple[str, ...], *, default: str | None = None) -> str | None:
    text = value.strip().lower().replace(" ", "_")
    if not text:
        return default
    if text not in choices:
        raise RowError(f"{column}: {value!r} is not one of {', '.join(choices)}")
    return text


def _required(row: Row, column: str) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise RowError(f"{column}: missing")
    return value


def _text(row: Row, column: str) -> str | None:
    return row.get(column, "").strip() or None


# --- imports ----------------------------------------------------------------------------------------------


def _run(engine: Engine, path: Path, kind: str, actor: str,
         write: Callable[[Session, list[tuple[int, Row]], ImportResult, datetime], None],
         now: datetime | None = None) -> ImportResult:
    result = ImportResult(kind)
    rows = list(read_rows(path))
    now = now or utcnow()
    with writing(engine) as session:
        write(session, rows, result, now)
        audit(session, actor, f"{kind}.import", now, file=str(path), created=result.created, updated=result.updated,
              unchanged=result.unchanged, errors=len(result.errors))
    result.errors.sort()
    return result


def _tally(result: ImportResult, created: bool, changed: bool) -> None:
    if created:
        result.created += 1
    elif changed:
        result.updated += 1
    else:
        result.unchanged += 1


def import_units(engine: Engine, path: Path, actor: str, *, now: datetime | None = None) -> ImportResult:
    """Create or update units from ``code, name, kind, parent, staff, lan, wifi, wan, internet, one_stop_shop``."""
    return _run(engine, path, "units", actor, _write_units, now)


def _unit_row(row: Row) -> dict[str, Any]:
    """The row's facts; optional columns absent from the sheet are absent here, so they keep their value."""
    facts: dict[str, Any] = {
        "code": _required(row, "code"),
        "name": _required(row, "name"),
        "kind": _choice(_required(row, "kind"), "kind", UNIT_KINDS),
        "parent": _text(row, "parent"),
    }
    if "staff" in row:
        facts["staff"] = _count(row["staff"], "staff")
    if "internet" in row:
        facts["internet"] = _choice(row["internet"], "internet", INTERNET)
    for column in ("lan", "wifi", "wan", "one_stop_shop"):
        if column in row:
            facts[column] = yes_no(row[column], column)
    return facts


def _write_units(session: Session, rows: list[tuple[int, Row]], result: ImportResult, now: datetime) -> None:
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, row in rows:
        try:
            facts = _unit_row(row)
        except RowError as exc:
            result.errors.append((number, str(exc)))
            continue
        if facts["code"] in parsed:
            result.errors.append((number, f"code: {facts['code']!r} repeats row {parsed[facts['code']][0]}"))
            continue
        parsed[facts["code"]] = (number, facts)
    existing = {u.code: u for u in session.exec(select(OrgUnit))}
    by_id = {u.id: code for code, u in existing.items()}
    # Parents as they stand, then as each row (in sheet order) would set them: earlier rows win a cycle.
    after: dict[str, str | None] = {
        code: by_id.get(u.parent_id) if u.parent_id is not None else None for code, u in existing.items()
    }
    for code, (number, facts) in list(parsed.items()):
        previous, after[code] = after.get(code), facts["parent"]
        seen, walk = {code}, facts["parent"]
        while walk is not None and walk not in seen:
            seen.add(walk)
            walk = after.get(walk)
        if walk is not None:
            result.errors.append((number, f"parent: {facts['parent']!r} would make the unit its own ancestor"))
            del parsed[code]
            if code in existing:
                after[code] = previous
            else:
                del after[code]
    changed = True
    while changed:  # a parent refused above takes its children with it
        changed = False
        for code, (number, facts) in list(parsed.items()):
            if facts["parent"] is not None and facts["parent"] not in existing and facts["parent"] not in parsed:
                result.errors.append((number, f"parent: unknown unit {facts['parent']!r}"))
                del parsed[code]
                changed = True
    units: dict[str, OrgUnit] = dict(existing)
    for code, (_, facts) in parsed.items():  # first pass: every unit exists, so parents can point at them
        if code not in units:
            units[code] = OrgUnit(code=code, name=facts["name"], kind=facts["kind"])
            session.add(units[code])
    session.flush()
    for code, (_, facts) in parsed.items():
        unit = units[code]
        created = unit.updated_at is None
        for name, value in facts.items():
            if name not in ("code", "parent"):
                setattr(unit, name, value)
        unit.parent_id = units[facts["parent"]].id if facts["parent"] else None
        _tally(result, created, save_unit(session, unit, now))


def import_assets(engine: Engine, path: Path, actor: str, *, now: datetime | None = None) -> ImportResult:
    """Create or update devices from ``unit, kind, name, vendor, model, serial, purchased_on, status, air_gapped``."""
    return _run(engine, path, "assets", actor, _write_assets, now)


def _asset_row(row: Row, units: dict[str, int]) -> dict[str, Any]:
    unit = _required(row, "unit")
    if unit not in units:
        raise RowError(f"unit: unknown unit {unit!r}")
    facts: dict[str, Any] = {
        "unit_id": units[unit],
        "kind": _choice(_required(row, "kind"), "kind", DEVICE_KINDS),
        "name": _text(row, "name"),
        "vendor": _text(row, "vendor"),
        "model": _text(row, "model"),
        "serial": _text(row, "serial"),
        "purchased_on": parse_date(row.get("purchased_on", ""), "purchased_on"),
        "status": _choice(row.get("status", ""), "status", STATUSES),
        "air_gapped": yes_no(row["air_gapped"], "air_gapped") if "air_gapped" in row else None,
    }
    if facts["purchased_on"] and facts["purchased_on"] > local_today(report_timezone()):
        raise RowError(f"purchased_on: {facts['purchased_on']} is in the future")
    if normalise_serial(facts["serial"]) is None and not facts["name"]:
        raise RowError("serial or name: one is needed so that a later import updates this asset")
    return facts


def _find_asset(session: Session, facts: dict[str, Any]) -> Device | None:
    key = normalise_serial(facts["serial"])
    query = (
        select(Device).where(Device.serial_key == key).order_by(col(Device.id)) if key is not None
        else select(Device).where(Device.unit_id == facts["unit_id"], Device.kind == facts["kind"],
                                  Device.name == facts["name"], col(Device.serial_key).is_(None))
    )
    found: Device | None = session.exec(query).first()
    return found


def _write_assets(session: Session, rows: list[tuple[int, Row]], result: ImportResult, now: datetime) -> None:
    units = {u.code: u.id for u in session.exec(select(OrgUnit)) if u.id is not None}
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            facts = _asset_row(row, units)
        except RowError as exc:
            result.errors.append((number, str(exc)))
            continue
        key = normalise_serial(facts["serial"]) or f"{facts['unit_id']}/{facts['kind']}/{facts['name']}"
        if key in seen:
            result.errors.append((number, f"serial: {facts['serial'] or facts['name']!r} repeats row {seen[key]}"))
            continue
        seen[key] = number
        device = _find_asset(session, facts)
        created = device is None
        if device is None:
            device = Device(unit_id=facts["unit_id"], kind=facts["kind"])
        elif device.machine_id is not None and facts["kind"] not in COMPUTER_KINDS:
            result.errors.append((number, f"kind: {facts['kind']!r} but serial belongs to a computer with an agent"))
            continue
        for name, value in facts.items():
            # Blank cells keep what is known (an agent may have filled vendor and model).
            if value is not None:
                setattr(device, name, value)
        device.serial_key = normalise_serial(device.serial)
        _tally(result, created, save_device(session, device, now))


def import_licences(engine: Engine, path: Path, actor: str, *, now: datetime | None = None) -> ImportResult:
    """Create or update antivirus licences from ``product, seats, valid_from, valid_to, unit``."""
    return _run(engine, path, "licences", actor, _write_licences, now)


def _write_licences(session: Session, rows: list[tuple[int, Row]], result: ImportResult, now: datetime) -> None:
    units = {u.code: u.id for u in session.exec(select(OrgUnit)) if u.id is not None}
    existing = list(session.exec(select(AntivirusLicence)))
    for number, row in rows:
        try:
            product = _required(row, "product")
            seats = _count(_required(row, "seats"), "seats")
            valid_from = parse_date(row.get("valid_from", ""), "valid_from")
            valid_to = parse_date(row.get("valid_to", ""), "valid_to")
            unit = _text(row, "unit")
            if unit is not None and unit not in units:
                raise RowError(f"unit: unknown unit {unit!r}")
            if valid_from and valid_to and valid_to < valid_from:
                raise RowError(f"valid_to: {valid_to} is before valid_from {valid_from}")
        except RowError as exc:
            result.errors.append((number, str(exc)))
            continue
        unit_id = units[unit] if unit is not None else None
        licence = next((lic for lic in existing if lic.product.casefold() == product.casefold()
                        and lic.unit_id == unit_id and lic.valid_from == valid_from), None)
        created = licence is None
        if licence is None:
            licence = AntivirusLicence(product=product, seats=seats or 0, unit_id=unit_id, valid_from=valid_from)
            existing.append(licence)
        licence.seats, licence.valid_to = seats or 0, valid_to
        _tally(result, created, save_licence(session, licence, now))
