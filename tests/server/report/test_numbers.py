"""Vietnamese and English number formatting of shares, counts and dates."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.report.numbers import (
    format_count,
    format_date,
    format_points,
    format_share,
    format_share_or_no_data,
    format_years,
)
from server.services.figure import Figure, percent_of


def test_share_in_vietnamese_uses_dot_thousands_and_comma_decimals() -> None:
    assert format_share(Figure("k", 17236, 17307), "vi") == "99,59% (17.236/17.307)"


def test_share_in_english() -> None:
    assert format_share(Figure("k", 17236, 17307), "en") == "99.59% (17,236/17,307)"


def test_shares_round_half_up_as_a_calculator_does() -> None:
    assert format_share(Figure("k", 10, 44), "vi") == "22,73% (10/44)"
    assert format_share(Figure("k", 2, 3), "vi") == "66,67% (2/3)"
    assert format_share(Figure("k", 1, 8), "en") == "12.50% (1/8)"
    assert format_share(Figure("k", 1, 800), "en") == "0.13% (1/800)"  # 0.125: half goes up


def test_nearly_all_is_never_rounded_up_to_100_nor_a_little_down_to_0() -> None:
    assert format_share(Figure("k", 17306, 17307), "vi") == "99,99% (17.306/17.307)"
    assert format_share(Figure("k", 1, 30000), "vi") == "0,01% (1/30.000)"


def test_all_and_none() -> None:
    assert format_share(Figure("k", 15, 15), "vi") == "100,00% (15/15)"
    assert format_share(Figure("k", 0, 15), "en") == "0.00% (0/15)"


def test_nothing_to_count_is_missing_not_100_percent() -> None:
    assert format_share(Figure("k", 0, 0), "vi") is None
    assert format_share_or_no_data(Figure("k", 0, 0), "vi") == "chưa có số liệu"
    assert format_share_or_no_data(Figure("k", 0, 0), "en") == "no data"
    assert format_share_or_no_data(Figure("k", 0, 3), "en") == "0.00% (0/3)"


def test_counts_dates_points_years() -> None:
    assert format_count(1234567, "vi") == "1.234.567"
    assert format_count(1234567, "en") == "1,234,567"
    assert format_date(date(2024, 5, 8), "vi") == "08/05/2024"
    assert format_date(date(2024, 5, 8), "en") == "8 May 2024"
    assert format_points(Decimal("-2.5"), "vi") == "2,50"
    assert format_years(10.25, "vi") == "10,2"
    assert format_years(9.96, "vi") == "9,9"


def clamped_half_up(num: int, den: int) -> Decimal:
    """The rule written the other way, in Decimal with ample precision: round half up, then clamp."""
    exact = Decimal(num) * 100 / Decimal(den)
    rounded = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 100 and num != den:
        return Decimal("99.99")
    if rounded == 0 and num != 0:
        return Decimal("0.01")
    return rounded


@given(den=st.integers(min_value=1, max_value=10**7), data=st.data())
def test_printed_percent_is_the_clamped_half_up_rounding(den: int, data: st.DataObject) -> None:
    num = data.draw(st.integers(min_value=0, max_value=den))
    figure = Figure("k", num, den)
    expected = clamped_half_up(num, den)
    for lang, thousands in (("en", ","), ("vi", ".")):
        text = format_share(figure, lang)  # type: ignore[arg-type]
        assert text is not None
        number = text.split("%", 1)[0].replace(thousands, "")
        shown = Decimal(number.replace(",", ".") if lang == "vi" else number)
        assert shown == expected
        assert shown <= 100
        assert (shown == 100) == (num == den)
        assert (shown == 0) == (num == 0)
    assert figure.percent == float(expected) and percent_of(num, den) == expected


def test_figure_percent_json_value() -> None:
    assert Figure("k", 10, 44).as_json()["percent"] == 22.73
    assert Figure("k", 2, 3).as_json()["percent"] == 66.67
    assert Figure("k", 0, 0).as_json()["percent"] is None
