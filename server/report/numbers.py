"""Numbers, shares and dates as a Vietnamese (or English) official document writes them, through Babel.

The formatters are pure and Babel is slow (tens of microseconds a call), while reports and pages write the
same counts, ages and dates over and over: each keeps its recent answers.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal, format_percent

from server.services.figure import Figure

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
_LOCALES: dict[Lang, str] = {"vi": "vi_VN", "en": "en_US"}
PERCENT_PATTERN = "#,##0.00%"
#: What a figure with nothing to count reads in every output: never 0,00% and never 100%.
NO_DATA: dict[Lang, str] = {"vi": "chưa có số liệu", "en": "no data"}


def locale_of(lang: Lang) -> str:
    """The Babel locale of a report language."""
    return _LOCALES[lang]


def percent_decimal(figure: Figure) -> Decimal | None:
    """The figure's percentage, rounded once by ``figure.percent_of`` (half up, clamped), as an exact Decimal."""
    return figure.percent_exact


@functools.lru_cache(maxsize=65536, typed=True)
def format_percent_value(value: Decimal, lang: Lang) -> str:
    """``99,99%`` (vi) or ``99.99%`` (en) for a percentage already rounded to two decimals (nothing left to round)."""
    return format_percent(value / 100, PERCENT_PATTERN, locale=locale_of(lang))


@functools.lru_cache(maxsize=65536, typed=True)
def format_count(value: int, lang: Lang) -> str:
    """A count with thousands separators: ``17.236`` (vi), ``17,236`` (en)."""
    return format_decimal(value, locale=locale_of(lang))


@functools.lru_cache(maxsize=65536, typed=True)
def format_points(value: Decimal, lang: Lang) -> str:
    """A difference in percentage points, unsigned, two decimals: ``2,50``."""
    return format_decimal(abs(value), "#,##0.00", locale=locale_of(lang))


@functools.lru_cache(maxsize=65536, typed=True)
def format_number(value: float, lang: Lang) -> str:
    """A plain number as the locale writes it, without trailing zeros: ``5``, ``5,5``."""
    return format_decimal(Decimal(str(value)).normalize(), locale=locale_of(lang))


@functools.lru_cache(maxsize=65536, typed=True)
def format_years(value: float, lang: Lang) -> str:
    """An age in years truncated to one decimal (``9,96`` reads ``9,9``): an age is never overstated."""
    truncated = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return format_decimal(truncated, "#,##0.0", locale=locale_of(lang))


@functools.lru_cache(maxsize=65536, typed=True)
def format_date(value: date, lang: Lang) -> str:
    """``18/05/2024`` (vi) or ``18 May 2024`` (en)."""
    pattern = "dd/MM/yyyy" if lang == "vi" else "d MMMM yyyy"
    return _babel_date(value, pattern, locale=locale_of(lang))


def format_share(figure: Figure, lang: Lang) -> str | None:
    """``99,99% (17.236/17.307)``; None when the denominator is 0 (missing data, never a made-up 100%)."""
    value = percent_decimal(figure)
    if value is None:
        return None
    counts = f"{format_count(figure.numerator, lang)}/{format_count(figure.denominator, lang)}"
    return f"{format_percent_value(value, lang)} ({counts})"


def format_share_or_no_data(figure: Figure, lang: Lang) -> str:
    """``66,67% (2/3)``, or ``chưa có số liệu`` / ``no data`` when the denominator is 0."""
    return format_share(figure, lang) or NO_DATA[lang]
