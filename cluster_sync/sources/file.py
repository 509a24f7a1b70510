"""A local export of the responses sheet: CSV or XLSX, as Google Sheets or Excel write them.

The export is the secretariat's file: write-back edits only the status cells (found by header
again at write time), never follows a link, never writes a read-only file, and never replaces a
version someone saved while the sync ran. The formats themselves are in csv_export.py and
xlsx_export.py; this module reads either, places the statuses and does the writing.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cluster_sync import form, text
from cluster_sync.config import Config, FormConfig
from cluster_sync.errors import ExportError, SourceError
from cluster_sync.files import (
    ChangedMeanwhile,
    atomic_write,
    digest,
    file_digest,
    replace_if_unchanged,
)
from cluster_sync.sources import csv_export
from cluster_sync.sources.base import (
    WHO,
    HeaderMap,
    RowStatus,
    Snapshot,
    normalise_cluster_id,
    owned_headers,
)
from cluster_sync.sources.file_settings import FileSourceConfig

log = logging.getLogger(__name__)

#: How often write-back starts again when the export changes under it.
ATTEMPTS = 3
Cells = dict[tuple[int, int], str]  # (sheet row number, column index) -> text


class Export(Protocol):
    """What csv_export and xlsx_export give: the header row, the data rows that could be read
    (sheet row number, cells), and how to write cells into the file's own bytes."""

    @property
    def headers(self) -> list[str]: ...
    @property
    def rows(self) -> Sequence[tuple[int, Sequence[Any]]]: ...
    @property
    def used_width(self) -> int: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def unreadable(self) -> dict[int, str]: ...

    def pieces(self, cells: Cells) -> tuple[Iterable[bytes | memoryview] | None, dict[int, str]]:
        """The new file as pieces to write one after the other (None: nothing to write), and
        the rows withheld (row number -> why)."""
        ...


class FileSource:
    def __init__(self, path: Path, settings: FileSourceConfig, form: FormConfig) -> None:
        self.path = path
        self.settings = settings
        self.form = form
        self.description = f"the export {path}"
        self._read_digest: str | None = None
        self._warned = False  # the last read logged warnings
        if path.suffix.lower() not in (".csv", ".xlsx"):
            raise ExportError(
                f"{path} is neither a .csv nor an .xlsx file.",
                hint="download the responses sheet with File > Download > CSV or Microsoft Excel.",
            )

    @classmethod
    def from_config(cls, config: Config) -> FileSource:
        settings = config.source
        assert isinstance(settings, FileSourceConfig)
        return cls(config.path(settings.path), settings, config.form)

    @property
    def is_xlsx(self) -> bool:
        return self.path.suffix.lower() == ".xlsx"

    @property
    def sidecar(self) -> Path:
        """Where statuses that cannot go into a workbook are written instead."""
        return self.path.with_name(f"{self.path.stem}.status.csv")

    def read(self) -> Snapshot:
        data = self._bytes()
        self._read_digest = digest(data)
        export = self._parse(data)
        self._warned = bool(export.warnings)
        for warning in export.warnings:
            log.warning("%s", warning)
        columns = HeaderMap.build(export.headers, self.form, str(self.path))
        rows = [columns.row(cells, number) for number, cells in export.rows]
        return Snapshot(
            rows=rows,
            headers=export.headers,
            description=self.description,
            unreadable=export.unreadable,
        )

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        if not self.settings.write_back or not statuses:
            return 0
        self._check_writable()
        for _ in range(ATTEMPTS):
            made_from, plan, new, withheld = self._patched(statuses)
            try:
                if new is not None:
                    replace_if_unchanged(self.path, new, made_from)
            except ChangedMeanwhile:
                log.warning("%s was saved by someone else while writing; starting over", self.path)
                continue
            except OSError as exc:
                raise SourceError(
                    f"Could not write the statuses into {self.path}: {exc.strerror or exc}.",
                    hint="check that the file and its folder are writable and not open "
                    "elsewhere; outputs and emails are safe, and the next sync writes the "
                    "statuses.",
                ) from None
            self._read_digest = digest(new) if new is not None else made_from
            self._report_withheld(plan, withheld)
            return len(plan.rows - set(withheld))
        raise SourceError(
            f"{self.path} kept changing while the statuses were being written; nothing was "
            "written, so no one's edit is lost.",
            hint="close the file in other programs (or wait for the copy to finish) and run "
            "the sync again: it writes the statuses then.",
        )

    def _patched(
        self, statuses: Sequence[RowStatus]
    ) -> tuple[str, StatusPlan, Iterable[bytes | memoryview] | None, dict[int, str]]:
        """The export read again (rows and columns are found at write time): its digest, the
        plan, its new content (None: nothing changes) and the rows withheld. The parsed
        export (its records, and a text of the file unless it was parsed as bytes) is let go
        on return, before the new content is written; the new content is pieces (views of
        the bytes read and the new cells), so the file is never held twice."""
        data = self._bytes()
        made_from = digest(data)
        if self._read_digest not in (None, made_from):
            log.warning(
                "%s changed since it was read; the statuses are placed on the new content "
                "by Cluster ID, or Timestamp and submitter, and nothing else is touched",
                self.path,
            )
        export = self._parse(data, keep=_written_columns(self.form))
        plan = plan_statuses(export, statuses, self.form)
        new, withheld = export.pieces(plan.cells) if plan.cells else (None, {})
        return made_from, plan, new, withheld

    def content_digest(self) -> str | None:
        """The file's bytes hashed as `read` hashes them, streamed (no parse, no copy)."""
        try:
            return file_digest(self.path)
        except OSError:
            return None  # the run that reads it says why

    def left_digest(self) -> str | None:
        return None if self._warned else self._read_digest

    # -- helpers ------------------------------------------------------------------------------

    def _parse(self, data: bytes, keep: csv_export.Keep | None = None) -> Export:
        """`keep`: the columns a CSV's data rows need (write-back); an XLSX is read as a
        stream of the cells that hold something, and keeps them all."""
        if self.is_xlsx:
            # openpyxl takes a fifth of a second to import: only when a workbook is read
            from cluster_sync.sources import xlsx_export

            return xlsx_export.parse(data, self.settings.worksheet, str(self.path))
        if not data.strip():
            raise ExportError(
                f"{self.path} is empty: not even a header row.",
                hint="download the responses sheet again.",
            )
        known = [*(f.header for f in form.COLUMNS), *self.form.columns.values()]
        owned = [*form.STATUS_HEADERS, *form.OPTIONAL_HEADERS]
        headers = [*known, *owned, form.APPROVED]
        return csv_export.parse(data, headers, str(self.path), keep, bytewise=keep is not None)

    def _bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise ExportError(
                f"The responses export {self.path} does not exist.",
                hint="check source.path in the configuration (a relative path is taken from "
                "the configuration file's folder).",
            ) from None
        except IsADirectoryError:
            raise ExportError(
                f"{self.path} is a folder, not a responses export.",
                hint="set source.path to the .csv or .xlsx file itself.",
            ) from None
        except OSError as exc:
            raise ExportError(
                f"The responses export {self.path} cannot be read: {exc.strerror or exc}.",
                hint="check the file's permissions, or copy it somewhere this user can read.",
            ) from None

    def _check_writable(self) -> None:
        """Refuse, rather than silently replace, a file the rename would not write into."""
        try:
            info = os.lstat(self.path)
        except OSError:
            self._bytes()  # says plainly what is wrong with the path
            raise
        reason = None
        if stat.S_ISLNK(info.st_mode):
            reason = f"it is a symbolic link to {os.readlink(self.path)}"
        elif info.st_nlink > 1:
            reason = "it has other hard links, which would keep the old content"
        elif not info.st_mode & stat.S_IWUSR or not os.access(self.path, os.W_OK):
            reason = "it is read-only"
        if reason:
            raise SourceError(
                f"The statuses were not written into {self.path}: {reason}. The export was "
                "read as usual and nothing in it was changed.",
                hint="point source.path at a writable copy of the export, or set "
                "write_back = false in [source].",
            )

    def _remove_old_sidecar(self) -> None:
        """Statuses once written beside the workbook are out of date once all are inside;
        only a file that cluster-sync wrote (by its header) is removed."""
        try:
            with self.sidecar.open("rb") as handle:
                ours = handle.read(len(_SIDECAR_HEAD)) == _SIDECAR_HEAD
        except OSError:
            return
        if ours:
            self.sidecar.unlink(missing_ok=True)

    def _report_withheld(self, plan: StatusPlan, withheld: dict[int, str]) -> None:
        if not withheld:
            self._remove_old_sidecar()
            return
        atomic_write(self.sidecar, _sidecar_csv(plan, withheld))
        rows = sorted(withheld)
        reasons = "; ".join(f"row {row}: {withheld[row]}" for row in rows[:5])
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        written = len(plan.rows - set(withheld))
        message = (
            f"The statuses of {len(rows)} row(s) were not written into {self.path}, because "
            f"writing them could damage the workbook: {reasons}{more}. They are in "
            f"{self.sidecar} instead; {written} other row(s) were written."
        )
        log.warning("%s", message)
        raise SourceError(
            message,
            hint="unmerge those cells or move the formulas out of the status columns, and run "
            "the sync again: it writes the statuses then.",
        )


def _written_columns(config: FormConfig) -> csv_export.Keep:
    """What plan_statuses reads of a data row: the owned columns, and those that find a row
    again without its Cluster ID (SourceRow.fingerprint), found by header as HeaderMap does."""
    names = [*form.STATUS_HEADERS, *form.OPTIONAL_HEADERS]
    names += [config.columns.get(key, form.FIELDS_BY_KEY[key].header) for key in WHO]
    wanted = {text.fold(name) for name in names}

    def keep(headers: list[str]) -> set[int]:
        return {i for i, header in enumerate(headers) if text.fold(header) in wanted}

    return keep


@dataclass
class StatusPlan:
    cells: Cells  # only the cells whose text changes
    wanted: dict[int, dict[str, str]]  # row number -> owned header -> text
    names: tuple[str, ...] = form.STATUS_HEADERS  # the owned columns written (owned_headers)

    @property
    def rows(self) -> set[int]:
        """The rows in which something changes."""
        return {row for row, _ in self.cells if row > 1}


def plan_statuses(export: Export, statuses: Sequence[RowStatus], config: FormConfig) -> StatusPlan:
    """The cells to write: status columns found by header, missing ones appended right of the
    last column anything is in (so no cell beyond the header row is ever taken); rows found by
    Cluster ID, else by Timestamp and submitter, each row at most once; unchanged cells left."""
    current = HeaderMap.build(export.headers, config, "the export")
    cells: Cells = {}
    columns: dict[str, int] = {}
    free_column = max(export.used_width, len(export.headers))
    owned = owned_headers(statuses)  # the Factsheet column only once there is a link
    for name in owned:
        if name in current.status:
            columns[name] = current.status[name]
        else:
            columns[name] = free_column
            cells[(1, free_column)] = name
            free_column += 1
    finder = _RowFinder(current, export.rows, columns[form.CLUSTER_ID])
    wanted: dict[int, dict[str, str]] = {}
    for st in statuses:
        number = finder.locate(st)
        if number is None:
            log.info(
                "row %s is no longer in the export: its status is not written", st.row.row_number
            )
            continue
        row = wanted[number] = {n: v for n, v in st.cells().items() if v is not None}
        for name, value in row.items():
            if finder.value(number, columns[name]) != value:
                cells[(number, columns[name])] = value
    return StatusPlan(cells, wanted, owned)


class _RowFinder:
    """Rows are matched by Cluster ID; a row read without one is found again by its Timestamp
    and submitter (its read position first), so sorting between read and write is safe."""

    def __init__(
        self, columns: HeaderMap, rows: Sequence[tuple[int, Sequence[Any]]], id_col: int
    ) -> None:
        self.cells = dict(rows)
        self.prints = {n: columns.row(cells, n).fingerprint for n, cells in rows}
        self.by_id: dict[str, list[int]] = {}
        self.by_print: dict[str, list[int]] = {}
        for n in self.cells:
            cid = normalise_cluster_id(self.value(n, id_col))
            if cid:
                self.by_id.setdefault(cid, []).append(n)
            else:  # no ID yet (anything else in the cell is not one: the column is ours)
                self.by_print.setdefault(self.prints[n], []).append(n)
        self.taken: set[int] = set()

    def value(self, number: int, col: int) -> Any:
        cells = self.cells.get(number, [])
        return cells[col] if col < len(cells) else None

    def locate(self, st: RowStatus) -> int | None:
        fingerprint = st.row.fingerprint
        if st.row.cluster_id:
            # A row copied with its ID makes two rows with one ID: tell them apart by content.
            candidates = self.by_id.get(st.row.cluster_id, [])
            matching = [n for n in candidates if self.prints[n] == fingerprint]
            found = (matching or candidates)[0] if candidates else None
        else:
            same = [n for n in self.by_print.get(fingerprint, []) if n not in self.taken]
            found = st.row.row_number if st.row.row_number in same else next(iter(same), None)
        if found is not None:
            self.taken.add(found)
        return found


_SIDECAR_WHY = "Why it is not in the workbook"
#: how a sidecar this program wrote begins, whichever owned columns it has
_SIDECAR_HEAD = ("\ufeff" + ",".join(["Row", *form.STATUS_HEADERS]) + ",").encode("utf-8")


def _sidecar_csv(plan: StatusPlan, withheld: dict[int, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Row", *plan.names, _SIDECAR_WHY])
    for row in sorted(withheld):
        values = [plan.wanted.get(row, {}).get(name, "") for name in plan.names]
        writer.writerow([row, *values, withheld[row]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
