"""An .xlsx export, read as a stream and edited in place.

Reading walks the worksheet's XML row by row, so memory follows the cells that hold something,
never the size a workbook declares (one stray cell at A1048576 costs one row). Formula cells are
read by the value Excel or Sheets saved with them; date-formatted numbers become date-times.

Write-back changes only the worksheet part of the zip, and in it only the status cells (written as
inline text, so the shared strings stay as they are), the header cells of new status columns, the
row `spans` hints and the `<dimension>`. Every other part of the package is copied as it was:
formulas and their saved values, styles, merged cells, validation, conditional formats, other
tabs, defined names. A status cell that cannot be written safely (inside merged cells, holding a
formula) is not written: the caller is told which rows were withheld and why.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, overload
from xml.etree import ElementTree as ET
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

from cluster_sync.errors import ExportError
from cluster_sync.sources.xlsx_sheet import cell_position, patch_sheet

_MAIN_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_STRICT_REL_ID = "{http://purl.oclc.org/ooxml/officeDocument/relationships}id"
_EPOCHS = {False: datetime(1899, 12, 30), True: datetime(1904, 1, 1)}
_LAST_SERIAL = 2958465  # 9999-12-31
_INTEGER = re.compile(r"^-?\d+$")


def damaged(where: str, why: str) -> ExportError:
    return ExportError(
        f"{where} is damaged or not a complete .xlsx workbook ({why}).",
        hint="download it again (File > Download > Microsoft Excel) and check that the "
        "download finished.",
    )


@dataclass
class XlsxExport:
    data: bytes
    part: str  # the worksheet's path inside the zip
    headers: list[str]
    rows: list[tuple[int, Sequence[Any]]]  # (sheet row number, cells up to the last header)
    used_width: int  # one past the last column holding anything, in any row
    warnings: list[str] = field(default_factory=list)
    #: a workbook is read whole or not at all: a cell it cannot read is damage
    unreadable: dict[int, str] = field(default_factory=dict)

    def patched(self, cells: Mapping[tuple[int, int], str]) -> tuple[bytes | None, dict[int, str]]:
        """The workbook with these (row number, column index) cells set as text, and the rows
        whose cells could not be written safely (row number -> why). None: nothing to save."""
        with zipfile.ZipFile(io.BytesIO(self.data)) as book:
            try:
                xml = book.read(self.part).decode("utf-8")
            except UnicodeDecodeError:  # UTF-16 XML: allowed, never seen; not edited
                why = "its worksheet is not stored as UTF-8, which cluster-sync does not edit"
                return None, {row: why for row, _ in cells if row > 1}
            sheet, withheld = patch_sheet(xml, dict(cells))
            if sheet is None:
                return None, withheld
            encoded = sheet.encode("utf-8")
            del sheet, xml
            if not _well_formed(encoded):  # never expected: write nothing rather than damage
                why = "the worksheet could not be edited safely"
                return None, {row: why for row, _ in cells if row > 1}
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as copy:
                copy.comment = book.comment
                for info in book.infolist():
                    payload = encoded if info.filename == self.part else None
                    _copy_member(book, copy, info, payload)
        return out.getvalue(), withheld

    def pieces(
        self, cells: Mapping[tuple[int, int], str]
    ) -> tuple[list[bytes] | None, dict[int, str]]:
        """`patched` as the file.Export protocol takes it: a workbook is written whole."""
        new, withheld = self.patched(cells)
        return (None if new is None else [new]), withheld


def _well_formed(xml: bytes) -> bool:
    """Checked by the XML parser alone, without building a tree (no memory to speak of)."""
    try:
        expat.ParserCreate().Parse(xml, True)
    except expat.ExpatError:
        return False
    return True


def _copy_member(
    book: zipfile.ZipFile, copy: zipfile.ZipFile, info: zipfile.ZipInfo, payload: bytes | None
) -> None:
    fresh = zipfile.ZipInfo(info.filename, info.date_time)
    fresh.compress_type = info.compress_type
    fresh.external_attr = info.external_attr
    fresh.create_system = info.create_system
    fresh.comment = info.comment
    copy.writestr(fresh, book.read(info) if payload is None else payload)


# -- reading ----------------------------------------------------------------------------------


def parse(data: bytes, worksheet: str | None, where: str) -> XlsxExport:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExportError(
            f"{where} is an old-style .xls workbook, or a password-protected one.",
            hint="save it as an Excel Workbook (.xlsx) without a password, or download the "
            "sheet again with File > Download > Microsoft Excel.",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return _parse(book, data, worksheet, where)
    except ExportError:
        raise
    except zipfile.BadZipFile as exc:
        raise damaged(where, f"not a readable zip archive: {exc}") from None
    except KeyError as exc:
        raise damaged(where, f"a part is missing: {exc}") from None
    except ET.ParseError as exc:
        raise damaged(where, f"broken XML: {exc}") from None
    except (zlib.error, EOFError, ValueError, IndexError, OverflowError) as exc:
        raise damaged(where, f"{type(exc).__name__}: {exc}") from None


def _parse(book: zipfile.ZipFile, data: bytes, worksheet: str | None, where: str) -> XlsxExport:
    workbook_part = _main_part(book)
    workbook = ET.fromstring(book.read(workbook_part))
    rels = _relations(book, workbook_part)
    sheets = [
        (s.get("name", ""), s.get(_REL_ID) or s.get(_STRICT_REL_ID))
        for s in _all(workbook, "sheet")
    ]
    if not sheets:
        raise damaged(where, "it holds no worksheet")
    if worksheet is None:
        name, rel = sheets[0]
    else:
        found = [s for s in sheets if s[0] == worksheet]
        if not found:
            raise ExportError(
                f"{where} has no tab named “{worksheet}”; its tabs are: "
                f"{', '.join(f'“{n}”' for n, _ in sheets)}.",
                hint="set source.worksheet to one of them, or leave it out for the first tab.",
            )
        name, rel = found[0]
    part = rels.get(rel or "", ("", ""))[0]
    if not part.endswith(".xml") or part not in book.namelist():
        raise damaged(where, f"the tab “{name}” has no worksheet data")
    pr = next(_all(workbook, "workbookPr"), None)
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    by_type = {kind.rsplit("/", 1)[-1]: target for target, kind in rels.values()}
    strings = _shared_strings(book, by_type.get("sharedStrings"))
    dates = _date_styles(book, by_type.get("styles"))
    reader = _SheetReader(strings, dates, _EPOCHS[date1904])
    with book.open(part) as stream:
        headers, rows, used = reader.read(stream)
    export = XlsxExport(data, part, headers, rows, used)
    if reader.unsaved_formulas:
        export.warnings.append(
            f"{where}: {reader.unsaved_formulas} formula cell(s) have no saved value and are "
            "read as empty; open the workbook in Excel or Google Sheets and save it again."
        )
    return export


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(root: ET.Element, name: str) -> Iterator[ET.Element]:
    return (e for e in root.iter() if _local(e.tag) == name)


def _main_part(book: zipfile.ZipFile) -> str:
    for target, kind in _relations(book, "").values():
        if kind.endswith("/officeDocument") or kind == _MAIN_DOC:
            return target
    return "xl/workbook.xml"


def _relations(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (target part, type) for one part ("" for the package itself)."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_path not in book.namelist():
        return {}
    found = {}
    for rel in _all(ET.fromstring(book.read(rels_path)), "Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[rel.get("Id", "")] = (posixpath.normpath(path), rel.get("Type", ""))
    return found


def _rich_text(element: ET.Element) -> str:
    """The text of a string item: its runs, without phonetic guides."""
    parts = []
    for child in element:
        kind = _local(child.tag)
        if kind == "t":
            parts.append(child.text or "")
        elif kind == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return _unescape("".join(parts))


def _unescape(value: str) -> str:
    """Excel writes characters XML cannot hold as _xHHHH_."""
    if "_x" not in value:
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), value)


def _shared_strings(book: zipfile.ZipFile, part: str | None) -> list[str]:
    if not part or part not in book.namelist():
        return []
    strings = []
    with book.open(part) as stream:
        for _, element in ET.iterparse(stream):
            if _local(element.tag) == "si":
                strings.append(_rich_text(element))
                element.clear()
    return strings


def _date_styles(book: zipfile.ZipFile, part: str | None) -> list[bool]:
    """For each cell style (the `s` of a cell), whether its number format shows a date."""
    if not part or part not in book.namelist():
        return []
    root = ET.fromstring(book.read(part))
    custom = {int(f.get("numFmtId", "-1")): f.get("formatCode", "") for f in _all(root, "numFmt")}
    xfs = next((e for e in root.iter() if _local(e.tag) == "cellXfs"), None)
    if xfs is None:
        return []
    result = []
    for xf in xfs:
        number = int(xf.get("numFmtId", "0"))
        code = custom.get(number) or BUILTIN_FORMATS.get(number) or ""
        result.append(bool(code) and is_date_format(code))
    return result


#: The most blank rows between responses that are read as such (each is counted as a blank row);
#: beyond that, a workbook stuffed with empty rows costs nothing more.
BLANK_ROWS = 10_000


class SparseRow(Sequence[Any]):
    """A row's cells by column index, as long as the header row; only the cells that exist
    take memory (a header far to the right does not make every row that wide)."""

    def __init__(self, cells: dict[int, Any], width: int) -> None:
        self._cells = cells
        self._width = width

    def __len__(self) -> int:
        return self._width

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._width))]
        if not -self._width <= index < self._width:
            raise IndexError(index)
        return self._cells.get(index % self._width)


class _SheetReader:
    def __init__(self, strings: list[str], dates: list[bool], epoch: datetime) -> None:
        self.strings = strings
        self.dates = dates
        self.epoch = epoch
        self.unsaved_formulas = 0

    def read(self, stream: IO[bytes]) -> tuple[list[str], list[tuple[int, Sequence[Any]]], int]:
        headers: list[str] = []
        rows: list[tuple[int, Sequence[Any]]] = []
        used = 0
        number = 0
        pending: list[int] = []
        blank = SparseRow({}, 0)
        parent: ET.Element | None = None
        for event, element in ET.iterparse(stream, events=("start", "end")):
            kind = _local(element.tag)
            if event == "start":
                if kind == "sheetData":
                    parent = element
                continue
            if kind != "row":
                continue
            number = int(element.get("r") or number + 1)
            cells = self._cells(element)
            if parent is not None:
                parent.clear()  # rows already read take no memory
            filled = [col for col, value in cells.items() if value not in (None, "")]
            used = max([used, *(col + 1 for col in filled)])
            if number == 1:
                width = max((col + 1 for col in filled), default=0)
                headers = [_header(cells.get(col)) for col in range(width)]
                blank = SparseRow({}, width)
            elif any(col < len(headers) for col in filled):
                # Blank rows the sheet stores count as blank rows, as in a CSV, when a
                # response follows them; rows it does not store, or stores after the last
                # response (a stray format at row 1048576), are not rows of responses.
                rows.extend((n, blank) for n in pending)
                pending.clear()
                kept = {col: v for col, v in cells.items() if col < len(headers)}
                rows.append((number, SparseRow(kept, len(headers))))
            elif number > 1 and len(pending) < BLANK_ROWS:
                pending.append(number)
        return headers, rows, used

    def _cells(self, row: ET.Element) -> dict[int, Any]:
        cells: dict[int, Any] = {}
        col = -1
        for cell in row:
            if _local(cell.tag) != "c":
                continue
            position = cell_position(cell.get("r") or "")
            col = position[1] if position else col + 1
            cells[col] = self._value(cell)
        return cells

    def _value(self, cell: ET.Element) -> Any:
        kind = cell.get("t", "n")
        raw: str | None = None
        has_formula = False
        inline: ET.Element | None = None
        for child in cell:
            name = _local(child.tag)
            if name == "v":
                raw = child.text or ""
            elif name == "f":
                has_formula = True
            elif name == "is":
                inline = child
        if kind == "inlineStr":
            return _rich_text(inline) if inline is not None else ""
        if kind == "str":
            return _unescape(raw or "")
        if not raw:  # a formula never calculated saves no value (or an empty one)
            self.unsaved_formulas += has_formula
            return None
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "e":
            return raw  # #N/A, #REF!: shown as the spreadsheet shows them
        if kind == "b":
            return raw.strip() in ("1", "true", "TRUE")
        if kind == "d":  # an ISO 8601 date cell; anything else in it is read as the text it is
            try:
                return datetime.fromisoformat(raw.strip().rstrip("Z"))
            except ValueError:
                return raw
        number: int | float = int(raw) if _INTEGER.match(raw.strip()) else float(raw)
        style = int(cell.get("s") or 0)
        if style < len(self.dates) and self.dates[style] and 0 <= number <= _LAST_SERIAL:
            # To the millisecond: serials carry binary noise (0.5000000001 days).
            return self.epoch + timedelta(milliseconds=round(number * 86_400_000))
        return number


def _header(value: Any) -> str:
    return "" if value is None else str(value).strip()
