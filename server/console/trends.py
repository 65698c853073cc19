"""Each overview figure's trend over the last periods, from the reports kept on past cut-off dates.

Kept reports are the district's history of record (``report_snapshot``, never changed once written), so the
trend reads them rather than rebuilding past snapshots: the scope's own kept reports, or the whole tree's,
whose per-unit figures hold every unit's subtree. A kept report's figures are parsed once per process (its
JSON can be large) and kept in a small cache: a report never changes once kept. The line is a server-drawn
SVG (no script), its points also given as text for screen readers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.models import ReportSnapshot, table_of

#: Past periods drawn before the figure as of the date shown.
POINTS = 6
WIDTH, HEIGHT = 84, 22


@dataclass(frozen=True)
class Trend:
    """A figure's line: the SVG polyline's points and its text (date and share of each period)."""

    points: str
    last: tuple[float, float]  # the current point, drawn as a dot
    text: str


@lru_cache(maxsize=128)
def _kept_figures(engine: Engine, report_id: int) -> dict[str, dict[str, float | None]]:
    """scope ("" for the report's own) -> figure key -> percent, of one kept report."""
    kept = table_of(ReportSnapshot).c
    with engine.connect() as conn:
        text = conn.execute(sa.select(kept.json_text).where(kept.id == report_id)).scalar()
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}

    def shares(figures: object) -> dict[str, float | None]:
        if not isinstance(figures, dict):
            return {}
        return {k: v.get("percent") for k, v in figures.items() if isinstance(v, dict)}

    out = {"": shares(data.get("figures"))}
    for code, figures in (data.get("per_unit") or {}).items():
        out[code] = shares(figures)
    return out


def past_shares(engine: Engine, unit: str | None, before: date) -> list[tuple[date, dict[str, float | None]]]:
    """Up to ``POINTS`` past periods (oldest first): each kept cut-off before ``before`` and the scope's shares."""
    kept = table_of(ReportSnapshot).c
    scopes = [kept.unit_code.is_(None)] if unit is None else [kept.unit_code == unit, kept.unit_code.is_(None)]
    query = (sa.select(kept.id, kept.as_of, kept.unit_code).where(kept.as_of < before, sa.or_(*scopes))
             .order_by(kept.as_of.desc(), kept.id.desc()).limit(POINTS * 8))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    chosen: dict[date, tuple[int, bool]] = {}  # cut-off -> (report id, the scope's own report)
    for report_id, as_of, code in rows:
        own = code == unit
        if as_of not in chosen or (own and not chosen[as_of][1]):
            chosen[as_of] = (report_id, own)
    out = []
    for as_of in sorted(chosen)[-POINTS:]:
        report_id, own = chosen[as_of]
        figures = _kept_figures(engine, report_id)
        shares = figures.get("" if own or unit is None else unit)
        if shares:
            out.append((as_of, shares))
    return out


def trends(past: list[tuple[date, dict[str, float | None]]], current: Mapping[str, float | None],
           label: Callable[[date, float | None], str]) -> dict[str, Trend]:
    """Per figure with at least one past share: its line from the past periods to ``current``."""
    out: dict[str, Trend] = {}
    for key, now in current.items():
        series = [(day, shares.get(key)) for day, shares in past]
        if not any(value is not None for _, value in series) or now is None:
            continue
        values = [*(v for _, v in series), now]
        step = WIDTH / max(1, len(values) - 1)
        coords = [(round(i * step, 1), round(HEIGHT - 2 - (v / 100) * (HEIGHT - 4), 1))
                  for i, v in enumerate(values) if v is not None]
        points = " ".join(f"{x},{y}" for x, y in coords)
        text = "; ".join(label(day, value) for day, value in series)
        out[key] = Trend(points, coords[-1], text)
    return out
