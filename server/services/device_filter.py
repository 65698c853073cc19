"""Which devices a list shows: the search, a figure's or a problem's list, and the filters that combine.

The console's device list, its CSV and XLSX exports and the read API (``/api/v1/devices``) narrow the same
snapshot and assessments with these functions, so the three always agree with each other and with the
figures. ``DeviceQuery.parse`` drops unknown values (a stale bookmark still opens the list); the API checks
its parameters first and refuses unknown ones.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from server.services.compliance import ISSUE_ORDER, is_air_gapped
from server.services.figure import Assessment, Coverage
from server.services.state import DeviceState, Snapshot
from server.vocab import COMPUTER_KINDS, DEVICE_KINDS, STATUSES

#: Age bands in years: [low, high), the last open-ended; "unknown" for devices whose age nobody knows.
AGE_BANDS: dict[str, tuple[float, float]] = {"0-3": (0, 3), "3-5": (3, 5), "5-8": (5, 8), "8+": (8, 1e9)}
SORTS = ("unit", "kind", "name", "age", "last_seen", "reports")
PAGE_SIZES = (25, 50, 100, 200, 500)
ISSUE_FILTERS = (*ISSUE_ORDER, "past_service_life", "any")
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


def _severity(assessment: Assessment) -> int:
    return ISSUE_ORDER.index(assessment.issues[0]) if assessment.issues else len(ISSUE_ORDER)


def select_devices(snapshot: Snapshot, coverage: Coverage, *, figure: str | None = None, issue: str | None = None,
                   search: str | None = None, unit_names: Mapping[str, str] | None = None,
                   addressed: frozenset[int] | set[int] = frozenset()) -> list[DeviceState]:
    """The scope's devices narrowed by a figure's list, a problem and a search; most serious problems first.

    ``addressed``: the devices the search finds by an IP or MAC address (``services.addresses``).
    """
    devices = [d for d in snapshot.devices if d.id in coverage.assessments]
    if figure is not None:
        wanted = {i for i in coverage.figures[figure].items if isinstance(i, int)}
        devices = [d for d in devices if d.id in wanted]
    if issue == "any":
        devices = [d for d in devices
                   if coverage.assessments[d.id].issues or coverage.assessments[d.id].past_service_life]
    elif issue == "past_service_life":
        devices = [d for d in devices if coverage.assessments[d.id].past_service_life]
    elif issue is not None:
        devices = [d for d in devices if issue in coverage.assessments[d.id].issues]
    if search:
        needle = fold(search)
        names = unit_names or {}
        devices = [d for d in devices if d.id in addressed or needle in haystack(d, names.get(d.unit_code))]
    return list_order(devices, coverage.assessments)


def list_order(devices: Iterable[DeviceState], assessments: Mapping[int, Assessment]) -> list[DeviceState]:
    """The list's default order: in use first, then the most serious problem, past service life, unit, id."""
    def order(d: DeviceState) -> tuple[int, int, bool, str, int]:
        a = assessments[d.id]
        return (d.status != "in_use", _severity(a), not a.past_service_life, d.unit_code, d.id)

    return sorted(devices, key=order)


def fold(text: str) -> str:
    """``text`` for a search that ignores case and Vietnamese marks: "Máy in", "MAY IN" and "may in" are equal."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def haystack(d: DeviceState, unit_name: str | None) -> str:
    """What a search looks through: names, unit, serial, model, OS, notes and antivirus products, folded
    (addresses are looked up apart, see ``select_devices``)."""
    parts = (d.name, d.hostname, d.serial, d.vendor, d.model, d.unit_code, unit_name, d.os_name, d.os_version,
             d.notes, *(p.name for p in d.antivirus))
    return fold("\n".join(p for p in parts if p))
