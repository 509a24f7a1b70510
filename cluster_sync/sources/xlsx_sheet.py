"""The edit of one worksheet's XML that write-back makes: status cells set as inline text,
everything else in the part left byte for byte as it was.

The part is edited as text, never parsed and serialised again: a round trip through an XML
library would rename namespace prefixes that `mc:Ignorable` refers to, reorder attributes and
drop what it does not know, and Excel then calls the file damaged.
"""

from __future__ import annotations

import re

from cluster_sync.sources.base import column_index
from cluster_sync.sources.base import column_letter as column_letters

_TEXT_LIMIT = 32_767  # the most characters an Excel cell holds
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_ROW = re.compile(
    r"<(?P<p>(?:[\w.-]+:)?)row(?=[\s/>])(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)row>)", re.S
)
_CELL = re.compile(
    r"<(?P<p>(?:[\w.-]+:)?)c(?=[\s/>])(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)c>)", re.S
)
_SHEET_DATA = re.compile(
    r"<(?P<p>(?:[\w.-]+:)?)sheetData(?=[\s/>])[^>]*?(?:/>|>(?P<body>.*?)</(?P=p)sheetData>)", re.S
)
_ATTR = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_MERGE = re.compile(r"<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([^\"']+)[\"']")
_DIMENSION = re.compile(r"(<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*[\"'])([^\"']+)([\"'])")
_FORMULA = re.compile(r"<(?:[\w.-]+:)?f[\s/>]")


def _attrs(text: str) -> dict[str, str]:
    return {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(text)}


def cell_position(ref: str) -> tuple[int, int] | None:
    """'K5' -> (row 5, column index 10); None for anything else."""
    m = _CELL_REF.match(ref)
    return (int(m[2]), column_index(m[1])) if m else None


def _ranges(xml: str) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    found = []
    for m in _MERGE.finditer(xml):
        corners = [cell_position(part) for part in m[1].split(":")]
        if all(corners):
            first, last = corners[0], corners[-1]
            assert first is not None and last is not None
            found.append((m[1], first, last))
    return found


def _inside(cell: tuple[int, int], first: tuple[int, int], last: tuple[int, int]) -> bool:
    return first[0] <= cell[0] <= last[0] and first[1] <= cell[1] <= last[1]


def patch_sheet(xml: str, cells: dict[tuple[int, int], str]) -> tuple[str | None, dict[int, str]]:
    withheld: dict[int, str] = {}
    merges = _ranges(xml)
    for key in sorted(cells):
        for ref, first, last in merges:
            if _inside(key, first, last):
                withheld.setdefault(
                    key[0], f"its cell {_name(key)} is part of the merged cells {ref}"
                )
    if 1 in withheld:  # a new status column has nowhere to go: nothing can be written
        return None, {row: withheld[1] for row, _ in cells if row > 1}
    todo = {key: value for key, value in cells.items() if key[0] not in withheld}
    by_row: dict[int, dict[int, str]] = {}
    for (row, col), value in todo.items():
        by_row.setdefault(row, {})[col] = value
    pieces: list[str] = []
    done = 0
    number = 0
    seen: set[int] = set()
    changed = False
    data = _SHEET_DATA.search(xml)
    start, end = (data.start("body"), data.end("body")) if data and data["body"] else (0, 0)
    for m in _ROW.finditer(xml, start, end):
        attrs = _attrs(m["attrs"])
        number = int(attrs["r"]) if attrs.get("r", "").isdigit() else number + 1
        if number not in by_row:
            continue
        seen.add(number)
        new, why = _patch_row(m, attrs, number, by_row[number])
        if why:
            withheld[number] = why
            continue
        if new != m[0]:
            pieces += [xml[done : m.start()], new]
            done = m.end()
            changed = True
    for row in by_row:
        if row not in seen:
            withheld.setdefault(row, "its row could not be found in the worksheet")
    if 1 in withheld:  # the header row could not take the new status headers
        return None, {row: withheld[1] for row, _ in cells if row > 1}
    if not changed:
        return None, withheld
    patched = "".join([*pieces, xml[done:]])
    written = [key for key in todo if key[0] not in withheld]
    return _grow_dimension(patched, written), withheld


def _patch_row(
    m: re.Match[str], attrs: dict[str, str], number: int, wanted: dict[int, str]
) -> tuple[str, str | None]:
    prefix = m["p"]
    body = m["body"] or ""
    existing: list[tuple[int, re.Match[str]]] = []
    for cell in _CELL.finditer(body):
        ref = cell_position(_attrs(cell["attrs"]).get("r", ""))
        if ref is None or ref[0] != number:
            return m[0], "its cells carry no positions, so none of them can be placed safely"
        existing.append((ref[1], cell))
    columns = {col: cell for col, cell in existing}
    for col in wanted:
        target = columns.get(col)
        if target is not None:
            found = _attrs(target["attrs"])
            if _FORMULA.search(target["body"] or "") or "cm" in found or "vm" in found:
                return m[0], f"its cell {_name((number, col))} holds a formula"
    out: list[str] = []
    done = 0
    pending = sorted(wanted)
    for col, cell in existing:
        while pending and pending[0] < col:
            out += [
                body[done : cell.start()],
                _new_cell(prefix, number, pending[0], wanted[pending.pop(0)], None),
            ]
            done = cell.start()
        if pending and pending[0] == col:
            style = _attrs(cell["attrs"]).get("s")  # the cell keeps its look
            value = _new_cell(prefix, number, col, wanted[pending.pop(0)], style)
            out += [body[done : cell.start()], value]
            done = cell.end()
    out.append(body[done:])
    for col in pending:
        out.append(_new_cell(prefix, number, col, wanted[col], None))
    new_body = "".join(out)
    if new_body == body:
        return m[0], None
    start_tag = f"<{prefix}row{_spans(m['attrs'], [c for c, _ in existing] + list(wanted))}>"
    return f"{start_tag}{new_body}</{prefix}row>", None


def _spans(attrs: str, columns: list[int]) -> str:
    m = re.search(r"\bspans\s*=\s*[\"']([^\"']*)[\"']", attrs)
    if not m:
        return attrs
    low = min(columns) + 1
    high = max(columns) + 1
    for part in m[1].split():
        if ":" in part and all(x.isdigit() for x in part.split(":")):
            a, b = (int(x) for x in part.split(":"))
            low, high = min(low, a), max(high, b)
    return attrs[: m.start(1)] + f"{low}:{high}" + attrs[m.end(1) :]


def _new_cell(prefix: str, row: int, col: int, value: str, style: str | None) -> str:
    style_attr = f' s="{style}"' if style else ""
    text = _escape(value)
    return (
        f'<{prefix}c r="{column_letters(col)}{row}"{style_attr} t="inlineStr"><{prefix}is>'
        f'<{prefix}t xml:space="preserve">{text}</{prefix}t></{prefix}is></{prefix}c>'
    )


def _escape(value: str) -> str:
    value = _BAD_XML_CHARS.sub("\ufffd", value.replace("\r\n", "\n"))[:_TEXT_LIMIT]
    value = _ESCAPE_LIKE.sub(r"_x005F_\1", value)  # literal "_x0041_" stays literal in Excel
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _grow_dimension(xml: str, written: list[tuple[int, int]]) -> str:
    m = _DIMENSION.search(xml)
    if not m or not written:
        return xml
    corners = [cell_position(part) for part in m[2].split(":")]
    if not all(corners):
        return xml
    rows = [c[0] for c in corners if c] + [r for r, _ in written]
    cols = [c[1] for c in corners if c] + [c for _, c in written]
    ref = f"{column_letters(min(cols))}{min(rows)}:{column_letters(max(cols))}{max(rows)}"
    return xml[: m.start(2)] + ref + xml[m.end(2) :]


def _name(key: tuple[int, int]) -> str:
    return f"{column_letters(key[1])}{key[0]}"
