"""The device list's filters as precomputed bit sets: a filtered, sorted page without a pass over the fleet.

``services.device_filter.narrow`` states what a query keeps and in which order; this module gives exactly the
same answer fast. It is built once per computed scope (and cached with it, so it lives as long as the data stand still):
the scope's devices in the list's default order, and for each value a filter can take (kind, status, unit,
age band, each issue, antivirus product, OS, air-gapped) the set of positions holding it, as one Python
integer used as a bit set. A query is then a few ``&`` of integers, its count a ``bit_count()``, and a page
walks the chosen order only until the page is full. Sort orders are built on first use.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from server.services.compliance import is_air_gapped
from server.services.device_filter import (
    ISSUE_FILTERS,
    DeviceQuery,
    age_band,
    fold,
    haystack,
    list_order,
    sort_key,
)
from server.services.figure import Assessment, Coverage
from server.services.figures import Figures
from server.services.state import COMPUTER_KINDS, DeviceState, Snapshot

#: Queries whose walk along their order is kept with an index (see ``Selection.page``).
WALKS_KEPT = 32


def _positions_mask(positions: Iterable[int], size: int) -> int:
    """A bit set with the given positions."""
    bits = bytearray((size + 7) // 8)
    for p in positions:
        bits[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(bits, "little")


class DeviceIndex:
    """The scope's devices in the list's default order, with a bit set per filter value."""

    def __init__(self, snapshot: Snapshot, coverage: Coverage) -> None:
        a = coverage.assessments
        self.devices: list[DeviceState] = list_order([d for d in snapshot.devices if d.id in a], a)
        self.assessments: Mapping[int, Assessment] = a
        self.size = len(self.devices)
        self.everything = (1 << self.size) - 1
        self._figures = coverage.figures
        self._lock = threading.Lock()
        self._orders: dict[str, list[int]] = {}
        self._walks: OrderedDict[tuple[int, str | None, bool], Walk] = OrderedDict()
        self._haystacks: list[str] | None = None
        self._figure_masks: dict[str, int] = {}
        groups: dict[tuple[str, object], list[int]] = {}

        def put(key: tuple[str, object], position: int) -> None:
            groups.setdefault(key, []).append(position)

        for p, d in enumerate(self.devices):
            assessment = a[d.id]
            put(("kind", d.kind), p)
            put(("status", d.status), p)
            put(("unit", d.unit_code), p)
            put(("age", age_band(assessment)), p)
            put(("air_gapped", is_air_gapped(d)), p)
            put(("os", fold(f"{d.os_name or ''} {d.os_version or ''}")), p)
            for product in {fold(av.name) for av in d.antivirus}:
                put(("av", product), p)
            for issue in assessment.issues:
                put(("issue", issue), p)
            if assessment.past_service_life:
                put(("issue", "past_service_life"), p)
            if assessment.issues or assessment.past_service_life:
                put(("issue", "any"), p)
            if d.kind in COMPUTER_KINDS:
                put(("computer", True), p)
        self._masks = {key: _positions_mask(ps, self.size) for key, ps in groups.items()}
        self.os_names = tuple(sorted({d.os_name for d in self.devices if d.os_name}))
        self.av_names = tuple(sorted({p.name for d in self.devices for p in d.antivirus}))
        # Computers by last report, never-seen first: "not seen for N days" is a prefix of this list.
        computers = [p for p, d in enumerate(self.devices) if d.kind in COMPUTER_KINDS]
        self._by_seen = sorted(computers, key=lambda p: (self.devices[p].last_seen is not None,
                                                         self.devices[p].last_seen or datetime.min))

    def mask(self, key: str, value: object) -> int:
        """The positions whose ``key`` is ``value`` (none when no device has it)."""
        return self._masks.get((key, value), 0)

    def any_of(self, key: str, match: Callable[[Any], bool]) -> int:
        """The union of ``key``'s bit sets whose value matches (there are few distinct OS strings)."""
        out = 0
        for (k, value), mask in self._masks.items():
            if k == key and match(value):
                out |= mask
        return out

    def figure(self, key: str) -> int:
        """The positions of the devices a figure counts (its list)."""
        with self._lock:
            found = self._figure_masks.get(key)
        if found is None:
            wanted = {i for i in self._figures[key].items if isinstance(i, int)}
            found = _positions_mask((p for p, d in enumerate(self.devices) if d.id in wanted), self.size)
            with self._lock:
                self._figure_masks[key] = found
        return found

    def search(self, needle: str, unit_names: Mapping[str, str], addressed: Collection[int] = ()) -> int:
        """The positions whose names, unit, serial, model, OS, notes or antivirus contain ``needle`` (folded),
        or whose device is in ``addressed`` (found by an IP or MAC address, ``services.addresses``)."""
        with self._lock:
            hay = self._haystacks
        if hay is None:
            hay = [haystack(d, unit_names.get(d.unit_code)) for d in self.devices]
            with self._lock:
                self._haystacks = hay
        return _positions_mask((p for p, h in enumerate(hay) if needle in h or self.devices[p].id in addressed),
                               self.size)

    def unseen(self, limit: datetime) -> int:
        """The computers not seen since before ``limit`` (or never)."""
        out = []
        for p in self._by_seen:
            seen = self.devices[p].last_seen
            if seen is not None and seen >= limit:
                break
            out.append(p)
        return _positions_mask(out, self.size)

    def walk(self, key: tuple[int, str | None, bool]) -> Walk:
        """The walk of a query (its kept bits, sort and direction), made on first use; the last few are kept."""
        with self._lock:
            found = self._walks.get(key)
            if found is None:
                found = self._walks[key] = Walk()
                while len(self._walks) > WALKS_KEPT:
                    self._walks.popitem(last=False)
            else:
                self._walks.move_to_end(key)
            return found

    def order(self, sort: str) -> list[int]:
        """Positions in ``sort``'s ascending order (every key ends with the id, so descending is the reverse)."""
        with self._lock:
            found = self._orders.get(sort)
        if found is None:
            key = sort_key(sort, self.assessments)
            found = sorted(range(self.size), key=lambda p: key(self.devices[p]))
            with self._lock:
                self._orders[sort] = found
        return found


@dataclass
class Walk:
    """How far one query has been walked along its order: the positions found, and where to go on."""

    found: list[int] = field(default_factory=list)
    at: int = 0  # steps taken along the order
    lock: threading.Lock = field(default_factory=threading.Lock)


def index_of(computed: Figures) -> DeviceIndex:
    """The index of a computed scope, built on first use and kept with it (the console's list and the read API
    share it through the app's cache of figures)."""
    return computed.derived("device_index", lambda: DeviceIndex(computed.snapshot, computed.coverage))


@dataclass(frozen=True)
class Selection:
    """What a query keeps: how many, in which order, and the choices the filter form offers."""

    index: DeviceIndex
    keep: int  # bit set of positions
    sort: str | None
    desc: bool
    os_names: tuple[str, ...]
    av_names: tuple[str, ...]

    @property
    def count(self) -> int:
        """How many devices the query keeps."""
        return self.keep.bit_count()

    def _steps(self) -> tuple[Iterable[int], bytes]:
        """The positions along the query's order and direction, and its kept bits (bit p: position p kept)."""
        order: Sequence[int] = range(self.index.size) if self.sort is None else self.index.order(self.sort)
        bits = self.keep.to_bytes((self.index.size + 7) // 8 or 1, "little")
        return (reversed(order) if self.desc and self.sort is not None else order), bits

    def _positions(self) -> Iterator[int]:
        steps, bits = self._steps()
        return (p for p in steps if bits[p >> 3] >> (p & 7) & 1)

    def page(self, start: int, stop: int) -> list[DeviceState]:
        """The kept devices from ``start`` to ``stop`` (exclusive) in the query's order.

        The walk along the order may pass thousands of devices the query leaves out (the oldest devices are
        mostly monitors and printers). What a query's walk has found is kept with the index, so asking a
        page again reads it, and the next page goes on from where the last one stopped.
        """
        walk = self.index.walk((self.keep, self.sort, self.desc and self.sort is not None))
        with walk.lock:
            if len(walk.found) < stop and walk.at < self.index.size:
                self._extend(walk, stop)
            found = walk.found[start:stop]
        return [self.index.devices[p] for p in found]

    def _extend(self, walk: Walk, stop: int) -> None:
        """Walk on along the query's order until ``stop`` devices are found or the order ends."""
        steps, bits = self._steps()
        found, at = walk.found, walk.at
        for p in itertools.islice(steps, at, None):
            at += 1
            if bits[p >> 3] >> (p & 7) & 1:
                found.append(p)
                if len(found) >= stop:
                    break
        walk.at = at

    def __iter__(self) -> Iterator[DeviceState]:
        return (self.index.devices[p] for p in self._positions())


def select(index: DeviceIndex, query: DeviceQuery, *, figure: str | None, search: str | None,
           unit_names: Mapping[str, str], unit: str | None, as_of: date, tz: tzinfo,
           addressed: Collection[int] = ()) -> Selection:
    """``narrow(select_devices(...))`` (``services.device_filter``) as bit sets: the same devices in the same
    order. ``addressed``: the devices the search finds by an IP or MAC address."""
    keep = index.everything
    if figure is not None:
        keep &= index.figure(figure)
    if search:
        keep &= index.search(fold(search), unit_names, addressed)
    if keep == index.everything:
        os_names, av_names = index.os_names, index.av_names
    else:  # the form offers what the figure's list or the search holds
        chosen = Selection(index, keep, None, False, (), ())
        devices = list(chosen)
        os_names = tuple(sorted({d.os_name for d in devices if d.os_name}))
        av_names = tuple(sorted({p.name for d in devices for p in d.antivirus}))
    if query.own_only and unit is not None:
        keep &= index.mask("unit", unit)
    if query.kind:
        keep &= index.mask("kind", query.kind)
    if query.status:
        keep &= index.mask("status", query.status)
    if query.os:
        wanted_os = fold(query.os)
        keep &= index.any_of("os", lambda text: wanted_os in text)
    if query.av:
        keep &= index.mask("av", fold(query.av))
    if query.age:
        keep &= index.mask("age", query.age)
    for issue in query.issues:
        keep &= index.mask("issue", issue) if issue in ISSUE_FILTERS else 0
    if query.unseen is not None:
        limit = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=tz) - timedelta(days=query.unseen)
        keep &= index.unseen(limit)
    if query.air_gapped is not None:
        keep &= index.mask("air_gapped", query.air_gapped)
    return Selection(index, keep, query.sort, query.desc, os_names, av_names)
