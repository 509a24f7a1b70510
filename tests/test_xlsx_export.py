"""XLSX exports: read as a stream (memory follows the cells), formula cells by their saved
value, and written back by editing only the status cells inside the worksheet's XML."""

from __future__ import annotations

import csv
import io
import logging
import re
import tracemalloc
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from google_fixtures import HEADERS, answer_row
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from cluster_sync import form
from cluster_sync.config import FormConfig
from cluster_sync.dates import DateParseError, parse_datetime
from cluster_sync.errors import ExportError, SourceError
from cluster_sync.sources.base import RowStatus, SourceRow
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.validate import validate_row

STATUS = list(form.STATUS_HEADERS)
WIDTH = len(HEADERS)
SHEET = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def source(path: Path, worksheet: str | None = None) -> FileSource:
    settings = FileSourceConfig(path=path, write_back=True, worksheet=worksheet)
    return FileSource(path, settings, FormConfig())


def statuses(rows: list[SourceRow], text: str = "Sent") -> list[RowStatus]:
    return [
        RowStatus(r, r.cluster_id or f"CL-2025-{r.row_number:03d}", text, "2025-01-31 02:00")
        for r in rows
    ]


def typed(n: int, **changes: Any) -> list[Any]:
    """A response as Excel holds it: real date cells, the rest text."""
    row: list[Any] = answer_row(n)
    row[HEADERS.index("Timestamp")] = datetime(2024, 11, n, 10, n)
    row[HEADERS.index("Start date")] = datetime(2025, 2, 3)
    row[HEADERS.index("End date")] = datetime(2025, 6, 30)
    for header, value in changes.items():
        row[HEADERS.index(header)] = value
    return row


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()}


def sheet_xml(path: Path) -> str:
    return members(path)[SHEET].decode("utf-8")


def with_saved_values(path: Path, values: dict[str, tuple[str, str | None]]) -> None:
    """Give formula cells the values Excel saves with them (openpyxl cannot compute them):
    cell reference -> (value text, cell type or None for a number)."""
    parts = members(path)
    xml = parts[SHEET].decode()
    for ref, (value, kind) in values.items():
        kind_attr = f' t="{kind}"' if kind else ""
        xml, count = re.subn(
            rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
            rf'<c r="{ref}"\1{kind_attr}><f>\2</f><v>{value}</v></c>',
            xml,
        )
        assert count == 1, ref
    parts[SHEET] = xml.encode()
    rezip(path, parts)


def rezip(path: Path, parts: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def rich_workbook(path: Path, count: int = 3) -> Path:
    """What a secretariat makes of an export: formulas, styles, validation, conditional
    formats, a merged note block, another tab, a defined name."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form responses 1"
    sheet.append([*HEADERS, "Approved", "Score"])
    for n in range(1, count + 1):
        sheet.append([*typed(n), n % 2 == 1, f"={n}*10"])
        sheet.cell(n + 1, 1).number_format = "dd/mm/yyyy hh:mm:ss"
        for header in ("Start date", "End date"):
            sheet.cell(n + 1, HEADERS.index(header) + 1).number_format = "dd/mm/yyyy"
        # The acronym is worked out by a formula, as some secretariats do.
        sheet.cell(n + 1, HEADERS.index("Acronym") + 1).value = f'=UPPER("cl{n}")'
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", start_color="FFDDEEFF")
    approved = f"{openpyxl.utils.get_column_letter(WIDTH + 1)}2:" + (
        f"{openpyxl.utils.get_column_letter(WIDTH + 1)}500"
    )
    validation = DataValidation(type="list", formula1='"TRUE,FALSE"')
    sheet.add_data_validation(validation)
    validation.add(approved)
    sheet.conditional_formatting.add(
        "C2:C500",
        CellIsRule(operator="equal", formula=['"x"'], fill=PatternFill("solid", "FFFF0000")),
    )
    sheet.freeze_panes = "A2"
    sheet.column_dimensions["C"].width = 40
    notes = book.create_sheet("Notes")
    notes["A1"] = "Checked by the secretariat"
    notes.merge_cells("A1:C2")
    notes["B5"] = "=SUM(1,2)"
    book.defined_names["Titles"] = DefinedName("Titles", attr_text="'Form responses 1'!$C:$C")
    book.save(path)
    score = openpyxl.utils.get_column_letter(WIDTH + 2)
    acronym = openpyxl.utils.get_column_letter(HEADERS.index("Acronym") + 1)
    saved = {f"{score}{n + 1}": (str(n * 10), None) for n in range(1, count + 1)}
    saved |= {f"{acronym}{n + 1}": (f"CL{n}", "str") for n in range(1, count + 1)}
    with_saved_values(path, saved)
    return path


def cells_of(path: Path, data_only: bool) -> dict[str, dict[str, Any]]:
    book = openpyxl.load_workbook(path, data_only=data_only)
    return {
        sheet.title: {
            c.coordinate: (c.value, c.number_format, c.font.b, c.fill.fgColor.rgb)
            for row in sheet.iter_rows()
            for c in row
            if c.value is not None
        }
        for sheet in book.worksheets
    }


# -- keeping everything ---------------------------------------------------------------------------


def test_write_back_keeps_formulas_their_values_styles_and_every_other_part(
    tmp_path: Path,
) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx")
    before_parts = members(path)
    before_xml = before_parts[SHEET].decode()
    before_values = cells_of(path, data_only=True)
    before_formulas = cells_of(path, data_only=False)
    src = source(path)
    rows = src.read().rows
    assert [r.values["acronym"] for r in rows] == ["CL1", "CL2", "CL3"]  # the saved values
    assert all(validate_row(r.values).valid for r in rows)
    assert src.write_back(statuses(rows)) == 3

    after_parts = members(path)
    assert list(after_parts) == list(before_parts)
    for name, data in before_parts.items():
        if name != SHEET:
            assert after_parts[name] == data, f"{name} changed"
    after_xml = after_parts[SHEET].decode()
    # Every cell that was there is there, byte for byte: formulas with their saved values.
    for cell in re.findall(r"<c .*?</c>|<c [^>]*/>", before_xml):
        assert cell in after_xml
    for block in ("mergeCells", "dataValidations", "conditionalFormatting", "sheetViews", "cols"):
        found = re.search(rf"<{block}\b.*?</{block}>", before_xml, re.S)
        if found:
            assert found[0] in after_xml, block
    status_col = openpyxl.utils.get_column_letter(WIDTH + 3)
    assert f'<dimension ref="A1:{openpyxl.utils.get_column_letter(WIDTH + 5)}4"/>' in after_xml

    values = cells_of(path, data_only=True)
    formulas = cells_of(path, data_only=False)
    new = {f"{openpyxl.utils.get_column_letter(WIDTH + 3 + i)}" for i in range(3)}
    for title in before_values:
        kept = {k: v for k, v in values[title].items() if re.sub(r"\d", "", k) not in new}
        assert kept == before_values[title], title
        kept = {k: v for k, v in formulas[title].items() if re.sub(r"\d", "", k) not in new}
        assert kept == before_formulas[title], title
    assert values["Form responses 1"][f"{status_col}1"][0] == "Cluster ID"
    assert values["Form responses 1"][f"{status_col}3"][0] == "CL-2025-003"
    assert formulas["Form responses 1"]["Z2"][0] == "=1*10"
    assert values["Form responses 1"]["Z2"][0] == 10
    book = openpyxl.load_workbook(path)
    assert "Titles" in book.defined_names
    assert str(book.active.data_validations.dataValidation[0].sqref) == "Y2:Y500"
    assert [r.coord for r in book["Notes"].merged_cells.ranges] == ["A1:C2"]
    assert [r.values for r in source(path).read().rows] == [r.values for r in rows]


def test_a_second_write_back_reuses_the_status_cells(tmp_path: Path) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 2)
    src = source(path)
    src.write_back(statuses(src.read().rows, "first"))
    rows = src.read().rows
    assert [r.cluster_id for r in rows] == ["CL-2025-002", "CL-2025-003"]
    assert src.write_back(statuses(rows, "second")) == 2
    xml = sheet_xml(path)
    assert xml.count(">Cluster ID<") == 1 and ">first<" not in xml
    assert [r.sync_status for r in source(path).read().rows] == ["second", "second"]
    for row in re.findall(r"<row .*?</row>", xml, re.S):  # cells stay in column order
        columns = [
            openpyxl.utils.column_index_from_string(c)
            for c in re.findall(r'<c r="([A-Z]+)\d+"', row)
        ]
        assert columns == sorted(columns)


@pytest.mark.parametrize(
    "text",
    ["=1+1", "<b>&amp;</b> ]]>", "_x0041_ stays", "tab\there, bell\x07, U+FFFE \ufffe", "  x  "],
)
def test_status_text_is_stored_as_literal_text(tmp_path: Path, text: str) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 1)
    src = source(path)
    src.write_back(statuses(src.read().rows, text))
    shown = text.replace("\x07", "\ufffd").replace("\ufffe", "\ufffd")
    assert source(path).read().rows[0].sync_status == shown
    cell = openpyxl.load_workbook(path).active.cell(2, WIDTH + 4)
    assert cell.data_type == "s"
    if "_x" not in text:  # openpyxl leaves Excel's _x005F_ escape of "_" as it is
        assert cell.value == shown


# -- what cannot be written safely ----------------------------------------------------------------


def test_merged_cells_over_status_cells_send_those_statuses_beside_the_workbook(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 3)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    note = WIDTH + 3  # a note block right of the data, merged over two columns and two rows
    sheet.cell(2, note).value = "see the minutes"
    sheet.merge_cells(start_row=2, start_column=note, end_row=3, end_column=note + 1)
    book.save(path)
    before = sheet_xml(path)
    src = source(path)
    rows = src.read().rows
    with (
        caplog.at_level(logging.WARNING, logger="cluster_sync"),
        pytest.raises(SourceError) as caught,
    ):
        src.write_back(statuses(rows))
    merged = (
        f"{openpyxl.utils.get_column_letter(note)}2:{openpyxl.utils.get_column_letter(note + 1)}3"
    )
    message = caught.value.message
    assert (
        f"row 2: its cell {openpyxl.utils.get_column_letter(note + 1)}2 is part of the merged cells {merged}"
        in message
    )
    assert "row 3:" in message and "1 other row(s) were written" in message
    assert "responses.status.csv" in message
    with (tmp_path / "responses.status.csv").open(encoding="utf-8-sig", newline="") as handle:
        sidecar = list(csv.reader(handle))
    assert sidecar[0][:4] == ["Row", *STATUS]
    assert [r[:4] for r in sidecar[1:]] == [
        ["2", "CL-2025-002", "Sent", "2025-01-31 02:00"],
        ["3", "CL-2025-003", "Sent", "2025-01-31 02:00"],
    ]
    after = sheet_xml(path)
    for n in (2, 3):
        old_row = re.search(rf'<row r="{n}".*?</row>', before, re.S)
        assert old_row is not None and old_row[0] in after
    read = source(path).read().rows
    assert [r.cluster_id for r in read] == [None, None, "CL-2025-004"]
    # Unmerged, the next run writes them and the file beside goes.
    book = openpyxl.load_workbook(path)
    book.active.unmerge_cells(merged)
    book.save(path)
    src = source(path)
    src.write_back(statuses(src.read().rows))
    assert [r.cluster_id for r in source(path).read().rows] == [
        "CL-2025-002",
        "CL-2025-003",
        "CL-2025-004",
    ]
    assert not (tmp_path / "responses.status.csv").exists()


def test_a_merged_header_cell_where_the_status_columns_go_means_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 2)
    book = openpyxl.load_workbook(path)
    book.active.merge_cells(start_row=1, start_column=WIDTH + 3, end_row=1, end_column=WIDTH + 6)
    book.save(path)
    before = path.read_bytes()
    src = source(path)
    with pytest.raises(SourceError, match=r"statuses of 2 row\(s\) were not written"):
        src.write_back(statuses(src.read().rows))
    assert path.read_bytes() == before
    assert len((tmp_path / "responses.status.csv").read_text("utf-8-sig").splitlines()) == 3


def test_a_formula_in_a_status_cell_is_not_overwritten(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*HEADERS, *STATUS])
    sheet.append([*typed(1), "CL-2025-001", '="checked"', ""])
    sheet.append([*typed(2), "", "", ""])
    path = tmp_path / "responses.xlsx"
    book.save(path)
    src = source(path)
    with pytest.raises(SourceError, match=r"row 2: its cell \w+2 holds a formula"):
        src.write_back(statuses(src.read().rows))
    sheet = openpyxl.load_workbook(path).active
    assert sheet.cell(2, WIDTH + 2).value == '="checked"'
    assert sheet.cell(3, WIDTH + 1).value == "CL-2025-003"


# -- memory and damage ----------------------------------------------------------------------------


@pytest.mark.parametrize("stray", ["value", "styled empty cell"])
def test_a_stray_cell_at_the_last_row_costs_one_row(tmp_path: Path, stray: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(typed(1))
    if stray == "value":
        sheet["A1048576"] = "stray"
    else:
        sheet["A1048576"].font = Font(bold=True)
    path = tmp_path / "responses.xlsx"
    book.save(path)
    assert path.stat().st_size < 12_000
    src = source(path)
    tracemalloc.start()
    try:
        rows = src.read().rows
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000
    expected = [2, 1_048_576] if stray == "value" else [2]
    assert [r.row_number for r in rows] == expected
    src.write_back(statuses(rows[:1]))
    assert source(path).read().rows[0].cluster_id == "CL-2025-002"


def test_a_header_far_to_the_right_does_not_widen_every_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet["XFD1"] = "Far away"
    for n in range(1, 150):
        sheet.append(typed(n % 28 + 1))
    path = tmp_path / "responses.xlsx"
    book.save(path)
    tracemalloc.start()
    try:
        rows = source(path).read().rows
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 149
    # 149 rows as wide as the header would be 149 x 16,384 cells (about 20 MB of references).
    assert peak < 5_000_000


@pytest.mark.parametrize(
    "damage", ["cut in half", "last bytes missing", "html saved as xlsx", "not a workbook"]
)
def test_a_damaged_workbook_says_download_it_again(tmp_path: Path, damage: str) -> None:
    good = rich_workbook(tmp_path / "good.xlsx").read_bytes()
    data = {
        "cut in half": good[: len(good) // 2],
        "last bytes missing": good[:-30],
        "html saved as xlsx": b"<html><body><table><tr><td>Timestamp</td></tr></table>",
        "not a workbook": _zip({"hello.txt": b"hi"}),
    }[damage]
    path = tmp_path / "responses.xlsx"
    path.write_bytes(data)
    with pytest.raises(ExportError) as caught:
        source(path).read()
    assert caught.value.exit_code == 2
    assert "download it again" in str(caught.value)


def test_an_old_xls_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "responses.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    with pytest.raises(ExportError, match=r"old-style \.xls"):
        source(path).read()


def test_a_missing_tab_lists_the_tabs_there_are(tmp_path: Path) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 1)
    with pytest.raises(ExportError, match="“Form responses 1”, “Notes”") as caught:
        source(path, worksheet="Responses").read()
    assert caught.value.exit_code == 2


def test_formulas_without_a_saved_value_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(typed(1, **{"Acronym": '=UPPER("x")'}))
    path = tmp_path / "responses.xlsx"
    book.save(path)
    with caplog.at_level(logging.WARNING, logger="cluster_sync"):
        row = source(path).read().rows[0]
    assert row.values["acronym"] is None
    assert "1 formula cell(s) have no saved value" in caplog.text


# -- dates ----------------------------------------------------------------------------------------


def test_a_date_cell_in_the_year_9999_is_a_problem_of_its_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(typed(1, **{"End date": datetime(9999, 12, 31)}))
    sheet.append(typed(2))
    path = tmp_path / "responses.xlsx"
    book.save(path)
    rows = source(path).read().rows
    assert rows[0].values["end_date"] == datetime(9999, 12, 31)
    bad, good = (validate_row(r.values) for r in rows)
    assert [p.question for p in bad.problems] == ["End date"]
    assert good.valid


@pytest.mark.parametrize("value", [date(9999, 12, 31), datetime(1850, 1, 1), date(2101, 1, 1)])
def test_date_cells_have_the_years_of_typed_dates(value: date) -> None:
    with pytest.raises(DateParseError, match="implausible year"):
        parse_datetime(value, "DMY")
    assert parse_datetime(date(2100, 12, 31), "DMY") == datetime(2100, 12, 31)


# -- a workbook as Excel writes it ------------------------------------------------------------------


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return buffer.getvalue()


def excel_like(rows: list[list[Any]], prefix: str = "") -> bytes:
    """A workbook laid out as Excel saves it: shared strings, `spans`, markup-compatibility
    namespaces, dates as serial numbers with a date style; optionally prefixed elements."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns{":" + prefix if prefix else ""}="{MAIN}"'
    strings: dict[str, int] = {}
    body = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{openpyxl.utils.get_column_letter(c + 1)}{r}"
            if value in (None, ""):
                continue
            if isinstance(value, datetime):
                serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
                cells.append(f'<{p}c r="{ref}" s="1"><{p}v>{serial}</{p}v></{p}c>')
            else:
                index = strings.setdefault(str(value), len(strings))
                cells.append(f'<{p}c r="{ref}" t="s"><{p}v>{index}</{p}v></{p}c>')
        spans = f"1:{len(row)}"
        body.append(
            f'<{p}row r="{r}" spans="{spans}" x14ac:dyDescent="0.25">{"".join(cells)}</{p}row>'
        )
    last = f"{openpyxl.utils.get_column_letter(max(map(len, rows)))}{len(rows)}"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<{p}worksheet {xmlns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'mc:Ignorable="x14ac xr" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/'
        '2009/9/ac" xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
        f'xr:uid="{{00000000-0001-0000-0000-000000000000}}"><{p}dimension ref="A1:{last}"/>'
        f"<{p}sheetData>{''.join(body)}</{p}sheetData>"
        f'<{p}pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></' + f"{p}worksheet>"
    )
    shared = "".join(
        f'<si><t xml:space="preserve">{s.replace("&", "&amp;").replace("<", "&lt;")}</t></si>'
        for s in strings
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "_rels/.rels": (
                f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                'Target="xl/workbook.xml"/></Relationships>'
            ).encode(),
            "xl/workbook.xml": (
                f'<workbook xmlns="{MAIN}" xmlns:r="{rel}"><sheets><sheet name="Form responses 1" '
                'sheetId="1" r:id="rId1"/></sheets></workbook>'
            ).encode(),
            "xl/_rels/workbook.xml.rels": (
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                f'relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
                f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/'
                f'sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" '
                f'Type="{rel}/styles" Target="styles.xml"/></Relationships>'
            ).encode(),
            "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{shared}</sst>'.encode(),
            "xl/styles.xml": (
                f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
                'formatCode="dd/mm/yyyy\\ hh:mm"/></numFmts><cellXfs count="2"><xf numFmtId="0"/>'
                '<xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>'
            ).encode(),
            SHEET: sheet.encode(),
        }
    )


@pytest.mark.parametrize("prefix", ["", "x"])
def test_an_excel_style_workbook_is_read_and_patched_in_its_own_markup(
    tmp_path: Path, prefix: str
) -> None:
    rows = [
        [*HEADERS, "Approved"],
        [*typed(1), "TRUE"],
        [*typed(2, **{"Cluster title": "A & <B>"}), ""],
    ]
    path = tmp_path / "responses.xlsx"
    path.write_bytes(excel_like(rows, prefix))
    before = members(path)
    src = source(path)
    read = src.read().rows
    assert read[0].values["timestamp"] == datetime(2024, 11, 1, 10, 1)
    assert read[1].values["title"] == "A & <B>"
    assert read[0].approved and not read[1].approved
    src.write_back(statuses(read))
    after = members(path)
    assert after["xl/sharedStrings.xml"] == before["xl/sharedStrings.xml"]
    xml = after[SHEET].decode()
    old = before[SHEET].decode()
    assert xml.startswith(old[: old.index("<" + (f"{prefix}:" if prefix else "") + "dimension")])
    p = f"{prefix}:" if prefix else ""
    end = openpyxl.utils.get_column_letter(WIDTH + 4)
    assert f'<{p}dimension ref="A1:{end}3"/>' in xml
    assert f'<{p}row r="2" spans="1:{WIDTH + 4}" x14ac:dyDescent="0.25">' in xml
    assert f'<{p}c r="{end}2" t="inlineStr"><{p}is><{p}t xml:space="preserve">' in xml
    again = source(path).read().rows
    assert [(r.cluster_id, r.sync_status) for r in again] == [
        ("CL-2025-002", "Sent"),
        ("CL-2025-003", "Sent"),
    ]
    assert [r.values for r in again] == [r.values for r in read]


def test_statuses_follow_their_rows_when_the_workbook_is_re_sorted_during_the_sync(
    tmp_path: Path,
) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 3)
    src = source(path)
    rows = src.read().rows
    book = openpyxl.load_workbook(path)
    sheet = book.active
    data = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    sheet.delete_rows(2, 3)
    for values in [*reversed(data)]:
        sheet.append(values)
    book.save(path)  # saved by a person while the sync ran
    src.write_back(statuses(rows))
    for row in source(path).read().rows:
        number = int(row.values["title"].rsplit(" ", 1)[1])
        assert row.cluster_id == f"CL-2025-{number + 1:03d}"


def test_a_status_file_beside_the_workbook_that_is_not_ours_is_left_alone(
    tmp_path: Path,
) -> None:
    path = rich_workbook(tmp_path / "responses.xlsx", 1)
    theirs = tmp_path / "responses.status.csv"
    theirs.write_text("my own notes\n", encoding="utf-8")
    src = source(path)
    assert src.write_back(statuses(src.read().rows)) == 1
    assert theirs.read_text(encoding="utf-8") == "my own notes\n"


def test_cells_without_positions_are_never_guessed(tmp_path: Path) -> None:
    rows = [[*HEADERS, "Approved"], [*typed(1), "TRUE"]]
    data = excel_like(rows)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    # Cell positions are optional in the file format; the header row here has none.
    xml = parts[SHEET].decode()
    header = re.search(r'<row r="1".*?</row>', xml, re.S)
    assert header is not None
    parts[SHEET] = xml.replace(header[0], re.sub(r' r="[A-Z]+1"', "", header[0])).encode()
    path = tmp_path / "responses.xlsx"
    rezip(path, parts)
    before = path.read_bytes()
    src = source(path)
    rows_read = src.read().rows
    assert rows_read[0].values["title"] == "Cluster number 1"
    with pytest.raises(SourceError, match="its cells carry no positions"):
        src.write_back(statuses(rows_read))
    assert path.read_bytes() == before


def test_stored_empty_rows_count_as_blank_rows_up_to_a_bound(tmp_path: Path) -> None:
    data = excel_like([HEADERS, typed(1), typed(2)])
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    xml = parts[SHEET].decode()
    second = xml.index('<row r="3"')
    # 15,000 stored empty rows (a few KB compressed) push the second response down.
    empties = "".join(f'<row r="{n}"/>' for n in range(3, 15_003))
    moved = re.sub(r'r="([A-Z]*)3"', r'r="\g<1>15003"', xml[second:])
    parts[SHEET] = (xml[:second] + empties + moved).encode()
    path = tmp_path / "responses.xlsx"
    rezip(path, parts)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        rows = source(path).read().rows
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    filled = [r.row_number for r in rows if r.values["title"]]
    assert filled == [2, 15_003]
    assert len(rows) == 2 + 10_000  # the first 10,000 empty rows are blank rows, no more
    assert peak < 20_000_000  # about 1 KB per blank row
