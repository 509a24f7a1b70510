"""A local export of the responses sheet: CSV or XLSX, as Google Sheets downloads them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cluster_sync.config import FileSourceConfig, FormConfig
from cluster_sync.errors import SourceError
from cluster_sync.files import atomic_write, current_mode
from cluster_sync.sources.base import HeaderMap, RowStatus, Snapshot, status_cells

Grid = list[list[Any]]


class FileSource:
    def __init__(self, path: Path, settings: FileSourceConfig, form: FormConfig) -> None:
        self.path = path
        self.settings = settings
        self.form = form
        self.description = f"the export {path}"
        if path.suffix.lower() not in (".csv", ".xlsx"):
            raise SourceError(
                f"{path} is neither a .csv nor an .xlsx file.",
                hint="download the responses sheet with File > Download > CSV or Microsoft Excel.",
            )

    @property
    def is_xlsx(self) -> bool:
        return self.path.suffix.lower() == ".xlsx"

    def read(self) -> Snapshot:
        grid = self._load()
        if not grid:
            raise SourceError(f"{self.path} is empty: not even a header row.")
        headers = [str(h or "").strip() for h in grid[0]]
        columns = HeaderMap.build(headers, self.form, str(self.path))
        rows = [columns.row(cells, number) for number, cells in enumerate(grid[1:], start=2)]
        return Snapshot(rows=rows, headers=headers, description=self.description)

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        if not self.settings.write_back or not statuses:
            return 0
        grid = self._load()  # read again: columns are found by header at write time
        headers, cells = status_cells(grid[0], grid[1:], statuses, self.form)
        try:
            self._write(grid, headers, cells)
        except OSError as exc:
            raise SourceError(
                f"Could not write the statuses into {self.path}: {exc.strerror or exc}.",
                hint="check that the file and its folder are writable and not open elsewhere; "
                "outputs and emails are safe, and the next sync writes the statuses.",
            ) from None
        return len({row for row, _, _ in cells})

    def _write(self, grid: Grid, headers: list[Any], cells: list[tuple[int, int, str]]) -> None:
        if self.is_xlsx:
            self._save_xlsx(headers, cells)
        else:
            grid[0] = headers
            for row, col, value in cells:
                line = grid[row + 1]
                line.extend([""] * (col + 1 - len(line)))
                line[col] = value
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(grid)
            # the export keeps its own mode: it is the secretariat's file, not ours
            atomic_write(self.path, buffer.getvalue().encode("utf-8"), mode=current_mode(self.path))

    def _load(self) -> Grid:
        try:
            return self._load_xlsx() if self.is_xlsx else self._load_csv()
        except FileNotFoundError:
            raise SourceError(
                f"The responses export {self.path} does not exist.",
                hint="check source.path in the configuration.",
            ) from None
        except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError) as exc:
            raise SourceError(f"Could not read {self.path}: {exc}") from None

    def _load_csv(self) -> Grid:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            return [list(row) for row in csv.reader(handle)]

    def _load_xlsx(self) -> Grid:
        import openpyxl

        book = openpyxl.load_workbook(self.path, data_only=True)
        return [list(row) for row in self._sheet(book).iter_rows(values_only=True)]

    def _sheet(self, book: Any) -> Any:
        return book[self.settings.worksheet] if self.settings.worksheet else book.worksheets[0]

    def _save_xlsx(self, headers: list[Any], cells: list[tuple[int, int, str]]) -> None:
        import openpyxl

        # Edit the workbook in place so formats and other tabs survive; only status cells change.
        book = openpyxl.load_workbook(self.path)
        sheet = self._sheet(book)
        for col, header in enumerate(headers, start=1):
            if sheet.cell(1, col).value in (None, ""):
                _set_text(sheet.cell(1, col), header)
        for row, col, value in cells:
            _set_text(sheet.cell(row + 2, col + 1), value)
        buffer = io.BytesIO()
        book.save(buffer)
        atomic_write(self.path, buffer.getvalue(), mode=current_mode(self.path))


def _set_text(cell: Any, value: str) -> None:
    """Text stays text: openpyxl would store "=…" as a formula that Excel then evaluates."""
    cell.value = value
    cell.data_type = "s"
