"""Vietnamese and English number formatting of shares, counts and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.report.numbers import format_count, format_date, format_points, format_share, format_years
from server.services.figure import Figure


def test_share_in_vietnamese_uses_dot_thousands_and_comma_decimals() -> None:
    assert format_share(Figure("k", 17236, 17307), "vi") == "99,58% (17.236/17.307)"


def test_share_in_english() -> None:
    assert format_share(Figure("k", 17236, 17307), "en") == "99.58% (17,236/17,307)"


def test_nearly_all_is_never_rounded_up_to_100() -> None:
    assert format_share(Figure("k", 17306, 17307), "vi") == "99,99% (17.306/17.307)"
    assert format_share(Figure("k", 2, 3), "vi") == "66,66% (2/3)"


def test_all_and_none() -> None:
    assert format_share(Figure("k", 15, 15), "vi") == "100,00% (15/15)"
    assert format_share(Figure("k", 0, 15), "en") == "0.00% (0/15)"


def test_nothing_to_count_is_missing_not_100_percent() -> None:
    assert format_share(Figure("k", 0, 0), "vi") is None


def test_counts_dates_points_years() -> None:
    assert format_count(1234567, "vi") == "1.234.567"
    assert format_count(1234567, "en") == "1,234,567"
    assert format_date(date(2024, 5, 8), "vi") == "08/05/2024"
    assert format_date(date(2024, 5, 8), "en") == "8 May 2024"
    assert format_points(Decimal("-2.5"), "vi") == "2,50"
    assert format_years(10.25, "vi") == "10,2"
    assert format_years(9.96, "vi") == "9,9"


@given(den=st.integers(min_value=1, max_value=10**7), data=st.data())
def test_rendered_percent_matches_the_truncated_figure(den: int, data: st.DataObject) -> None:
    num = data.draw(st.integers(min_value=0, max_value=den))
    text = format_share(Figure("k", num, den), "en")
    assert text is not None
    shown = Decimal(text.split("%", 1)[0].replace(",", ""))
    assert shown == Decimal(num * 10000 // den) / 100
    assert shown <= 100
    assert (shown == 100) == (num == den)
