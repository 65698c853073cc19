"""Every figure of the report for a scope and for each unit in it: one pass over a ``Snapshot``, no queries.

What counts where (``figure.py`` names the keys):
- Computers are desktops, laptops and servers in use. ``computers_with_agent`` is over them; every antivirus,
  firewall, OS and ``agents_stale`` figure is over the computers with an agent report (the others tell nothing).
- ``computers_internet_connected`` is over computers with an agent report that are not air-gapped (flagged,
  or reporting only by carried files while not online); ``detail["air_gapped"]`` counts those left out, which
  are never "not connected". ``computers_air_gapped`` is over all computers in use. ``air_gap_violations`` is
  over air-gapped computers with an agent report.
- ``computers_per_staff``: staff equipped out of staff, where a unit equips at most its headcount (a unit with
  ten PCs and five officials equips five, not 200%). Only desktops and laptops of the unit itself count: a
  server equips no official. Units without a headcount are left out and named by ``detail`` and the note
  ``no_staff``. The items are the computers counted, so the item list is as long as the numerator.
- ``units_with_*`` are over the places in the scope: every unit except an administrative grouping (kind
  ``district``) that has no headcount and no equipment of its own (the district's own office is then one of
  its departments). A fact not entered is not a yes: it stays in the denominator and ``detail["unknown"]``.
  LAN and Wi-Fi also come from agents: a unit has them when its hand entry says yes or any of its own computers
  in use shows the evidence in its latest report (``DeviceState.lan_evidence``, ``wifi_evidence``). ``detail``
  counts the units established ``from_hand_entry`` (a yes entered) and ``from_agents`` (agents only), and
  ``hand_entry_contradicted``: units entered as "no" where agents show one, for the officer to correct.
- ``one_stop_shops_equipped`` is over units marked as one-stop shops (the district's own counts); a shop is
  equipped with a computer, printer, photocopier, scanner and camera of its own in use; ``detail`` says how many
  shops have each.
- ``antivirus_licensed``: ``detail`` counts the computers by what their verdict rests on (``product``: the
  product's own licence, ``register``, ``security_center``, ``builtin``, ``free``; ``none``: no antivirus on),
  beside the reasons of the unlicensed (``licences.py``). ``antivirus_licence_expiring`` is over the licensed
  computers: those whose licence (the product's own expiry, else the register's ``valid_to`` of the seat held)
  ends within ``policy.licence_expiry_warn_days`` after the date.
- ``past_service_life`` is over devices in use (virtual machines are not equipment and are left out);
  ``detail["age_unknown"]`` counts those without age evidence.
- ``computers_with_detections`` is over computers with an agent whose latest report read an antivirus history
  (``detail["unreadable"]`` counts the others: their detections are unknown, never zero); a detection counts
  in the period when found in it, changed in it or still active or failed at the cut-off (``DetectionState``).
  ``detections_unremediated`` is over those detections: the ones active or failed at the cut-off.
Per-unit figures are over the unit's own subtree, so a unit's numbers are the same whatever the scope. Licence
seats are allotted over the whole snapshot for the same reason. Items list the unit's own devices (or the unit
itself) first, then each sub-unit's in code order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from server.services.age import assess_age
from server.services.compliance import ComputerCompliance, check_computer
from server.services.figure import FIGURE_KEYS, Assessment, Coverage, Figure
from server.services.forecast import licence_renewals, replacement_forecast
from server.services.gcpause import cycle_collector_paused
from server.services.licences import LicenceReport, assess_licences
from server.services.policy import Policy
from server.services.state import DetectionState, DeviceState, Snapshot, UnitState
from server.services.unit_tree import UnitTree
from server.vocab import COMPUTER_KINDS, IN_USE, SHOP_EQUIPMENT, STAFF_COMPUTER_KINDS

_UNIT_FACTS = ("units_with_lan", "units_with_wifi", "units_with_wan", "units_with_fibre")
# Figures over computers with an agent report: empty when no agent reports, which the note says.
_AGENT_KEYS = (
    "antivirus_installed",
    "antivirus_enabled",
    "antivirus_up_to_date",
    "antivirus_licensed",
    "antivirus_licence_expiring",
    "firewall_enabled",
    "os_unsupported",
    "agents_stale",
    "computers_internet_connected",
)


class _Tally:
    """A figure being counted: numerator items, denominator, breakdown and reasons."""

    __slots__ = ("denominator", "detail", "items", "notes")

    def __init__(self) -> None:
        self.items: list[str | int] = []
        self.denominator = 0
        self.detail: dict[str, int] = {}
        self.notes: set[str] = set()

    def count(self, hit: bool, item: str | int) -> None:
        self.denominator += 1
        if hit:
            self.items.append(item)

    def add(self, name: str, amount: int = 1) -> None:
        self.detail[name] = self.detail.get(name, 0) + amount

    def merge(self, other: _Tally) -> None:
        self.items.extend(other.items)
        self.denominator += other.denominator
        for name, amount in other.detail.items():
            self.detail[name] = self.detail.get(name, 0) + amount
        self.notes |= other.notes

    def figure(self, key: str) -> Figure:
        return Figure(
            key=key,
            numerator=len(self.items),
            denominator=self.denominator,
            items=tuple(self.items),
            note="; ".join(sorted(self.notes)) or None,
            detail=dict(self.detail),
        )


def _tallies() -> dict[str, _Tally]:
    return {key: _Tally() for key in FIGURE_KEYS}


@dataclass
class _UnitDevices:
    """A unit's own devices in use, as the unit-level figures need them."""

    staff_computers: list[int] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    any_device: bool = False
    lan_evidence: bool = False  # a computer of the unit shows a LAN
    wifi_evidence: bool = False  # a computer of the unit shows Wi-Fi


def _count_device(
    t: dict[str, _Tally], device: DeviceState, assessment: Assessment, check: ComputerCompliance | None,
    warn_until: date,
) -> None:
    """Add one device in use to its unit's tallies."""
    i = device.id
    if device.chassis != "virtual":  # a virtual machine is not equipment that wears out
        past = t["past_service_life"]
        past.count(assessment.past_service_life, i)
        if assessment.age_source == "unknown":
            past.add("age_unknown")
    if check is None:
        return
    t["computers_with_agent"].count(check.has_agent, i)
    t["computers_air_gapped"].count(check.air_gapped, i)
    if not check.has_agent:
        t["computers_internet_connected"].add("no_agent")
        return
    t["antivirus_installed"].count(check.antivirus_installed, i)
    t["antivirus_enabled"].count(check.antivirus_enabled, i)
    fresh = t["antivirus_up_to_date"]
    fresh.count(check.antivirus_freshness == "current", i)
    if check.antivirus_freshness in {"stale", "unknown"}:
        fresh.add(str(check.antivirus_freshness))
    licensed = t["antivirus_licensed"]
    licensed.count(check.antivirus_licensed, i)
    licensed.add(check.licence_evidence or "none")
    if check.unlicensed_reason:
        licensed.add(check.unlicensed_reason.split(":", 1)[0])
        licensed.notes.add(check.unlicensed_reason)
    if check.antivirus_licensed:
        ends = check.licence_ends
        t["antivirus_licence_expiring"].count(ends is not None and ends <= warn_until, i)
    firewall = t["firewall_enabled"]
    firewall.count(check.firewall_enabled is True, i)
    if check.firewall_enabled is None:
        firewall.add("unknown")
    os_old = t["os_unsupported"]
    os_old.count(check.os_supported is False, i)
    if check.os_supported is None:
        os_old.add("unknown")
    t["agents_stale"].count(check.stale, i)
    internet = t["computers_internet_connected"]
    if check.air_gapped:
        internet.add("air_gapped")
        t["air_gap_violations"].count(check.air_gap_violation, i)
    else:
        internet.count(device.internet_reachable is True, i)
        if device.internet_reachable is None:
            internet.add("unknown")


def _count_detections(t: dict[str, _Tally], device: DeviceState, found: list[DetectionState]) -> None:
    """Add one computer with an agent report to the detection figures."""
    computers, open_ = t["computers_with_detections"], t["detections_unremediated"]
    if device.detections_readable is not True:
        computers.add("unreadable")
        return
    in_period = [d for d in found if d.in_period]
    computers.count(bool(in_period), device.id)
    for d in in_period:
        open_.count(d.status in {"active", "failed"}, device.id)
        if d.status in {"active", "failed"}:
            open_.add(d.status)
        computers.add(f"severity:{d.severity}")
        if d.found_in_period:
            computers.add("found")
        if d.remediated_in_period:
            computers.add("remediated")


def _with_kind(t: dict[str, _Tally], key: str, kind: str) -> list[_Tally]:
    """The tally of ``key`` and, when the figure breaks down by this unit kind, that of ``key:kind``."""
    return [t[key]] + ([t[f"{key}:{kind}"]] if f"{key}:{kind}" in t else [])


def _count_unit(t: dict[str, _Tally], unit: UnitState, own: _UnitDevices) -> None:
    """Add one unit's hand-kept facts and own equipment to its tallies (and to those of its kind)."""
    code = unit.code
    place = unit.kind != "district" or unit.staff is not None or own.any_device
    if place:
        facts = {
            "units_with_lan": unit.lan,
            "units_with_wifi": unit.wifi,
            "units_with_wan": unit.wan,
            "units_with_fibre": None if unit.internet is None else unit.internet == "fibre",
        }
        agents = {"units_with_lan": own.lan_evidence, "units_with_wifi": own.wifi_evidence}
        for key, value in facts.items():
            seen = agents.get(key, False)
            for tally in _with_kind(t, key, unit.kind):
                tally.count(value is True or seen, code)
                if key in agents:
                    if value is True:
                        tally.add("from_hand_entry")
                    elif seen:
                        tally.add("from_agents")
                        if value is False:
                            tally.add("hand_entry_contradicted")
                if value is None and not seen:
                    tally.add("unknown")
                    tally.notes.add("missing_data")
        for tally in _with_kind(t, "units_with_scanner", unit.kind):
            tally.count("scanner" in own.kinds, code)
    if unit.one_stop_shop:
        have = {name: bool(kinds & own.kinds) for name, kinds in SHOP_EQUIPMENT.items()}
        for shop in _with_kind(t, "one_stop_shops_equipped", unit.kind):
            shop.count(all(have.values()), code)
            for name, present in have.items():
                shop.add(name, int(present))
    if not place:
        return
    for tally in _with_kind(t, "computers_per_staff", unit.kind):
        if unit.staff is None:
            tally.add("units_without_staff")
            tally.add("computers_without_staff", len(own.staff_computers))
            tally.notes.add("no_staff")
            continue
        equipped = sorted(own.staff_computers)[: max(unit.staff, 0)]
        tally.denominator += max(unit.staff, 0)
        tally.items.extend(equipped)


def _assess(
    device: DeviceState, as_of: date, policy: Policy, licensing: LicenceReport
) -> tuple[Assessment, ComputerCompliance | None]:
    """Age and, for a computer in use, compliance of one device."""
    age = assess_age(device, as_of, policy)
    check = None
    if device.kind in COMPUTER_KINDS and device.status == IN_USE:
        check = check_computer(device, as_of, policy, licensing.for_device(device.id))
    assessment = Assessment(
        device_id=device.id,
        in_service_date=age.in_service_date,
        age_years=age.age_years,
        age_source=age.source,
        age_estimated=age.estimated,
        past_service_life=age.past_service_life,
        issues=check.issues if check else (),
    )
    return assessment, check


def coverage_for(snapshot: Snapshot, policy: Policy, unit_code: str | None = None) -> Coverage:
    """Every figure for ``unit_code``'s subtree (the whole tree when None) and for each unit in it."""
    with cycle_collector_paused():
        return _coverage(snapshot, policy, unit_code)


def _coverage(snapshot: Snapshot, policy: Policy, unit_code: str | None) -> Coverage:
    tree = UnitTree(snapshot.units)
    if unit_code is not None and unit_code not in tree.units:
        raise KeyError(f"unknown unit: {unit_code}")
    scope = tree.subtree(unit_code) if unit_code is not None else tree.everything()
    in_scope = set(scope)
    devices = [d for d in snapshot.devices if unit_code is None or d.unit_code in in_scope]
    # Seats go oldest installation first across the whole snapshot, so this pass precedes the device pass.
    licensing = assess_licences(snapshot.devices, tree, snapshot.licences, snapshot.as_of, policy)
    # the last days of the calendar have no 30 days after them: the warning window ends with the calendar
    warn_until = snapshot.as_of + timedelta(days=min(policy.licence_expiry_warn_days,
                                                     (date.max - snapshot.as_of).days))

    own: dict[str, dict[str, _Tally]] = {code: _tallies() for code in scope}
    outside = _tallies()  # devices of units missing from the tree: counted in the whole-tree total only
    own_devices: dict[str, _UnitDevices] = {code: _UnitDevices() for code in scope}
    assessments: dict[int, Assessment] = {}
    detections: dict[int, list[DetectionState]] = {}
    for detection in snapshot.detections:
        detections.setdefault(detection.device_id, []).append(detection)
    for device in devices:  # one pass: judge each device and count it while it is at hand
        assessment, check = _assess(device, snapshot.as_of, policy, licensing)
        assessments[device.id] = assessment
        if device.status != IN_USE:
            continue
        t = own.get(device.unit_code, outside)
        _count_device(t, device, assessment, check, warn_until)
        if check is not None and check.has_agent:
            _count_detections(t, device, detections.get(device.id, []))
        held = own_devices.get(device.unit_code)
        if held is not None:
            held.any_device = True
            held.kinds.add(device.kind)
            if device.kind in STAFF_COMPUTER_KINDS:
                held.staff_computers.append(device.id)
            if device.kind in COMPUTER_KINDS:
                held.lan_evidence = held.lan_evidence or device.lan_evidence is True
                held.wifi_evidence = held.wifi_evidence or device.wifi_evidence is True
    for code in scope:
        _count_unit(own[code], tree.units[code], own_devices[code])

    # Roll up: a unit's subtree figures are its own plus its children's subtrees (children before parents).
    subtree: dict[str, dict[str, _Tally]] = {}
    for code in reversed(scope):
        total = own[code]
        for child in tree.children.get(code, []):
            for key, tally in subtree[child].items():
                total[key].merge(tally)
        subtree[code] = total
    if unit_code is not None:
        top = subtree[unit_code]
    else:
        top = outside
        for root in tree.roots:
            for key, tally in subtree[root].items():
                top[key].merge(tally)
    for tallies in (*subtree.values(), top):
        _note_missing_agents(tallies)

    past = [assessments[d.id] for d in devices if d.status == IN_USE and assessments[d.id].past_service_life]
    oldest = tuple(a.device_id for a in sorted(past, key=lambda a: (a.in_service_date or date.min, a.device_id)))
    return Coverage(
        as_of=snapshot.as_of,
        unit_code=unit_code,
        figures={key: tally.figure(key) for key, tally in top.items()},
        per_unit={code: {key: t.figure(key) for key, t in subtree[code].items()} for code in scope},
        assessments=assessments,
        forecast=replacement_forecast(devices, assessments, snapshot.as_of, policy),
        oldest=oldest,
        corrected_after=snapshot.corrected_after,
        licence_warn_days=policy.licence_expiry_warn_days,
        forecast_licences=licence_renewals(snapshot, licensing, in_scope if unit_code is not None else None, policy),
    )


def _note_missing_agents(tallies: dict[str, _Tally]) -> None:
    """Agent-based figures with computers but no agent report say so rather than show an empty share."""
    if tallies["computers_with_agent"].denominator and not tallies["computers_with_agent"].items:
        for key in _AGENT_KEYS:
            tallies[key].notes.add("no_agent")

