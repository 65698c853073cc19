"""Antivirus licences: which computer holds a seat of which licence, and why the others are unlicensed.

Rules, all deterministic so that a report made twice says the same:
- A licence covers a product when its product name appears, case-insensitively and as whole words, in the
  name the computer reports ('Kaspersky Endpoint Security' covers 'Kaspersky Endpoint Security 11 for
  Windows'); it serves computers of its unit and the units below it, or every unit when it has none; it is
  valid from ``valid_from`` to ``valid_to`` inclusive (an open end never expires).
- Seats are held by computers in use with an agent report that show the product, one seat per computer and
  licence, whether or not the product is switched on: the vendor counts installations.
- Computers claim seats oldest first (earliest ``first_seen``, then device id): when more computers run a
  product than its licence has seats, the ones installed last are the unlicensed ones, and the note says
  ``licence_overused:<product> <computers>/<seats>``. A computer tries the licence of its own unit first,
  then those of the units above it, then the district-wide one.
- No seat for a product with only expired licences: ``licence_expired:<product>``; with none at all:
  ``no_licence:<product>``; a product that itself reports a non-genuine or expired licence is unlicensed
  whatever the records say: ``licence_problem:<product>``.
- Antivirus built into the OS (Windows/Microsoft Defender, XProtect) is licensed when
  ``policy.builtin_av_licensed``; free software named in ``policy.free_av_products`` always is.

Evidence, strongest first; each verdict says which it rests on (``Evidence``):
- ``product``: the product's own licence as the agent read it. A trial key is never a licence
  (``licence_trial:<product>``); a key that ends before the date is expired (``product_licence_expired:<product>``)
  whatever the register says; a key valid on the date licenses the computer even when the register has no seat
  for it (it still takes a seat when one is free, so the register's counts stay true).
- ``register``: the officer's licence register (seats and validity, above).
- ``security_center``: Security Center's (or Defender's) own state says expired or non-genuine. It only ever
  says no: a product that is "on" proves no licence.
- ``builtin`` and ``free``: the OS's own antivirus and free software, by policy.
A computer counts as licensed only on positive evidence (``product``, ``register``, ``builtin``, ``free``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Literal

from server.services.policy import Policy
from server.services.state import AntivirusState, DeviceState, LicenceState
from server.services.unit_tree import UnitTree
from server.vocab import COMPUTER_KINDS
from shared.antivirus import is_builtin_antivirus

Evidence = Literal["product", "register", "security_center", "builtin", "free"]
#: Every kind of evidence, strongest first: the keys of the licensed figure's ``detail``.
EVIDENCE: tuple[Evidence, ...] = ("product", "register", "security_center", "builtin", "free")
OwnLicence = Literal["valid", "expired", "trial"]


def own_licence(product: AntivirusState, as_of: date) -> OwnLicence | None:
    """What the product's own licence says on ``as_of``; None when the product gave no expiry and no trial."""
    if product.licence_type == "trial":
        return "trial"
    if product.licence_expires is None:
        return None
    return "valid" if as_of <= product.licence_expires else "expired"


def _plain(name: str) -> str:
    return " ".join(name.casefold().split())


@lru_cache(maxsize=1024)
def _free_name(name: str, free_products: tuple[str, ...]) -> bool:
    plain = _plain(name)
    return any(_plain(free) in plain for free in free_products)


def is_builtin(product: AntivirusState) -> bool:
    """True for the antivirus that ships with the OS (``shared.antivirus`` decides for agent and server)."""
    return is_builtin_antivirus(product.name, product.source)


def is_free(product: AntivirusState, policy: Policy) -> bool:
    """True for free software antivirus that needs no licence record."""
    return _free_name(product.name, policy.free_av_products)


def covers(licence_product: str, product_name: str) -> bool:
    """Whether a licence for ``licence_product`` covers a product reported as ``product_name``."""
    wanted = _plain(licence_product)
    return bool(wanted) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", _plain(product_name)) is not None


def is_valid(licence: LicenceState, as_of: date) -> bool:
    """Whether the licence is in force on ``as_of`` (both ends inclusive, open ends unbounded)."""
    started = licence.valid_from is None or licence.valid_from <= as_of
    return started and (licence.valid_to is None or as_of <= licence.valid_to)


def holds_seats(device: DeviceState) -> bool:
    """Computers that can hold a licence seat: in use, with an agent report."""
    return device.kind in COMPUTER_KINDS and device.status == "in_use" and device.has_agent


@dataclass
class LicenceUse:
    """One licence as of the date: seats bought, seats held, and computers turned away."""

    licence: LicenceState
    valid: bool
    expired: bool
    used: int = 0
    refused: int = 0  # computers that found it full when it was their first choice
    by_unit: dict[str, int] = field(default_factory=dict)  # unit code of the computer -> seats held

    @property
    def wanted(self) -> int:
        """Computers asking for a seat: held plus refused."""
        return self.used + self.refused

    @property
    def overused(self) -> bool:
        """More computers run the product than the licence has seats."""
        return self.wanted > self.licence.seats


# One computer's verdict while seats are being assigned: licensed, problems, seats, evidence, licence ends.
_Pending = tuple[set[str], dict[str, "str | LicenceUse"], dict[str, int], dict[str, Evidence], dict[str, date]]


@dataclass(frozen=True)
class DeviceLicensing:
    """The licence verdict for each antivirus product on one computer; shared by computers with the same
    verdict, so read only."""

    licensed: frozenset[str] = frozenset()  # product names covered (built-in, free, or holding a seat)
    problems: dict[str, str] = field(default_factory=dict)  # product name -> reason it is unlicensed
    seats: dict[str, int] = field(default_factory=dict)  # product name -> licence id whose seat it holds
    evidence: dict[str, Evidence] = field(default_factory=dict)  # product name -> what the verdict rests on
    ends: dict[str, date] = field(default_factory=dict)  # licensed product name -> last day of its licence


@dataclass(frozen=True)
class LicenceReport:
    """Seats per licence and the verdict for every computer that holds or wants one."""

    devices: dict[int, DeviceLicensing]
    licences: tuple[LicenceUse, ...]

    def for_device(self, device_id: int) -> DeviceLicensing:
        """The verdict of one computer (empty when it runs no antivirus or holds no seat)."""
        return self.devices.get(device_id, _NOTHING)


_NOTHING = DeviceLicensing()


def _seniority(device: DeviceState) -> tuple[bool, datetime, int]:
    seen = device.first_seen
    if seen is None:
        return (True, datetime.min, device.id)
    if seen.tzinfo is not None:  # compare aware and naive stamps alike, as UTC
        seen = seen.astimezone(timezone.utc).replace(tzinfo=None)
    return (False, seen, device.id)


class _Candidates:
    """Licences that could cover a product on a computer of a unit, best first; memoised per (product, unit)."""

    def __init__(self, uses: list[LicenceUse], tree: UnitTree) -> None:
        self.uses = uses
        self.tree = tree
        self._cache: dict[tuple[str, str], list[LicenceUse]] = {}

    def __call__(self, product: str, unit_code: str) -> list[LicenceUse]:
        key = (product, unit_code)
        found = self._cache.get(key)
        if found is None:
            chain = self.tree.ancestors(unit_code)
            rank: list[tuple[int, int, LicenceUse]] = []
            for use in self.uses:
                scope = use.licence.unit_code
                if scope is not None and scope not in chain:
                    continue
                if covers(use.licence.product, product):
                    # Nearest scope first (own unit = 0), the whole tree last; then by id for determinism.
                    distance = chain.index(scope) if scope is not None else len(chain)
                    rank.append((distance, use.licence.id, use))
            found = [use for _, _, use in sorted(rank, key=lambda r: (r[0], r[1]))]
            self._cache[key] = found
        return found


def assess_licences(
    devices: Iterable[DeviceState],
    tree: UnitTree,
    licences: Iterable[LicenceState],
    as_of: date,
    policy: Policy,
) -> LicenceReport:
    """Assign seats and judge every antivirus product on every computer that can hold a seat."""
    uses = [
        LicenceUse(
            licence=lic,
            valid=is_valid(lic, as_of),
            expired=lic.valid_to is not None and lic.valid_to < as_of,
        )
        for lic in sorted(licences, key=lambda lic: lic.id)
    ]
    candidates = _Candidates(uses, tree)
    by_id = {use.licence.id: use for use in uses}
    pending: dict[int, _Pending] = {}
    for device in sorted((d for d in devices if holds_seats(d) and d.antivirus), key=_seniority):
        licensed: set[str] = set()
        problems: dict[str, str | LicenceUse] = {}  # a LicenceUse stands for 'over-used', worded at the end
        seats: dict[str, int] = {}
        evidence: dict[str, Evidence] = {}
        held_here: set[int] = set()
        for product in device.antivirus:
            name = product.name
            own = own_licence(product, as_of)
            if own == "trial":
                problems[name], evidence[name] = f"licence_trial:{name}", "product"
            elif own == "expired":
                problems[name], evidence[name] = f"product_licence_expired:{name}", "product"
            elif own is None and product.licence_problem:
                problems[name], evidence[name] = f"licence_problem:{name}", "security_center"
            elif is_builtin(product):
                evidence[name] = "builtin"
                if policy.builtin_av_licensed:
                    licensed.add(name)
                else:
                    problems[name] = f"no_licence:{name}"
            elif is_free(product, policy):
                licensed.add(name)
                evidence[name] = "free"
            else:
                evidence[name] = "product" if own == "valid" else "register"
                options = candidates(name, device.unit_code)
                valid = [use for use in options if use.valid]
                chosen = next((use for use in valid if use.licence.id in held_here), None)
                if chosen is None:
                    chosen = next((use for use in valid if use.used < use.licence.seats), None)
                    if chosen is not None:
                        chosen.used += 1
                        chosen.by_unit[device.unit_code] = chosen.by_unit.get(device.unit_code, 0) + 1
                        held_here.add(chosen.licence.id)
                if chosen is not None:
                    licensed.add(name)
                    seats[name] = chosen.licence.id
                elif own == "valid":
                    licensed.add(name)  # the product's own valid key: a licence the register does not show
                elif valid:
                    valid[0].refused += 1
                    problems[name] = valid[0]
                elif any(use.expired for use in options):
                    expired = next(use for use in options if use.expired)
                    problems[name] = f"licence_expired:{expired.licence.product}"
                elif options:
                    problems[name] = f"licence_not_yet_valid:{options[0].licence.product}"
                else:
                    problems[name] = f"no_licence:{name}"
        ends: dict[str, date] = {}
        for product in device.antivirus:
            name = product.name
            if name not in licensed:
                continue
            end = product.licence_expires if evidence.get(name) == "product" else None
            if end is None and name in seats:
                end = by_id[seats[name]].licence.valid_to
            if end is not None:
                ends[name] = end
        pending[device.id] = (licensed, problems, seats, evidence, ends)
    # Most computers share a verdict (Defender only; a seat of the district licence): share the objects too.
    shared: dict[tuple[object, ...], DeviceLicensing] = {}
    verdicts: dict[int, DeviceLicensing] = {}
    for device_id, (licensed, problems, seats, evidence, ends) in pending.items():
        worded = {name: _word(reason) for name, reason in problems.items()}
        key = (frozenset(licensed), tuple(sorted(worded.items())), tuple(sorted(seats.items())),
               tuple(sorted(evidence.items())), tuple(sorted(ends.items())))
        verdict = shared.get(key)
        if verdict is None:
            verdict = shared[key] = DeviceLicensing(licensed=frozenset(licensed), problems=worded, seats=seats,
                                                    evidence=evidence, ends=ends)
        verdicts[device_id] = verdict
    return LicenceReport(devices=verdicts, licences=tuple(uses))



def _word(reason: str | LicenceUse) -> str:
    if isinstance(reason, str):
        return reason
    return f"licence_overused:{reason.licence.product} {reason.wanted}/{reason.licence.seats}"
