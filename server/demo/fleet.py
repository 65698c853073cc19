"""A fleet of simulated office PCs for the demo district: realistic reports over time, deterministic.

Each simulated PC has a stable ``machine_id``, a make and CPU of its year, a BIOS date near the CPU's
launch (some updated years later, as real BIOSes are), Windows 7/10/11 by age, and the antivirus mix seen
in Vietnamese offices (Defender, Kaspersky under a district licence, Bkav under an expired one). The same
code can feed load tests later: ``reports_at`` is pure.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from server.demo.district import DemoUnit, units
from server.demo.malware import Infection, detections_at
from shared.schema import (
    AntivirusProduct,
    Disk,
    Firewall,
    FirewallProfile,
    Hardware,
    InternetCheck,
    InventoryReport,
    Monitor,
    Network,
    NetworkInterface,
    OperatingSystem,
    Peripherals,
)

# (EDID manufacturer id, monitor name) of screens common in Vietnamese offices.
MONITORS = (("DEL", "DELL E2216H"), ("SAM", "S22F350"), ("LEN", "LEN T2224d"), ("ACR", "K222HQL"), ("HPN", "HP P22v"))
_NAMESPACE = uuid.UUID("6f1c0a52-2d0e-4c59-9a57-4b1c52d1e0a1")

# (CPU brand string, launch year, vendor, model, chassis)
MODELS = (
    ("Intel(R) Core(TM) i3-4160 CPU @ 3.60GHz", 2014, "Dell Inc.", "OptiPlex 3020", "desktop"),
    ("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", 2014, "Hewlett-Packard", "HP ProDesk 400 G1 MT", "desktop"),
    ("Intel(R) Pentium(R) CPU G3250 @ 3.20GHz", 2014, "LENOVO", "ThinkCentre M73", "desktop"),
    ("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz", 2015, "Dell Inc.", "OptiPlex 3040", "desktop"),
    ("Intel(R) Core(TM) i3-7100 CPU @ 3.90GHz", 2017, "LENOVO", "ThinkCentre M710s", "desktop"),
    ("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", 2018, "HP", "HP ProDesk 400 G5 MT", "desktop"),
    ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", 2019, "Acer", "Aspire A515-52G", "laptop"),
    ("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 2020, "Dell Inc.", "Vostro 3888", "desktop"),
    ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 2020, "ASUSTeK COMPUTER INC.", "VivoBook 15", "laptop"),
    ("12th Gen Intel(R) Core(TM) i5-12400", 2022, "Dell Inc.", "Vostro 3910", "desktop"),
    ("13th Gen Intel(R) Core(TM) i5-13400", 2023, "HP", "HP Pro Tower 280 G9", "desktop"),
    ("AMD Ryzen 5 7530U with Radeon Graphics", 2023, "LENOVO", "IdeaPad Slim 3 15ABR8", "laptop"),
    ("Intel(R) Core(TM) i5-14400", 2024, "Dell Inc.", "Vostro 3030S", "desktop"),
    ("Intel(R) Core(TM) Ultra 5 125U", 2023, "ASUSTeK COMPUTER INC.", "ExpertBook B1", "laptop"),
)


@dataclass(frozen=True)
class SimulatedPC:
    """One simulated office PC and the facts that stay fixed over its life."""

    unit_code: str
    machine_id: str
    hostname: str
    serial: str
    cpu_model: str
    launch_year: int
    vendor: str
    model: str
    chassis: str
    bought: date
    bios_date: date
    bios_updated: date | None  # a later BIOS update, which must not make the PC look young
    os_name: str
    os_version: str
    av: str  # "defender" | "kaspersky" | "bkav" | "none"
    av_healthy: bool
    firewall_on: bool
    online: bool
    stale: bool  # agent stopped reporting a while ago
    disk_model: str = "WDC WD5000AAKX"
    disk_kind: str = "hdd"
    # When the antivirus last fetched signatures; None: a few hours before each collection if healthy, else
    # 40 days before (the fleet's steady state). The simulator sets it as signatures age and get updated.
    signatures_updated_at: datetime | None = None
    # Malware its antivirus detected (``malware.py``): statuses follow from the times, whenever it reports.
    infections: tuple[Infection, ...] = ()


def _pc(rng: random.Random, unit: DemoUnit, index: int) -> SimulatedPC:
    cpu, launch, vendor, model, chassis = rng.choice(MODELS)
    bought = date(launch + rng.randint(0, 1), rng.randint(1, 12), rng.randint(1, 28))
    bios = date(launch, rng.randint(1, 12), rng.randint(1, 28))
    updated = date(rng.randint(2021, 2024), rng.randint(1, 12), 1) if launch < 2018 and rng.random() < 0.2 else None
    if launch < 2016 and rng.random() < 0.15:
        os_name, os_version = "Microsoft Windows 7 Professional", "6.1.7601"
    elif launch >= 2020 and rng.random() < 0.6:
        # Mostly 25H2 (serviced to 10/2027); some 23H2 and 24H2, whose Pro support ended 11/2025 and 10/2026.
        os_name, os_version = "Microsoft Windows 11 Pro", rng.choice(("10.0.22631", "10.0.26100", "10.0.26200",
                                                                       "10.0.26200"))
    else:
        os_name, os_version = "Microsoft Windows 10 Pro", "10.0.19045"
    roll = rng.random()
    if unit.kind == "commune" and roll < 0.35:
        av = "bkav"
    elif roll < 0.75:
        av = "kaspersky"
    elif roll < 0.97:
        av = "defender"
    else:
        av = "none"
    machine = uuid.uuid5(_NAMESPACE, f"{unit.code}-{index}")
    return SimulatedPC(
        unit_code=unit.code,
        machine_id=str(machine).upper(),
        hostname=f"{unit.code}-PC{index:02d}",
        serial=f"SN{machine.hex[:10].upper()}",
        cpu_model=cpu, launch_year=launch, vendor=vendor, model=model, chassis=chassis,
        bought=bought, bios_date=bios, bios_updated=updated, os_name=os_name, os_version=os_version,
        av=av, av_healthy=rng.random() < 0.9, firewall_on=rng.random() < 0.93,
        online=rng.random() < 0.96, stale=rng.random() < 0.04,
    )


def simulated_pc(index: int, seed: int = 0, unit_code: str = "SIM") -> SimulatedPC:
    """The ``index``-th machine of a simulated fleet of any size: the same identity for the same seed and index.

    Its machine id does not depend on the unit, so a machine keeps its identity whichever token enrols it.
    """
    rng = random.Random(f"kiemke-sim-{seed}-{index}")
    pc = _pc(rng, DemoUnit(unit_code, unit_code, "other", 1, False), index)
    machine = uuid.uuid5(_NAMESPACE, f"sim-{seed}-{index}")
    return replace(pc, machine_id=str(machine).upper(), hostname=f"SIM{seed}-PC{index:05d}",
                   serial=f"SN{machine.hex[:10].upper()}", stale=False)


def to_json(pc: SimulatedPC) -> dict[str, Any]:
    """The PC's facts as JSON values (dates as ISO text), for the simulator's state file."""
    out = {name: value.isoformat() if isinstance(value, date) else value for name, value in asdict(pc).items()}
    out["infections"] = [i.to_json() for i in pc.infections]
    return out


def from_json(data: dict[str, Any]) -> SimulatedPC:
    """The inverse of ``to_json``; ValueError when a field is missing or of the wrong shape."""
    known = {f.name: f for f in fields(SimulatedPC)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue
        if name in ("bought", "bios_date", "bios_updated") and value is not None:
            value = date.fromisoformat(value)
        elif name == "signatures_updated_at" and value is not None:
            value = datetime.fromisoformat(value)
        elif name == "infections":
            value = tuple(Infection.from_json(i) for i in value or ())
        values[name] = value
    try:
        return SimulatedPC(**values)
    except TypeError as exc:
        raise ValueError(f"not a simulated PC: {exc}") from exc


def fleet(seed: int = 2024) -> list[SimulatedPC]:
    """Every simulated PC of the district: about one per official, a few short in some units."""
    rng = random.Random(seed)
    pcs: list[SimulatedPC] = []
    for unit in units():
        count = max(1, unit.staff - (rng.randint(0, 2) if rng.random() < 0.3 else 0))
        pcs.extend(_pc(rng, unit, i + 1) for i in range(count))
    return pcs


def _antivirus(pc: SimulatedPC, at: datetime) -> list[AntivirusProduct]:
    if pc.signatures_updated_at is not None:
        fresh = min(pc.signatures_updated_at, at)
    else:
        fresh = at - timedelta(hours=6) if pc.av_healthy else at - timedelta(days=40)
    defender_off = AntivirusProduct(
        name="Windows Defender", enabled=False, up_to_date=True, product_state=393472,
        signatures_updated_at=fresh, source="security_center",
    )
    if pc.av == "kaspersky":
        return [AntivirusProduct(
            name="Kaspersky Endpoint Security 11 for Windows", enabled=pc.av_healthy, up_to_date=pc.av_healthy,
            product_state=266240 if pc.av_healthy else 262160, signatures_updated_at=fresh,
            source="security_center"), defender_off]
    if pc.av == "bkav":
        return [AntivirusProduct(name="Bkav Pro", enabled=True, up_to_date=pc.av_healthy,
                                 signatures_updated_at=fresh, source="installed_program"), defender_off]
    if pc.av == "defender":
        return [AntivirusProduct(
            name="Windows Defender", enabled=pc.av_healthy, up_to_date=pc.av_healthy,
            product_state=397568 if pc.av_healthy else 393488, signatures_updated_at=fresh,
            source="security_center")]
    return []


def _monitors(pc: SimulatedPC) -> list[Monitor]:
    """Desktops have one screen, bought with the PC; laptops none."""
    if pc.chassis != "desktop":
        return []
    maker, name = MONITORS[int(pc.machine_id[:2], 16) % len(MONITORS)]
    return [Monitor(manufacturer=maker, model=name, serial=f"M{pc.serial[2:]}", year_of_manufacture=pc.bought.year,
                    source="WmiMonitorID")]


def _address(pc: SimulatedPC) -> str:
    """A private LAN address that stays the same for the PC (documentation range, never routed)."""
    return f"198.51.100.{int(pc.machine_id[-2:], 16) % 250 + 2}"


def report_at(pc: SimulatedPC, at: datetime) -> InventoryReport:
    """The report this PC's agent would send at ``at`` (a new report_id each call)."""
    bios = pc.bios_updated if pc.bios_updated and pc.bios_updated <= at.date() else pc.bios_date
    profiles = [FirewallProfile(name=n, enabled=pc.firewall_on or n == "Domain", active=n != "Domain")
                for n in ("Domain", "Private", "Public")]
    return InventoryReport(
        machine_id=pc.machine_id, machine_id_source="smbios_uuid", hostname=pc.hostname, platform="windows",
        collected_at=at, agent_version="0.1.0-sim",
        hardware=Hardware(
            vendor=pc.vendor, model=pc.model, serial=pc.serial, chassis=pc.chassis,
            cpu_model=pc.cpu_model, cpu_cores=4, cpu_threads=4, ram_bytes=8 * 1024**3,
            disks=[Disk(model=pc.disk_model, size_bytes=500 * 10**9, kind=pc.disk_kind)],
            bios_vendor=pc.vendor, bios_version="A12", bios_date=bios,
        ),
        os=OperatingSystem(name=pc.os_name, version=pc.os_version, build=pc.os_version.rsplit(".", 1)[-1],
                           architecture="64-bit", is_server=False, install_date=pc.bought),
        antivirus=_antivirus(pc, at),
        firewall=Firewall(enabled=pc.firewall_on, source="netfirewallprofile", profiles=profiles),
        network=Network(
            interfaces=[NetworkInterface(name="Wi-Fi", kind="wifi", ipv4=[_address(pc)], is_up=True)]
            if pc.chassis == "laptop" else
            [NetworkInterface(name="Ethernet", kind="ethernet", ipv4=[_address(pc)], is_up=True, speed_mbps=100)],
            default_gateway="198.51.100.1",
            internet=InternetCheck(reachable=pc.online, latency_ms=35.0 if pc.online else None,
                                   target="1.1.1.1:443", checked_at=at),
        ),
        peripherals=Peripherals(monitors=_monitors(pc)),
        detections=detections_at(pc.av, pc.infections, at),
    )


def history(pcs: list[SimulatedPC], now: datetime, seed: int = 7) -> Iterator[tuple[SimulatedPC, InventoryReport]]:
    """Reports over time: one before the H1-2024 cut-off (18/05/2024) for PCs bought by then, then current ones.

    Stale PCs stop reporting 45 days before ``now``, so the "not seen recently" figure has something to show.
    """
    rng = random.Random(seed)
    before_cutoff = datetime(2024, 5, 10, 8, 0, tzinfo=timezone.utc)
    for pc in pcs:
        if pc.bought <= before_cutoff.date():
            yield pc, report_at(pc, before_cutoff + timedelta(minutes=rng.randint(0, 600)))
    for pc in pcs:
        last = now - timedelta(days=45) if pc.stale else now - timedelta(minutes=rng.randint(5, 600))
        if pc.bought <= last.date():
            yield pc, report_at(pc, last)
