"""The spreadsheet behind the fake Sheets API: typed cells, A1 ranges, and the way Google renders
and parses values. Modelled on recorded Google traffic (see tests/test_fake_sheets_recordings.py).

Cells are stored typed, as Google does: text, numbers, booleans, and dates or date-times as serial
numbers (days since 1899-12-30) with a format flag that decides how they are shown.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cluster_sync.sources.base import column_index
from cluster_sync.sources.base import column_letter as column_letters

Value = str | int | float | bool

SERIAL_EPOCH = datetime(1899, 12, 30)
#: format flags for date cells: an explicit pattern, or the sheet locale's own date(-time) format
ISO_DATE, ISO_DATETIME, LOCALE_DATE, LOCALE_DATETIME = "yyyy-mm-dd", "iso-dt", "loc-d", "loc-dt"


class RangeError(ValueError):
    """A range Google would refuse (400 INVALID_ARGUMENT); the message is Google's wording."""


@dataclass
class Cell:
    value: Value
    #: for dates and date-times: one of the format flags above
    date_format: str | None = None
    #: the formula text, when the cell was entered as one (USER_ENTERED input starting with "=")
    formula: str | None = None


# -- A1 notation -----------------------------------------------------------------------------


def quote_title(title: str) -> str:
    """Titles are quoted in a range only when they need it, as Google answers them."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}[0-9]+", title
    )
    return title if plain else "'" + title.replace("'", "''") + "'"


def split_range(a1: str) -> tuple[str | None, str | None]:
    """`'Form responses 1'!A1:B2` -> (title, "A1:B2"); `Sheet1` -> ("Sheet1", None)."""
    if a1.startswith("'"):
        i, title = 1, ""
        while i < len(a1):
            if a1[i] == "'" and a1[i + 1 : i + 2] == "'":
                title, i = title + "'", i + 2
            elif a1[i] == "'":
                break
            else:
                title, i = title + a1[i], i + 1
        rest = a1[i + 1 :]
        if rest and not rest.startswith("!"):
            raise RangeError(f"Unable to parse range: {a1}")
        return title, rest[1:] or None
    if "!" in a1:
        title, cells = a1.split("!", 1)
        return title, cells or None
    return None, a1


_ENDPOINT = re.compile(r"^([A-Za-z]{0,3})([0-9]*)$")


@dataclass(frozen=True)
class GridRange:
    """Rows and columns 0-based, ends exclusive."""

    title: str
    r0: int
    c0: int
    r1: int
    c1: int
    single: bool = False

    def a1(self) -> str:
        start = f"{column_letters(self.c0)}{self.r0 + 1}"
        if self.single:
            return f"{quote_title(self.title)}!{start}"
        return f"{quote_title(self.title)}!{start}:{column_letters(self.c1 - 1)}{self.r1}"


def grid_range(title: str, cells: str | None, rows: int, cols: int) -> GridRange:
    """The range `cells` (A1, A1:B2, A:B, 2:3, A2:2...) of a sheet of `rows` x `cols`."""
    if cells is None:
        return GridRange(title, 0, 0, rows, cols)
    parts = cells.split(":")
    matches = [_ENDPOINT.match(p) for p in parts]
    if len(parts) > 2 or not all(m and (m[1] or m[2]) for m in matches):
        raise RangeError(f"Unable to parse range: {quote_title(title)}!{cells}")
    (c0, r0), (c1, r1) = [(m[1], m[2]) for m in matches if m] * (3 - len(parts))
    grid = GridRange(
        title,
        int(r0) - 1 if r0 else 0,
        column_index(c0) if c0 else 0,
        int(r1) if r1 else rows,
        column_index(c1) + 1 if c1 else cols,
        single=len(parts) == 1,
    )
    if grid.r1 > rows or grid.c1 > cols or grid.r0 >= grid.r1 or grid.c0 >= grid.c1:
        raise RangeError(
            f"Range ({grid.a1()}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
        )
    return grid


# -- the sheet -------------------------------------------------------------------------------


@dataclass
class DeveloperMetadata:
    """A key/value tag on a row, a column (`dimension` and `index`) or the whole tab (None)."""

    metadata_id: int
    key: str
    value: str | None
    visibility: str
    dimension: str | None = None
    index: int = 0


@dataclass
class Sheet:
    title: str
    sheet_id: int
    row_count: int = 1000
    col_count: int = 26
    #: cells[r][c]; rows may be shorter than col_count (missing = empty)
    cells: list[list[Cell | None]] = field(default_factory=list)
    #: developer metadata on this tab's rows, columns or the tab itself (see sheet_edits)
    metadata: list[DeveloperMetadata] = field(default_factory=list)

    def get(self, r: int, c: int) -> Cell | None:
        return self.cells[r][c] if r < len(self.cells) and c < len(self.cells[r]) else None

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        while len(self.cells) <= r:
            self.cells.append([])
        row = self.cells[r]
        row.extend([None] * (c + 1 - len(row)))
        row[c] = cell

    def insert_columns(self, index: int, count: int = 1) -> None:
        """What "Insert column left/right" does: everything from `index` moves right."""
        from cluster_sync.testing import sheet_edits

        sheet_edits.insert(self, "COLUMNS", index, count)

    def resize(self, rows: int | None = None, cols: int | None = None) -> None:
        self.row_count = rows if rows is not None else self.row_count
        self.col_count = cols if cols is not None else self.col_count
        del self.cells[self.row_count :]
        for row in self.cells:
            del row[self.col_count :]

    def load(self, rows: Iterable[Sequence[Any]], locale: str = "en_US") -> None:
        """Fill from the top-left corner as if typed in (USER_ENTERED); grows the grid to fit."""
        self.cells = [[parse_user_entered(v, locale) for v in row] for row in rows]
        self.row_count = max(self.row_count, len(self.cells) + 1)
        self.col_count = max([self.col_count, *(len(r) for r in self.cells)])

    def values(
        self, grid: GridRange, render: str, dt_render: str, locale: str, major: str = "ROWS"
    ) -> list[list[Value]]:
        """Values of a range as Google returns them: trailing empty cells and rows dropped."""
        out: list[list[Value]] = []
        for r in range(grid.r0, grid.r1):
            row = [
                render_cell(self.get(r, c), render, dt_render, locale)
                for c in range(grid.c0, grid.c1)
            ]
            out.append(row)
        if major == "COLUMNS":
            out = [list(col) for col in zip(*out, strict=False)] if out else []
        return _trim(out)


def _trim(rows: list[list[Value]]) -> list[list[Value]]:
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


# -- rendering (valueRenderOption, dateTimeRenderOption) -------------------------------------


def render_cell(cell: Cell | None, render: str, dt_render: str, locale: str) -> Value:
    if cell is None:
        return ""
    if render == "FORMULA" and cell.formula:
        return cell.formula
    if render == "FORMATTED_VALUE":
        return format_value(cell, locale)
    if cell.date_format and dt_render == "FORMATTED_STRING":
        return format_value(cell, locale)
    return cell.value


def format_value(cell: Cell, locale: str) -> str:
    value = cell.value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if cell.date_format:
        return _format_date(value, cell.date_format, locale)
    text = str(int(value)) if float(value).is_integer() else repr(float(value))
    # Most European locales write a decimal comma; the fake knows only that difference.
    return text.replace(".", ",") if not locale.startswith("en") else text


def _format_date(serial: float, flag: str, locale: str) -> str:
    when = SERIAL_EPOCH + timedelta(seconds=round(serial * 86400))
    if flag == ISO_DATE:
        return when.strftime("%Y-%m-%d")
    if flag == ISO_DATETIME:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    if locale == "en_US":
        day = f"{when.month}/{when.day}/{when.year}"
        return day if flag == LOCALE_DATE else f"{day} {when.hour}:{when:%M:%S}"
    day = when.strftime("%d/%m/%Y")
    return day if flag == LOCALE_DATE else f"{day} {when:%H:%M:%S}"


def to_serial(when: datetime) -> int | float:
    days = (when - SERIAL_EPOCH) / timedelta(days=1)
    return int(days) if days.is_integer() else days


# -- parsing input (valueInputOption) --------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_raw(value: Any) -> Cell | None:
    """RAW input: stored exactly as sent; text stays text whatever it looks like."""
    if value is None or value == "":
        return None
    return Cell(value)


def parse_user_entered(value: Any, locale: str = "en_US") -> Cell | None:
    """USER_ENTERED input: parsed as if typed into the Sheets UI."""
    if not isinstance(value, str):
        return parse_raw(value)
    text = value.strip()
    if not text:
        return None
    if text.startswith("'"):
        return Cell(text[1:])  # a leading apostrophe forces text, as in the UI
    if text.startswith(("=", "+")) and not _NUMBER.match(text):
        formula = text if text.startswith("=") else "=" + text
        return Cell(evaluate(formula), formula=formula)
    if text.upper() in ("TRUE", "FALSE"):
        return Cell(text.upper() == "TRUE")
    if _NUMBER.match(text):
        number = float(text)
        return Cell(int(number) if number.is_integer() and "." not in text else number)
    return _parse_date(text, locale) or Cell(value)


def _parse_date(text: str, locale: str) -> Cell | None:
    if m := _ISO.match(text):
        y, mo, d, hh, mm, ss = m.groups()
        flag = ISO_DATE if hh is None else ISO_DATETIME
    elif m := _SLASHED.match(text):
        a, b, y, hh, mm, ss = m.groups()
        mo, d = (a, b) if locale == "en_US" else (b, a)
        flag = LOCALE_DATE if hh is None else LOCALE_DATETIME
    else:
        return None
    try:
        when = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None
    return Cell(to_serial(when), date_format=flag)


_OPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def evaluate(formula: str) -> Value:
    """Just enough of a formula engine to tell a formula from text: arithmetic and HYPERLINK."""
    body = formula[1:].strip()
    if m := re.fullmatch(r'(?i)HYPERLINK\(\s*"([^"]*)"\s*(?:[,;]\s*"([^"]*)"\s*)?\)', body):
        return m[2] if m[2] is not None else m[1]
    try:
        result = _arith(ast.parse(body, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, KeyError):
        return "#ERROR!"
    return int(result) if float(result).is_integer() else result


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp):
        return float(_OPS[type(node.op)](_arith(node.left), _arith(node.right)))
    if isinstance(node, ast.UnaryOp):
        return float(_OPS[type(node.op)](_arith(node.operand)))
    raise ValueError("not arithmetic")
