"""The alert rules: which conditions hold for a device (or a register licence) as of today.

Every rule reads a judgement the figures already make, so an alert never says otherwise than the report:
- ``antivirus_disabled``, ``antivirus_out_of_date``, ``clock_wrong``: the issue of the same name of
  ``compliance.check_computer`` (signatures judged with ``KIEMKE_SIGNATURE_MAX_AGE_DAYS``).
- ``air_gap_violation``: a computer flagged as processing classified documents whose latest report reaches the
  internet (``ComputerCompliance.air_gap_violation``).
- ``not_seen``: the agent has not reported for ``KIEMKE_STALE_AFTER_DAYS`` (``ComputerCompliance.stale``,
  the ``agents_stale`` figure).
- ``detection_unremediated``: a malware detection whose latest status is ``active`` or ``failed``; one alert
  per detection (its key is the subject).
- ``licence_expiring``: a computer licensed by its product's own key that ends within
  ``KIEMKE_LICENCE_EXPIRY_WARN_DAYS`` (the ``antivirus_licence_expiring`` figure's window), and a register
  licence in force whose ``valid_to`` falls in that window (one alert for the licence, not one per seat).
- ``licence_expired``: a computer unlicensed because its product's own key or its register licence expired
  (``product_licence_expired`` / ``licence_expired`` reasons of ``licences.assess_licences``).

The first six read only the device's own state, so they are evaluated as its reports arrive
(``LOCAL_RULES``); the licence rules need the district's seat allotment and run with the schedule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from server.services.compliance import ComputerCompliance, check_computer
from server.services.gcpause import cycle_collector_paused
from server.services.licences import DeviceLicensing, LicenceReport, assess_licences
from server.services.policy import Policy
from server.services.state import COMPUTER_KINDS, DeviceState, Snapshot
from server.services.unit_tree import UnitTree

#: Every rule, most serious first (the console and the e-mail list them in this order).
RULES: tuple[str, ...] = (
    "air_gap_violation",
    "detection_unremediated",
    "antivirus_disabled",
    "antivirus_out_of_date",
    "licence_expired",
    "licence_expiring",
    "not_seen",
    "clock_wrong",
)
#: Rules decided by the device's own state alone: evaluated as its reports arrive.
LOCAL_RULES: frozenset[str] = frozenset(
    {"air_gap_violation", "detection_unremediated", "antivirus_disabled", "antivirus_out_of_date", "not_seen",
     "clock_wrong"})
#: A detection in these states is not remediated.
UNREMEDIATED = ("active", "failed")
_ISSUE_RULES = {"antivirus_disabled": "antivirus_disabled", "antivirus_out_of_date": "antivirus_out_of_date",
                "clock_wrong": "clock_wrong"}
_EXPIRED_REASONS = ("product_licence_expired", "licence_expired")


@dataclass(frozen=True)
class Condition:
    """A rule that holds: for a device (``device_id``) or district-wide (a register licence), with a subject."""

    rule: str
    device_id: int | None
    unit_code: str | None  # None: the whole district
    subject: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What makes two conditions the same alert: rule, device and subject."""
        return alert_key(self.rule, self.device_id, self.subject)

    def detail_json(self) -> str:
        """The detail as stored with the alert."""
        return json.dumps(dict(self.detail), ensure_ascii=False, sort_keys=True, default=str)


def alert_key(rule: str, device_id: int | None, subject: str) -> str:
    """The stored key of an alert (at most one live alert per key)."""
    return f"{rule}|{device_id if device_id is not None else '-'}|{subject}"[:400]


@dataclass(frozen=True)
class DetectionFact:
    """A detection not remediated, as the alert shows it."""

    device_id: int
    key: str
    threat: str
    severity: str
    status: str


def is_watched(device: DeviceState) -> bool:
    """The devices whose compliance the figures judge: computers in use."""
    return device.kind in COMPUTER_KINDS and device.status == "in_use"


def device_conditions(device: DeviceState, check: ComputerCompliance, licensing: DeviceLicensing | None,
                      as_of: date, policy: Policy) -> list[Condition]:
    """The conditions of one computer in use; licence rules only when ``licensing`` (the district's) is given."""
    if not check.has_agent:
        return []
    found: list[Condition] = []

    def add(rule: str, subject: str = "", **detail: object) -> None:
        found.append(Condition(rule, device.id, device.unit_code, subject, detail))

    products = [p.name for p in device.antivirus]

    if check.air_gap_violation:
        add("air_gap_violation")
    for issue, rule in _ISSUE_RULES.items():
        if issue in check.issues:
            if rule == "clock_wrong":
                add(rule)
            else:
                add(rule, products=products)
    if check.stale:
        add("not_seen", last_seen=device.last_seen.isoformat() if device.last_seen else None,
            days=policy.stale_after_days)
    if licensing is None:
        return found
    reason = check.unlicensed_reason or ""
    kind, _, product = reason.partition(":")
    if kind in _EXPIRED_REASONS:
        add("licence_expired", product, evidence="product" if kind == "product_licence_expired" else "register")
    ends = check.licence_ends
    own_key = check.antivirus_licensed and check.licence_evidence == "product"
    if own_key and ends is not None and as_of <= ends <= warn_until(as_of, policy):
        name = next((n for n, e in sorted(licensing.ends.items()) if e == ends), "")
        add("licence_expiring", name, ends=ends.isoformat(), days_left=(ends - as_of).days, evidence="product")
    return found


def warn_until(as_of: date, policy: Policy) -> date:
    """The last day of the licence warning window (as ``coverage`` computes it: it ends with the calendar)."""
    return as_of + timedelta(days=min(policy.licence_expiry_warn_days, (date.max - as_of).days))


def register_conditions(report: LicenceReport, as_of: date, policy: Policy) -> list[Condition]:
    """Register licences in force whose last day falls within the warning window."""
    found = []
    last = warn_until(as_of, policy)
    for use in report.licences:
        lic = use.licence
        if use.valid and lic.valid_to is not None and lic.valid_to <= last:
            found.append(Condition("licence_expiring", None, lic.unit_code, f"licence:{lic.id}", {
                "product": lic.product, "seats": lic.seats, "used": use.used, "ends": lic.valid_to.isoformat(),
                "days_left": (lic.valid_to - as_of).days, "evidence": "register"}))
    return found


def detection_conditions(detections: Iterable[DetectionFact], units: Mapping[int, str]) -> list[Condition]:
    """One condition per detection not remediated on a device of a known unit."""
    return [Condition("detection_unremediated", d.device_id, units[d.device_id], d.key,
                      {"threat": d.threat, "severity": d.severity, "status": d.status})
            for d in detections if d.device_id in units]


def district_conditions(snapshot: Snapshot, policy: Policy, detections: Iterable[DetectionFact]) -> list[Condition]:
    """Every condition of the district as of the snapshot's date (the scheduled evaluation)."""
    with cycle_collector_paused():  # as coverage_for: many small objects, no cycles
        return _district_conditions(snapshot, policy, detections)


def _district_conditions(snapshot: Snapshot, policy: Policy, detections: Iterable[DetectionFact]
                         ) -> list[Condition]:
    tree = UnitTree(snapshot.units)
    licensing = assess_licences(snapshot.devices, tree, snapshot.licences, snapshot.as_of, policy)
    found: list[Condition] = []
    units: dict[int, str] = {}
    for device in snapshot.devices:
        if not is_watched(device):
            continue
        units[device.id] = device.unit_code
        verdict = licensing.for_device(device.id)
        check = check_computer(device, snapshot.as_of, policy, verdict)
        found.extend(device_conditions(device, check, verdict, snapshot.as_of, policy))
    found.extend(register_conditions(licensing, snapshot.as_of, policy))
    found.extend(detection_conditions(detections, units))
    return found


def local_conditions(devices: Iterable[DeviceState], as_of: date, policy: Policy,
                     detections: Iterable[DetectionFact]) -> list[Condition]:
    """The ``LOCAL_RULES`` conditions of a few devices (as their reports arrive)."""
    found: list[Condition] = []
    units: dict[int, str] = {}
    for device in devices:
        if not is_watched(device):
            continue
        units[device.id] = device.unit_code
        found.extend(device_conditions(device, check_computer(device, as_of, policy), None, as_of, policy))
    found.extend(detection_conditions(detections, units))
    return found


def licence_conditions(snapshot: Snapshot, policy: Policy, scope: set[str] | None) -> list[Condition]:
    """The licence conditions (expiring, expired) of ``scope`` (None: everything): the console's licence list."""
    found = [c for c in district_conditions(snapshot, policy, ())
             if c.rule in ("licence_expiring", "licence_expired")]
    return [c for c in found if scope is None or c.unit_code is None or c.unit_code in scope]
