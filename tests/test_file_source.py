"""A local CSV or XLSX export of the responses sheet: read by header, status columns written back."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cluster_sync import form
from cluster_sync.config import FormConfig
from cluster_sync.errors import SourceError, UserError
from cluster_sync.sources.base import RowStatus, SourceRow
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.validate import is_blank_row, validate_row

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HEADERS = [f.header for f in form.FIELDS]
STATUS = ["Cluster ID", "Sync status", "Last synced"]


def answers(n: int) -> dict[str, Any]:
    """One response (question key -> cell), different for each n."""
    people = ["María José Núñez", "Γιώργος Παπαδόπουλος", "Ana Đurđević", "Joëlle Lefèvre"]
    person = people[n % len(people)]
    return {
        "timestamp": f"{10 + n:02d}/03/2025 09:{n:02d}:00",
        "respondent_email": f"person{n}@example.org",
        "title": f"Cluster {n}: {person}",
        "acronym": f"CL{n}",
        "question": "Comment adopter les résultats ?",
        "objectives": "Objective one\nObjective two",
        "working_groups": "WG1 Connectivity of ecosystems, WG3 Socio-economic value of biodiversity",
        "cluster_type": "Thematic",
        "lead_organisation": "Περιφέρεια Κρήτης",
        "lead_country": "Greece",
        "lead_role": "C4N partner",
        "contact_person": person,
        "contact_email": f"{person} <person{n}@example.org>",
        "participant_categories": "C4N, D4N",
        "thematic_projects": "ARTEMIS",
        "participants": f"{person}; person{n}@example.org; Περιφέρεια Κρήτης; Greece",
        "results": "A method, a grid, a model agreement.",
        "transfer_levels": "Regional",
        "outcomes": "Transference, Adoption",
        "start_date": "01/04/2025",
        "end_date": "30/06/2025",
        "roadmap": "15/04/2025 – Kick-off",
        "expertise": "",
        "consent": form.CONSENT_TEXT,
    }


def grid_for(headers: list[str], rows: list[dict[str, Any]], by_header: bool = False) -> list[list]:
    keys = {f.header: f.key for f in form.FIELDS}
    out: list[list[Any]] = [list(headers)]
    for row in rows:
        out.append([row.get(h if by_header else keys.get(h, h), "") for h in headers])
    return out


def write_csv(path: Path, grid: list[list[Any]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [list(r) for r in csv.reader(handle)]


def open_source(
    path: Path,
    write_back: bool = False,
    columns: dict[str, str] | None = None,
    worksheet: str | None = None,
) -> FileSource:
    settings = FileSourceConfig(path=path, write_back=write_back, worksheet=worksheet)
    return FileSource(path, settings, FormConfig(columns=columns or {}))


def status(row: SourceRow, cluster_id: str | None, text: str, when: str = "2026-11-25 02:00"):
    return RowStatus(row=row, cluster_id=cluster_id, status=text, last_synced=when)


def simple_csv(tmp_path: Path, count: int = 4, extra: list[str] | None = None) -> Path:
    headers = HEADERS + ["Approved"] + (extra or [])
    return write_csv(
        tmp_path / "responses.csv", grid_for(headers, [answers(n) for n in range(count)])
    )


# --- reading the examples ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["responses.csv", "responses.xlsx"])
def test_example_exports_read_and_validate_as_documented(name: str) -> None:
    snapshot = open_source(EXAMPLES / name).read()
    assert [r.row_number for r in snapshot.rows] == list(range(2, 27))
    assert set(snapshot.rows[0].values) == set(form.FIELDS_BY_KEY)
    outcomes = {
        r.row_number: validate_row(r.values, "DMY")
        for r in snapshot.rows
        if not is_blank_row(r.values)
    }
    blank = [r.row_number for r in snapshot.rows if is_blank_row(r.values)]
    invalid = sorted(n for n, o in outcomes.items() if not o.valid)
    assert blank == [14]
    assert invalid == [9, 10, 11, 12, 13, 21, 25]
    assert sum(o.valid for o in outcomes.values()) == 17
    assert len(outcomes[13].problems) == 3 and len(outcomes[25].problems) == 2
    assert sum(r.approved for r in snapshot.rows) == 10
    assert all(r.cluster_id is None for r in snapshot.rows)


def test_example_xlsx_holds_real_dates_and_booleans() -> None:
    row = open_source(EXAMPLES / "responses.xlsx").read().rows[0]
    assert row.values["timestamp"] == datetime(2024, 11, 29, 10, 15)
    assert row.values["start_date"] == datetime(2025, 2, 3)
    assert row.approved is True
    csv_row = open_source(EXAMPLES / "responses.csv").read().rows[0]
    assert (
        validate_row(row.values, "DMY").registration
        == validate_row(csv_row.values, "DMY").registration
    )


# --- headers -----------------------------------------------------------------------------------


def test_columns_found_by_header_whatever_the_order_case_and_spacing(tmp_path: Path) -> None:
    def mangle(i: int, header: str) -> str:
        return [header.upper(), f"  {header.lower()} ", header.replace(" ", "\u00a0 ")][i % 3]

    shuffled = list(reversed(HEADERS))
    data = [answers(1), answers(2)]
    grid = grid_for(shuffled, data)
    grid[0] = [mangle(i, h) for i, h in enumerate(shuffled)]
    path = write_csv(tmp_path / "responses.csv", grid)
    rows = open_source(path).read().rows
    assert [r.values for r in rows] == data


def test_xlsx_read_by_header_with_real_datetime_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form responses 1"
    headers = ["approved", " CONSENT ", *reversed(HEADERS[:-1])]
    sheet.append(headers)
    values = answers(3) | {
        "timestamp": datetime(2025, 3, 13, 9, 3, 0),
        "start_date": datetime(2025, 4, 1),
        "end_date": datetime(2025, 6, 30),
        "expertise": "Un juriste, s'il vous plaît",
    }
    keys = [f.key for f in reversed(form.FIELDS[:-1])]
    sheet.append([True, values["consent"], *(values[key] for key in keys)])
    path = tmp_path / "responses.xlsx"
    book.save(path)
    row = open_source(path).read().rows[0]
    assert row.values == values
    assert row.approved is True
    reg = validate_row(row.values, "DMY").registration
    assert reg is not None
    assert (reg.start_date, reg.end_date) == (date(2025, 4, 1), date(2025, 6, 30))


@pytest.mark.parametrize("missing", ["Cluster title", "Contact email", "Consent", "Start date"])
def test_missing_required_column_is_named(tmp_path: Path, missing: str) -> None:
    headers = [h for h in HEADERS if h != missing]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, [answers(0)]))
    with pytest.raises(UserError) as caught:
        open_source(path).read()
    assert caught.value.message.startswith(f"{path} lacks 1 required column(s): “{missing}”.")
    assert caught.value.problems[0].startswith("found: 'Timestamp'")


def test_every_missing_required_column_is_named_at_once(tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h not in ("Objectives", "Roadmap")]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, [answers(0)]))
    with pytest.raises(UserError) as caught:
        open_source(path).read()
    assert caught.value.message.startswith(
        f"{path} lacks 2 required column(s): “Objectives”, “Roadmap”."
    )


def test_missing_optional_column_is_not_an_error(tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h not in ("Acronym", "Expertise needed", "Email address")]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, [answers(0)]))
    row = open_source(path).read().rows[0]
    assert "acronym" not in row.values
    assert validate_row(row.values, "DMY").valid


def test_extra_unknown_columns_are_ignored(tmp_path: Path) -> None:
    headers = ["Notes", *HEADERS[:5], "Column 27", *HEADERS[5:], "Score", ""]
    data = [answers(0) | {"Notes": "call back", "Column 27": "?", "Score": "10"}]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, data))
    row = open_source(path).read().rows[0]
    assert set(row.values) == {f.key for f in form.FIELDS}  # no Edit link column: no edit_link
    assert row.values == answers(0)


def test_renamed_question_mapped_in_the_configuration(tmp_path: Path) -> None:
    renamed = {"Cluster title": "Name of the cluster", "Consent": "Accord de publication"}
    headers = [renamed.get(h, h) for h in HEADERS]
    data = answers(0) | {
        "Name of the cluster": "Λιβάδια Ποσειδωνίας",
        "Accord de publication": form.CONSENT_TEXT,
    }
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, [data]))
    columns = {"title": "name of the CLUSTER", "consent": "Accord de publication"}
    row = open_source(path, columns=columns).read().rows[0]
    assert row.values["title"] == "Λιβάδια Ποσειδωνίας"
    assert row.values["consent"] == form.CONSENT_TEXT
    assert validate_row(row.values, "DMY").valid
    with pytest.raises(UserError) as caught:
        open_source(path).read()  # without the mapping the form's own headers are missing
    assert caught.value.message.startswith(
        f"{path} lacks 2 required column(s): “Cluster title”, “Consent”."
    )


def test_mapped_header_missing_is_named_as_configured(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 1)
    with pytest.raises(UserError) as caught:
        open_source(path, columns={"title": "Name of the cluster"}).read()
    assert "“Name of the cluster”" in caught.value.message


def test_ragged_short_rows(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 1)
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("12/03/2025 10:00:00,late@example.org,Short row\r\n\r\n")
    rows = open_source(path).read().rows
    assert len(rows) == 3
    short = rows[1]
    assert short.row_number == 3
    assert short.values["title"] == "Short row"
    assert short.values["consent"] is None
    assert short.cluster_id is None and short.approved is False
    assert validate_row(short.values, "DMY").problems[0].question == "Start date"
    assert is_blank_row(rows[2].values)


def test_status_columns_are_read(tmp_path: Path) -> None:
    headers = [*HEADERS, "Approved", *STATUS]
    data = [
        answers(0) | {"Approved": "x", "Cluster ID": " CL-2025-007 ", "Sync status": "OK"},
        answers(1) | {"Approved": "", "Cluster ID": "", "Sync status": ""},
        answers(2) | {"Approved": "TRUE", "Cluster ID": "CL-2025-009"},
    ]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, data))
    rows = open_source(path).read().rows
    assert [r.cluster_id for r in rows] == ["CL-2025-007", None, "CL-2025-009"]
    assert [r.approved for r in rows] == [True, False, True]
    assert rows[0].sync_status == "OK"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "responses.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match="is empty"):
        open_source(path).read()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(tmp_path / "nowhere.csv").read()


@pytest.mark.parametrize("name", ["responses.ods", "responses.txt", "responses"])
def test_other_file_types_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(SourceError, match=r"neither a \.csv nor an \.xlsx"):
        open_source(tmp_path / name)


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 1)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert open_source(path).read().rows[0].values["timestamp"] == answers(0)["timestamp"]


# --- write-back: CSV ---------------------------------------------------------------------------


def test_nothing_written_without_write_back(tmp_path: Path) -> None:
    path = simple_csv(tmp_path)
    before = path.read_bytes()
    source = open_source(path, write_back=False)
    rows = source.read().rows
    assert source.write_back([status(rows[0], "CL-2025-001", "OK")]) == 0
    assert path.read_bytes() == before


def test_csv_write_back_touches_only_the_status_columns(tmp_path: Path) -> None:
    path = shutil.copy(EXAMPLES / "responses.csv", tmp_path / "responses.csv")
    before_bytes = path.read_bytes()
    before = read_csv(path)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    statuses = [
        status(rows[0], "CL-2025-001", "OK: factsheet v1 made."),
        status(rows[7], None, "Needs fixing (1): (1) Contact email: …"),
        status(rows[24], "CL-2025-016", "Factsheet v1 ready; email not sent yet."),
    ]
    assert source.write_back(statuses) == 3
    after = read_csv(path)
    width = len(before[0])
    assert after[0] == before[0] + STATUS
    assert len(after) == len(before)
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        assert new[:width] == old, f"row {i + 1} changed"
    assert after[1][width:] == ["CL-2025-001", "OK: factsheet v1 made.", "2026-11-25 02:00"]
    assert after[8][width:] == ["", "Needs fixing (1): (1) Contact email: …", "2026-11-25 02:00"]
    assert after[25][width:] == [
        "CL-2025-016",
        "Factsheet v1 ready; email not sent yet.",
        "2026-11-25 02:00",
    ]
    assert all(len(r) == width for i, r in enumerate(after) if i not in (0, 1, 8, 25))
    # The form's cells, written out again, are the original file byte for byte.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(r[:width] for r in after)
    assert buffer.getvalue().encode("utf-8") == before_bytes


def test_csv_write_back_reuses_existing_status_columns(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 3)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    source.write_back([status(rows[1], "CL-2025-002", "first")])
    rows = source.read().rows
    assert rows[1].cluster_id == "CL-2025-002"
    source.write_back([status(rows[1], "CL-2025-002", "second", "2026-11-26 02:00")])
    after = read_csv(path)
    assert after[0].count("Cluster ID") == 1
    assert after[0][-3:] == STATUS
    assert after[2][-3:] == ["CL-2025-002", "second", "2026-11-26 02:00"]


def test_csv_write_back_into_status_columns_placed_elsewhere(tmp_path: Path) -> None:
    headers = ["sync STATUS", *HEADERS, "Approved", "cluster id"]
    data = [answers(0), answers(1)]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, data))
    source = open_source(path, write_back=True)
    rows = source.read().rows
    source.write_back([status(rows[1], "CL-2025-002", "OK")])
    after = read_csv(path)
    assert after[0] == [*headers, "Last synced"]
    assert after[2][0] == "OK"
    assert after[2][len(headers) - 1] == "CL-2025-002"
    assert after[2][-1] == "2026-11-25 02:00"
    assert after[1] == grid_for(headers, data)[1]


@pytest.mark.parametrize(
    "text", ["=1+1", "+33 6 12 34 56 78", "@x", "-2+3", '=HYPERLINK("http://example.org")']
)
def test_formula_looking_status_stays_literal_in_csv(tmp_path: Path, text: str) -> None:
    path = simple_csv(tmp_path, 2)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    source.write_back([status(rows[0], "CL-2025-001", text, text)])
    after = read_csv(path)
    assert after[1][-2:] == [text, text]
    assert open_source(path).read().rows[0].sync_status == text


def test_status_for_a_vanished_row_is_skipped(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 3)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    grid = read_csv(path)
    write_csv(path, [grid[0], grid[1], grid[3]])  # the second response was deleted
    written = source.write_back([status(r, f"CL-2025-00{i}", "OK") for i, r in enumerate(rows)])
    assert written == 2
    after = read_csv(path)
    assert [r[-3] for r in after[1:]] == ["CL-2025-000", "CL-2025-002"]


# --- write-back after the rows were re-sorted --------------------------------------------------


def test_rows_matched_by_cluster_id_after_a_re_sort(tmp_path: Path) -> None:
    headers = [*HEADERS, "Approved", *STATUS]
    data = [answers(n) | {"Cluster ID": f"CL-2025-00{n}"} for n in range(4)]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, data))
    source = open_source(path, write_back=True)
    rows = source.read().rows
    grid = read_csv(path)
    write_csv(path, [grid[0], grid[3], grid[1], grid[4], grid[2]])  # sorted by someone
    source.write_back([status(r, r.cluster_id, f"status of {r.cluster_id}") for r in rows])
    for line in read_csv(path)[1:]:
        cid = line[headers.index("Cluster ID")]
        assert line[headers.index("Sync status")] == f"status of {cid}"
        assert line[headers.index("Cluster title")] == answers(int(cid[-1]))["title"]


def test_row_without_id_found_again_by_timestamp_and_submitter(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 4)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    grid = read_csv(path)
    newest_first = [grid[0], *reversed(grid[1:])]
    write_csv(path, newest_first)
    source.write_back([status(r, f"CL-2025-00{n}", f"row {n}") for n, r in enumerate(rows)])
    after = read_csv(path)
    assert after[0][-3:] == STATUS
    for line in after[1:]:
        n = int(line[-3][-1])
        assert line[HEADERS.index("Cluster title")] == answers(n)["title"]
        assert line[-2] == f"row {n}"
    # nothing but the status columns changed in the moved rows
    assert [line[: len(grid[0])] for line in after] == newest_first


def test_row_without_id_found_after_a_new_row_was_inserted_above(tmp_path: Path) -> None:
    path = simple_csv(tmp_path, 2)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    grid = read_csv(path)
    newcomer = grid_for(grid[0], [answers(9)])[1]
    write_csv(path, [grid[0], newcomer, *grid[1:]])
    source.write_back([status(rows[0], "CL-2025-001", "first")])
    after = read_csv(path)
    assert after[1][len(grid[0]) :] == []
    assert after[2][-3:] == ["CL-2025-001", "first", "2026-11-25 02:00"]


def test_copied_row_with_the_same_id_told_apart_by_content(tmp_path: Path) -> None:
    headers = [*HEADERS, "Approved", *STATUS]
    data = [answers(0) | {"Cluster ID": "CL-2025-001"}, answers(1) | {"Cluster ID": "CL-2025-002"}]
    path = write_csv(tmp_path / "responses.csv", grid_for(headers, data))
    source = open_source(path, write_back=True)
    rows = source.read().rows
    grid = read_csv(path)
    copy = grid_for(headers, [answers(5) | {"Cluster ID": "CL-2025-002"}])[1]
    write_csv(path, [grid[0], copy, grid[1], grid[2]])
    source.write_back([status(rows[1], "CL-2025-002", "the real one")])
    after = read_csv(path)
    status_col = headers.index("Sync status")
    assert after[1][status_col] == ""
    assert after[3][status_col] == "the real one"


# --- write-back: XLSX --------------------------------------------------------------------------


def make_xlsx(path: Path, count: int = 3) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form responses 1"
    sheet.append([*HEADERS, "Approved"])
    for n in range(count):
        values = answers(n) | {
            "timestamp": datetime(2025, 3, 10 + n, 9, n, 0),
            "start_date": datetime(2025, 4, 1),
            "end_date": datetime(2025, 6, 30),
        }
        sheet.append([values[f.key] for f in form.FIELDS] + [n % 2 == 0])
        sheet.cell(n + 2, 1).number_format = "dd/mm/yyyy hh:mm:ss"
        sheet.cell(n + 2, HEADERS.index("Start date") + 1).number_format = "dd/mm/yyyy"
        sheet.cell(n + 2, HEADERS.index("End date") + 1).number_format = "dd/mm/yyyy"
    notes = book.create_sheet("Notes")
    notes["A1"] = "Secretariat notes"
    notes["B2"] = 42
    book.save(path)
    return path


def cells(path: Path, title: str = "Form responses 1") -> dict[tuple[int, int], tuple]:
    sheet = openpyxl.load_workbook(path)[title]
    return {(c.row, c.column): (c.value, c.number_format) for row in sheet.iter_rows() for c in row}


def test_xlsx_write_back_touches_only_the_status_columns(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "responses.xlsx")
    before = cells(path)
    notes_before = cells(path, "Notes")
    source = open_source(path, write_back=True)
    rows = source.read().rows
    assert rows[0].values["timestamp"] == datetime(2025, 3, 10, 9, 0)
    assert (
        source.write_back([status(rows[2], "CL-2025-003", "OK"), status(rows[0], None, "x")]) == 2
    )
    after = cells(path)
    width = len(HEADERS) + 1
    for key, value in before.items():
        assert after[key] == value, f"cell {key} changed"
    assert [after[(1, width + i)][0] for i in (1, 2, 3)] == STATUS
    assert [after[(4, width + i)][0] for i in (1, 2, 3)] == [
        "CL-2025-003",
        "OK",
        "2026-11-25 02:00",
    ]
    assert after[(2, width + 1)][0] is None
    assert after[(2, width + 2)][0] == "x"
    assert after.get((3, width + 2), (None,))[0] is None
    assert cells(path, "Notes") == notes_before


def test_xlsx_rows_matched_after_a_re_sort(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "responses.xlsx", 3)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    book = openpyxl.load_workbook(path)
    sheet = book.active
    data = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    for i, values in enumerate(reversed(data), start=2):
        for j, value in enumerate(values, start=1):
            sheet.cell(i, j).value = value
    book.save(path)
    source.write_back([status(r, f"CL-2025-00{n}", f"row {n}") for n, r in enumerate(rows)])
    sheet = openpyxl.load_workbook(path).active
    id_col = len(HEADERS) + 2
    for i in range(2, 5):
        n = int(sheet.cell(i, id_col).value[-1])
        assert sheet.cell(i, HEADERS.index("Cluster title") + 1).value == answers(n)["title"]
        assert sheet.cell(i, id_col + 1).value == f"row {n}"


def test_xlsx_named_worksheet(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "responses.xlsx", 2)
    book = openpyxl.load_workbook(path)
    book.move_sheet("Notes", offset=-1)
    book.save(path)
    assert book.sheetnames[0] == "Notes"
    rows = open_source(path, worksheet="Form responses 1").read().rows
    assert [r.values["title"] for r in rows] == [answers(0)["title"], answers(1)["title"]]


@pytest.mark.parametrize("text", ["=1+1", '=HYPERLINK("http://example.org")'])
def test_formula_looking_status_stays_literal_in_xlsx(tmp_path: Path, text: str) -> None:
    path = make_xlsx(tmp_path / "responses.xlsx", 1)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    source.write_back([status(rows[0], "CL-2025-001", text)])
    assert open_source(path).read().rows[0].sync_status == text


@pytest.mark.parametrize("text", ["+33 6 12 34 56 78", "@x", "-2+3"])
def test_other_formula_looking_status_stays_literal_in_xlsx(tmp_path: Path, text: str) -> None:
    path = make_xlsx(tmp_path / "responses.xlsx", 1)
    source = open_source(path, write_back=True)
    rows = source.read().rows
    source.write_back([status(rows[0], "CL-2025-001", text)])
    assert open_source(path).read().rows[0].sync_status == text
