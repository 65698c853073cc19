"""The inventory list's filters, sorting and the XLSX export: what the officer narrows the device list by.

Filters combine (every one given must hold); they read the same snapshot and assessments as the figures, so
a filtered list and its export agree with the overview. Unknown values are dropped rather than refused: a
stale bookmark still opens the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from server.console.data import fold, neutralise
from server.console.xlsx_writer import Cell, workbook
from server.report.numbers import Lang
from server.services.compliance import ISSUE_ORDER, is_air_gapped
from server.services.figure import Assessment, Coverage
from server.services.spreadsheets import DEVICE_KINDS, STATUSES
from server.services.state import COMPUTER_KINDS, DeviceState

#: Age bands in years: [low, high), the last open-ended; "unknown" for devices whose age nobody knows.
AGE_BANDS: dict[str, tuple[float, float]] = {"0-3": (0, 3), "3-5": (3, 5), "5-8": (5, 8), "8+": (8, 1e9)}
SORTS = ("unit", "kind", "name", "age", "last_seen", "reports")
PAGE_SIZES = (25, 50, 100, 200, 500)
ISSUE_FILTERS = (*ISSUE_ORDER, "past_service_life", "any")
#: Columns of the XLSX export, the leader's: label keys of the console's texts.
XLSX_COLUMNS = ("col_unit", "col_kind", "col_name", "f_vendor", "f_model", "f_serial", "f_status", "sec_os",
                "sec_antivirus", "f_cpu", "col_age_years", "col_age_how", "col_past_life", "col_last_seen",
                "col_reports", "col_issues")


@dataclass(frozen=True)
class DeviceQuery:
    """The list's narrowing and order, as the query string gives it."""

    kind: str | None = None
    status: str | None = None
    os: str | None = None
    av: str | None = None
    age: str | None = None
    issues: tuple[str, ...] = ()
    unseen: int | None = None  # not seen for at least this many days (computers)
    air_gapped: bool | None = None
    own_only: bool = False  # the unit itself, without its sub-units
    sort: str | None = None
    desc: bool = False
    size: int = 100

    @classmethod
    def parse(cls, params: Mapping[str, str], issues: Iterable[str]) -> DeviceQuery:
        """Read the query string, dropping values the list does not know."""
        def pick(name: str, allowed: Iterable[str]) -> str | None:
            value = params.get(name) or None
            return value if value in set(allowed) else None

        unseen = params.get("unseen", "")
        size = params.get("size", "")
        return cls(
            kind=pick("kind", DEVICE_KINDS), status=pick("status", STATUSES),
            os=(params.get("os") or "").strip()[:100] or None, av=(params.get("av") or "").strip()[:100] or None,
            age=pick("age", (*AGE_BANDS, "unknown")),
            issues=tuple(dict.fromkeys(i for i in issues if i in ISSUE_FILTERS)),
            unseen=int(unseen) if unseen.isdigit() and 0 < int(unseen) <= 3650 else None,
            air_gapped={"yes": True, "no": False}.get(params.get("air_gapped", "")),
            own_only=params.get("subunits") == "0",
            sort=pick("sort", SORTS), desc=params.get("dir") == "desc",
            size=int(size) if size.isdigit() and int(size) in PAGE_SIZES else 100,
        )

    def params(self) -> dict[str, object]:
        """The query string that gives this query back (defaults left out), for links."""
        return {k: v for k, v in {
            "kind": self.kind, "status": self.status, "os": self.os, "av": self.av, "age": self.age,
            "unseen": self.unseen, "air_gapped": {True: "yes", False: "no", None: None}[self.air_gapped],
            "subunits": "0" if self.own_only else None, "sort": self.sort, "dir": "desc" if self.desc else None,
            "size": self.size if self.size != 100 else None,
        }.items() if v is not None}


@dataclass(frozen=True)
class Narrowed:
    """The devices a query keeps, and the choices the form offers (from the whole scope, not the narrowed)."""

    devices: list[DeviceState]
    os_names: tuple[str, ...] = field(default=())
    av_names: tuple[str, ...] = field(default=())


def age_band(assessment: Assessment) -> str:
    if assessment.age_years is None:
        return "unknown"
    return next(name for name, (low, high) in AGE_BANDS.items() if low <= assessment.age_years < high)


def _has(issue: str, assessment: Assessment) -> bool:
    if issue == "past_service_life":
        return assessment.past_service_life
    if issue == "any":
        return bool(assessment.issues) or assessment.past_service_life
    return issue in assessment.issues


def narrow(devices: list[DeviceState], coverage: Coverage, query: DeviceQuery, *, unit: str | None,
           as_of: date, tz: tzinfo) -> Narrowed:
    """``devices`` (already in the list's default order) narrowed and ordered by ``query``."""
    os_names = tuple(sorted({d.os_name for d in devices if d.os_name}))
    av_names = tuple(sorted({p.name for d in devices for p in d.antivirus}))
    checks: list[Callable[[DeviceState], bool]] = []
    a = coverage.assessments
    if query.own_only and unit is not None:
        checks.append(lambda d: d.unit_code == unit)
    if query.kind:
        checks.append(lambda d: d.kind == query.kind)
    if query.status:
        checks.append(lambda d: d.status == query.status)
    if query.os:
        wanted_os = fold(query.os)
        checks.append(lambda d: wanted_os in fold(f"{d.os_name or ''} {d.os_version or ''}"))
    if query.av:
        wanted_av = fold(query.av)
        checks.append(lambda d: any(wanted_av == fold(p.name) for p in d.antivirus))
    if query.age:
        checks.append(lambda d: age_band(a[d.id]) == query.age)
    for issue in query.issues:
        checks.append(lambda d, issue=issue: _has(issue, a[d.id]))  # type: ignore[misc]
    if query.unseen is not None:
        limit = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=tz) - timedelta(days=query.unseen)
        checks.append(lambda d: d.kind in COMPUTER_KINDS and (d.last_seen is None or d.last_seen < limit))
    if query.air_gapped is not None:
        checks.append(lambda d: is_air_gapped(d) == query.air_gapped)
    kept = [d for d in devices if all(check(d) for check in checks)]
    if query.sort:
        kept.sort(key=sort_key(query.sort, a), reverse=query.desc)
    return Narrowed(kept, os_names, av_names)


def sort_key(sort: str, a: Mapping[int, Assessment]) -> Callable[[DeviceState], Any]:
    # Unknown values sort last going up (and first going down): a tuple whose first item says "missing".
    if sort == "unit":
        return lambda d: (d.unit_code, d.id)
    if sort == "kind":
        return lambda d: (d.kind, d.id)
    if sort == "name":
        return lambda d: (fold(d.hostname or d.name or ""), d.id)
    if sort == "age":
        return lambda d: (a[d.id].age_years is None, a[d.id].age_years or 0.0, d.id)
    if sort == "last_seen":
        return lambda d: (d.last_seen is None, d.last_seen.timestamp() if d.last_seen else 0.0, d.id)
    return lambda d: (d.reports_received, d.id)


def devices_xlsx(devices: Iterable[DeviceState], coverage: Coverage, unit_names: Mapping[str, str],
                 texts: Callable[..., str], lang: Lang, tz: tzinfo) -> bytes:
    """The devices as a workbook with the leader's columns, headers in the console's language.

    Text that a spreadsheet would run as a formula is neutralised exactly as in the CSV (and every text cell
    is stored as text, never as a formula).
    """
    def rows() -> Iterator[list[Cell]]:
        for d in devices:
            a = coverage.assessments[d.id]
            how = texts(f"age:{a.age_source}") if a.age_years is not None else ""
            seen = d.last_seen.astimezone(tz).replace(tzinfo=None) if d.last_seen else None
            values: list[Cell] = [
                unit_names.get(d.unit_code, d.unit_code), texts(f"kind:{d.kind}"), d.hostname or d.name, d.vendor,
                d.model, d.serial, texts(f"status:{d.status}"),
                " ".join(p for p in (d.os_name, d.os_version) if p) or None,
                ", ".join(p.name for p in d.antivirus) or None, d.cpu_model,
                a.age_years, how + (f" ({texts('estimated')})" if a.age_estimated and how else ""),
                texts("past_life_yes") if a.past_service_life else "", seen,
                d.reports_received if d.kind in COMPUTER_KINDS else None,
                "; ".join(texts(f"issue:{i}") for i in a.issues),
            ]
            yield [neutralise(v) if isinstance(v, str) else v for v in values]

    return workbook(texts("nav_devices"), [texts(c) for c in XLSX_COLUMNS], rows(),
                    datetime_format="dd/mm/yyyy hh:mm" if lang == "vi" else "yyyy-mm-dd hh:mm")


def export_name(extension: str, as_of: date, unit: str | None) -> str:
    """The file name of an export (ASCII, for every mail client): what, as of when, which scope."""
    return f"thiet-bi-{as_of.isoformat()}-{unit or 'toan-huyen'}.{extension}"
