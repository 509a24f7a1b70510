"""What partners type is data: answers that look like formulas, templates, markup, escapes,
right-to-left text or huge pastes come back from an export exactly as typed (less what no
answer may carry: text.safe), and write-back leaves their cells byte for byte as they were."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from google_fixtures import HEADERS, answer_row

from cluster_sync.config import FormConfig
from cluster_sync.sources.base import RowStatus
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.text import safe

HOSTILE = {
    "formula": '=HYPERLINK("http://example.org/x","click")',
    "plus": "+33 6 12 34 56 78",
    "minus": "-2+3",
    "at": "@SUM(A1:A9)",
    "jinja": "{{ config.mail.password }} {% for x in y %}",
    "docx markup": "</w:t></w:r><w:r><w:t>injected",
    "cdata": "<![CDATA[ x ]]> &amp; &lt;",
    "excel escape": "_x0041_ and _x000D_",
    "rtl": "שלום עולם – مرحبا بالعالم",
    "bidi override": "\u202eevil\u202c and \u2067isolate\u2069",
    "line breaks": "one\r\ntwo\nthree\rfour",
    "tab": "tab\there",
    "quotes and delimiters": '"quoted", and, commas; semicolons\ttabs',
    "typed impossible date": "31/12/9999",
    "zero date": "0000-00-00",
    "spaces": "   leading and trailing   ",
    "number-like": "1e5",
    "boolean-like": "TRUE",
    "emoji": "Ω≈ç√∫ 🌊 👩\u200d👩\u200d👧",
    "shell": "${HOME} $(rm -rf /) `id`",
    "huge": "pasted twice " * 2300,  # 29,900 characters: within every spreadsheet's limit
}
#: characters an .xlsx cannot hold at all (XML 1.0): only a CSV can carry them
CSV_ONLY = {"nul": "a\x00b", "non-character": "x\ufffey\uffff", "bell": "ring\x07"}


def source(path: Path) -> FileSource:
    return FileSource(path, FileSourceConfig(path=path, write_back=True), FormConfig())


def write_back_all(src: FileSource) -> None:
    rows = src.read().rows
    src.write_back(
        [RowStatus(r, f"CL-2025-{r.row_number:03d}", "Sent", "2025-01-31 02:00") for r in rows]
    )


@pytest.mark.parametrize("value", [*HOSTILE.values(), *CSV_ONLY.values()])
def test_csv_answer_read_exactly_and_its_bytes_kept(tmp_path: Path, value: str) -> None:
    buffer = io.StringIO()
    rows = [HEADERS, answer_row(1, objectives=value, title=value[:100]), answer_row(2)]
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    before = buffer.getvalue().encode("utf-8")
    path = tmp_path / "responses.csv"
    path.write_bytes(before)
    src = source(path)
    read = src.read().rows
    # Read as typed, less what no answer may carry (bidi controls, noncharacters, control
    # characters: text.safe, applied where a row enters); the file's bytes stay as they were.
    assert read[0].values["objectives"] == safe(value)
    assert read[0].values["title"] == safe(value[:100])
    write_back_all(src)
    after = path.read_bytes()
    added = [b",Cluster ID,Sync status,Last synced"] + [
        f",CL-2025-00{n},Sent,2025-01-31 02:00".encode() for n in (2, 3)
    ]
    for piece in added:
        assert after.count(piece) == 1
        after = after.replace(piece, b"")
    assert after == before
    assert source(path).read().rows[0].values["objectives"] == safe(value)


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_xlsx_answer_read_exactly_and_its_cells_kept(tmp_path: Path, value: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(answer_row(1))
    sheet.append(answer_row(2))
    # Stored as Excel stores text: as text whatever it looks like (openpyxl would store "=…"
    # as a formula), with a typed "_x0041_" escaped as "_x005F_x0041_" (openpyxl does not).
    stored = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", value)
    title = HEADERS.index("Cluster title") + 1
    for col, text in ((HEADERS.index("Objectives") + 1, stored), (title, stored[:100])):
        cell = sheet.cell(2, col)
        cell.value = text
        cell.data_type = "s"
    path = tmp_path / "responses.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as original:
        before = original.read("xl/worksheets/sheet1.xml").decode()
    src = source(path)
    read = src.read().rows
    assert read[0].values["objectives"] == safe(value)  # as typed, less text.safe's removals
    write_back_all(src)
    with zipfile.ZipFile(path) as written:
        after = written.read("xl/worksheets/sheet1.xml").decode()
    for cell_xml in re.findall(r"<c .*?</c>", before, re.S):
        assert cell_xml in after
    values = openpyxl.load_workbook(path, data_only=True).active
    objectives = values.cell(2, HEADERS.index("Objectives") + 1)
    assert objectives.data_type == "s"
    assert source(path).read().rows[0].values["objectives"] == safe(value)
    assert values.cell(2, len(HEADERS) + 1).value == "CL-2025-002"
