"""The district's rules that turn facts into judgements: service life, freshness limits, licensing of built-ins.

The caller builds a ``Policy`` from the server settings; every policy function takes it as an argument so that
a test or a report can judge the same snapshot under other rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from server.clock import end_of_day

if TYPE_CHECKING:
    from server.config import Settings


@dataclass(frozen=True)
class Policy:
    """Thresholds for age, compliance and the replacement forecast."""

    service_life_years: float = 5  # may be fractional (5.5); the service ends that long after the in-service day
    signature_max_age_days: int = 7
    stale_after_days: int = 30
    #: Antivirus built into the OS (Windows/Microsoft Defender, XProtect) needs no licence record.
    builtin_av_licensed: bool = True
    #: Free software antivirus needs no licence either; names matched case-insensitively as substrings.
    free_av_products: tuple[str, ...] = ("clamav",)
    forecast_years: int = 3
    #: A licence ending within this many days after the cut-off date is about to expire.
    licence_expiry_warn_days: int = 30
    #: Zone whose midnight ends a cut-off day; the same as ``services.history`` uses to rebuild the snapshot.
    timezone: str = "Asia/Ho_Chi_Minh"
    #: A BIOS dated more than this many years after the CPU's launch was updated, not shipped with the board.
    bios_after_cpu_tolerance_years: int = 2

    def __post_init__(self) -> None:
        if self.service_life_years <= 0:
            raise ValueError("service_life_years must be positive")
        if self.signature_max_age_days < 0 or self.stale_after_days < 0:
            raise ValueError("day limits cannot be negative")
        if self.licence_expiry_warn_days < 0:
            raise ValueError("licence_expiry_warn_days cannot be negative")
        if self.forecast_years < 0:
            raise ValueError("forecast_years cannot be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy configured for this server process."""
        return cls(
            service_life_years=settings.service_life_years,
            signature_max_age_days=settings.signature_max_age_days,
            stale_after_days=settings.stale_after_days,
            builtin_av_licensed=settings.builtin_av_licensed,
            licence_expiry_warn_days=settings.licence_expiry_warn_days,
            timezone=settings.timezone,
        )

    def end_of_day(self, day: date) -> datetime:
        """The first instant after ``day`` in the district's zone, in UTC: what "as of the end of" means."""
        return end_of_day(day, ZoneInfo(self.timezone))

    def budget_year(self, day: date) -> int:
        """The budget year a day belongs to: Vietnam's state budget year is the calendar year."""
        return day.year

