"""Which units a signed-in user may see: today's tree of unit codes and a subtree of it, parents first.

Who may see what is decided on the tree as it stands now (not as of the page's date), for the console's scope
picker and for the report API alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.models import OrgUnit, table_of


@dataclass(frozen=True)
class UnitChoice:
    """A unit for the scope picker, indented by its depth."""

    code: str
    name: str
    depth: int


def current_units(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """code -> (name, parent code) of the units as they stand now: who may see what is decided on today's tree."""
    unit = table_of(OrgUnit)
    parent = unit.alias("parent")
    query = sa.select(unit.c.code, unit.c.name, parent.c.code).select_from(
        unit.outerjoin(parent, unit.c.parent_id == parent.c.id))
    with engine.connect() as conn:
        return {code: (name, parent_code) for code, name, parent_code in conn.execute(query)}


def reachable(units: dict[str, tuple[str, str | None]], root: str | None) -> list[UnitChoice]:
    """``root``'s subtree (everything when None), parents first, siblings by code; safe against cycles."""
    children: dict[str | None, list[str]] = {}
    for code, (_, parent) in units.items():
        children.setdefault(parent if parent in units and parent != code else None, []).append(code)
    out: list[UnitChoice] = []
    seen: set[str] = set()
    stack = [(root, 0)] if root is not None else [(c, 0) for c in sorted(children.get(None, []), reverse=True)]
    while stack:
        code, depth = stack.pop()
        if code is None or code in seen or code not in units:
            continue
        seen.add(code)
        out.append(UnitChoice(code, units[code][0], depth))
        stack.extend((c, depth + 1) for c in sorted(children.get(code, []), reverse=True))
    return out
