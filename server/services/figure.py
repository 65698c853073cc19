"""One figure of the report: numerator, denominator and the list behind it. Never above 100%."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        if not 0 <= self.numerator <= self.denominator and not (self.denominator == 0 and self.numerator == 0):
            raise ValueError(f"figure {self.key}: {self.numerator}/{self.denominator} is not a share")

    @property
    def fraction(self) -> float | None:
        """numerator/denominator, or None when there is nothing to count (missing data, not 100%)."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> float | None:
        """Percentage truncated (not rounded) to two decimals: 17306/17307 is 99.99, never 100.00."""
        if not self.denominator:
            return None
        return (self.numerator * 10000 // self.denominator) / 100

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
