"""Hand edits of a unit's kept facts (name, parent, headcount, LAN, Wi-Fi, WAN, internet, one-stop shop).

Written through ``records.save_unit`` like the units import, so the change is a new version and an earlier
cut-off keeps its figures; audited with who, when and each changed field's old and new value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from server.db import writing
from server.models import OrgUnit, utcnow
from server.services.assets import FormError
from server.services.records import UNIT_FIELDS, audit, save_unit
from server.vocab import INTERNET_LINKS as INTERNET
from server.vocab import UNIT_KINDS
from shared.text import clean_text

#: The form's fields, in order.
UNIT_FORM_FIELDS = ("name", "kind", "parent", "staff", "lan", "wifi", "wan", "internet", "one_stop_shop")
_TRI = {"yes": True, "no": False, "": None}


def _facts(values: dict[str, str], parent_ok: set[str], parent_required: bool) -> dict[str, Any]:
    def get(name: str) -> str:
        return clean_text(values.get(name, "")).strip()

    problems: dict[str, tuple[str, dict[str, object]]] = {}
    facts: dict[str, Any] = {"name": get("name"), "kind": get("kind"), "parent": get("parent") or None}
    if not facts["name"]:
        problems["name"] = ("err:required", {})
    elif len(facts["name"]) > 256:
        problems["name"] = ("err:too_long", {"limit": 256})
    if facts["kind"] not in UNIT_KINDS:
        problems["kind"] = ("err:choice", {})
    if (facts["parent"] is None and parent_required) or (facts["parent"] is not None
                                                          and facts["parent"] not in parent_ok):
        problems["parent"] = ("err:parent", {})
    staff = get("staff").replace(".", "").replace(",", "").replace(" ", "")
    if staff and (not staff.isdigit() or len(staff) > 7):
        problems["staff"] = ("err:count", {})
    facts["staff"] = int(staff) if staff.isdigit() and len(staff) <= 7 else None
    for name in ("lan", "wifi", "wan"):
        if get(name) not in _TRI:
            problems[name] = ("err:choice", {})
        facts[name] = _TRI.get(get(name))
    internet = get("internet")
    if internet and internet not in INTERNET:
        problems["internet"] = ("err:choice", {})
    facts["internet"] = internet or None
    facts["one_stop_shop"] = get("one_stop_shop") in ("on", "yes", "true", "1")
    if problems:
        raise FormError(problems)
    return facts


def edit_unit(engine: Engine, code: str, values: dict[str, str], *, actor: str, allowed: set[str],
              at: datetime | None = None) -> dict[str, tuple[Any, Any]]:
    """Change the unit ``code`` (within ``allowed``); the changed fields ``{field: (old, new)}``.

    ``LookupError`` when the unit is unknown or out of reach; ``FormError`` with per-field problems. The
    parent must be a reachable unit outside the unit's own subtree, or stay what it was.
    """
    at = at or utcnow()
    with writing(engine) as session:
        units = {u.code: u for u in session.exec(select(OrgUnit))}
        unit = units.get(code)
        if unit is None or code not in allowed:
            raise LookupError(code)
        by_id = {u.id: c for c, u in units.items()}
        current_parent = by_id.get(unit.parent_id) if unit.parent_id is not None else None

        def inside(candidate: str) -> bool:  # the candidate is the unit or one of its descendants
            seen: set[str] = set()
            walk: str | None = candidate
            while walk is not None and walk not in seen:
                if walk == code:
                    return True
                seen.add(walk)
                parent_id = units[walk].parent_id
                walk = by_id.get(parent_id) if parent_id is not None else None
            return False

        parent_ok = {c for c in allowed if c in units and not inside(c)}
        if current_parent is not None:
            parent_ok.add(current_parent)
        # A bound officer's own unit keeps a parent: they cannot detach it from the tree above them.
        facts = _facts(values, parent_ok, current_parent is not None and current_parent not in allowed)
        before = {name: getattr(unit, name) for name in UNIT_FIELDS}
        before_parent = current_parent
        for name, value in facts.items():
            if name != "parent":
                setattr(unit, name, value)
        unit.parent_id = units[facts["parent"]].id if facts["parent"] else None
        changes: dict[str, tuple[Any, Any]] = {
            name: (before[name], getattr(unit, name)) for name in UNIT_FIELDS
            if name != "parent_id" and before[name] != getattr(unit, name)}
        if before_parent != facts["parent"]:
            changes["parent"] = (before_parent, facts["parent"])
        if changes and save_unit(session, unit, at):
            audit(session, actor, "unit.edit", at, unit=code, unit_name=unit.name,
                  changes={k: list(v) for k, v in changes.items()})
        return changes
