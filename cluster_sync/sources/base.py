"""The source interface and the header logic every backend shares.

A source hands the engine a `Snapshot` (rows keyed by question, found by header, never by
position) and takes back one `RowStatus` per row to show in the sheet. Backends write only the
three status columns, and find them by header again at write time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cluster_sync import form, text
from cluster_sync.config import FormConfig
from cluster_sync.errors import SourceError, UserError

_CLUSTER_ID = re.compile(r"^\s*([A-Za-z]{1,6})\s*-\s*(\d{4})\s*-\s*(\d{1,5})\s*$")


def normalise_cluster_id(value: Any) -> str | None:
    """A Cluster ID as cluster-sync writes it (CL-2025-007), also when retyped by hand as
    "cl-2025-7"; None for anything that is not one (a stray note, a runaway number)."""
    m = _CLUSTER_ID.match(text.clean_line(str(value or "")))
    if not m:
        return None
    return f"{m[1].upper()}-{m[2]}-{int(m[3]):03d}"


@dataclass(frozen=True)
class SourceRow:
    row_number: int  # 1-based, as the sheet shows it; only for messages and write-back at read time
    values: dict[str, Any]  # question key -> cell value as read (str, int, float, bool, datetime)
    cluster_id: str | None = None
    approved: bool = False
    sync_status: str = ""

    @property
    def fingerprint(self) -> str:
        """What identifies a response row when it has no Cluster ID yet."""
        stamp = self.values.get("timestamp")
        who = self.values.get("respondent_email") or self.values.get("contact_email") or ""
        return f"{text.fold(str(who))}|{stamp}"


@dataclass
class Snapshot:
    rows: list[SourceRow]
    headers: list[str]
    #: the spreadsheet's own time zone, when the source knows it
    timezone: ZoneInfo | None = None
    description: str = ""
    #: rows the source could not read faithfully (row number -> why): reported, not processed
    unreadable: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowStatus:
    """What to show in one row after a sync."""

    row: SourceRow
    cluster_id: str | None  # None: leave the Cluster ID cell as it is (duplicates)
    status: str
    last_synced: str


class Source(Protocol):
    description: str

    def read(self) -> Snapshot:
        """All response rows, with headers checked; raises SourceError / UserError."""
        ...

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        """Show statuses in the sheet; returns how many rows were updated. A source that
        cannot be written (a read-only export) returns 0."""
        ...


@dataclass
class HeaderMap:
    """Where each question and status column is, found by header text."""

    fields: dict[str, int]
    status: dict[str, int] = field(default_factory=dict)
    approved: int | None = None

    @classmethod
    def build(cls, headers: Sequence[Any], config: FormConfig, where: str) -> HeaderMap:
        index: dict[str, int] = {}
        for i, header in enumerate(headers):
            index.setdefault(text.fold(str(header or "")), i)
        fields: dict[str, int] = {}
        missing: list[str] = []
        for f in form.FIELDS:
            wanted = config.columns.get(f.key, f.header)
            position = index.get(text.fold(wanted))
            if position is not None:
                fields[f.key] = position
            elif f.required:
                missing.append(f"“{wanted}”")
        if missing:
            raise UserError(
                f"{where} lacks {len(missing)} required column(s): {', '.join(missing)}.",
                [f"found: {', '.join(repr(str(h)) for h in headers if str(h or '').strip())}"],
                hint="check the tab and the header row; a form worded differently is mapped in "
                "[form.columns] of the configuration (see docs/configuration.md).",
            )
        status = {h: index[text.fold(h)] for h in form.STATUS_HEADERS if text.fold(h) in index}
        return cls(fields, status, index.get(text.fold(form.APPROVED)))

    def row(self, cells: Sequence[Any], row_number: int) -> SourceRow:
        def cell(i: int | None) -> Any:
            return cells[i] if i is not None and i < len(cells) else None

        values = {key: cell(i) for key, i in self.fields.items()}
        cid = cell(self.status.get(form.CLUSTER_ID))
        status = cell(self.status.get(form.SYNC_STATUS))
        return SourceRow(
            row_number=row_number,
            values=values,
            cluster_id=normalise_cluster_id(cid),
            approved=form.is_ticked(cell(self.approved)),
            sync_status=str(status or ""),
        )


def check_columns_unmoved(before: Sequence[Any], now: Sequence[Any], where: str) -> None:
    """Refuse to write when the header row changed since the read: a column inserted or moved
    could put a status into a partner's answer."""
    if [text.fold(str(h or "")) for h in before] != [text.fold(str(h or "")) for h in now]:
        raise SourceError(
            f"The header row of {where} changed while the sync was running (a column was "
            "inserted, moved or renamed); nothing was written back.",
            hint="run the sync again: it reads the new layout and writes the statuses then.",
        )


def status_cells(
    headers: list[Any],
    rows: Sequence[Sequence[Any]],
    statuses: Sequence[RowStatus],
    config: FormConfig,
) -> tuple[list[Any], list[tuple[int, int, str]]]:
    """Plan a write-back: the header row after missing status columns are appended on the
    right, and (row index, column index, value) triples that touch only status columns.
    `rows` are the data rows as they stand now (row 2 of the sheet is rows[0])."""
    current = HeaderMap.build(headers, config, "the sheet")
    prints = [current.row(cells, i + 2).fingerprint for i, cells in enumerate(rows)]
    headers = list(headers)
    folded = [text.fold(str(h or "")) for h in headers]
    columns: dict[str, int] = {}
    for name in form.STATUS_HEADERS:
        if text.fold(name) not in folded:
            headers.append(name)
            folded.append(text.fold(name))
        columns[name] = folded.index(text.fold(name))
    by_id = _rows_by_id(rows, columns[form.CLUSTER_ID])
    cells: list[tuple[int, int, str]] = []
    for st in statuses:
        index = _locate(st, rows, by_id, columns[form.CLUSTER_ID], prints)
        if index is None:
            continue
        if st.cluster_id:
            cells.append((index, columns[form.CLUSTER_ID], st.cluster_id))
        cells.append((index, columns[form.SYNC_STATUS], st.status))
        cells.append((index, columns[form.LAST_SYNCED], st.last_synced))
    return headers, cells


def _rows_by_id(rows: Sequence[Sequence[Any]], id_col: int) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, cells in enumerate(rows):
        value = normalise_cluster_id(cells[id_col]) if id_col < len(cells) else None
        if value:
            found.setdefault(value, []).append(i)
    return found


def _locate(
    st: RowStatus,
    rows: Sequence[Sequence[Any]],
    by_id: dict[str, list[int]],
    id_col: int,
    prints: list[str],
) -> int | None:
    """Rows are matched by Cluster ID; a row read without one is found again by its Timestamp
    and submitter (its read position first), so sorting between read and write is safe."""
    if st.row.cluster_id:
        # A row copied with its ID makes two rows with one ID: tell them apart by content.
        candidates = by_id.get(st.row.cluster_id, [])
        matching = [i for i in candidates if prints[i] == st.row.fingerprint]
        return (matching or candidates)[0] if candidates else None

    def free(i: int) -> bool:
        # no ID yet (anything else in the cell is not one, and the column is ours to write)
        cells = rows[i]
        return not (id_col < len(cells) and normalise_cluster_id(cells[id_col]))

    index = st.row.row_number - 2
    if 0 <= index < len(rows) and prints[index] == st.row.fingerprint and free(index):
        return index
    for i, fingerprint in enumerate(prints):
        if fingerprint == st.row.fingerprint and free(i):
            return i
    return None
