"""One CSV record read from a position in the export's text, or in its bytes: its cells and
where each starts and ends, as csv_export.py needs them to edit the file in place."""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from typing import Any

#: No spreadsheet holds a longer cell (Sheets: 50,000 characters; Excel: 32,767); also the
#: csv module's own default limit.
FIELD_LIMIT = 131_072
DELIMITERS = (",", ";", "\t")
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')
_LINE_REST = re.compile(r"[^\r\n]*")
_UNQUOTED = {d: re.compile(f"[^{re.escape(d)}\r\n]*") for d in DELIMITERS}


@dataclass(frozen=True)
class _Syntax:
    """The tokenizer's characters and patterns, for text or for bytes (a bytewise parse)."""

    quote: Any
    pair: Any  # a quote inside a quoted cell
    cr: Any
    lf: Any
    empty: Any
    quoted: re.Pattern[Any]
    line_rest: re.Pattern[Any]
    unquoted: dict[str, re.Pattern[Any]]
    delimiters: dict[str, Any]


_TEXT = _Syntax(
    '"', '""', "\r", "\n", "", _QUOTED, _LINE_REST, _UNQUOTED, {d: d for d in DELIMITERS}
)
_BYTES = _Syntax(
    b'"',
    b'""',
    b"\r",
    b"\n",
    b"",
    re.compile(_QUOTED.pattern.encode()),
    re.compile(_LINE_REST.pattern.encode()),
    {d: re.compile(p.pattern.encode()) for d, p in _UNQUOTED.items()},
    {d: d.encode() for d in DELIMITERS},
)


def tokenize(
    data: Any, position: int, delimiter: str, bytewise: bool = False
) -> tuple[list[Any], array[int], int, int, str | None]:
    """One record from `position`: its cells' text and where each starts and ends (Record's
    `bounds`), where the next record starts, where this one's line ending begins, and why it
    cannot be read (None when it can). `bytewise`: `data` and the cells are UTF-8 bytes (a
    cell's length is counted in characters all the same)."""
    sx = _BYTES if bytewise else _TEXT
    unquoted = sx.unquoted[delimiter]
    sep = sx.delimiters[delimiter]
    cells: list[Any] = []
    bounds = array("q")
    problem = None
    if data.startswith((sx.cr, sx.lf), position):
        return [], bounds, _after_newline(data, position, sx), position, None
    while True:
        start = position
        if data.startswith(sx.quote, position):
            m = sx.quoted.match(data, position)
            if m is not None and _stray_quote(data, m, sep, sx):
                m = None
            if m is None:
                # Never closed: reject this line alone and go on with the next.
                end = position + len(_run(sx.line_rest, data, position))
                cells.append(data[position:end])
                bounds.extend((start, end))
                why = 'a quote (") is never closed'
                return cells, bounds, _after_newline(data, end, sx), end, why
            tail = _run(unquoted, data, m.end())
            value = m[1].replace(sx.pair, sx.quote) + tail  # "ab"c is abc, as csv reads it
            position = m.end() + len(tail)
        else:
            value = _run(unquoted, data, position)
            position += len(value)
        if len(value) > FIELD_LIMIT and problem is None:
            length = len(value.decode("utf-8")) if bytewise else len(value)
            if length > FIELD_LIMIT:
                problem = (
                    f"a cell holds {length:,} characters, more than the {FIELD_LIMIT:,} allowed"
                )
        cells.append(value)
        bounds.extend((start, position))
        if data.startswith(sep, position):
            position += len(sep)
            continue
        return cells, bounds, _after_newline(data, position, sx), position, problem


def _stray_quote(data: Any, m: re.Match[Any], delimiter: Any, sx: _Syntax) -> bool:
    """A quote that "closes" on a later line, in the middle of a cell, was never closed
    where it should have been: a spreadsheet writes a closing quote before a delimiter or
    the end of the line, and a cell spanning lines only when it was quoted on purpose."""
    after = data[m.end() : m.end() + 1]
    spans_lines = sx.lf in m[1] or sx.cr in m[1]
    return spans_lines and after not in (sx.empty, delimiter, sx.cr, sx.lf)


def _run(pattern: re.Pattern[Any], data: Any, position: int) -> Any:
    m = pattern.match(data, position)
    assert m is not None  # the patterns match the empty string
    return m[0]


def _after_newline(data: Any, position: int, sx: _Syntax = _TEXT) -> int:
    if data.startswith(sx.cr + sx.lf, position):
        return position + 2
    if data.startswith((sx.cr, sx.lf), position):
        return position + 1
    return position
