"""What every source backend promises the engine. One class of tests, one small subclass per
backend: a CSV export in tmp_path, and the Google source against the local fake Sheets API."""

from __future__ import annotations

import csv
import typing
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from google_fixtures import HEADERS, answer_row, load_sheet, settings, shown

from cluster_sync import form, plugins
from cluster_sync.config import FormConfig
from cluster_sync.errors import UserError
from cluster_sync.sources import SOURCES
from cluster_sync.sources.base import RowStatus, Snapshot, Source
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.sources.google import GoogleSource
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Sheet

Rows = list[list[str]]
WIDTH = len(HEADERS)


class SourceContract:
    """Subclasses say how to make a source holding some rows, and how to look at it."""

    #: the `source.type` of the backend under test
    source_type = ""

    def make(self, tmp_path: Path, rows: Rows) -> Source:
        raise NotImplementedError

    def grid(self) -> Rows:
        """The sheet as text now, header first, trailing blanks trimmed."""
        raise NotImplementedError

    def reverse_rows(self) -> None:
        """What a person sorting the responses newest-first does."""
        raise NotImplementedError

    # -- reading -----------------------------------------------------------------------------

    def test_rows_are_keyed_by_question(self, tmp_path: Path) -> None:
        snapshot = self.make(tmp_path, [HEADERS, answer_row(1), answer_row(2)]).read()
        assert [r.values["title"] for r in snapshot.rows] == [
            "Cluster number 1",
            "Cluster number 2",
        ]
        assert snapshot.rows[1].values["contact_email"] == "contact2@example.org"
        assert [r.row_number for r in snapshot.rows] == [2, 3]
        assert snapshot.rows[0].cluster_id is None

    def test_blank_rows_keep_the_row_numbers_of_the_others(self, tmp_path: Path) -> None:
        rows = [HEADERS, answer_row(1), [], answer_row(2)]
        snapshot = self.make(tmp_path, rows).read()
        filled = [r for r in snapshot.rows if any(v not in (None, "") for v in r.values.values())]
        assert [r.row_number for r in filled] == [2, 4]

    def test_headers_match_whatever_the_case_and_spacing(self, tmp_path: Path) -> None:
        loose = [f"  {h.upper().replace(' ', '  ')} " for h in HEADERS]
        snapshot = self.make(tmp_path, [loose, answer_row(1)]).read()
        assert snapshot.rows[0].values["lead_organisation"] == "Office français de la biodiversité"

    def test_a_missing_required_column_is_one_clear_error(self, tmp_path: Path) -> None:
        gone = HEADERS.index("Cluster type")
        rows = [[c for i, c in enumerate(row) if i != gone] for row in (HEADERS, answer_row(1))]
        with pytest.raises(UserError) as caught:
            self.make(tmp_path, rows).read()
        assert "“Cluster type”" in str(caught.value)
        assert "1 required column" in str(caught.value)

    def test_status_columns_are_read(self, tmp_path: Path) -> None:
        rows = [[*HEADERS, *form.STATUS_HEADERS], [*answer_row(1), "CL-2024-001", "Sent", "x"]]
        row = self.make(tmp_path, rows).read().rows[0]
        assert (row.cluster_id, row.sync_status) == ("CL-2024-001", "Sent")

    # -- writing back ------------------------------------------------------------------------

    def test_write_back_touches_only_the_three_status_columns(self, tmp_path: Path) -> None:
        src = self.make(tmp_path, [HEADERS, answer_row(1), answer_row(2)])
        before = self.grid()
        assert src.write_back(_statuses(src.read())) == 2
        after = self.grid()
        assert after[0] == HEADERS + list(form.STATUS_HEADERS)
        assert [row[:WIDTH] for row in after] == [row[:WIDTH] for row in before]
        assert after[2][WIDTH:] == ["CL-2025-002", "Sent", "2025-01-31 02:00"]

    def test_write_back_finds_rows_by_id_after_a_resort(self, tmp_path: Path) -> None:
        src = self.make(tmp_path, [HEADERS, answer_row(1), answer_row(2), answer_row(3)])
        src.write_back(_statuses(src.read()))
        snapshot = src.read()
        self.reverse_rows()
        src.write_back(
            [RowStatus(r, r.cluster_id, f"seen {r.cluster_id}", "t") for r in snapshot.rows]
        )
        after = self.grid()
        assert [row[2] for row in after[1:]] == [
            "Cluster number 3",
            "Cluster number 2",
            "Cluster number 1",
        ]
        for row in after[1:]:
            assert row[WIDTH + 1] == f"seen {row[WIDTH]}"

    def test_rows_without_an_id_get_one(self, tmp_path: Path) -> None:
        rows = [
            [*HEADERS, *form.STATUS_HEADERS],
            [*answer_row(1), "CL-2024-001", "Sent", "2024-12-01"],
            answer_row(2),
        ]
        src = self.make(tmp_path, rows)
        src.write_back(_statuses(src.read()))
        after = self.grid()
        assert after[1][WIDTH] == "CL-2024-001"
        assert after[2][WIDTH] == "CL-2025-002"


def _statuses(snapshot: Snapshot) -> list[RowStatus]:
    return [
        RowStatus(row, row.cluster_id or f"CL-2025-{i:03d}", "Sent", "2025-01-31 02:00")
        for i, row in enumerate(snapshot.rows, start=1)
    ]


class TestFileSource(SourceContract):
    source_type = "file"

    def make(self, tmp_path: Path, rows: Rows) -> Source:
        self.path = tmp_path / "responses.csv"
        self._write(rows)
        return FileSource(
            self.path, FileSourceConfig(path=self.path, write_back=True), FormConfig()
        )

    def grid(self) -> Rows:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            return _trim([list(r) for r in csv.reader(handle)])

    def reverse_rows(self) -> None:
        rows = self.grid()
        self._write([rows[0], *reversed(rows[1:])])

    def _write(self, rows: Rows) -> None:
        with self.path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)


class TestXlsxSource(SourceContract):
    """An .xlsx export in tmp_path, as openpyxl writes it (inline strings, no styles)."""

    source_type = "file"

    def make(self, tmp_path: Path, rows: Rows) -> Source:
        self.path = tmp_path / "responses.xlsx"
        self._write(rows)
        return FileSource(
            self.path, FileSourceConfig(path=self.path, write_back=True), FormConfig()
        )

    def grid(self) -> Rows:
        sheet = openpyxl.load_workbook(self.path, data_only=True).active
        rows = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        return _trim(rows)

    def reverse_rows(self) -> None:
        rows = self.grid()
        self._write([rows[0], *reversed(rows[1:])])

    def _write(self, rows: Rows) -> None:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row or [None])
        book.save(self.path)


class TestGoogleSource(SourceContract):
    source_type = "google"

    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        with FakeSheets() as fake:
            self.fake = fake
            yield

    def make(self, tmp_path: Path, rows: Rows) -> Source:
        self.sheet: Sheet = load_sheet(self.fake, rows)
        return GoogleSource(settings(self.fake), FormConfig())

    def grid(self) -> Rows:
        return shown(self.sheet)

    def reverse_rows(self) -> None:
        self.sheet.cells[1:] = self.sheet.cells[:0:-1]


def _trim(rows: Rows) -> Rows:
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def test_every_registered_source_is_under_contract() -> None:
    # the configuration takes its choices from SOURCES (tests/test_backend_registry.py)
    tested = {case.source_type for case in SourceContract.__subclasses__()}
    assert set(SOURCES) == tested
    for name in SOURCES:  # each registered settings model is the one for its `type`
        model = plugins.settings_model(SOURCES, name)
        assert typing.get_args(model.model_fields["type"].annotation) == (name,)
