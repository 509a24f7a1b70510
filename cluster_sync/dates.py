"""Dates as they arrive from a responses sheet: ISO text, the sheet's own day/month order,
month names, and spreadsheet serial numbers (days since 1899-12-30, time as the fraction)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DateOrder = Literal["DMY", "MDY", "YMD"]

SERIAL_EPOCH = datetime(1899, 12, 30)
# A serial number outside these bounds is not a plausible date for this programme (1982..2064).
_SERIAL_MIN, _SERIAL_MAX = 30000, 60000
# The years a typed date or a date cell may have.
_YEARS = (1900, 2100)

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "janvier", "enero", "gennaio", "janeiro"),
            ("february", "feb", "février", "fevrier", "febrero", "febbraio", "fevereiro"),
            ("march", "mar", "mars", "marzo", "março"),
            ("april", "apr", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio"),
            ("june", "jun", "juin", "junio", "giugno", "junho"),
            ("july", "jul", "juillet", "julio", "luglio", "julho"),
            ("august", "aug", "août", "aout", "agosto"),
            ("september", "sep", "sept", "septembre", "septiembre", "settembre", "setembro"),
            ("october", "oct", "octobre", "octubre", "ottobre", "outubro"),
            ("november", "nov", "novembre", "noviembre", "novembro"),
            ("december", "dec", "décembre", "decembre", "diciembre", "dicembre", "dezembro"),
        ],
        start=1,
    )
    for name in names
}

_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?$"
)
_NUMERIC = re.compile(
    r"^(\d{1,4})[./-] ?(\d{1,2})[./-] ?(\d{1,4})\.?(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_WORDY = re.compile(
    r"^(?:(\d{1,2})\.?\s+([^\W\d]+)\.?,?\s+(\d{4})|([^\W\d]+)\.?\s+(\d{1,2}),?\s+(\d{4}))$"
)


class DateParseError(ValueError):
    """Text that is not a date in any accepted form."""


def format_date(value: date) -> str:
    """The way dates are written to people: 3 March 2025 (no leading zero, English month)."""
    return f"{value.day} {value.strftime('%B')} {value.year}"


def from_serial(serial: float) -> datetime:
    """A spreadsheet serial number as a naive date-time in the spreadsheet's own time zone."""
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        raise DateParseError(f"{serial} is not a plausible spreadsheet date number")
    # Round to the second: serials carry binary fractions (0.5000000001 days).
    return SERIAL_EPOCH + timedelta(seconds=round(serial * 86400))


def parse_datetime(value: object, order: DateOrder, tz: ZoneInfo | None = None) -> datetime:
    """A cell as a date-time. Naive values are taken to be in `tz` (the spreadsheet's zone)."""
    if isinstance(value, date):
        # A date cell gets the plausibility range of a typed date (9999-12-31 is no date here).
        if not _YEARS[0] <= value.year <= _YEARS[1]:
            raise DateParseError(f"{value.isoformat()} has an implausible year")
        result = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = from_serial(float(value))
    else:
        result = _parse_text(str(value).strip(), order)
    if tz is not None and result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    return result


def parse_date(value: object, order: DateOrder) -> date:
    """A cell or a typed date as a calendar date; the time of day, if any, is dropped."""
    return parse_datetime(value, order).date()


def _parse_text(text: str, order: DateOrder) -> datetime:
    if not text:
        raise DateParseError("empty")
    if re.fullmatch(r"\d{5}(?:\.\d+)?", text):
        return from_serial(float(text))
    if m := _ISO.match(text):
        y, mo, d, hh, mm, ss = m.groups()
        built = _build(int(y), int(mo), int(d), hh, mm, ss, text)
        if text.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", text[10:]):
            # an explicit offset (2025-03-15T10:00:00Z) is kept, not read as local time
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                return built
        return built
    if m := _NUMERIC.match(text):
        return _numeric(m, order, text)
    if m := _WORDY.match(text.casefold()):
        day, month_name, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
        if month_name not in MONTHS:
            raise DateParseError(f"unknown month {month_name!r}")
        return _build(int(year), MONTHS[month_name], int(day), None, None, None, text)
    raise DateParseError(f"{text!r} is not a date")


def _numeric(m: re.Match[str], order: DateOrder, text: str) -> datetime:
    a, b, c, hh, mm, ss = m.groups()
    if len(a) == 4:  # 2025/03/15 is year-first whatever the sheet's order
        return _build(int(a), int(b), int(c), hh, mm, ss, text)
    if len(c) not in (2, 4):
        raise DateParseError(f"{text!r} has no two- or four-digit year")
    year = int(c) + (2000 if len(c) == 2 else 0)
    first, second = int(a), int(b)
    day, month = (first, second) if order in ("DMY", "YMD") else (second, first)
    if month > 12 and day <= 12:
        # Typed in the other order (15/03 in an MDY sheet): unambiguous, so take it.
        day, month = month, day
    return _build(year, month, day, hh, mm, ss, text)


def _build(
    y: int, mo: int, d: int, hh: str | None, mm: str | None, ss: str | None, text: str
) -> datetime:
    if not _YEARS[0] <= y <= _YEARS[1]:
        raise DateParseError(f"{text!r} has an implausible year")
    try:
        return datetime(y, mo, d, int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError as exc:
        raise DateParseError(f"{text!r} is not a real date ({exc})") from None
