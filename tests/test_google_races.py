"""A person edits the Google Sheet while the sync writes its statuses: the real Sync (and once
the real CLI) against the fake Sheets API, with the edit landing at the very moment of the
status write, or while the write waits to be retried after a 429.

For every kind of edit and both moments: no cell outside the owned columns changes, every status
in the sheet sits on its own registration's row, trouble is reported (exit 3) when the sync
cannot be sure, and the next run leaves the sheet as a run without any race would have.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import CONFIG_TEMPLATE, ROOT
from google_fixtures import HEADERS, KEY, TAB, Sleeps, answer_row, load_sheet

from cluster_sync import config as config_mod
from cluster_sync import form
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.engine import RunSummary, Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.sources.google import GoogleSource
from cluster_sync.state import State
from cluster_sync.testing import sheet_edits
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Sheet, format_value, parse_user_entered

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
OWNED = [text.casefold() for text in form.STATUS_HEADERS]
WRITE = "values.batchUpdateByDataFilter"
SENT_AT = re.compile(r" on \d{4}-\d{2}-\d{2} \d{2}:\d{2}")
Grid = list[list[str]]


def responses() -> list[list[str]]:
    """Four valid registrations, one that needs fixing (no title), and the secretariat's
    Approved column right where the status columns are added: a status written one column
    too far left lands on it."""
    rows = [[*answer_row(n), "TRUE" if n % 2 else ""] for n in range(1, 5)]
    rows.append([*answer_row(5, title=""), ""])
    return [[*HEADERS, "Approved"], *rows]


# -- a project folder, a fake sheet, a sync ---------------------------------------------------


@dataclass
class Project:
    fake: FakeSheets
    folder: Path
    sheet: Sheet
    sleeps: Sleeps = field(default_factory=Sleeps)

    @property
    def config(self) -> Config:
        source = (
            f'[source]\ntype = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
            f'credentials = "none"\napi_base_url = "{self.fake.base_url}"\nretries = 3\n'
            "timeout_seconds = 5\n\n"
        )
        text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
        text = re.sub(r"(?ms)^\[source\]\n.*?(?=^\[)", lambda _: source, text)
        path = self.folder / "cluster-sync.toml"
        path.write_text(text, encoding="utf-8")
        return config_mod.load(path)

    def sync(self) -> RunSummary:
        config = self.config
        state = State(config.path(config.state.database))
        try:
            source = GoogleSource.from_config(config, sleep=self.sleeps)
            return Sync(config, state, source, open_mailer(config), now=NOW).run()
        finally:
            state.close()

    def grid(self) -> Grid:
        return [[format_value(c, "en_GB") if c else "" for c in row] for row in self.sheet.cells]


def _project(tmp_path: Path, fake: FakeSheets, name: str) -> Project:
    folder = tmp_path / name
    folder.mkdir()
    return Project(fake, folder, load_sheet(fake, responses()))


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with FakeSheets() as fake:
        yield _project(tmp_path, fake, "raced")


RUNS = ["first run", "nightly run"]


def prepare(project: Project, run: str) -> None:
    """The sheet as the raced sync finds it. A nightly run follows an earlier sync: rows hold
    IDs and statuses, two responses came in since, and a partner changed an answer."""
    if run == "first run":
        return
    assert not project.sync().write_back_error
    sheet = project.sheet
    for n in (6, 7):
        sheet.cells.append([parse_user_entered(v, "en_GB") for v in [*answer_row(n), ""]])
    sheet.put(3, _col(sheet, "Acronym"), parse_user_entered("NEWACR", "en_GB"))


@pytest.fixture(scope="module")
def calm_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    """What the owned columns show for each registration after each run, when nobody raced."""
    out = {}
    for run in RUNS:
        with FakeSheets() as fake:
            calm = _project(tmp_path_factory.mktemp("calm"), fake, "calm")
            prepare(calm, run)
            summary = calm.sync()
            assert not summary.write_back_error
            out[run] = statuses_by_row(calm.grid())
    return out


@pytest.fixture
def expected(calm_runs: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    return calm_runs["first run"]


# -- what the sheet shows ---------------------------------------------------------------------


def _owned_columns(header: list[str]) -> list[int]:
    return [c for c, h in enumerate(header) if h.strip().casefold() in OWNED]


def statuses_by_row(grid: Grid) -> dict[str, list[str]]:
    """Owned values (in form.STATUS_HEADERS order) by registration (its submitter)."""
    header = grid[0]
    where = {h.strip().casefold(): c for c, h in enumerate(header)}
    out: dict[str, list[str]] = {}
    for row in grid[1:]:
        key = _key(row, where)
        # "sent … on <time>" is the wall-clock time of the delivery: not what is compared here
        values = [SENT_AT.sub(" on <time>", _cell(row, where.get(name))) for name in OWNED]
        if key:
            out[key] = values
        else:
            assert not any(values), f"a status on a row that is no registration: {values}"
    return out


def _key(row: list[str], where: dict[str, int]) -> str:
    return _cell(row, where["contact email"])  # one registration each in these sheets


def _cell(row: list[str], col: int | None) -> str:
    return row[col] if col is not None and col < len(row) else ""


def partner_cells(grid: Grid) -> list[tuple[str, list[str]]]:
    """Every column that is not an owned one, with all its cells (trailing blanks trimmed)."""
    owned = set(_owned_columns(grid[0])) if grid else set()
    width = max([0, *(len(r) for r in grid)])
    columns = []
    for c in range(width):
        if c in owned:
            continue
        cells = [_cell(row, c) for row in grid]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            columns.append((cells[0], cells))
    return columns


# -- the edits a person makes ----------------------------------------------------------------


def _col(sheet: Sheet, header: str) -> int:
    shown = [format_value(c, "en_GB") if c else "" for c in sheet.cells[0]]
    return shown.index(header)


def insert_column(sheet: Sheet) -> None:  # a new question left of Approved
    at = _col(sheet, "Approved")
    sheet_edits.insert(sheet, "COLUMNS", at)
    sheet_edits.rename(sheet, at, "Phone")


def delete_column(sheet: Sheet) -> None:  # an optional question dropped
    at = _col(sheet, "Expertise needed")
    sheet_edits.delete(sheet, "COLUMNS", at, at + 1)


def move_column(sheet: Sheet) -> None:  # Approved dragged to be the second column
    at = _col(sheet, "Approved")
    sheet_edits.move(sheet, "COLUMNS", at, at + 1, 1)


def sort_rows(sheet: Sheet) -> None:  # Data › Sort sheet by Cluster title, Z to A
    sheet_edits.sort_rows(sheet, _col(sheet, "Cluster title"), 1, descending=True)


def insert_rows(sheet: Sheet) -> None:  # two blank rows above the third response
    sheet_edits.insert(sheet, "ROWS", 3, 2)


def delete_rows(sheet: Sheet) -> None:  # the second response deleted
    sheet_edits.delete(sheet, "ROWS", 2, 3)


def rename_header(sheet: Sheet) -> None:  # Approved becomes "Approved by"
    sheet_edits.rename(sheet, _col(sheet, "Approved"), "Approved by")


def rename_email(sheet: Sheet) -> None:  # what tells rows apart changes its name
    sheet_edits.rename(sheet, _col(sheet, "Email address"), "Email")


def _status_col(sheet: Sheet, header: str) -> int:
    """Where the sync's own column is, even before its header is written (first run)."""
    return next(m.index for m in sheet.metadata if m.value == header)


def delete_status_column(sheet: Sheet) -> None:  # someone deletes "Sync status"
    at = _status_col(sheet, form.SYNC_STATUS)
    sheet_edits.delete(sheet, "COLUMNS", at, at + 1)


def move_status_column(sheet: Sheet) -> None:  # "Cluster ID" dragged to be the first column
    at = _status_col(sheet, form.CLUSTER_ID)
    sheet_edits.move(sheet, "COLUMNS", at, at + 1, 0)


EDITS: dict[str, Callable[[Sheet], None]] = {
    "insert a column": insert_column,
    "delete a column": delete_column,
    "move a column": move_column,
    "sort the rows": sort_rows,
    "insert rows": insert_rows,
    "delete a row": delete_rows,
    "rename a header": rename_header,
    "delete a status column": delete_status_column,
    "move a status column": move_status_column,
}


class Edit:
    """Applies an edit once, remembering the partner cells just after it."""

    def __init__(self, project: Project, edit: Callable[[Sheet], None]) -> None:
        self.project = project
        self.edit = edit
        self.partners: list[tuple[str, list[str]]] | None = None

    def __call__(self) -> None:
        self.edit(self.project.sheet)
        self.partners = partner_cells(self.project.grid())


def arm(project: Project, edit: Edit, moment: str) -> None:
    if moment == "at the write":
        project.fake.before(WRITE, edit)
    else:  # Google answers 429; the edit is made while the sync waits to try again
        project.fake.fail(429, kind=WRITE, then=edit)


# -- the races ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "run"),
    [
        ("at the write", "first run"),
        ("during a retry wait", "first run"),
        ("at the write", "nightly run"),  # IDs in place, new and changed rows among them
    ],
)
@pytest.mark.parametrize("name", list(EDITS))
def test_an_edit_racing_the_write_never_damages_a_partner_cell(
    project: Project,
    calm_runs: dict[str, dict[str, list[str]]],
    name: str,
    moment: str,
    run: str,
) -> None:
    prepare(project, run)
    expected = calm_runs[run]
    edit = Edit(project, EDITS[name])
    arm(project, edit, moment)

    summary = project.sync()

    assert edit.partners is not None, "the edit was never made"
    after = project.grid()
    assert partner_cells(after) == edit.partners  # not one cell outside the owned columns
    shown = statuses_by_row(after)
    for key, values in shown.items():
        # A row shows its own statuses, or (where the sync could not be sure, or a person
        # deleted a status column) nothing.
        assert all(v in (want, "") for v, want in zip(values, expected[key], strict=True)), key
    unplaced = [key for key, values in shown.items() if values != expected[key]]
    if unplaced and name != "delete a status column":
        assert summary.write_back_error, "statuses missing, yet no write-back error"
    if name == "delete a row" and run == "first run":  # its status could not be written
        assert "no longer found in the sheet" in (summary.write_back_error or "")
    if moment == "during a retry wait":
        assert project.sleeps, "the write was never retried"

    again = project.sync()  # the next night, nobody editing

    assert not again.write_back_error
    assert partner_cells(project.grid()) == edit.partners
    settled = statuses_by_row(project.grid())
    assert len(settled) == len(expected) - (name == "delete a row")
    assert settled == {key: expected[key] for key in settled}


def test_a_column_inserted_while_the_status_columns_are_tagged(
    project: Project, expected: dict[str, list[str]]
) -> None:
    """The tags are placed from a read, so a column inserted at that moment puts one on the
    wrong column: it is found (its header is not ours) and moved before anything is written."""
    edit = Edit(project, insert_column)
    project.fake.before("spreadsheets.batchUpdate", edit)

    summary = project.sync()

    assert not summary.write_back_error
    assert partner_cells(project.grid()) == edit.partners
    assert statuses_by_row(project.grid()) == expected


@pytest.mark.parametrize("moment", ["at the write", "during a retry wait"])
def test_renaming_what_tells_rows_apart_is_reported_not_guessed(
    project: Project, expected: dict[str, list[str]], moment: str
) -> None:
    """Rows are told apart by Timestamp and submitter: with "Email address" renamed at that
    moment, no row can be matched for sure, so nothing more is written and the run says so."""
    edit = Edit(project, rename_email)
    arm(project, edit, moment)

    summary = project.sync()

    assert "no longer found in the sheet" in (summary.write_back_error or "")
    assert partner_cells(project.grid()) == edit.partners
    for key, values in statuses_by_row(project.grid()).items():
        assert all(v in (want, "") for v, want in zip(values, expected[key], strict=True)), key


def test_sorting_only_the_form_columns_never_puts_a_status_on_another_row(
    project: Project, calm_runs: dict[str, dict[str, list[str]]]
) -> None:
    """A sort of a selection that leaves the status columns out takes the IDs off their rows.
    A row is then known by its Timestamp and submitter; an ID never pulls a status onto a row
    that is another registration's."""
    prepare(project, "nightly run")
    expected = calm_runs["nightly run"]
    sheet = project.sheet
    owned_cols = _owned_columns(project.grid()[0])
    kept = [[row[c] if c < len(row) else None for c in owned_cols] for row in sheet.cells]

    def sort_form_columns() -> None:
        body = sheet.cells[1:]
        body.sort(key=lambda row: str(row[2].value if row[2] else ""), reverse=True)
        for r, row in enumerate(body, start=1):
            cells = [c for i, c in enumerate(row) if i not in owned_cols]
            rebuilt: list[Any] = []
            for c in range(max(len(row), max(owned_cols) + 1)):
                rebuilt.append(
                    kept[r][owned_cols.index(c)]
                    if c in owned_cols
                    else cells.pop(0)
                    if cells
                    else None
                )
            sheet.cells[r] = rebuilt

    edit = Edit(project, lambda _: sort_form_columns())
    project.fake.before(WRITE, edit)
    owned_after_edit: dict[int, list[str]] = {}

    def remember() -> None:
        grid = project.grid()
        for r, row in enumerate(grid[1:], start=1):
            owned_after_edit[r] = [_cell(row, c) for c in owned_cols]

    project.fake.before(WRITE, remember)  # runs right after the edit, same moment
    summary = project.sync()

    assert edit.partners is not None
    assert partner_cells(project.grid()) == edit.partners
    grid = project.grid()
    where = {h.strip().casefold(): c for c, h in enumerate(grid[0])}
    for r, row in enumerate(grid[1:], start=1):
        status = _cell(row, where["sync status"])
        mine = SENT_AT.sub(" on <time>", status)
        assert mine == expected[_key(row, where)][1] or status == owned_after_edit[r][1], r
    assert summary.write_back_error  # some rows could not be told apart for sure


def test_a_deleted_row_is_reported_and_exits_3(project: Project) -> None:
    """The registration whose row went cannot get its status: the CLI says so (exit 3)."""
    edit = Edit(project, delete_rows)
    project.fake.before(WRITE, edit)

    config_file = project.config.path(Path("cluster-sync.toml"))  # written by .config
    result = CliRunner().invoke(cli, ["--config", str(config_file), "sync"])

    assert result.exit_code == 3, result.output
    assert "no longer found in the sheet" in result.output
    assert partner_cells(project.grid()) == edit.partners


def test_an_edit_at_every_write_ends_in_a_clear_error(project: Project) -> None:
    """A sheet that keeps changing under every write: bounded tries, then exit 3 with partner
    cells untouched."""
    made: list[Grid] = []

    def resort() -> None:
        sheet = project.sheet
        sheet_edits.sort_rows(sheet, _col(sheet, "Cluster title"), 1, descending=len(made) % 2 == 0)
        made.append(project.grid())

    for count in range(1, 20):
        project.fake.before(WRITE, resort, count=count)
    summary = project.sync()

    assert summary.write_back_error
    assert "kept changing" in summary.write_back_error
    assert partner_cells(project.grid()) == partner_cells(made[-1])
    for key, values in statuses_by_row(project.grid()).items():
        assert values[0] == "" or values[0].startswith("CL-"), key


def test_renaming_a_status_header_moves_the_statuses_to_a_new_column(
    project: Project, expected: dict[str, list[str]]
) -> None:
    """Our own header renamed: that column is the person's now; it is never written again."""
    project.sync()

    def rename_ours() -> None:
        sheet_edits.rename(project.sheet, _col(project.sheet, "Sync status"), "Old notes")

    rename_ours()
    before = partner_cells(project.grid())
    summary = project.sync()

    assert not summary.write_back_error
    assert partner_cells(project.grid()) == before  # "Old notes" kept as it was
    assert project.grid()[0][-1] == form.SYNC_STATUS  # a new column on the right
    assert statuses_by_row(project.grid()) == expected


def test_a_status_column_cut_and_pasted_elsewhere_is_followed(
    project: Project, expected: dict[str, list[str]]
) -> None:
    """Cut and paste moves the values, not the column with its tag: the tag is moved to the
    column that now carries the header, checked, and only then written into."""
    project.sync()
    sheet = project.sheet
    old = _col(sheet, form.SYNC_STATUS)
    new = sheet.col_count
    sheet_edits.insert(sheet, "COLUMNS", new)  # an empty column at the far right
    for row in sheet.cells:
        if old < len(row):
            sheet.put(sheet.cells.index(row), new, row[old])
            row[old] = None
    sheet.put(1, _col(sheet, "Acronym"), parse_user_entered("NEW", "en_GB"))  # a status to write
    before = partner_cells(project.grid())

    summary = project.sync()

    assert not summary.write_back_error
    assert partner_cells(project.grid()) == before
    assert [m.index for m in sheet.metadata if m.value == form.SYNC_STATUS] == [new]
    shown = statuses_by_row(project.grid())
    first = next(iter(shown))
    assert shown[first][1].startswith("OK: factsheet v2")
    assert {k: v for k, v in shown.items() if k != first} == {
        k: v for k, v in expected.items() if k != first
    }


def test_without_developer_metadata_it_writes_by_position_and_says_so(
    project: Project, expected: dict[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    project.fake.without("developerMetadata.search", "createDeveloperMetadata")
    edit = Edit(project, sort_rows)
    project.fake.before("values.batchUpdate", edit)

    summary = project.sync()

    assert "written by position" in caplog.text
    assert not summary.write_back_error
    assert partner_cells(project.grid()) == edit.partners
    assert statuses_by_row(project.grid()) == expected


def test_without_developer_metadata_a_column_moved_at_the_write_is_reported(
    project: Project,
) -> None:
    project.fake.without("developerMetadata.search")
    project.fake.before("values.batchUpdate", Edit(project, insert_column))

    summary = project.sync()

    assert summary.write_back_error
    assert "changed at the moment the statuses were written" in summary.write_back_error
