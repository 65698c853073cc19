"""What the console pages show, taken from one coverage: no figure is counted here, only looked up and worded.

The snapshot and coverage come from ``server.services.figures`` (the whole tree's snapshot, then
``figures_of`` the scope: the steps of ``figures_as_of``, the function the report itself uses), so the
overview and the downloaded report always show the same numbers. They are kept while the database has not
changed (a cheap query of the data version decides), because moving between the overview, the device list
and its exports should not rebuild the inventory each time.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.clock import utcnow
from server.commands.devices import device_row
from server.db import one_statement, reading
from server.models import (
    Agent,
    Alert,
    AntivirusLicence,
    AntivirusLicenceVersion,
    DeviceVersion,
    MonitorSighting,
    Observation,
    OrgUnitVersion,
    ReceivedReport,
    ReportSnapshot,
    table_of,
)
from server.report.numbers import Lang, format_count, format_date, format_share, format_years
from server.report.writer import UNIT_FIGURES, FigureWriter, missing_reason_key
from server.services.compliance import ISSUE_ORDER
from server.services.figure import INFRASTRUCTURE_KEYS, LIMITATION_KEYS, SECURITY_KEYS, Coverage, Figure
from server.services.figures import Figures, UnknownUnit, figures_of
from server.services.history import snapshot
from server.services.policy import Policy
from server.services.reach import UnitChoice as UnitChoice  # the console's modules import these from here
from server.services.reach import current_units as current_units
from server.services.reach import reachable as reachable
from server.services.state import DeviceState, Snapshot
from server.services.unit_tree import UnitTree
from server.vocab import COMPUTER_KINDS

log = logging.getLogger(__name__)

#: Figures where a higher share is a problem: their bars are drawn in the warning colour.
LOWER_IS_BETTER = frozenset({"os_unsupported", "air_gap_violations", "agents_stale", "past_service_life"})
#: Figures that only describe (neither good nor bad).
NEUTRAL = frozenset({"computers_air_gapped"})
#: The compliance issue that lists the computers a "good" figure leaves out.
LACKING_ISSUE = {
    "computers_with_agent": "no_agent",
    "antivirus_installed": "no_antivirus",
    "antivirus_enabled": "antivirus_disabled",
    "antivirus_up_to_date": "antivirus_out_of_date",
    "antivirus_licensed": "antivirus_unlicensed",
    "firewall_enabled": "firewall_off",
}
PARTS = (("part_infrastructure", INFRASTRUCTURE_KEYS), ("part_security", SECURITY_KEYS),
         ("part_limitations", LIMITATION_KEYS))
#: Columns of the device CSV: the names of ``kiemke-server devices list --json`` plus the unit's name and the
#: host name. Scripts read them by name; new columns are only ever appended.
CSV_COLUMNS = (
    "id", "name", "unit", "kind", "status", "vendor", "model", "serial", "air_gapped", "in_service_date",
    "age_years", "age_source", "age_estimated", "past_service_life", "issues", "last_seen", "reports_received",
    "unit_name", "hostname", "notes",
)
T = TypeVar("T")
V = TypeVar("V")


# --- the computed inventory, cached while the data stand still ----------------------------------------------

#: Every table a snapshot reads rows from, by its growing integer id (agents have UUIDs: counted below).
_FINGERPRINT_TABLES = (ReceivedReport, Observation, DeviceVersion, OrgUnitVersion, AntivirusLicenceVersion,
                       MonitorSighting)


def fingerprint_columns(dialect: str) -> list[sa.ColumnElement[Any]]:
    """The data version's parts as scalar subqueries, for a request to read beside its own row."""
    columns: list[sa.ColumnElement[Any]] = [sa.select(sa.func.max(table_of(t).c.id)).scalar_subquery()
                                            for t in _FINGERPRINT_TABLES]
    agent = table_of(Agent)
    columns.append(sa.select(sa.func.count()).select_from(agent).scalar_subquery())
    columns.append(sa.select(sa.func.count(agent.c.revoked_at)).scalar_subquery())
    # A retired licence closes its version without a new one: its row's time stamp moves.
    columns.append(sa.select(sa.func.max(table_of(AntivirusLicence).c.updated_at)).scalar_subquery())
    if dialect == "postgresql":
        # This database's writers still open (other databases' do not count). The statistics function itself,
        # not the pg_stat_activity view: the view's joins cost milliseconds on every request.
        columns.append(sa.literal_column(
            "(SELECT array_agg(s.backend_xid::text ORDER BY s.backend_xid::text) FROM pg_stat_get_activity(NULL) AS s "
            "WHERE s.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND s.backend_xid IS NOT NULL)"))
    return columns


def fingerprint_of(values: Sequence[Any]) -> tuple[Any, ...]:
    """The data version from the values of ``fingerprint_columns`` (hashable: arrays become tuples)."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def data_fingerprint(engine: Engine) -> tuple[Any, ...]:
    """The data version: changes whenever anything a snapshot reads has changed, checked in one query.

    Every change a snapshot can see adds a row (a version, a report, an observation, a sighting) or an agent
    key, or revokes one. On SQLite one writer commits at a time, so the largest ids tell what is committed.
    On PostgreSQL a transaction may commit after one that took larger ids: the transaction ids of this
    database's writers still open at that moment are part of the version, so it changes again when they end
    (``pg_stat_get_activity`` shows them to the role they run as: replicas share one role).
    (What remains is a window of microseconds: a writer's first row numbered but its transaction id not yet
    taken.) A quiet database keeps one version; a busy one changes it with every report anyway.
    """
    with one_statement(engine).connect() as conn:
        return fingerprint_of(conn.execute(sa.select(*fingerprint_columns(engine.dialect.name))).one())


@dataclass(frozen=True)
class Versions:
    """What a console request read of the database's state beside its user: the data version, the newest kept
    report and the alerts' version. Kept reports and alerts are not inventory data: a new one must not
    recompute the figures, only what shows them."""

    data: tuple[Any, ...]
    kept: int | None
    alerts: tuple[Any, ...]


def _alert_columns() -> list[sa.ColumnElement[Any]]:
    """The alerts' version: the newest alert, how many are live (not resolved), how many acknowledged.

    Exact for the counts by state: an alert opens with a new (larger) id, and otherwise only moves forward
    (open -> acknowledged -> resolved). Without a new alert the live count can only fall, so an unchanged
    live count means nothing was resolved, and then an unchanged acknowledged count means nothing was
    acknowledged. Both counts are read through indexes (the live alerts' unique key, state and time).
    """
    alert = table_of(Alert)
    return [sa.select(sa.func.max(alert.c.id)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(alert).where(alert.c.state != "resolved").scalar_subquery(),
            sa.select(sa.func.count()).select_from(alert).where(alert.c.state == "acknowledged").scalar_subquery()]


@functools.cache
def version_columns(dialect: str) -> tuple[sa.ColumnElement[Any], ...]:
    """The columns of ``Versions``, to be read in the request's one query (``users.session_user``)."""
    return (*fingerprint_columns(dialect), sa.select(sa.func.max(table_of(ReportSnapshot).c.id)).scalar_subquery(),
            *_alert_columns())


def versions_of(values: Sequence[Any]) -> Versions:
    """``Versions`` from the values of ``version_columns``."""
    return Versions(fingerprint_of(values[:-4]), values[-4], tuple(values[-3:]))


@dataclass(frozen=True)
class Made:
    """Figures as last computed for a scope (whatever the data version then), how long they took, and when."""

    figures: Figures
    took: float  # seconds of computing: the snapshot's share and the scope's
    at: datetime  # wall clock (UTC), for the page's notice
    at_monotonic: float


class CoverageCache:
    """The last few computed scopes, valid while the data version (``data_fingerprint``) is unchanged.

    The whole tree's snapshot as of a date is kept apart from each scope's coverage, so moving from one
    unit to another computes only that unit's figures (the same two steps as ``services.figures.figures_as_of``:
    the whole tree's snapshot, then ``coverage_for`` the scope). Requests for something being computed wait
    for that computation instead of starting their own.

    Where computing a scope is slow (a province: seconds) and reports keep arriving (each one a new data
    version), ``get_or_recent`` lets a page show the scope's last figures, at most ``max_age`` seconds old,
    while the new ones are computed in the background, and says how old they are. Below ``slow_seconds``
    every page waits for the newest figures, as ``get`` always does (by default always: the app passes
    ``KIEMKE_RECENT_FIGURES_AFTER``).
    """

    def __init__(self, size: int = 4, snapshots: int = 2, *, slow_seconds: float = float("inf"),
                 max_age: float = 600.0) -> None:
        self.size, self.snapshots = size, snapshots
        self.slow_seconds, self.max_age = slow_seconds, max_age
        self._entries: OrderedDict[tuple[Any, ...], Figures] = OrderedDict()
        self._snapshots: OrderedDict[tuple[Any, ...], Snapshot] = OrderedDict()
        self._snapshot_took: dict[tuple[Any, ...], float] = {}
        self._made: OrderedDict[tuple[Any, ...], Made] = OrderedDict()
        self._units: OrderedDict[tuple[Any, ...], dict[str, tuple[str, str | None]]] = OrderedDict()
        self._choices: OrderedDict[tuple[Any, ...], tuple[UnitChoice, ...]] = OrderedDict()
        self._small: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._background: dict[tuple[Any, ...], threading.Thread] = {}

    def get(self, engine: Engine, as_of: date, unit: str | None, policy: Policy, tz: tzinfo,
            version: tuple[Any, ...] | None = None) -> Figures:
        """The scope's snapshot and coverage; ``UnknownUnit`` when the unit did not exist on ``as_of``.

        ``version``: the data version when the caller has just read it (else it is read here).
        """
        day = (str(engine.url), as_of, str(tz), data_fingerprint(engine) if version is None else version)
        key = (*day, unit, policy)

        def snapshot() -> Snapshot:
            started = time.perf_counter()
            snap = self._snapshot(engine, as_of, tz)
            with self._lock:
                self._snapshot_took[day[:3]] = time.perf_counter() - started
            return snap

        def compute() -> Figures:
            snap = self._once(self._snapshots, self.snapshots, day, snapshot)
            started = time.perf_counter()
            figures = figures_of(snap, as_of, unit, policy=policy, tz=tz)  # UnknownUnit when not in the tree
            with self._lock:
                took = time.perf_counter() - started + self._snapshot_took.get(day[:3], 0.0)
                self._made[_scope(key)] = Made(figures, took, utcnow(), time.monotonic())
                self._made.move_to_end(_scope(key))
                while len(self._made) > self.size * 4:
                    self._made.popitem(last=False)
            return figures

        return self._once(self._entries, self.size, key, compute)

    def get_or_recent(self, engine: Engine, as_of: date, unit: str | None, policy: Policy, tz: tzinfo,
                      version: tuple[Any, ...]) -> tuple[Figures, datetime | None]:
        """``get``, or while that is slow to compute, the scope's last figures and when they were made.

        The newest figures are then computed in the background (once, whatever the number of pages asking),
        and the next page after that shows them.
        """
        key = (str(engine.url), as_of, str(tz), version, unit, policy)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key], None
            made = self._made.get(_scope(key))
            usable = (made is not None and made.took >= self.slow_seconds
                      and time.monotonic() - made.at_monotonic <= self.max_age)
            if usable and key not in self._background:
                thread = threading.Thread(target=self._compute_behind, name="kiemke-figures", daemon=True,
                                          args=(key, lambda: self.get(engine, as_of, unit, policy, tz, version)))
                self._background[key] = thread
                thread.start()
        if usable:
            assert made is not None
            return made.figures, made.at
        return self.get(engine, as_of, unit, policy, tz, version), None

    def _compute_behind(self, key: tuple[Any, ...], compute: Callable[[], Figures]) -> None:
        try:
            compute()
        except UnknownUnit:
            pass  # the unit is gone: the next page says so
        except Exception:  # the next page that waits for these figures meets the error itself
            log.exception("computing the figures in the background failed")
        finally:
            with self._lock:
                self._background.pop(key, None)

    def wait_idle(self) -> None:
        """Wait for the figures being computed in the background (for tests: the app's threads are daemons,
        a recompute is never worth holding a shutdown for)."""
        while True:
            with self._lock:
                threads = list(self._background.values())
            if not threads:
                return
            for thread in threads:
                thread.join()

    def units(self, engine: Engine, version: tuple[Any, ...]) -> dict[str, tuple[str, str | None]]:
        """``current_units``, read again only when the data version changes (unit edits add versions)."""
        return self._once(self._units, 1, (str(engine.url), version), lambda: current_units(engine))

    def choices(self, engine: Engine, version: tuple[Any, ...], root: str | None) -> tuple[UnitChoice, ...]:
        """``reachable`` from ``root`` in the current units, kept with them (a page asks on every request)."""
        units = self.units(engine, version)
        return self._once(self._choices, 64, (str(engine.url), version, root),
                          lambda: tuple(reachable(units, root)))

    def remember(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """A small value a page shows, kept under ``key`` (which must hold every version it depends on)."""
        value: T = self._once(self._small, 256, key, build)
        return value

    @staticmethod
    def _snapshot(engine: Engine, as_of: date, tz: tzinfo) -> Snapshot:
        with reading(engine) as session:
            return snapshot(session, as_of, tz=tz)

    def _once(self, entries: OrderedDict[tuple[Any, ...], V], size: int, key: tuple[Any, ...],
              build: Callable[[], V]) -> V:
        """``entries[key]``, built by one caller while the others wait; the oldest of ``size`` dropped."""
        with self._lock:
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            with self._lock:
                if key in entries:
                    return entries[key]
            try:
                value = build()
                with self._lock:
                    entries[key] = value
                    while len(entries) > size:
                        entries.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value


def _scope(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A cache key without its data version: the scope and date whatever the data (url, day, zone, unit, policy)."""
    return (*key[:3], *key[4:])


# --- the overview -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One figure, worded: label, share text, bar length and where its list is."""

    key: str
    label: str
    share: str
    percent: float | None
    numerator: int
    denominator: int
    tone: str  # "good", "bad" or "neutral": the colour of the bar
    sub: bool  # a breakdown line under the one above
    list_page: str  # "devices" or "units"
    lacking_issue: str | None
    note: str | None


def figure_rows(writer: FigureWriter, keys: Iterable[str], no_data: str) -> list[FigureRow]:
    """The figures of one part of the overview, in the report's order."""
    rows = []
    for key in keys:
        fig = writer.figure(key)
        if ":" in key and not fig.denominator and "no_staff" not in (fig.note or ""):
            continue  # a breakdown by a kind of unit the scope does not have
        share = format_share(fig, writer.lang)
        share_missing = share is None or not fig.denominator
        note = writer.note_text(fig.note) if fig.note else None
        if share is None:
            counts = "/".join(format_count(n, writer.lang) for n in (fig.numerator, fig.denominator))
            share = f"{no_data} ({counts})"
            reason = writer.t(missing_reason_key(key))  # "no data (why)": the why is the useful part
            note = reason[reason.find("(") + 1 : -1] if reason.endswith(")") else reason
        rows.append(FigureRow(
            key=key,
            label=writer.t(f"fig:{key}"),
            share=share,
            percent=fig.percent,
            numerator=fig.numerator,
            denominator=fig.denominator,
            # A figure with nothing to count is grey, never green: "no data" is not "all is well".
            tone="none" if share_missing else "neutral" if key in NEUTRAL else (
                "bad" if key in LOWER_IS_BETTER else "good"),
            sub=":" in key,
            list_page="units" if key in UNIT_FIGURES else "devices",
            lacking_issue=LACKING_ISSUE.get(key) if fig.numerator < fig.denominator else None,
            note=note,
        ))
    return rows


def issue_counts(snapshot: Snapshot, coverage: Coverage) -> list[tuple[str, int]]:
    """How many computers in use have each compliance problem, most serious first (none left out)."""
    counts: Counter[str] = Counter()
    for device in snapshot.devices:
        assessment = coverage.assessments.get(device.id)
        if assessment is not None and device.status == "in_use":
            counts.update(assessment.issues)
    return [(issue, counts[issue]) for issue in ISSUE_ORDER if counts[issue]]


def forecast_totals(coverage: Coverage) -> list[tuple[int, int]]:
    """(budget year, devices reaching their service life that year) for the scope."""
    return [(year, sum(units.values())) for year, units in sorted(coverage.forecast.items())]


def past_life_by_unit(writer: FigureWriter, root: str | None, top: int = 10) -> list[tuple[str, str, int, int]]:
    """The scope's sub-units with the most devices past service life: (code, name, past, in use)."""
    if root is not None:
        codes = writer.tree.children.get(root, ())
    else:
        codes = tuple(c for c in writer.tree.order if _is_root(writer, c))
    if root is None and len(codes) == 1:  # one district at the top: show its units instead
        codes = writer.tree.children.get(codes[0], ())
    rows = []
    for code in codes:
        fig = writer.cov.per_unit.get(code, {}).get("past_service_life")
        if fig is not None and fig.numerator:
            rows.append((code, writer.unit_name(code), fig.numerator, fig.denominator))
    return sorted(rows, key=lambda r: (-r[2], r[0]))[:top]


def _is_root(writer: FigureWriter, code: str) -> bool:
    parent = writer.tree.units[code].parent_code
    return parent is None or parent not in writer.tree.units


# --- devices ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceLine:
    """One device of the list, worded for a person."""

    id: int
    unit_code: str
    unit_name: str
    kind: str
    name: str
    detail: str  # vendor and model, serial
    status: str
    air_gapped: bool
    age: str
    age_how: str
    past_life: bool
    issues: tuple[str, ...]
    last_seen: str
    reports: str
    kind_text: str = ""  # the kind in words, with the status when it is not "in use"
    tags: tuple[tuple[str, str], ...] = ()  # (words, style) of each issue, or of "OK"

    @property
    def row_class(self) -> str:
        """The row's style: an air-gap violation stands out, a device not in use is muted."""
        return " ".join(c for c in ("row-danger" if "air_gap_violation" in self.issues else "",
                                    "muted" if self.status != "in_use" else "") if c)


def _timestamp(value: datetime | None, tz: tzinfo, lang: Lang) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{format_date(local.date(), 'vi')} {local:%H:%M}" if lang == "vi" else f"{local:%Y-%m-%d %H:%M}"


def device_lines(devices: Iterable[DeviceState], writer: FigureWriter, texts: Any, tz: tzinfo) -> Iterator[DeviceLine]:
    """The devices as the list shows them."""
    devices = list(devices)
    names = {code: writer.unit_name(code) for code in {d.unit_code for d in devices}}
    lang = writer.lang
    kinds: dict[tuple[str, str], str] = {}
    tags: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}

    def kind_text(kind: str, status: str) -> str:
        text = texts(f"kind:{kind}")
        return text if status == "in_use" else f"{text} ({texts(f'status:{status}')})"

    def issue_tags(issues: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        return tuple((texts(f"issue:{i}"), "danger" if i == "air_gap_violation" else "issue") for i in issues)

    for d in devices:
        a = writer.cov.assessments[d.id]
        if a.age_years is None:
            age, how = texts("age_unknown"), ""
        else:
            age = texts("age_value", years=format_years(a.age_years, lang))
            how = texts(f"age:{a.age_source}") + (f", {texts('estimated')}" if a.age_estimated else "")
        model = " ".join(p for p in (d.vendor, d.model) if p)
        computer = d.kind in COMPUTER_KINDS
        if (d.kind, d.status) not in kinds:
            kinds[d.kind, d.status] = kind_text(d.kind, d.status)
        if a.issues not in tags:
            tags[a.issues] = issue_tags(a.issues)
        shown_tags = tags[a.issues]
        if not a.issues and computer and d.status == "in_use":
            shown_tags = ((texts("ok"), "ok"),)
        yield DeviceLine(
            id=d.id,
            unit_code=d.unit_code,
            unit_name=names.get(d.unit_code, d.unit_code),
            kind=d.kind,
            name=d.hostname or d.name or texts("col_name") + f" {d.id}",
            detail=" · ".join(p for p in (d.name if d.hostname and d.name != d.hostname else None, model,
                                          d.serial) if p),
            status=d.status,
            air_gapped=d.air_gapped,
            age=age,
            age_how=how,
            past_life=a.past_service_life,
            issues=a.issues,
            last_seen=_timestamp(d.last_seen, tz, lang) if d.last_seen else (texts("never") if computer else ""),
            reports=format_count(d.reports_received, lang) if computer or d.reports_received else "",
            kind_text=kinds[d.kind, d.status],
            tags=shown_tags,
        )


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    return neutralise(str(value))


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def devices_csv(devices: Iterable[DeviceState], coverage: Coverage, unit_names: dict[str, str]) -> str:
    """The devices as CSV with ``CSV_COLUMNS``; UTF-8 with a BOM so that Excel shows Vietnamese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for device in devices:
        row = device_row(device, coverage.assessments[device.id])
        row["unit_name"] = unit_names.get(device.unit_code, "")
        row["hostname"] = device.hostname
        row["notes"] = device.notes
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


# --- units ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitLine:
    """One unit of the units page: its facts and a few of its own-subtree figures."""

    code: str
    name: str
    kind: str
    depth: int
    staff: str
    lan: bool | None
    wifi: bool | None
    wan: bool | None
    internet: str | None
    devices: int  # in use, recorded in the unit itself
    staff_share: Figure | None
    licensed: Figure | None
    past_life: Figure | None
    in_figure: bool | None  # when a figure is chosen: counted (True), lacking (False), neither (None)
    subtree_devices: int = 0  # in use in the unit and every unit below it


def unit_lines(writer: FigureWriter, figure: str | None) -> list[UnitLine]:
    """The scope's units in reading order, with the chosen figure's verdict per unit."""
    counts = Counter(d.unit_code for d in writer.snap.devices if d.status == "in_use")
    lookups = UnitTree(writer.snap.units)
    subtree: Counter[str] = Counter()
    for own_code, n in counts.items():
        for code in lookups.ancestors(own_code):
            subtree[code] += n
    counted: set[str] = set()
    lacking: set[str] = set()
    if figure is not None:
        counted = {str(i) for i in writer.figure(figure).items}
        lacking = set(writer.units_lacking(figure))
    depth: dict[str, int] = {}
    lines = []
    for code in writer.tree.order:
        unit = writer.tree.units[code]
        depth[code] = depth[unit.parent_code] + 1 if unit.parent_code in depth else 0
        figs = writer.cov.per_unit.get(code, {})
        lines.append(UnitLine(
            code=code, name=unit.name, kind=unit.kind, depth=depth[code],
            staff="" if unit.staff is None else format_count(unit.staff, writer.lang),
            lan=unit.lan, wifi=unit.wifi, wan=unit.wan, internet=unit.internet, devices=counts.get(code, 0),
            staff_share=figs.get("computers_per_staff"), licensed=figs.get("antivirus_licensed"),
            past_life=figs.get("past_service_life"),
            in_figure=True if code in counted else (False if code in lacking else None),
            subtree_devices=subtree.get(code, 0),
        ))
    return lines
