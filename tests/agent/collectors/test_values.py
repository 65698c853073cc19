"""Value helpers accept every shape Windows and firmware print."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from agent.collectors._values import (
    clean,
    clean_serial,
    first,
    load_json,
    parse_date,
    parse_when,
    records,
    to_bool,
    to_int,
    usable_uuid,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("/Date(1552608000000)/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("\\/Date(1552608000000)\\/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("/Date(1552608000000+0700)/", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190315000000.000000+000", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190315070000.000000+420", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("20190314190000.000000-300", datetime(2019, 3, 15, tzinfo=timezone.utc)),
    ("2023-05-29T19:00:00-05:00", datetime(2023, 5, 30, tzinfo=timezone.utc)),
    ("2024-03-05T06:45:12.4999999+07:00", datetime(2024, 3, 4, 23, 45, 12, 499999, tzinfo=timezone.utc)),
    ("2024-03-05T06:45:12Z", datetime(2024, 3, 5, 6, 45, 12, tzinfo=timezone.utc)),
    ("11/13/2017", datetime(2017, 11, 13, tzinfo=timezone.utc)),
    ("20220815", datetime(2022, 8, 15, tzinfo=timezone.utc)),
    ({"value": "/Date(1710288000000)/", "DateTime": "Wednesday, March 13, 2024"},
     datetime(2024, 3, 13, tzinfo=timezone.utc)),
])
def test_parse_when_reads_every_date_style(text: object, expected: datetime) -> None:
    assert parse_when(text) == expected


def test_cim_wildcards_keep_the_date() -> None:
    assert parse_date("20190315******.******+***") == date(2019, 3, 15)


@pytest.mark.parametrize("text", ["", "not a date", "/Date(abc)/", "13/45/2017", None, 42, "20191345000000.000000+000"])
def test_parse_when_gives_none_for_garbage(text: object) -> None:
    assert parse_when(text) is None


def test_plus_seven_date_moves_to_the_previous_utc_day() -> None:
    # A PC in Vietnam (UTC+7) shows 03:30 local on the 5th; in UTC that is still the 4th.
    assert parse_date("2020-01-05T03:30:00+07:00") == date(2020, 1, 4)


def test_records_accept_object_list_wrapped_and_empty() -> None:
    assert records({"a": 1}) == [{"a": 1}]
    assert records([{"a": 1}, {"a": 2}, "junk"]) == [{"a": 1}, {"a": 2}]
    assert records({"value": [{"a": 1}], "Count": 1}) == [{"a": 1}]
    assert records(None) == []
    assert first(None) == {}
    with pytest.raises(ValueError):
        records(3)


def test_load_json_handles_bom_and_empty_output() -> None:
    assert load_json("\ufeff{\"a\":  1}") == {"a": 1}
    assert load_json("  \r\n") is None
    with pytest.raises(ValueError):
        load_json("{ not json")


@pytest.mark.parametrize("text", ["To be filled by O.E.M.", "Default string", " System Serial Number ", "", None,
                                  "Not Specified"])
def test_placeholders_are_unknown(text: str | None) -> None:
    assert clean(text) is None


def test_clean_serial_rejects_repeated_characters() -> None:
    assert clean_serial("00000000") is None
    assert clean_serial("0000-0000-0000") is None
    assert clean_serial("7XK2M52") == "7XK2M52"


def test_numbers_and_booleans() -> None:
    assert to_int("42") == 42 and to_int(True) is None and to_int("x") is None and to_int(3.9) == 3
    assert to_bool(1) is True and to_bool(0) is False and to_bool(2) is None
    assert to_bool("True") is True and to_bool("false") is False and to_bool(None) is None


def test_usable_uuid_rejects_shared_and_blank_ids() -> None:
    assert usable_uuid("03000200-0400-0500-0006-000700080009") is None
    assert usable_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF") is None
    assert usable_uuid("36383150-3630-5A43-4A39-323130414243") == "36383150-3630-5a43-4a39-323130414243"
    assert usable_uuid("not-a-uuid") is None
