"""Figures at scale: the time for 100,000 devices against 10,000, in memory and through SQLite.

    .venv/bin/python bench/figures_scale.py [--sizes 10000 100000] [--skip-db] [--out FILE]

1. ``coverage_for`` over in-memory ``Snapshot``s of a 91-unit district (1 district office, 11 departments,
   15 communes with one-stop shops, 64 schools) with a realistic mix: 70% computers with agents (CPU brand
   strings of 2008-2024, BIOS dates some of them flashed years later, Windows 7/10/11, Defender, Kaspersky under
   a district licence, Bkav under an expired one), hand-entered printers, scanners, photocopiers, cameras.
2. ``history.snapshot`` + ``coverage_for`` on a SQLite database holding the same fleet, inserted in bulk
   (units, devices and their versions, two reports and one or two observations per agent computer).

Target: 100k under 10x the 10k time (linear work, no per-device queries). Times are CPU seconds of this process,
the best of a few runs, so that other jobs on a shared machine do not decide the ratio; the ratio is what
matters, since absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.services.coverage import coverage_for  # noqa: E402
from server.services.policy import Policy  # noqa: E402
from server.services.state import AntivirusState, DeviceState, LicenceState, Snapshot, UnitState  # noqa: E402

AS_OF = date(2024, 5, 18)
SEEN = datetime(2024, 5, 17, 3, 0, tzinfo=timezone.utc)
CPUS = (
    ("Intel(R) Core(TM)2 Duo CPU     E7500  @ 2.93GHz", 2009),
    ("Intel(R) Pentium(R) CPU G2020 @ 2.90GHz", 2013),
    ("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", 2014),
    ("Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz", 2016),
    ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", 2018),
    ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", 2020),
    ("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 2020),
    ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 2021),
    ("AMD Ryzen 5 5600G with Radeon Graphics", 2021),
    ("12th Gen Intel(R) Core(TM) i5-12400", 2022),
    ("13th Gen Intel(R) Core(TM) i5-1335U", 2023),
)
OSES = (
    ("Microsoft Windows 7 Professional", "6.1.7601", "7601"),
    ("Microsoft Windows 10 Pro", "10.0.19045", "19045"),
    ("Microsoft Windows 11 Pro", "10.0.22631", "22631"),
)
KES = "Kaspersky Endpoint Security 11 for Windows"
HAND_KINDS = ("printer", "printer", "scanner", "photocopier", "camera", "monitor", "network")


def district_units() -> tuple[UnitState, ...]:
    """The demo-sized district: 91 units under one root."""
    rng = random.Random(1)
    units = [UnitState("PH", "UBND huyện", "district", None, staff=30, lan=True, wifi=True, wan=True,
                       internet="fibre", one_stop_shop=True)]
    groups = (("PB", "department", 11), ("XA", "commune", 15), ("TR", "school", 64))
    for prefix, kind, count in groups:
        for i in range(1, count + 1):
            units.append(UnitState(
                f"{prefix}{i:02d}", f"{kind} {i}", kind, "PH",  # type: ignore[arg-type]
                staff=None if rng.random() < 0.05 else rng.randint(5, 40), lan=rng.random() < 0.9,
                wifi=rng.choice((True, False, None)), wan=rng.random() < 0.2,
                internet=rng.choice(("fibre", "fibre", "fibre", "other", None)), one_stop_shop=kind == "commune",
            ))
    return tuple(units)


def _antivirus(rng: random.Random) -> tuple[AntivirusState, ...]:
    updated = SEEN - timedelta(days=rng.choice((0, 1, 2, 3, 12, 40)))
    roll = rng.random()
    if roll < 0.45:
        return (AntivirusState("Windows Defender", rng.random() < 0.9, None, updated, "defender"),)
    if roll < 0.8:
        return (AntivirusState(KES, True, True, updated, "security_center"),
                AntivirusState("Windows Defender", False, None, updated, "defender"))
    if roll < 0.95:
        return (AntivirusState("Bkav Pro", True, None, updated, "security_center"),)
    return ()


def fleet(count: int, units: tuple[UnitState, ...], seed: int = 7) -> list[dict[str, Any]]:
    """``count`` devices as plain facts, spread over the units, deterministic for a seed."""
    rng = random.Random(seed)
    codes = [u.code for u in units]
    devices = []
    for device_id in range(1, count + 1):
        unit = rng.choice(codes)
        if rng.random() < 0.7:
            cpu, year = rng.choice(CPUS)
            bios = date(year, rng.randint(1, 12), 1)
            # One in five BIOSes was flashed years later, before the agent first saw it.
            if rng.random() < 0.2:
                bios = bios + timedelta(days=365 * rng.randint(3, 6))
            os_name, os_version, os_build = rng.choice(OSES)
            devices.append({
                "id": device_id, "unit_code": unit, "kind": rng.choice(("desktop", "desktop", "laptop")),
                "machine_id": f"bench-{device_id}", "hostname": f"pc-{device_id}", "cpu_model": cpu,
                "bios_date": bios, "earliest_bios_date": bios,
                "os_name": os_name, "os_version": os_version, "os_build": os_build,
                "os_install_date": date(year, 6, 1) + timedelta(days=rng.randint(0, 900)),
                "antivirus": _antivirus(rng), "firewall_enabled": rng.random() < 0.93,
                "internet_reachable": rng.choice((True, True, True, True, False, None)),
                "air_gapped": rng.random() < 0.01, "last_seen": SEEN - timedelta(days=rng.choice((0, 1, 5, 45))),
            })
        else:
            devices.append({
                "id": device_id, "unit_code": unit, "kind": rng.choice(HAND_KINDS),
                "purchased_on": date(rng.randint(2012, 2024), rng.randint(1, 12), 1) if rng.random() < 0.7 else None,
                "status": "in_use" if rng.random() < 0.95 else "retired",
            })
    return devices


def licences(count: int) -> tuple[LicenceState, ...]:
    """A district-wide Kaspersky licence short of seats, and an expired Bkav one."""
    return (
        LicenceState(1, "Kaspersky Endpoint Security", count // 5, date(2024, 1, 1), date(2024, 12, 31)),
        LicenceState(2, "Bkav Pro", count, date(2023, 1, 1), date(2023, 12, 31)),
    )


def memory_snapshot(count: int) -> Snapshot:
    """An in-memory snapshot of ``count`` devices."""
    units = district_units()
    states = []
    for facts in fleet(count, units):
        agent = "machine_id" in facts
        if agent:
            facts = {**facts, "has_agent": True, "first_seen": SEEN - timedelta(days=300), "reports_received": 2}
            facts.pop("bios_date")
        states.append(DeviceState(**facts))
    return Snapshot(AS_OF, units, tuple(states), licences(count))


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings, in CPU seconds of this process (other jobs on a shared machine would
    otherwise decide the ratio)."""
    times = []
    for _ in range(runs):
        gc.collect()  # every run starts from the same collector state, not with the last run's debt
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


# --- through SQLite ---------------------------------------------------------------------------------------------


def fill_database(url: str, count: int, history: int = 2) -> None:
    """Insert the district and ``count`` devices in bulk, as ingest and the spreadsheet imports would leave them.

    Each agent computer has ``history`` reports, each kept as an observation, spread evenly over the 400 days
    before it was last seen (``bench/growth.py`` asks for a year of monthly ones).
    """
    from server.db import open_database
    from server.models import (
        AntivirusLicence,
        AntivirusLicenceVersion,
        Device,
        DeviceVersion,
        Observation,
        OrgUnit,
        OrgUnitVersion,
        ReceivedReport,
        table_of,
    )

    engine = open_database(url)
    start = SEEN - timedelta(days=400)
    units = district_units()
    unit_ids = {u.code: i for i, u in enumerate(units, 1)}
    with engine.begin() as conn:
        conn.execute(table_of(OrgUnit).insert(), [{"id": unit_ids[u.code], "code": u.code, **_unit_facts(u, unit_ids)}
                                                   for u in units])
        conn.execute(table_of(OrgUnitVersion).insert(), [
            {"unit_id": unit_ids[u.code], "valid_from": start, **_unit_facts(u, unit_ids)} for u in units])
        for lic in licences(count):
            facts = {"product": lic.product, "seats": lic.seats, "valid_from": lic.valid_from,
                     "valid_to": lic.valid_to, "unit_id": None}
            conn.execute(table_of(AntivirusLicence).insert(), [{"id": lic.id, **facts}])
            conn.execute(table_of(AntivirusLicenceVersion).insert(),
                         [{"licence_id": lic.id, "recorded_from": start, **facts}])
        devices, versions, observations, reports = [], [], [], []
        machines = fleet(count, units)
        for d in machines:
            agent = "machine_id" in d
            facts = {"unit_id": unit_ids[d["unit_code"]], "kind": d["kind"], "name": d.get("hostname"),
                     "purchased_on": d.get("purchased_on"), "status": d.get("status", "in_use"),
                     "air_gapped": d.get("air_gapped", False), "vendor": None, "model": None, "serial": None}
            devices.append({"id": d["id"], "machine_id": d.get("machine_id"), "hostname": d.get("hostname"),
                            "first_seen": start if agent else None, "last_seen": d.get("last_seen"),
                            "reports_received": history if agent else 0, "created_at": start, **facts})
            versions.append({"device_id": d["id"], "valid_from": start, **facts})
        for table, rows in ((Device, devices), (DeviceVersion, versions)):
            for i in range(0, len(rows), 20_000):
                conn.execute(table_of(table).insert(), rows[i : i + 20_000])
        for d in machines:
            if "machine_id" not in d:
                continue
            av = json.dumps([{"name": p.name, "enabled": p.enabled, "up_to_date": p.up_to_date, "source": p.source,
                              "signatures_updated_at": p.signatures_updated_at.isoformat()
                              if p.signatures_updated_at else None} for p in d["antivirus"]])
            seen_at = d["last_seen"]
            times = [start + (seen_at - start) * k / (history - 1) for k in range(history)]
            for k, when in enumerate(times):
                bios = d["earliest_bios_date"] if k == 0 else d["bios_date"]
                observations.append({
                    "device_id": d["id"], "observed_at": when, "received_at": when, "report_id": uuid.uuid4(),
                    "content_hash": uuid.uuid4().hex, "hostname": d["hostname"], "platform": "windows",
                    "chassis": d["kind"], "cpu_model": d["cpu_model"], "bios_date": bios, "os_name": d["os_name"],
                    "os_version": d["os_version"], "os_build": d["os_build"], "os_install_date": d["os_install_date"],
                    "firewall_enabled": d["firewall_enabled"], "internet_reachable": d["internet_reachable"],
                    "antivirus": av, "facts": "{}", "delivered_offline": False,
                })
                reports.append({"report_id": observations[-1]["report_id"], "device_id": d["id"], "collected_at": when,
                                "received_at": when, "via": "http", "signed": True, "stored": True})
            if len(observations) >= 20_000:  # in chunks: 100,000 devices' year would not fit in memory at once
                conn.execute(table_of(Observation).insert(), observations)
                conn.execute(table_of(ReceivedReport).insert(), reports)
                observations, reports = [], []
        if observations:
            conn.execute(table_of(Observation).insert(), observations)
            conn.execute(table_of(ReceivedReport).insert(), reports)
    engine.dispose()


def _unit_facts(unit: UnitState, ids: dict[str, int]) -> dict[str, Any]:
    return {"name": unit.name, "kind": unit.kind, "parent_id": ids.get(unit.parent_code or ""), "staff": unit.staff,
            "lan": unit.lan, "wifi": unit.wifi, "wan": unit.wan, "internet": unit.internet,
            "one_stop_shop": unit.one_stop_shop}


def database_figures(url: str) -> tuple[float, float, int]:
    """Seconds for ``history.snapshot`` and for ``coverage_for`` on it, and the device count seen."""
    from server.db import open_database, reading
    from server.services.history import snapshot

    engine = open_database(url)
    start = time.process_time()  # SQLite runs in this process: its work is counted too
    with reading(engine) as session:
        snap = snapshot(session, AS_OF)
    middle = time.process_time()
    coverage_for(snap, Policy())
    end = time.process_time()
    engine.dispose()
    return middle - start, end - middle, len(snap.devices)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(10_000, 100_000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--skip-db", action="store_true", help="only the in-memory part")
    parser.add_argument("--out", type=Path, help="also write the results as Markdown")
    args = parser.parse_args()
    small, large = args.sizes
    lines = [f"figures_scale: {small:,} vs {large:,} devices over {len(district_units())} units, as of {AS_OF}", ""]

    memory = {}
    for n, runs in ((small, 5), (large, 5)):
        snap = memory_snapshot(n)
        coverage_for(snap, Policy())  # warm the CPU and OS lookup caches alike for both sizes
        memory[n] = best_of(runs, lambda snap=snap: coverage_for(snap, Policy()))  # type: ignore[misc]
    ratio = memory[large] / memory[small]
    lines.append("| step | small | large | ratio (target < 10x) | µs per device, small / large |")
    lines.append("|---|---|---|---|---|")
    lines.append(f"| coverage_for, in memory | {memory[small]:.3f} s | {memory[large]:.3f} s | {ratio:.2f}x | "
                 f"{memory[small] / small * 1e6:.1f} / {memory[large] / large * 1e6:.1f} |")

    if not args.skip_db:
        results = {}
        with tempfile.TemporaryDirectory() as folder:
            for n in (small, large):
                url = f"sqlite:///{Path(folder) / f'figures-{n}.db'}"
                fill_database(url, n)
                runs = [database_figures(url) for _ in range(3)]
                results[n] = min(runs, key=lambda r: r[0] + r[1])
                assert results[n][2] == n, f"snapshot saw {results[n][2]} devices, expected {n}"
        for label, index in (("history.snapshot, SQLite", 0), ("coverage_for on it", 1)):
            a, b = results[small][index], results[large][index]
            lines.append(f"| {label} | {a:.3f} s | {b:.3f} s | {b / a:.2f}x | "
                         f"{a / small * 1e6:.1f} / {b / large * 1e6:.1f} |")
        a, b = sum(results[small][:2]), sum(results[large][:2])
        lines.append(f"| snapshot + coverage, SQLite | {a:.3f} s | {b:.3f} s | {b / a:.2f}x | "
                     f"{a / small * 1e6:.1f} / {b / large * 1e6:.1f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
