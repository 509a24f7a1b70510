"""A CSV export as Excel and Google Sheets really write it, read and edited in place.

The delimiter (comma, semicolon or tab) is the one that splits the header row into known form
headers; each line is decoded as UTF-8 (with or without a byte order mark) or, failing that, as
Windows-1252. A record that cannot be read faithfully (a line in neither encoding, a cell longer
than any spreadsheet holds, a quote never closed) is rejected alone, named by its line.

Write-back edits the bytes of the records whose status cells change and copies every other byte
as it was: byte order mark, delimiter, quoting, line endings, the last line's newline (or its
absence), every untouched record, and every cell of a touched record that is not a status cell.
It parses the file again keeping only the cells of the columns it needs (`parse(keep=...)`):
every other cell is read, to find where records end, and let go; a file that is all UTF-8 is
parsed as its bytes (`bytewise`), with no text of the whole file, and the new file is given as
pieces (views of the old bytes and the new cells, `Spliced`), never joined. A record keeps its
cells' text in a list and their positions in one array, and the lines' positions are arrays
too: a parse holds the file and the cells' text, not an object per cell or per line.
"""

from __future__ import annotations

import bisect
import codecs
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster_sync import text
from cluster_sync.errors import ExportError
from cluster_sync.sources.csv_tokens import DELIMITERS, tokenize

_BOM = b"\xef\xbb\xbf"
_SEP_LINE = re.compile(r"^sep=(.)$")  # Excel's "sep=;" hint on the first line
_BREAK = re.compile(r"\r\n|\r|\n")  # what bytes.splitlines ends a line with
_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


#: where a cell of a column the parse was told not to keep (parse's `keep`) would start: its
#: text is read, to find where the record ends, and let go ("" in `values`)
SKIPPED = -1
#: a line's encoding, by its code in `CsvExport.encodings`; None: neither UTF-8 nor Windows-1252
ENCODINGS: tuple[str | None, ...] = ("utf-8", "cp1252", None)


@dataclass(slots=True)
class Record:
    number: int  # the row number a spreadsheet shows (the header is 1)
    line: int  # the physical line it starts on (1-based)
    start: int
    end: int  # where the record's line ending begins
    values: list[str]  # each cell's text ("" for a column not kept)
    #: the raw text of cell i, quotes included, is text[bounds[2 * i] : bounds[2 * i + 1]];
    #: SKIPPED for a column not kept
    bounds: array[int]
    problem: str | None = None
    used: int = 0  # one past its last cell holding anything, kept or not

    def start_of(self, col: int) -> int:
        return self.bounds[2 * col]


@dataclass
class CsvExport:
    body: bytes  # the file without its byte order mark
    bom: bytes
    text: str
    #: where each physical line starts, in `text` and in `body`, and its code in ENCODINGS
    line_chars: array[int]
    line_bytes: array[int]
    encodings: bytearray
    delimiter: str = ","
    #: parsed as bytes (_decode_bytewise): `body` is the whole file, byte order mark included,
    #: every position is an offset in it, and `text` is empty
    bytewise: bool = False
    #: how the file quotes: "all" cells, every "text" cell (numbers bare), or "minimal"
    quoting: str = "minimal"
    empty_quoted: bool = False  # an empty cell written as ""
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def header(self) -> Record | None:
        return self.records[0] if self.records else None

    @property
    def headers(self) -> list[str]:
        return [v.strip() for v in self.header.values] if self.header else []

    @property
    def rows(self) -> list[tuple[int, list[Any]]]:
        """(row number, cells) of every data record that could be read."""
        return [(r.number, r.values) for r in self.records[1:] if not r.problem]

    @property
    def unreadable(self) -> dict[int, str]:
        """Row number -> why that record was not read."""
        return {r.number: f"line {r.line}: {r.problem}" for r in self.records[1:] if r.problem}

    @property
    def used_width(self) -> int:
        """One past the last column holding anything, in any record."""
        return max((record.used for record in self.records), default=0)

    def patched(self, cells: Mapping[tuple[int, int], str]) -> tuple[bytes | None, dict[int, str]]:
        """The file with these (row number, column index) cells set, all else as it was; no
        row is ever withheld (every cell of a CSV can be written)."""
        pieces, withheld = self.pieces(cells)
        return b"".join(pieces), withheld

    def pieces(self, cells: Mapping[tuple[int, int], str]) -> tuple[Spliced, dict[int, str]]:
        """`patched` as the pieces to write one after the other: views of the file's own bytes
        (which hold only `body`, not the parse) and the new cells' bytes between them."""
        by_number = {r.number: r for r in self.records}
        by_row: dict[int, dict[int, str]] = {}
        for (row, col), value in cells.items():
            by_row.setdefault(row, {})[col] = value
        edits: list[tuple[int, int, int, str]] = []
        for number, wanted in by_row.items():
            edits.extend(self._record_edits(by_number[number], wanted))
        # bytewise, the byte order mark is in `body`, copied with the rest
        parts: list[bytes | tuple[int, int]] = [] if self.bytewise else [self.bom]
        done = 0
        for start, end, _, new in sorted(edits):
            b_start, b_end = self._byte(start), self._byte(end)
            parts.append((done, b_start))
            parts.append(new.encode(self._encoding_at(start), errors="replace"))
            done = b_end
        parts.append((done, -1))
        return Spliced(self.body, parts), {}

    def _record_edits(
        self, record: Record, wanted: dict[int, str]
    ) -> list[tuple[int, int, int, str]]:
        """(start, end, order, new text): an empty last cell and the cells appended after it
        start at the same place; the cell comes first."""
        edits = []
        width = len(record.values)
        for col, value in wanted.items():
            if col < width and record.values[col] != value:
                start, end = record.bounds[2 * col], record.bounds[2 * col + 1]
                assert start != SKIPPED, "a column written must be kept"
                edits.append((start, end, 0, self._quoted(value)))
        extra = sorted(col for col in wanted if col >= width)
        if extra:
            empty = self._quoted("")
            added = [empty] * (extra[-1] + 1 - width)
            for col in extra:
                added[col - width] = self._quoted(wanted[col])
            lead = self.delimiter if width else ""
            edits.append((record.end, record.end, 1, lead + self.delimiter.join(added)))
        return edits

    def needs_quotes(self, value: str) -> bool:
        return any(c in value for c in (self.delimiter, '"', "\r", "\n"))

    def _quoted(self, value: str) -> str:
        if value == "":
            return '""' if self.empty_quoted else ""
        needed = self.needs_quotes(value)
        if needed or self.quoting == "all" or (self.quoting == "text" and not _number(value)):
            return '"' + value.replace('"', '""') + '"'
        return value

    def line_at(self, offset: int) -> int:
        """The index of the physical line holding this offset of `text`."""
        return max(bisect.bisect_right(self.line_chars, offset) - 1, 0)

    def _encoding_at(self, offset: int) -> str:
        return ENCODINGS[self.encodings[self.line_at(offset)]] or "utf-8"

    def _byte(self, offset: int) -> int:
        if self.bytewise:
            return offset
        line = self.line_at(offset)
        part = self.text[self.line_chars[line] : offset]
        encoding = ENCODINGS[self.encodings[line]] or "utf-8"
        return self.line_bytes[line] + len(part.encode(encoding, errors="replace"))


@dataclass
class Spliced:
    """A new file made of ranges of the old one's bytes and new bytes between them, given
    piece by piece (views, not copies): it is written and hashed without a copy of the whole."""

    source: bytes
    parts: list[bytes | tuple[int, int]]  # new bytes, or (start, end) of `source`; -1: its end

    def __iter__(self) -> Iterator[bytes | memoryview]:
        view = memoryview(self.source)
        for part in self.parts:
            yield part if isinstance(part, bytes) else view[part[0] : part[1] % (len(view) + 1)]


_BLOCK = 1 << 20
#: given the header row's cells, the columns whose cells a parse keeps (None: all of them)
Keep = Callable[[list[str]], set[int]]


def parse(
    data: bytes,
    known_headers: Iterable[str],
    where: str,
    keep: Keep | None = None,
    bytewise: bool = False,
) -> CsvExport:
    """The export's records, its delimiter found by the headers it should hold. With `keep`,
    data records hold only the cells of the columns it names (the others are SKIPPED); with
    `bytewise` too, a file that is all UTF-8 is parsed as its bytes (_decode_bytewise): the
    records' positions are then byte offsets, and only `patched`/`pieces` use them."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportError(
            f"{where} is saved as UTF-16 (Excel's “Unicode Text”), not as CSV.",
            hint="download it again with File > Download > Comma-separated values, or save it "
            "from Excel as “CSV UTF-8”.",
        )
    bom = _BOM if data.startswith(_BOM) else b""
    export = _decode_bytewise(data, bom) if keep is not None and bytewise else None
    if export is None:
        export = _decode(data[len(bom) :], bom)
    first = 0
    if export.bytewise:
        first = len(bom)
        newline = data.find(b"\n", first)
        line = data[first : newline if newline >= 0 else None].decode("utf-8")
    else:
        newline = export.text.find("\n")  # not split(): that would copy the whole text
        line = export.text[: newline if newline >= 0 else None]
    sep = _SEP_LINE.match(line.rstrip("\r"))
    if sep and sep[1] in DELIMITERS:
        export.delimiter = sep[1]
        first = tokenize(_source(export), first, sep[1], export.bytewise)[2]
    else:
        export.delimiter = _guess_delimiter(export, known_headers)
    # Row numbers count the records after Excel's "sep=" line, as Excel shows them.
    export.records = _records(export, first, keep)
    header = export.header
    if header is not None and header.problem:
        raise ExportError(
            f"The header row of {where} cannot be read: {header.problem}.",
            hint="download the export again (File > Download > Comma-separated values).",
        )
    sample = [r for r in export.records[:20] if r.values and not r.problem]
    export.quoting, export.empty_quoted = _quoting(export, sample)
    bad = next((i for i, code in enumerate(export.encodings) if code), None)
    if bad is not None:
        number = bad + 1
        export.warnings.insert(
            0,
            f"{where} is not all UTF-8: line {number} is the first that is not; lines that "
            "are not were read as Windows-1252. Download the export again as UTF-8 if "
            "accented letters look wrong.",
        )
    return export


def _quoting(export: CsvExport, sample: list[Record]) -> tuple[str, bool]:
    """How the first records are quoted: every cell, every text cell, or only where needed;
    and whether an empty cell is written as ""."""
    cells = [
        (_source(export)[r.start_of(i) : r.start_of(i) + 1] in ('"', b'"'), value)
        for r in sample
        for i, value in enumerate(r.values)
        if r.start_of(i) != SKIPPED
    ]
    empties = [quoted for quoted, value in cells if value == ""]
    empty_quoted = bool(empties) and all(empties)
    filled = [(quoted, value) for quoted, value in cells if value != ""]
    if filled and all(quoted for quoted, _ in filled):
        return "all", empty_quoted or not empties
    # A cell quoted without needing it: the file quotes text (LibreOffice's "quote all text
    # cells" leaves numbers and dates bare).
    if any(quoted and not export.needs_quotes(value) for quoted, value in filled):
        return "text", empty_quoted
    return "minimal", empty_quoted


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _decode(body: bytes, bom: bytes) -> CsvExport:
    """The text and where each line starts; lines split as bytes.splitlines splits them."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_lines(body, bom)
    # All UTF-8 (nearly every export): decoded at once, no object per line. A line break is
    # the same one byte or two in the text and in the bytes, so both scans find the same ends.
    line_chars = array("q", [0] if body else [])
    line_bytes = array("q", [0] if body else [])
    line_chars.extend(m.end() for m in _BREAK.finditer(text))
    line_bytes.extend(m.end() for m in _BREAK_BYTES.finditer(body))
    if body and line_chars[-1] == len(text):  # a final line break starts no line
        line_chars.pop()
        line_bytes.pop()
    return CsvExport(body, bom, text, line_chars, line_bytes, bytearray(len(line_chars)))


def _decode_bytewise(data: bytes, bom: bytes) -> CsvExport | None:
    """A file that is all UTF-8, to be parsed as its bytes: where a cell starts and ends is
    where its bytes do (quotes, delimiters and line breaks are single bytes that no UTF-8
    sequence holds), and each kept cell is decoded on its own. No text of the whole file is
    made (2 or 4 bytes a character once a Greek letter or an emoji is in it). None for a
    file that is not all UTF-8 (read line by line)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)[len(bom) :]
    try:  # checked a block at a time, never decoded whole
        for at in range(0, len(view), _BLOCK):
            decoder.decode(view[at : at + _BLOCK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    lines = array("q", [len(bom)] if view else [])
    lines.extend(m.end() for m in _BREAK_BYTES.finditer(data, len(bom)))
    if view and lines[-1] == len(data):  # a final line break starts no line
        lines.pop()
    return CsvExport(data, bom, "", lines, lines, bytearray(len(lines)), bytewise=True)


def _source(export: CsvExport) -> Any:
    """What the tokenizer reads: the text, or the bytes of a bytewise parse."""
    return export.body if export.bytewise else export.text


def _decode_lines(body: bytes, bom: bytes) -> CsvExport:
    """Line by line: each as UTF-8, or failing that as Windows-1252."""
    line_chars, line_bytes, encodings = array("q"), array("q"), bytearray()
    parts: list[str] = []
    chars = 0
    position = 0
    for raw in body.splitlines(keepends=True):
        try:
            decoded, code = raw.decode("utf-8"), 0
        except UnicodeDecodeError:
            try:
                decoded, code = raw.decode("cp1252"), 1
            except UnicodeDecodeError:
                decoded, code = raw.decode("cp1252", errors="replace"), 2
        line_chars.append(chars)
        line_bytes.append(position)
        encodings.append(code)
        parts.append(decoded)
        chars += len(decoded)
        position += len(raw)
    text = "".join(parts)
    del parts
    return CsvExport(body, bom, text, line_chars, line_bytes, encodings)


def _guess_delimiter(export: CsvExport, known_headers: Iterable[str]) -> str:
    """The delimiter that splits the first record into the most known headers; a tie (no
    known header at all) goes to the one that splits it into the most cells."""
    known = {text.fold(h) for h in known_headers}
    data = _source(export)
    first = len(export.bom) if export.bytewise else 0

    def score(delimiter: str) -> tuple[int, int, int]:
        cells = tokenize(data, first, delimiter, export.bytewise)[0]
        if export.bytewise:
            cells = [value.decode("utf-8") for value in cells]
        found = sum(text.fold(value) in known for value in cells)
        return found, len(cells), delimiter == ","

    return max(DELIMITERS, key=score)


def _records(export: CsvExport, position: int, keep: Keep | None = None) -> list[Record]:
    data = _source(export)
    records: list[Record] = []
    number = 1
    kept: set[int] | None = None
    while position < len(data):
        line_index = export.line_at(position)
        values, bounds, after, end, problem = tokenize(
            data, position, export.delimiter, export.bytewise
        )
        last_line = export.line_at(max(end - 1, position))
        if problem is None and 2 in export.encodings[line_index : last_line + 1]:
            problem = "it holds bytes that are neither UTF-8 nor Windows-1252"
        used = len(values)
        while used and not values[used - 1]:  # "" (or b"")
            used -= 1
        if kept is not None:
            for i in range(len(values)):
                if i not in kept:
                    values[i] = ""
                    bounds[2 * i] = bounds[2 * i + 1] = SKIPPED
                elif export.bytewise:
                    values[i] = values[i].decode("utf-8")
        elif keep is not None:  # the header row: every cell, and the columns to keep from now
            if export.bytewise:
                values = [value.decode("utf-8") for value in values]
            kept = keep(values)
        record = Record(number, line_index + 1, position, end, values, bounds, problem, used)
        records.append(record)
        if problem:
            export.warnings.append(f"Row {number} (line {line_index + 1}) was not read: {problem}.")
        number += 1
        position = after
    return records
