"""The IT officer's spreadsheets (CSV or XLSX with a header row): units, assets, antivirus licences.

Each import validates every row first, then writes the good ones in one transaction: a bad row is reported
with its row number (as the spreadsheet shows it, the header being row 1) and the reason, and never costs the
good rows. Extra columns are ignored. A later import updates units by code, assets by serial (or, without a
serial, by unit + kind + name) and licences by product + unit + start date; every change is versioned.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.clock import local_date
from server.config import report_timezone
from server.db import writing
from server.models import AntivirusLicence, Device, DeviceVersion, OrgUnit, table_of, utcnow
from server.services.records import DEVICE_FIELDS, audit, normalise_serial, save_device, save_licence, save_unit
from server.services.sheet_files import Row, RowError, SheetError, read_rows
from server.vocab import COMPUTER_KINDS, DEVICE_KINDS, IN_USE, STATUSES, UNIT_KINDS
from server.vocab import INTERNET_LINKS as INTERNET

__all__ = ["ImportResult", "Row", "RowError", "SheetError", "import_assets", "import_licences", "import_units",
           "parse_date", "read_rows", "yes_no"]

_YES = {"yes", "y", "có", "co", "1", "x", "true", "đúng"}
_NO = {"no", "n", "không", "khong", "0", "", "false", "sai"}

#: Oldest purchase date taken: a PC bought before 1990 is a typing error (or a 0001-01-01 placeholder).
EARLIEST_PURCHASE = date(1990, 1, 1)
#: Licence dates outside these are typing errors.
LICENCE_DATES = (date(1990, 1, 1), date(2100, 12, 31))
MAX_STAFF = 1_000_000
MAX_SEATS = 10_000_000
#: Longest text per column (the database's column widths).
MAX_LENGTH = {"code": 64, "parent": 64, "unit": 64, "name": 256, "product": 256, "vendor": 512, "model": 512,
              "serial": 512, "notes": 2000}
#: Row errors kept with their message (a file of a million bad rows is counted, not listed in full).
MAX_LISTED_ERRORS = 1000
_CHUNK = 1000


@dataclass
class ImportResult:
    """What an import did."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason), the first 1000
    refused: int = 0  # rows refused, listed or not
    file_error: str | None = None  # why reading stopped early; the rows before were imported

    def refuse(self, row: int, reason: str) -> None:
        """Count a refused row; keep its reason while the list is short."""
        self.refused += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append((row, reason))

    @property
    def ok(self) -> bool:
        """Every row was taken and the whole file read."""
        return self.refused == 0 and self.file_error is None

    def as_json(self) -> dict[str, object]:
        """Counts and row errors, for ``--json``."""
        return {"kind": self.kind, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "refused": self.refused, "file_error": self.file_error,
                "errors": [{"row": row, "reason": reason} for row, reason in self.errors]}


# --- cells ------------------------------------------------------------------------------------------------


def yes_no(value: str, column: str) -> bool:
    """yes/no, có/không, 1/0, x/blank."""
    text = value.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowError(f"{column}: {_shown(value)} is not yes/no (yes/no, có/không, 1/0, x/blank)")


def _shown(value: str) -> str:
    """A cell quoted in a message, cut short."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def parse_date(value: str, column: str, earliest: date | None = None, latest: date | None = None) -> date | None:
    """YYYY-MM-DD or DD/MM/YYYY, within ``earliest``..``latest`` when given; None when blank."""
    text = value.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            # fromisoformat is ten times faster than strptime, and most sheets write YYYY-MM-DD.
            iso = fmt == "%Y-%m-%d" and len(text) == 10 and text[4] == text[7] == "-"
            day = date.fromisoformat(text) if iso else datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if earliest is not None and day < earliest:
            raise RowError(f"{column}: {day.isoformat()} is before {earliest.isoformat()}")
        if latest is not None and day > latest:
            raise RowError(f"{column}: {day.isoformat()} is after {latest.isoformat()}")
        return day
    raise RowError(f"{column}: {_shown(value)} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _count(value: str, column: str, maximum: int) -> int | None:
    text = re.sub(r"[.,\s]", "", value)  # "1.200" is how a Vietnamese sheet writes 1200
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise RowError(f"{column}: {_shown(value)} is not a whole number")
    if len(text) > len(str(maximum)) or int(text) > maximum:
        raise RowError(f"{column}: {_shown(value)} is more than {maximum:,}")
    return int(text)


def _choice(value: str, column: str, choices: tuple[str, ...], *, default: str | None = None) -> str | None:
    text = value.strip().lower().replace(" ", "_")
    if not text:
        return default
    if text not in choices:
        raise RowError(f"{column}: {_shown(value)} is not one of {', '.join(choices)}")
    return text


def _bounded(value: str, column: str) -> str:
    limit = MAX_LENGTH.get(column)
    if limit is not None and len(value) > limit:
        raise RowError(f"{column}: {len(value)} characters, at most {limit}")
    return value


def _required(row: Row, column: str) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise RowError(f"{column}: missing")
    return _bounded(value, column)


def _text(row: Row, column: str) -> str | None:
    return _bounded(row.get(column, "").strip(), column) or None


# --- imports ----------------------------------------------------------------------------------------------

Rows = Iterable[tuple[int, Row | RowError]]
Writer = Callable[[Session, Rows, ImportResult, datetime, date], None]


class _DryRun(Exception):
    """Raised at the end of a preview so that its transaction is rolled back."""


def _run(engine: Engine, path: Path, kind: str, actor: str, write: Writer, tz: tzinfo | None,
         now: datetime | None = None, *, dry_run: bool = False, file_label: str | None = None) -> ImportResult:
    """Stream the rows into ``write`` in one transaction; a file that stops being readable keeps the rows before.

    ``dry_run``: the same work, then rolled back: the counts and refusals are exactly what the import would do.
    """
    result = ImportResult(kind)
    now = now or utcnow()  # the demo backdates its records; otherwise the server's clock
    today = local_date(now, tz or report_timezone())

    def rows() -> Iterator[tuple[int, Row | RowError]]:
        try:
            yield from read_rows(path)
        except SheetError as exc:
            result.file_error = str(exc)

    try:
        with writing(engine) as session:
            write(session, rows(), result, now, today)
            if dry_run:
                raise _DryRun
            audit(session, actor, f"{kind}.import", now, file=file_label or str(path), created=result.created,
                  updated=result.updated, unchanged=result.unchanged, errors=result.refused,
                  file_error=result.file_error)
    except _DryRun:
        pass
    result.errors.sort()
    return result


def import_sheet(engine: Engine, path: Path, kind: str, actor: str, *, tz: tzinfo | None = None,
                 allowed: set[str] | None = None, dry_run: bool = False,
                 file_label: str | None = None) -> ImportResult:
    """Import (or, with ``dry_run``, preview) a ``units``, ``assets`` or ``licences`` sheet.

    ``allowed``: the unit codes the person may change (None: every unit); asset rows of other units, and rows
    whose serial is another unit's device, are refused. Units and licences are for callers without a bound.
    """
    if kind == "assets":
        writer: Writer = _write_assets if allowed is None else _assets_within(allowed)
    elif kind in ("units", "licences"):
        if allowed is not None:
            raise ValueError(f"{kind} are imported by an administrator")
        writer = _write_units if kind == "units" else _write_licences
    else:
        raise ValueError(f"unknown sheet {kind!r}")
    return _run(engine, path, kind, actor, writer, tz, dry_run=dry_run, file_label=file_label)


def _tally(result: ImportResult, created: bool, changed: bool) -> None:
    if created:
        result.created += 1
    elif changed:
        result.updated += 1
    else:
        result.unchanged += 1


def import_units(engine: Engine, path: Path, actor: str, *, tz: tzinfo | None = None,
                   now: datetime | None = None) -> ImportResult:
    """Create or update units from ``code, name, kind, parent, staff, lan, wifi, wan, internet, one_stop_shop``."""
    return _run(engine, path, "units", actor, _write_units, tz, now)


def _unit_row(row: Row) -> dict[str, Any]:
    """The row's facts; optional columns absent from the sheet are absent here, so they keep their value."""
    facts: dict[str, Any] = {
        "code": _required(row, "code"),
        "name": _required(row, "name"),
        "kind": _choice(_required(row, "kind"), "kind", UNIT_KINDS),
        "parent": _text(row, "parent"),
    }
    if "staff" in row:
        facts["staff"] = _count(row["staff"], "staff", MAX_STAFF)
    if "internet" in row:
        facts["internet"] = _choice(row["internet"], "internet", INTERNET)
    for column in ("lan", "wifi", "wan", "one_stop_shop"):
        if column in row:
            facts[column] = yes_no(row[column], column)
    return facts


def _write_units(session: Session, rows: Rows, result: ImportResult, now: datetime, today: date) -> None:
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, row in rows:
        try:
            if isinstance(row, RowError):
                raise row
            facts = _unit_row(row)
        except RowError as exc:
            result.refuse(number, str(exc))
            continue
        if facts["code"] in parsed:
            result.refuse(number, f"code: {facts['code']!r} repeats row {parsed[facts['code']][0]}")
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
            result.refuse(number, f"parent: {facts['parent']!r} would make the unit its own ancestor")
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
                result.refuse(number, f"parent: unknown unit {facts['parent']!r}")
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


def import_assets(engine: Engine, path: Path, actor: str, *, tz: tzinfo | None = None,
                   now: datetime | None = None) -> ImportResult:
    """Create or update devices from ``unit, kind, name, vendor, model, serial, purchased_on, status, air_gapped``
    and ``notes`` (optional; a blank cell keeps the notes already kept).

    Rows are taken a thousand at a time (one lookup of their serials, new devices inserted together), so a
    sheet of hundreds of thousands of rows is imported in bounded memory.
    """
    return _run(engine, path, "assets", actor, _write_assets, tz, now)


def _asset_row(row: Row, units: dict[str, int], today: date) -> dict[str, Any]:
    unit = _required(row, "unit")
    if unit not in units:
        raise RowError(f"unit: unknown unit {_shown(unit)}")
    facts: dict[str, Any] = {
        "unit_id": units[unit],
        "kind": _choice(_required(row, "kind"), "kind", DEVICE_KINDS),
        "name": _text(row, "name"),
        "vendor": _text(row, "vendor"),
        "model": _text(row, "model"),
        "serial": _text(row, "serial"),
        "purchased_on": parse_date(row.get("purchased_on", ""), "purchased_on", EARLIEST_PURCHASE, today),
        "status": _choice(row.get("status", ""), "status", STATUSES),
        "air_gapped": yes_no(row["air_gapped"], "air_gapped") if "air_gapped" in row else None,
        "notes": _text(row, "notes"),
    }
    if normalise_serial(facts["serial"]) is None and not facts["name"]:
        raise RowError("serial or name: one is needed so that a later import updates this asset")
    return facts


def _asset_key(facts: dict[str, Any]) -> str:
    return normalise_serial(facts["serial"]) or f"{facts['unit_id']}/{facts['kind']}/{facts['name']}"


def _by_name(session: Session, facts: dict[str, Any]) -> Device | None:
    found: Device | None = session.exec(
        select(Device).where(Device.unit_id == facts["unit_id"], Device.kind == facts["kind"],
                             Device.name == facts["name"], col(Device.serial_key).is_(None))
    ).first()
    return found


def _write_assets(session: Session, rows: Rows, result: ImportResult, now: datetime, today: date,
                  allowed: set[str] | None = None) -> None:
    every = {u.code: u.id for u in session.exec(select(OrgUnit)) if u.id is not None}
    units = every if allowed is None else {code: uid for code, uid in every.items() if code in allowed}
    outside = set(every) - set(units)
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, _CHUNK)):
        _asset_chunk(session, chunk, units, result, now, today, outside)
        session.flush()
        session.expunge_all()  # what is written need not stay in memory


def _assets_within(allowed: set[str]) -> Writer:
    """The assets writer for a person who may change the devices of ``allowed`` units only."""
    def write(session: Session, rows: Rows, result: ImportResult, now: datetime, today: date) -> None:
        _write_assets(session, rows, result, now, today, allowed)

    return write


def _asset_chunk(session: Session, chunk: list[tuple[int, Row | RowError]], units: dict[str, int],
                 result: ImportResult, now: datetime, today: date, outside: set[str] | None = None) -> None:
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, row in chunk:
        try:
            if isinstance(row, RowError):
                raise row
            if outside and row.get("unit", "").strip() in outside:
                raise RowError(f"unit: {_shown(row['unit'].strip())} is not among your units")
            facts = _asset_row(row, units, today)
        except RowError as exc:
            result.refuse(number, str(exc))
            continue
        key = _asset_key(facts)
        if key in parsed:
            result.refuse(number, f"serial: {facts['serial'] or facts['name']!r} repeats row {parsed[key][0]}")
            continue
        parsed[key] = (number, facts)
    serials = {key for key, (_, facts) in parsed.items() if normalise_serial(facts["serial"]) is not None}
    found: dict[str, Device] = {}
    if serials:
        # Several agent devices may share a serial: the oldest is the one a hand entry updates.
        for match in session.exec(select(Device).where(col(Device.serial_key).in_(sorted(serials)))
                                  .order_by(col(Device.id).desc())):
            found[match.serial_key or ""] = match
    new: list[dict[str, Any]] = []
    for key, (number, facts) in parsed.items():
        device: Device | None = found.get(key) if key in serials else _by_name(session, facts)
        if device is None:
            values = {name: facts.get(name) for name in DEVICE_FIELDS}
            values["status"] = values["status"] or IN_USE
            values["air_gapped"] = bool(values["air_gapped"])
            new.append(values)
            continue
        if outside is not None and device.unit_id not in units.values():
            result.refuse(number, f"serial: {facts['serial']!r} is a device of a unit that is not yours")
            continue
        if device.updated_at == now:
            result.refuse(number, f"serial: {facts['serial'] or facts['name']!r} repeats an earlier row")
            continue
        if device.machine_id is not None and facts["kind"] not in COMPUTER_KINDS:
            result.refuse(number, f"kind: {facts['kind']!r} but serial belongs to a computer with an agent")
            continue
        for name, value in facts.items():
            # Blank cells keep what is known (an agent may have filled vendor and model).
            if value is not None:
                setattr(device, name, value)
        device.serial_key = normalise_serial(device.serial)
        _tally(result, False, save_device(session, device, now))
    if new:
        _insert_devices(session, new, now)
        result.created += len(new)


def _insert_devices(session: Session, facts: list[dict[str, Any]], now: datetime) -> None:
    """New hand-entered devices and their first versions, as two multi-row inserts (ORM objects cost ~1 ms each)."""
    devices, versions = table_of(Device), table_of(DeviceVersion)
    rows = [{**f, "serial_key": normalise_serial(f["serial"]), "reports_received": 0, "created_at": now,
             "updated_at": now} for f in facts]
    if session.get_bind().dialect.name == "sqlite":
        # SQLite sends RETURNING with ordered ids one row per statement. The writer holds the database lock
        # (BEGIN IMMEDIATE), so the new rows are exactly those after the largest id before the insert, in order.
        before = session.execute(sa.select(sa.func.coalesce(sa.func.max(devices.c.id), 0))).scalar_one()
        session.execute(sa.insert(devices), rows)
        ids: Iterable[int] = session.execute(
            sa.select(devices.c.id).where(devices.c.id > before).order_by(devices.c.id)).scalars().all()
    else:
        ids = session.execute(sa.insert(devices).returning(devices.c.id, sort_by_parameter_order=True), rows).scalars()
    session.execute(sa.insert(versions), [{**f, "device_id": device_id, "valid_from": now, "valid_to": None}
                                          for f, device_id in zip(facts, ids, strict=True)])


def import_licences(engine: Engine, path: Path, actor: str, *, tz: tzinfo | None = None,
                   now: datetime | None = None) -> ImportResult:
    """Create or update antivirus licences from ``product, seats, valid_from, valid_to, unit``."""
    return _run(engine, path, "licences", actor, _write_licences, tz, now)


def _write_licences(session: Session, rows: Rows, result: ImportResult, now: datetime, today: date) -> None:
    units = {u.code: u.id for u in session.exec(select(OrgUnit)) if u.id is not None}
    existing = list(session.exec(select(AntivirusLicence)))
    for number, row in rows:
        try:
            if isinstance(row, RowError):
                raise row
            product = _required(row, "product")
            seats = _count(_required(row, "seats"), "seats", MAX_SEATS)
            valid_from = parse_date(row.get("valid_from", ""), "valid_from", *LICENCE_DATES)
            valid_to = parse_date(row.get("valid_to", ""), "valid_to", *LICENCE_DATES)
            unit = _text(row, "unit")
            if unit is not None and unit not in units:
                raise RowError(f"unit: unknown unit {_shown(unit)}")
            if valid_from and valid_to and valid_to < valid_from:
                raise RowError(f"valid_to: {valid_to} is before valid_from {valid_from}")
        except RowError as exc:
            result.refuse(number, str(exc))
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
