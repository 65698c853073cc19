"""Security compliance of one computer as of a date: antivirus, firewall, OS support, reporting, air gap.

Issues are listed most serious first. An air-gapped computer (flagged as processing classified documents)
whose latest report says the internet is reachable breaks policy and comes before everything else.
A PC whose clock is wrong (its report claimed a time before its enrolment or
more than a day ahead: the server filed it at receipt) is ``clock_wrong``: it breaks TLS and logs too.
Unknown facts are not issues, except antivirus freshness that nothing proves (``antivirus_update_unknown``):
a figure of up-to-date antivirus counts only what a report shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from functools import lru_cache
from typing import Literal

from server.services.licences import EVIDENCE, DeviceLicensing, Evidence
from server.services.policy import Policy
from server.services.state import AntivirusState, DeviceState
from server.vocab import COMPUTER_KINDS

#: Every issue name, most serious first; ``issues`` tuples follow this order.
ISSUE_ORDER = (
    "air_gap_violation",
    "no_antivirus",
    "antivirus_disabled",
    "antivirus_out_of_date",
    "antivirus_update_unknown",
    "antivirus_unlicensed",
    "firewall_off",
    "os_unsupported",
    "not_seen_recently",
    "clock_wrong",
    "no_agent",
)

Freshness = Literal["current", "stale", "unknown"]

# --- Operating system support ----------------------------------------------------------------------------------

# End of vendor support (security updates for the edition an office uses), as published by the vendors.
_WINDOWS_END = {
    "XP": date(2014, 4, 8),
    "Vista": date(2017, 4, 11),
    "7": date(2020, 1, 14),
    "8": date(2016, 1, 12),
    "8.1": date(2023, 1, 10),
    # Every Windows 10 edition is judged by the general end of support: the district's policy, not ESU.
    "10": date(2025, 10, 14),
}
_WINDOWS_SERVER_END = {
    "2003": date(2015, 7, 14),
    "2008": date(2020, 1, 14),
    "2012": date(2023, 10, 10),
    "2016": date(2027, 1, 12),
    "2019": date(2029, 1, 9),
    "2022": date(2031, 10, 14),
    "2025": date(2034, 10, 10),
}
# Windows 11 feature updates: build -> (end for Home/Pro, end for Enterprise/Education).
_WINDOWS_11_END = {
    22000: (date(2023, 10, 10), date(2024, 10, 8)),  # 21H2
    22621: (date(2024, 10, 8), date(2025, 10, 14)),  # 22H2
    22631: (date(2025, 11, 11), date(2026, 11, 10)),  # 23H2
    26100: (date(2026, 10, 13), date(2027, 10, 12)),  # 24H2
    26200: (date(2027, 10, 12), date(2028, 10, 10)),  # 25H2
}
# NT kernel version -> marketing name, for reports that carry only '6.1.7601'.
_NT_VERSIONS = {"5.1": "XP", "5.2": "XP", "6.0": "Vista", "6.1": "7", "6.2": "8", "6.3": "8.1"}
# macOS major releases: the vendor patches the latest three.
_MACOS_RELEASES = (
    ((10, 9), date(2013, 10, 22)),
    ((10, 10), date(2014, 10, 16)),
    ((10, 11), date(2015, 9, 30)),
    ((10, 12), date(2016, 9, 20)),
    ((10, 13), date(2017, 9, 25)),
    ((10, 14), date(2018, 9, 24)),
    ((10, 15), date(2019, 10, 7)),
    ((11, 0), date(2020, 11, 12)),
    ((12, 0), date(2021, 10, 25)),
    ((13, 0), date(2022, 10, 24)),
    ((14, 0), date(2023, 9, 26)),
    ((15, 0), date(2024, 9, 16)),
    ((26, 0), date(2025, 9, 15)),
)
# Ubuntu LTS end of standard support (month precision); interim releases get nine months.
_UBUNTU_LTS_END = {
    (14, 4): date(2019, 4, 30),
    (16, 4): date(2021, 4, 30),
    (18, 4): date(2023, 5, 31),
    (20, 4): date(2025, 5, 31),
    (22, 4): date(2027, 4, 30),
    (24, 4): date(2029, 4, 30),
}
# Debian: end of LTS security support per major version.
_DEBIAN_END = {
    8: date(2020, 6, 30),
    9: date(2022, 6, 30),
    10: date(2024, 6, 30),
    11: date(2026, 8, 31),
    12: date(2028, 6, 30),
    13: date(2030, 6, 30),
}

_WIN_SERVER = re.compile(r"windows server (\d{4})")
_WIN_DESKTOP = re.compile(r"windows (xp|vista|7|8\.1|8|10|11)\b")
_NT_VERSION = re.compile(r"^(\d+\.\d+)(?:\.(\d+))?")
_UBUNTU_VERSION = re.compile(r"\b(\d{2})\.(\d{2})\b")
_DEBIAN_VERSION = re.compile(r"^(\d+)")
_MAC_VERSION = re.compile(r"\b(1[0-9]|2[0-9])(?:\.(\d+))?")


def _last_day_of_month(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _windows_build(version: str | None, build: str | None) -> int | None:
    for text in (build, version):
        if text:
            match = re.search(r"(?:^|\.)(\d{4,5})(?:\.|$)", text)
            if match:
                return int(match.group(1))
    return None


def _windows_end(name: str, version: str | None, build: str | None) -> date | Literal["unknown"] | None:
    server = _WIN_SERVER.search(name)
    if server:
        return _WINDOWS_SERVER_END.get(server.group(1), "unknown")
    desktop = _WIN_DESKTOP.search(name)
    release = desktop.group(1).upper() if desktop else None
    if release is None and version:
        nt = _NT_VERSION.match(version)
        if nt:
            release = _NT_VERSIONS.get(nt.group(1))
            if release is None and nt.group(1) == "10.0":
                release = "11" if (_windows_build(version, build) or 0) >= 22000 else "10"
    if release is None:
        return "unknown"
    release = {"VISTA": "Vista"}.get(release, release)
    if release != "11":
        return _WINDOWS_END.get(release, "unknown")
    number = _windows_build(version, build)
    if number is None or number > max(_WINDOWS_11_END):
        return None  # an unknown or newer feature update of a supported product line
    known = [b for b in _WINDOWS_11_END if b <= number]
    home, enterprise = _WINDOWS_11_END[max(known) if known else min(_WINDOWS_11_END)]
    return enterprise if re.search(r"enterprise|education", name) else home


def _macos_supported(version: str | None, as_of: date) -> bool | None:
    match = _MAC_VERSION.search(version or "")
    if not match:
        return None
    major = int(match.group(1))
    key = (10, int(match.group(2) or 0)) if major == 10 else (major, 0)
    released = [release for release, day in _MACOS_RELEASES if day <= as_of]
    if key > _MACOS_RELEASES[-1][0]:
        return True  # newer than this table
    return key in released[-3:]


@lru_cache(maxsize=4096)  # a district runs a handful of OS versions on thousands of PCs
def os_supported(os_name: str | None, os_version: str | None, os_build: str | None, as_of: date) -> bool | None:
    """Whether the vendor still supported this OS on ``as_of``; None when the OS is not in the table."""
    name = " ".join((os_name or "").casefold().split())
    if "windows" in name:
        end = _windows_end(name, os_version, os_build)
        return None if end == "unknown" else end is None or as_of <= end
    if "mac os" in name or "macos" in name or name.startswith("os x"):
        return _macos_supported(os_version, as_of)
    if "ubuntu" in name:
        match = _UBUNTU_VERSION.search(f"{os_version or ''} {name}")
        if not match:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        end = _UBUNTU_LTS_END.get((year, month))
        if end is None:
            if month == 4 and year % 2 == 0:
                return True  # an LTS newer than this table
            end = _last_day_of_month(2000 + year + (month + 9 - 1) // 12, (month + 9 - 1) % 12 + 1)
        return as_of <= end
    if "debian" in name:
        match = _DEBIAN_VERSION.match(os_version or "")
        if not match:
            match = re.search(r"\b(\d+)\b", name)
        if not match:
            return None
        major = int(match.group(1))
        if major > max(_DEBIAN_END):
            return True
        debian_end = _DEBIAN_END.get(major)
        return as_of <= debian_end if debian_end else False
    return None


# --- Antivirus, firewall, reporting ----------------------------------------------------------------------------


def signature_freshness(product: AntivirusState, as_of: date, policy: Policy) -> Freshness:
    """``current`` when signatures are known to be within ``policy.signature_max_age_days`` of ``as_of``.

    The date decides when the report carries one: the district's limit applies, not the one a product or
    an agent has built in. Without a date, the verdict the product reported (Security Center's
    productState) stands; with neither, freshness is unknown.
    """
    stamp = product.signatures_updated_at
    if stamp is not None:
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        limit = policy.end_of_day(as_of) - timedelta(days=policy.signature_max_age_days + 1)
        return "current" if stamp >= limit else "stale"
    if product.up_to_date is None:
        return "unknown"
    return "current" if product.up_to_date else "stale"


def is_air_gapped(device: DeviceState) -> bool:
    """Air-gapped: flagged as processing classified documents, or reporting only by carried files while the
    latest report does not show the internet reachable (an unflagged PC that is online is simply online)."""
    return device.air_gapped or (device.delivered_offline and device.internet_reachable is not True)


def is_stale(device: DeviceState, as_of: date, policy: Policy) -> bool:
    """The agent has not reported within ``policy.stale_after_days`` before the end of ``as_of``."""
    if device.last_seen is None:
        return True
    seen = device.last_seen if device.last_seen.tzinfo else device.last_seen.replace(tzinfo=timezone.utc)
    return seen < policy.end_of_day(as_of) - timedelta(days=policy.stale_after_days + 1)


@dataclass(frozen=True)
class ComputerCompliance:
    """Every compliance fact of one computer in use, as the figures count them."""

    has_agent: bool
    air_gapped: bool
    air_gap_violation: bool
    antivirus_installed: bool = False
    antivirus_enabled: bool = False
    antivirus_freshness: Freshness | None = None  # of the best enabled product; None when none is enabled
    antivirus_licensed: bool = False
    unlicensed_reason: str | None = None
    licence_evidence: Evidence | None = None  # what the licensed verdict rests on; None without enabled antivirus
    licence_ends: date | None = None  # last day the computer stays licensed; None when unknown or open-ended
    firewall_enabled: bool | None = None
    os_supported: bool | None = None
    stale: bool = False
    issues: tuple[str, ...] = ()


def check_computer(
    device: DeviceState, as_of: date, policy: Policy, licensing: DeviceLicensing | None = None
) -> ComputerCompliance:
    """Judge one computer; ``licensing`` comes from ``licences.assess_licences`` over the same snapshot."""
    air_gapped = is_air_gapped(device)
    violation = device.air_gapped and device.internet_reachable is True
    if not device.has_agent:
        issues = ("no_agent",) if device.kind in COMPUTER_KINDS else ()
        return ComputerCompliance(has_agent=False, air_gapped=air_gapped, air_gap_violation=False, issues=issues)
    found: list[str] = ["air_gap_violation"] if violation else []
    products = device.antivirus
    enabled = [p for p in products if p.enabled]
    freshness: Freshness | None = None
    if enabled:
        states = {signature_freshness(p, as_of, policy) for p in enabled}
        freshness = "current" if "current" in states else "unknown" if "unknown" in states else "stale"
    licensing = licensing or DeviceLicensing()
    licensed = any(p.name in licensing.licensed for p in enabled)
    reason = None
    if enabled and not licensed:
        reason = next((licensing.problems[p.name] for p in enabled if p.name in licensing.problems), None)
    deciding = [p for p in enabled if p.name in licensing.licensed] if licensed else enabled
    kinds = {licensing.evidence[p.name] for p in deciding if p.name in licensing.evidence}
    evidence = next((kind for kind in EVIDENCE if kind in kinds), None)
    ends = [licensing.ends.get(p.name) for p in deciding] if licensed else []
    # Licensed until the last of its licences ends; a licence without an end keeps it licensed.
    licence_ends = max(e for e in ends if e is not None) if ends and None not in ends else None
    if not products:
        found.append("no_antivirus")
    elif not enabled:
        found.append("antivirus_disabled")
    elif freshness == "stale":
        found.append("antivirus_out_of_date")
    elif freshness == "unknown":
        found.append("antivirus_update_unknown")
    if enabled and not licensed:
        found.append("antivirus_unlicensed")
    if device.firewall_enabled is False:
        found.append("firewall_off")
    supported = os_supported(device.os_name, device.os_version, device.os_build, as_of)
    if supported is False:
        found.append("os_unsupported")
    stale = is_stale(device, as_of, policy)
    if stale:
        found.append("not_seen_recently")
    if device.clock_wrong:
        found.append("clock_wrong")
    return ComputerCompliance(
        has_agent=True,
        air_gapped=air_gapped,
        air_gap_violation=violation,
        antivirus_installed=bool(products),
        antivirus_enabled=bool(enabled),
        antivirus_freshness=freshness,
        antivirus_licensed=licensed,
        unlicensed_reason=reason,
        licence_evidence=evidence,
        licence_ends=licence_ends,
        firewall_enabled=device.firewall_enabled,
        os_supported=supported,
        stale=stale,
        issues=tuple(found),  # appended in ISSUE_ORDER already
    )
