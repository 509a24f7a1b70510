"""Dates as a responses sheet holds them: text in several orders, month names, serial numbers."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cluster_sync.dates import (
    DateParseError,
    format_date,
    from_serial,
    parse_date,
    parse_datetime,
)

BRUSSELS = ZoneInfo("Europe/Brussels")


# --- serial numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (43831, datetime(2020, 1, 1)),  # as Google's own documentation records it
        (45000.5, datetime(2023, 3, 15, 12, 0)),
        (45731, datetime(2025, 3, 15)),
        (45731.25, datetime(2025, 3, 15, 6, 0)),
        (45731.5000000001, datetime(2025, 3, 15, 12, 0)),  # binary fractions round to the second
        (45731.999999999, datetime(2025, 3, 16, 0, 0)),
        (30000, datetime(1982, 2, 18)),
        (60000, datetime(2064, 4, 8)),
    ],
)
def test_from_serial(serial: float, expected: datetime) -> None:
    assert from_serial(serial) == expected


@pytest.mark.parametrize(
    "serial", [0, 1, 100, 29999.99, 60000.01, 99999, -45731, math.nan, math.inf]
)
def test_implausible_serial_is_rejected(serial: float) -> None:
    with pytest.raises(DateParseError, match="not a plausible spreadsheet date number"):
        from_serial(serial)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (43831, datetime(2020, 1, 1)),
        (43831.0, datetime(2020, 1, 1)),
        ("43831", datetime(2020, 1, 1)),
        ("45000.5", datetime(2023, 3, 15, 12, 0)),
        (" 45731 ", datetime(2025, 3, 15)),
    ],
)
def test_parse_datetime_of_serials(value: object, expected: datetime) -> None:
    assert parse_datetime(value, "DMY") == expected


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_serial_numbers(value: bool) -> None:
    with pytest.raises(DateParseError):
        parse_datetime(value, "DMY")


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2025-03-15", "DMY", date(2025, 3, 15)),
        ("2025-3-5", "MDY", date(2025, 3, 5)),
        ("2025-03-15T10:15:00", "DMY", date(2025, 3, 15)),
        ("15/03/2025", "DMY", date(2025, 3, 15)),
        ("15.03.2025", "DMY", date(2025, 3, 15)),
        ("15-03-2025", "DMY", date(2025, 3, 15)),
        ("5/3/2025", "DMY", date(2025, 3, 5)),
        ("5/3/2025", "MDY", date(2025, 5, 3)),
        ("03/15/2025", "MDY", date(2025, 3, 15)),
        ("15/03/2025", "MDY", date(2025, 3, 15)),  # unambiguous: the day is over 12
        ("03/15/2025", "DMY", date(2025, 3, 15)),
        ("15/03/25", "DMY", date(2025, 3, 15)),
        ("2025/03/15", "YMD", date(2025, 3, 15)),
        ("2025/03/15", "DMY", date(2025, 3, 15)),
        ("2025.03.15", "MDY", date(2025, 3, 15)),
        ("15/03/2025", "YMD", date(2025, 3, 15)),
        ("15 March 2025", "DMY", date(2025, 3, 15)),
        ("March 15, 2025", "DMY", date(2025, 3, 15)),
        ("March 15 2025", "MDY", date(2025, 3, 15)),
        ("15 MARCH 2025", "DMY", date(2025, 3, 15)),
        ("15 Mar. 2025", "DMY", date(2025, 3, 15)),
        ("15. mars 2025", "DMY", date(2025, 3, 15)),
        ("15 mars 2025", "DMY", date(2025, 3, 15)),
        ("3 février 2025", "DMY", date(2025, 2, 3)),
        ("3 fevrier 2025", "DMY", date(2025, 2, 3)),
        ("1 août 2025", "DMY", date(2025, 8, 1)),
        ("25 décembre 2025", "DMY", date(2025, 12, 25)),
        ("3 marzo 2027", "DMY", date(2027, 3, 3)),
        ("19 maggio 2025", "DMY", date(2025, 5, 19)),
        ("7 março 2025", "DMY", date(2025, 3, 7)),
        ("9 septiembre 2025", "DMY", date(2025, 9, 9)),
        ("Sept 9, 2025", "DMY", date(2025, 9, 9)),
        ("  15/03/2025  ", "DMY", date(2025, 3, 15)),
    ],
)
def test_parse_date_text(text: str, order: str, expected: date) -> None:
    assert parse_date(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("29/11/2024 10:15:00", "DMY", datetime(2024, 11, 29, 10, 15)),
        ("11/29/2024 10:15:00", "MDY", datetime(2024, 11, 29, 10, 15)),
        ("29/11/2024 9:05", "DMY", datetime(2024, 11, 29, 9, 5)),
        ("2024-11-29 10:15:07", "DMY", datetime(2024, 11, 29, 10, 15, 7)),
        ("2024-11-29T10:15", "DMY", datetime(2024, 11, 29, 10, 15)),
    ],
)
def test_parse_datetime_text_with_time(text: str, order: str, expected: datetime) -> None:
    assert parse_datetime(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "31/02/2025",
        "2025-02-29",
        "29/02/2025",
        "2025-13-01",
        "13/13/2025",
        "32 March 2025",
        "15 Marchember 2025",
        "next spring",
        "15/03",
        "March 2025",
        "2025",
        "1234",
        "15/03/2025 in the morning",
        "29/11/2024 25:00",
    ],
)
@pytest.mark.parametrize("order", ["DMY", "MDY", "YMD"])
def test_text_that_is_not_a_date(text: str, order: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, order)  # type: ignore[arg-type]


def test_leap_day_is_a_date() -> None:
    assert parse_date("29/02/2024", "DMY") == date(2024, 2, 29)


def test_date_parse_error_is_a_value_error() -> None:
    assert issubclass(DateParseError, ValueError)


@pytest.mark.parametrize("text", ["2025-03-150", "2025-03-15 or 16", "2025-03-15junk"])
def test_iso_date_followed_by_junk_is_not_a_date(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, "DMY")


@pytest.mark.parametrize("text", ["15/03/202", "1/2/3"])
def test_numeric_date_with_a_truncated_year_is_not_a_date(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, "DMY")


# --- objects and time zones --------------------------------------------------------------------


def test_datetime_object_is_kept() -> None:
    value = datetime(2025, 3, 15, 9, 30, 12)
    assert parse_datetime(value, "DMY") == value
    assert parse_date(value, "MDY") == date(2025, 3, 15)


def test_date_object_becomes_midnight() -> None:
    assert parse_datetime(date(2025, 3, 15), "DMY") == datetime(2025, 3, 15)
    assert parse_date(date(2025, 3, 15), "DMY") == date(2025, 3, 15)


@pytest.mark.parametrize(
    "value", [datetime(2025, 3, 15, 9, 30), "15/03/2025 09:30", 45731.3958333333]
)
def test_naive_values_take_the_sheet_zone(value: object) -> None:
    result = parse_datetime(value, "DMY", BRUSSELS)
    assert result == datetime(2025, 3, 15, 9, 30, tzinfo=BRUSSELS)
    assert result.utcoffset() is not None


def test_aware_datetime_keeps_its_zone() -> None:
    athens = ZoneInfo("Europe/Athens")
    value = datetime(2025, 3, 15, 9, 30, tzinfo=athens)
    assert parse_datetime(value, "DMY", BRUSSELS).tzinfo is athens


def test_without_zone_the_result_is_naive() -> None:
    assert parse_datetime("15/03/2025 09:30", "DMY").tzinfo is None


# --- writing dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2025, 3, 3), "3 March 2025"),
        (date(2025, 4, 1), "1 April 2025"),
        (date(2026, 11, 30), "30 November 2026"),
        (date(2024, 2, 29), "29 February 2024"),
        (datetime(2025, 12, 9, 23, 59), "9 December 2025"),
    ],
)
def test_format_date(value: date, expected: str) -> None:
    assert format_date(value) == expected


@pytest.mark.parametrize("day", [date(2025, 1, 5), date(2025, 7, 31), date(2030, 10, 1)])
def test_formatted_date_reads_back(day: date) -> None:
    assert parse_date(format_date(day), "MDY") == day


def test_iso_text_with_an_offset_keeps_it() -> None:
    moment = parse_datetime("2025-12-31T23:30:00Z", "DMY", ZoneInfo("Europe/Brussels"))
    assert moment.utcoffset() == timedelta(0)
    assert moment.astimezone(ZoneInfo("Europe/Brussels")).year == 2026
