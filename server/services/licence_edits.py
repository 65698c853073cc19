"""Antivirus licences kept by hand in the console: add, correct, retire; versioned and audited like the import.

A licence's facts are written through ``records.save_licence`` (the import's own function), so an earlier
cut-off keeps the seats it had and a later report says the inputs were corrected. Retiring closes the open
version without opening another: from that instant the licence counts nowhere, while every earlier date still
shows it. The cells are read with the import's rules (``spreadsheets.parse_date``, the same bounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.db import writing
from server.models import AntivirusLicence, AntivirusLicenceVersion, OrgUnit, table_of, utcnow
from server.services.assets import AssetForm, FormError
from server.services.records import LICENCE_FIELDS, audit, save_licence
from server.services.spreadsheets import LICENCE_DATES, MAX_SEATS, RowError, parse_date

FORM_FIELDS = ("product", "seats", "valid_from", "valid_to", "unit")


@dataclass(frozen=True)
class LicenceLine:
    """A licence in force now (its open version)."""

    id: int
    product: str
    seats: int
    valid_from: date | None
    valid_to: date | None
    unit_code: str | None


def current_licences(engine: Engine) -> list[LicenceLine]:
    """The licences not retired, by product then start date."""
    v, u = table_of(AntivirusLicenceVersion).c, table_of(OrgUnit).c
    query = (sa.select(v.licence_id, v.product, v.seats, v.valid_from, v.valid_to, u.code)
             .select_from(table_of(AntivirusLicenceVersion).outerjoin(table_of(OrgUnit), u.id == v.unit_id))
             .where(v.recorded_to.is_(None)))
    with engine.connect() as conn:
        rows = [LicenceLine(*row) for row in conn.execute(query)]
    return sorted(rows, key=lambda r: (r.product.casefold(), r.valid_from or date.min, r.id))


def licence_values(engine: Engine, licence_id: int) -> dict[str, str] | None:
    """A licence in force as form values; None when it does not exist or was retired."""
    found = next((r for r in current_licences(engine) if r.id == licence_id), None)
    if found is None:
        return None
    return {"product": found.product, "seats": str(found.seats),
            "valid_from": found.valid_from.isoformat() if found.valid_from else "",
            "valid_to": found.valid_to.isoformat() if found.valid_to else "", "unit": found.unit_code or ""}


def _facts(session: Session, form: AssetForm) -> dict[str, Any]:
    problems: dict[str, tuple[str, dict[str, object]]] = {}
    product = form.get("product")
    if not product:
        problems["product"] = ("err:required", {})
    elif len(product) > 256:
        problems["product"] = ("err:too_long", {"limit": 256})
    seats_text = form.get("seats")
    seats = int(seats_text) if seats_text.isascii() and seats_text.isdigit() else None
    if seats is None or seats > MAX_SEATS:
        problems["seats"] = ("err:count", {})
    dates: dict[str, date | None] = {}
    for name in ("valid_from", "valid_to"):
        try:
            dates[name] = parse_date(form.get(name), name, *LICENCE_DATES)
        except RowError:
            problems[name] = ("err:date", {})
            dates[name] = None
    if dates["valid_from"] and dates["valid_to"] and dates["valid_to"] < dates["valid_from"]:
        problems["valid_to"] = ("err:licence_dates", {})
    unit_id = None
    if form.get("unit"):
        unit_id = session.execute(sa.select(OrgUnit.id).where(OrgUnit.code == form.get("unit"))).scalar()  # type: ignore[call-overload]
        if unit_id is None:
            problems["unit"] = ("err:unit", {})
    if problems:
        raise FormError(problems)
    return {"product": product, "seats": seats, "unit_id": unit_id, **dates}


def _shown(facts: dict[str, Any], session: Session) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in facts.items() if k != "unit_id"}
    unit_id = facts.get("unit_id")
    out["unit"] = session.get(OrgUnit, unit_id).code if unit_id else None  # type: ignore[union-attr]
    return out


def add_licence(engine: Engine, form: AssetForm, *, actor: str, at: datetime | None = None) -> int:
    """Create a licence from the form (``FormError`` per field); its id. Audited."""
    at = at or utcnow()
    with writing(engine) as session:
        facts = _facts(session, form)
        licence = AntivirusLicence(**facts)
        save_licence(session, licence, at)
        assert licence.id is not None
        audit(session, actor, "licence.create", at, licence_id=licence.id, **_shown(facts, session))
        return licence.id


def edit_licence(engine: Engine, licence_id: int, form: AssetForm, *, actor: str,
                 at: datetime | None = None) -> dict[str, list[Any]]:
    """Correct a licence in force (``LookupError`` when there is none); the changes, audited as old/new."""
    at = at or utcnow()
    with writing(engine) as session:
        licence = session.get(AntivirusLicence, licence_id)
        if licence is None or _retired(session, licence_id):
            raise LookupError(licence_id)
        facts = _facts(session, form)
        before = _shown({name: getattr(licence, name) for name in LICENCE_FIELDS}, session)
        for name, value in facts.items():
            setattr(licence, name, value)
        after = _shown(facts, session)
        changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        if changes and save_licence(session, licence, at):
            audit(session, actor, "licence.edit", at, licence_id=licence_id, product=licence.product, changes=changes)
        return changes


def retire_licence(engine: Engine, licence_id: int, *, actor: str, at: datetime | None = None) -> None:
    """End a licence from now on (earlier dates keep it); ``LookupError`` when it is not in force. Audited."""
    at = at or utcnow()
    with writing(engine) as session:
        version = session.exec(select(AntivirusLicenceVersion).where(
            AntivirusLicenceVersion.licence_id == licence_id,
            col(AntivirusLicenceVersion.recorded_to).is_(None))).first()
        if version is None:
            raise LookupError(licence_id)
        version.recorded_to = at
        session.add(version)
        licence = session.get(AntivirusLicence, licence_id)
        if licence is not None:
            licence.updated_at = at
            session.add(licence)
        audit(session, actor, "licence.retire", at, licence_id=licence_id, product=version.product,
              seats=version.seats)


def _retired(session: Session, licence_id: int) -> bool:
    v = table_of(AntivirusLicenceVersion).c
    return session.execute(sa.select(v.id).where(v.licence_id == licence_id, v.recorded_to.is_(None))).first() is None

