"""One figure of the report: numerator, denominator and the list behind it. Never above 100%."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from server.vocab import SHOP_KINDS, STAFF_KINDS


def percent_of(numerator: int, denominator: int) -> Decimal | None:
    """THE rounding of every share: half up to two decimals, as an official report and a calculator read it.

    Two clamps keep a share honest where rounding would lie: only all of it reads ``100.00``
    (17306/17307 reads ``99.99``), only none of it reads ``0.00`` (1/30000 reads ``0.01``).
    None when the denominator is 0: nothing to count is missing data, not 0% or 100%.
    """
    if denominator <= 0:
        return None
    hundredths, rest = divmod(numerator * 10000, denominator)  # integers: exact, no float or context rounding
    if 2 * rest >= denominator:
        hundredths += 1
    if numerator != denominator:
        hundredths = min(hundredths, 9999)
    if numerator != 0:
        hundredths = max(hundredths, 1)
    return Decimal(hundredths).scaleb(-2)


@dataclass(frozen=True)
class Figure:
    """A count out of a total, with the items (device ids or unit codes) that make the numerator."""

    key: str
    numerator: int
    denominator: int
    items: tuple[str | int, ...] = ()
    note: str | None = None  # why a figure is what it is (expired licence, missing data), in English keys
    detail: dict[str, int] = field(default_factory=dict)  # breakdowns, e.g. {"air_gapped": 3}

    def __post_init__(self) -> None:
        if not 0 <= self.numerator <= self.denominator:
            raise ValueError(f"figure {self.key}: {self.numerator}/{self.denominator} is not a share")

    @property
    def fraction(self) -> float | None:
        """numerator/denominator, or None when there is nothing to count (missing data, not 100%)."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent_exact(self) -> Decimal | None:
        """The percentage as an exact Decimal with two decimals (``percent_of``); None for missing data."""
        return percent_of(self.numerator, self.denominator)

    @property
    def percent(self) -> float | None:
        """The percentage for JSON: 10/44 is 22.73, 2/3 is 66.67, 17306/17307 is 99.99, never 100.00."""
        exact = self.percent_exact
        return None if exact is None else float(exact)

    def as_json(self) -> dict[str, object]:
        """``{numerator, denominator, percent, items}`` plus note and detail when present."""
        out: dict[str, object] = {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "percent": self.percent,
            "items": list(self.items),
        }
        if self.note:
            out["note"] = self.note
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


def by_kind(key: str, kinds: tuple[str, ...] = STAFF_KINDS) -> tuple[str, ...]:
    """A figure key followed by its breakdown keys, one per unit kind (``vocab.STAFF_KINDS``, the report's order):
    ``<key>:<kind>`` is the figure over units of that kind only (``units_with_lan:commune``)."""
    return (key, *(f"{key}:{kind}" for kind in kinds))


# Figure keys: the public names shared by coverage (which computes them), the console and the report
# (which only render them), and users' scripts reading ``kiemke-server figures --json``.
INFRASTRUCTURE_KEYS = (
    *by_kind("computers_per_staff"),  # staff equipped: sum over units of min(computers in use, staff) / staff
    *by_kind("units_with_scanner"),
    # detail: how many shops have each of computer/printer/photocopier/scanner/camera
    *by_kind("one_stop_shops_equipped", SHOP_KINDS),
    *by_kind("units_with_lan"),
    *by_kind("units_with_wifi"),
    *by_kind("units_with_wan"),
    *by_kind("units_with_fibre"),
    "computers_internet_connected",  # denominator excludes air-gapped computers (detail["air_gapped"])
    "computers_air_gapped",
    "computers_with_agent",
)
SECURITY_KEYS = (
    "antivirus_installed",
    "antivirus_enabled",
    "antivirus_up_to_date",
    "antivirus_licensed",  # note says why computers are unlicensed; detail: computers per kind of evidence
    "antivirus_licence_expiring",  # licensed computers whose licence ends within the warning days
    "firewall_enabled",
    "os_unsupported",
    "air_gap_violations",
    "agents_stale",
)
LIMITATION_KEYS = (
    "past_service_life",  # devices in use past the service life / devices in use; detail["age_unknown"]
)
#: Malware detections in the report period (services/detections.period_start), over computers whose antivirus
#: history is readable; shown by their own sentence and card rather than the security table.
DETECTION_KEYS = (
    # readable computers with a detection in the period / readable computers; detail: found, remediated,
    # severity:<level> (detections in the period), unreadable (computers whose history is unknown)
    "computers_with_detections",
    # detections active or failed at the cut-off / detections in the period; items: their device ids, one per
    # detection; detail: active, failed
    "detections_unremediated",
)
FIGURE_KEYS = INFRASTRUCTURE_KEYS + SECURITY_KEYS + LIMITATION_KEYS + DETECTION_KEYS

AgeSource = str  # "purchase_record" | "firmware" | "os_install" | "cpu_generation" | "edid" | "unknown"


@dataclass(frozen=True)
class Assessment:
    """What the policies conclude about one device as of the date."""

    device_id: int
    in_service_date: date | None
    age_years: float | None
    age_source: AgeSource
    age_estimated: bool
    past_service_life: bool
    issues: tuple[str, ...] = ()  # compliance problems, most serious first ("air_gap_violation", ...)


@dataclass(frozen=True)
class Coverage:
    """Every figure for a scope (a unit and its subtree) as of the end of a date."""

    as_of: date
    unit_code: str | None  # root of the scope; None for the whole tree
    figures: dict[str, Figure]
    per_unit: dict[str, dict[str, Figure]]  # unit code -> that unit's own subtree figures
    assessments: dict[int, Assessment]
    forecast: dict[int, dict[str, int]]  # budget year -> unit code -> devices passing service life that year
    oldest: tuple[int, ...] = ()  # device ids, oldest first (past service life only)
    corrected_after: datetime | None = None  # inputs for this date were corrected later (reports say so)
    licence_warn_days: int = 30  # antivirus_licence_expiring: licences ending within this many days
    # budget year -> unit code -> product -> seats to renew that year (services/forecast.licence_renewals)
    forecast_licences: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)
