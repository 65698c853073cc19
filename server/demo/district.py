"""The demo district's hand-kept records, as the IT officer's spreadsheets would hold them.

11 departments, 15 communes and towns with one-stop shops, 64 schools, like the district in the seed
report. Headcounts, links and equipment are plausible, not real. Everything is deterministic for a seed,
so the demo and the tests built on it always show the same numbers.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DISTRICT_CODE = "PH"
DISTRICT_NAME = "UBND huyện Phụng Hiệp"

DEPARTMENTS = (
    "Văn phòng HĐND và UBND huyện",
    "Phòng Nội vụ",
    "Phòng Tư pháp",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Kinh tế và Hạ tầng",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Văn hóa và Thông tin",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Nông nghiệp và Phát triển nông thôn",
    "Thanh tra huyện",
)
TOWNS = ("Cây Dương", "Kinh Cùng", "Búng Tàu")
COMMUNES = (
    "Tân Bình", "Bình Thành", "Thạnh Hòa", "Long Thạnh", "Phụng Hiệp", "Hòa An",
    "Hòa Mỹ", "Phương Bình", "Hiệp Hưng", "Tân Phước Hưng", "Tân Long", "Phương Phú",
)
SCHOOL_TYPES = ("Trường THCS", "Trường Tiểu học", "Trường Mẫu giáo", "Trường Mầm non")

UNIT_COLUMNS = ("code", "name", "kind", "parent", "staff", "lan", "wifi", "wan", "internet", "one_stop_shop")
ASSET_COLUMNS = ("unit", "kind", "name", "vendor", "model", "serial", "purchased_on", "status", "air_gapped")
LICENCE_COLUMNS = ("product", "seats", "valid_from", "valid_to", "unit")


@dataclass(frozen=True)
class DemoUnit:
    """One unit of the demo district with the size of its fleet."""

    code: str
    name: str
    kind: str
    staff: int
    one_stop_shop: bool


def units() -> list[DemoUnit]:
    """The 91 units below the district: 11 departments, 15 communes/towns, 64 schools (plus the root)."""
    out = [DemoUnit(DISTRICT_CODE, DISTRICT_NAME, "district", 6, True)]
    rng = random.Random(11)
    for i, name in enumerate(DEPARTMENTS, 1):
        out.append(DemoUnit(f"PB{i:02d}", name, "department", rng.randint(5, 14), False))
    places = [("Thị trấn", n) for n in TOWNS] + [("Xã", n) for n in COMMUNES]
    for i, (prefix, name) in enumerate(places, 1):
        out.append(DemoUnit(f"X{i:02d}", f"UBND {prefix.lower()} {name}", "commune", rng.randint(12, 22), True))
    for i in range(64):
        school = SCHOOL_TYPES[i % len(SCHOOL_TYPES)]
        place = places[i % len(places)][1]
        out.append(DemoUnit(f"TH{i + 1:02d}", f"{school} {place} {i // len(places) + 1}", "school",
                            rng.randint(3, 8), False))
    return out


def unit_rows() -> list[dict[str, str]]:
    """Rows of the units spreadsheet."""
    rng = random.Random(12)
    rows = []
    for unit in units():
        is_school = unit.kind == "school"
        rows.append({
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "parent": "" if unit.kind == "district" else DISTRICT_CODE,
            # A few schools have not sent their headcount yet: the report must say so, not invent it.
            "staff": "" if is_school and rng.random() < 0.05 else str(unit.staff),
            "lan": "có" if not is_school or rng.random() < 0.7 else "không",
            "wifi": "x" if rng.random() < 0.6 else "",
            "wan": "yes" if unit.kind in ("district", "department") else "no",
            "internet": "fibre" if rng.random() < 0.93 else "other",
            "one_stop_shop": "1" if unit.one_stop_shop else "0",
        })
    return rows


def asset_rows() -> list[dict[str, str]]:
    """Hand-entered assets: scanners, printers, photocopiers, cameras, and air-gapped PCs."""
    rng = random.Random(13)
    rows: list[dict[str, str]] = []
    serial = 0

    def add(unit: str, kind: str, name: str, vendor: str, model: str, year: int, air_gapped: bool = False) -> None:
        nonlocal serial
        serial += 1
        rows.append({
            "unit": unit, "kind": kind, "name": name, "vendor": vendor, "model": model,
            "serial": f"DEMO-{kind[:3].upper()}-{serial:05d}",
            "purchased_on": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
            "status": "in_use", "air_gapped": "yes" if air_gapped else "no",
        })

    for unit in units():
        # Most units have a scanner; a handful of schools do not yet.
        if unit.kind != "school" or rng.random() < 0.9:
            add(unit.code, "scanner", "Máy scan", "Canon", "DR-C225 II", rng.randint(2016, 2024))
        add(unit.code, "printer", "Máy in", "HP", "LaserJet Pro M404dn", rng.randint(2014, 2024))
        if unit.one_stop_shop:
            add(unit.code, "photocopier", "Máy photo", "Ricoh", "MP 2014AD", rng.randint(2015, 2023))
            add(unit.code, "camera", "Camera bộ phận một cửa", "Hikvision", "DS-2CD1023G0E", rng.randint(2018, 2024))
        if unit.kind == "department" and rng.random() < 0.4:
            # Classified-document machines: never connected, counted apart from the internet figure.
            add(unit.code, "desktop", "Máy tính soạn thảo văn bản mật", "Dell", "OptiPlex 3020",
                rng.randint(2014, 2019), air_gapped=True)
    return rows


def licence_rows() -> list[dict[str, str]]:
    """Antivirus licences: a district-wide Kaspersky contract and a commune Bkav one that has expired."""
    return [
        {"product": "Kaspersky Endpoint Security", "seats": "420", "valid_from": "2024-01-01",
         "valid_to": "2026-12-31", "unit": ""},
        {"product": "Bkav Pro", "seats": "60", "valid_from": "01/01/2023", "valid_to": "31/12/2025", "unit": ""},
    ]


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict[str, str]]) -> Path:
    """Write rows as a UTF-8 CSV with a header row, like a spreadsheet saved by the officer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_spreadsheets(folder: Path) -> dict[str, Path]:
    """Write units.csv, assets.csv and licences.csv into ``folder``."""
    return {
        "units": write_csv(folder / "units.csv", UNIT_COLUMNS, unit_rows()),
        "assets": write_csv(folder / "assets.csv", ASSET_COLUMNS, asset_rows()),
        "licences": write_csv(folder / "licences.csv", LICENCE_COLUMNS, licence_rows()),
    }
