"""A small hand-built district and a Coverage whose every figure is set by hand, for the renderers."""

from __future__ import annotations

from datetime import date, datetime, timezone

from server.services.figure import Assessment, Coverage, Figure
from server.services.state import DeviceState, Snapshot, UnitState

AS_OF = date(2024, 5, 18)
GENERATED = datetime(2024, 5, 19, 8, 0, tzinfo=timezone.utc)

UNITS = (
    UnitState(code="PH", name="UBND huyện Phụng Hiệp", kind="district", staff=20, lan=True, wifi=True,
              internet="fibre", one_stop_shop=True),
    UnitState(code="TC", name="Phòng Tài chính - Kế hoạch", kind="department", parent_code="PH", staff=8,
              lan=True, internet="fibre"),
    UnitState(code="TB", name="Xã Tân Bình", kind="commune", parent_code="PH", staff=12, lan=True,
              internet="other", one_stop_shop=True),
    UnitState(code="TH", name="Trường Tiểu học Hòa An", kind="school", parent_code="PH", staff=None, lan=False),
)
DEVICES = (
    DeviceState(id=1, unit_code="PH", kind="desktop", hostname="PH-VP-01", vendor="Dell", model="OptiPlex 3020",
                serial="SN001", has_agent=True),
    DeviceState(id=2, unit_code="TC", kind="desktop", hostname="TC-KT-01", serial="SN002", has_agent=True),
    DeviceState(id=3, unit_code="TB", kind="laptop", name="Máy một cửa", has_agent=True),
    DeviceState(id=4, unit_code="TB", kind="desktop", hostname="TB-MAT", air_gapped=True, has_agent=True),
    DeviceState(id=5, unit_code="PH", kind="scanner", name="Canon DR-C225"),
)


def fig(key: str, num: int, den: int, items: tuple[str | int, ...] = (), **kw: object) -> Figure:
    """A figure set by hand."""
    return Figure(key=key, numerator=num, denominator=den, items=items, **kw)  # type: ignore[arg-type]


def district_figures() -> dict[str, Figure]:
    """Whole-tree figures: 17.236/17.307 style shares, a missing headcount, an air-gapped PC."""
    return {
        "computers_per_staff": fig("computers_per_staff", 17236, 17307, note="no_staff",
                                   detail={"units_without_staff": 1, "computers_without_staff": 2}),
        "computers_per_staff:department": fig("computers_per_staff:department", 8, 8),
        "computers_per_staff:commune": fig("computers_per_staff:commune", 11, 12),
        "computers_per_staff:school": fig("computers_per_staff:school", 0, 0),
        "units_with_scanner": fig("units_with_scanner", 3, 4, ("PH", "TC", "TB")),
        "one_stop_shops_equipped": fig("one_stop_shops_equipped", 1, 2, ("PH",),
                                       detail={"computer": 2, "printer": 2, "photocopier": 1, "scanner": 2,
                                               "camera": 2}),
        "units_with_lan": fig("units_with_lan", 3, 4, ("PH", "TC", "TB")),
        "units_with_wifi": fig("units_with_wifi", 1, 4, ("PH",), note="missing_data", detail={"unknown": 1}),
        "units_with_wan": fig("units_with_wan", 0, 4),
        "units_with_fibre": fig("units_with_fibre", 2, 4, ("PH", "TC")),
        "computers_internet_connected": fig("computers_internet_connected", 2, 3, (1, 2),
                                            detail={"air_gapped": 1}),
        "computers_air_gapped": fig("computers_air_gapped", 1, 4, (4,)),
        "computers_with_agent": fig("computers_with_agent", 4, 4, (1, 2, 3, 4)),
        "antivirus_installed": fig("antivirus_installed", 4, 4, (1, 2, 3, 4)),
        "antivirus_enabled": fig("antivirus_enabled", 3, 4, (1, 2, 4)),
        "antivirus_up_to_date": fig("antivirus_up_to_date", 2, 4, (1, 2)),
        "antivirus_licensed": fig("antivirus_licensed", 2, 4, (1, 2),
                                  note="licence_expired:Kaspersky Endpoint Security; licence_overused:BKAV Pro 3/2"),
        "antivirus_licence_expiring": fig("antivirus_licence_expiring", 0, 2),
        "firewall_enabled": fig("firewall_enabled", 4, 4, (1, 2, 3, 4)),
        "os_unsupported": fig("os_unsupported", 1, 4, (3,)),
        "air_gap_violations": fig("air_gap_violations", 0, 1),
        "agents_stale": fig("agents_stale", 1, 4, (3,)),
        "past_service_life": fig("past_service_life", 2, 5, (1, 3), detail={"age_unknown": 1}),
    }


def unit_figures() -> dict[str, dict[str, Figure]]:
    """Per-unit subtree figures consistent with the whole tree (PH's subtree is the whole tree)."""
    per_unit: dict[str, dict[str, Figure]] = {"PH": district_figures()}
    own = {
        "TC": {"computers_per_staff": (8, 8), "units_with_scanner": (1, 1), "units_with_lan": (1, 1),
               "units_with_wifi": (0, 1), "units_with_fibre": (1, 1), "computers_internet_connected": (1, 1),
               "antivirus_installed": (1, 1), "antivirus_licensed": (1, 1), "past_service_life": (0, 1)},
        "TB": {"computers_per_staff": (11, 12), "units_with_scanner": (1, 1), "units_with_lan": (1, 1),
               "units_with_wifi": (0, 1), "units_with_fibre": (0, 1), "computers_internet_connected": (0, 1),
               "antivirus_installed": (2, 2), "antivirus_licensed": (0, 2), "past_service_life": (1, 2),
               "one_stop_shops_equipped": (0, 1)},
        "TH": {"computers_per_staff": (0, 0), "units_with_scanner": (0, 1), "units_with_lan": (0, 1),
               "units_with_wifi": (0, 1), "units_with_fibre": (0, 1), "computers_internet_connected": (0, 0),
               "antivirus_installed": (0, 0), "antivirus_licensed": (0, 0), "past_service_life": (0, 0)},
    }
    for code, figures in own.items():
        per_unit[code] = {key: fig(key, n, d) for key, (n, d) in figures.items()}
    per_unit["TH"]["computers_per_staff"] = fig("computers_per_staff", 0, 0, note="no_staff",
                                                detail={"units_without_staff": 1, "computers_without_staff": 2})
    per_unit["TH"]["units_with_wifi"] = fig("units_with_wifi", 0, 1, note="missing_data", detail={"unknown": 1})
    per_unit["TB"]["one_stop_shops_equipped"] = fig(
        "one_stop_shops_equipped", 0, 1, detail={"computer": 1, "printer": 1, "photocopier": 0, "scanner": 1,
                                                 "camera": 1})
    return per_unit


def make_snapshot() -> Snapshot:
    """The hand-built district as of 18/05/2024."""
    return Snapshot(as_of=AS_OF, units=UNITS, devices=DEVICES)


def make_coverage() -> Coverage:
    """Coverage of the whole tree with hand-set figures, two old devices and a two-year forecast."""
    assessments = {
        1: Assessment(1, date(2014, 3, 1), 10.2, "firmware", True, True),
        3: Assessment(3, date(2018, 1, 10), 6.3, "purchase_record", False, True),
        2: Assessment(2, date(2021, 6, 1), 2.9, "purchase_record", False, False),
    }
    return Coverage(
        as_of=AS_OF,
        unit_code=None,
        figures=district_figures(),
        per_unit=unit_figures(),
        assessments=assessments,
        forecast={2025: {"TC": 0}, 2026: {"TC": 1, "TB": 2}},
        oldest=(1, 3),
    )
