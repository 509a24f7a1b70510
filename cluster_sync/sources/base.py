"""The source interface and the header logic every backend shares.

A source hands the engine a `Snapshot` (rows keyed by question, found by header, never by
position) and takes back one `RowStatus` per row to show in the sheet. Backends write only the
owned columns (`owned_headers`: form.STATUS_HEADERS, and the optional ones a run has values
for), found again at write time, and find each registration's
row again at write time too (RowFinder), never by the position it was read at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from cluster_sync import form, text
from cluster_sync.config import FormConfig
from cluster_sync.errors import UserError

#: what tells who sent a response and when (SourceRow.fingerprint)
WHO = ("timestamp", "respondent_email", "contact_email")
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
    #: what the optional owned columns (form.OPTIONAL_HEADERS) hold, by header, as read
    more: Mapping[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """What identifies a response row when it has no Cluster ID yet."""
        stamp = self.values.get("timestamp")
        who = self.values.get("respondent_email") or self.values.get("contact_email") or ""
        return f"{text.fold(str(who))}|{stamp}"

    def slim(self) -> SourceRow:
        """The row as write-back needs it once it is handled: where it is, what its owned
        cells held and what finds it again (its fingerprint); its other answers are let go."""
        return replace(self, values={k: self.values[k] for k in WHO if k in self.values})


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
    """What to show in one row after a sync, one value per owned column."""

    row: SourceRow
    cluster_id: str | None  # None: leave the Cluster ID cell as it is (duplicates)
    status: str
    last_synced: str
    #: values for owned columns beyond these three, by header (form.STATUS_HEADERS lists the
    #: columns every sheet gets, form.OPTIONAL_HEADERS those added only once a run has a value
    #: for one, such as the Factsheet link); a column left out, or None, keeps what its cell holds
    more: Mapping[str, str | None] = field(default_factory=dict)

    def cells(self) -> dict[str, str | None]:
        """What to write in each owned column; None leaves that cell as it is."""
        known: dict[str, str | None] = {
            form.CLUSTER_ID: self.cluster_id,
            form.SYNC_STATUS: self.status,
            form.LAST_SYNCED: self.last_synced,
            **self.more,
        }
        return {name: known.get(name) for name in (*form.STATUS_HEADERS, *self.more)}

    @property
    def changed(self) -> bool:
        """Whether the sheet shows something else than this."""
        row = self.row
        return (
            self.status != row.sync_status
            or self.cluster_id != row.cluster_id
            or any(v is not None and v != row.more.get(n, "") for n, v in self.more.items())
        )


def owned_headers(statuses: Sequence[RowStatus]) -> tuple[str, ...]:
    """The owned columns a write-back of `statuses` writes: form.STATUS_HEADERS, and each further
    column (the Factsheet link) only once some status has a value for it, so a sheet that does
    not publish never grows one."""
    wanted = {n for st in statuses for n, v in st.more.items() if v is not None}
    optional = [n for n in form.OPTIONAL_HEADERS if n in wanted and n not in form.STATUS_HEADERS]
    return (*form.STATUS_HEADERS, *optional)


class Source(Protocol):
    description: str

    def read(self) -> Snapshot:
        """All response rows, with headers checked; raises SourceError / UserError."""
        ...

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        """Show statuses in the sheet; returns how many rows were updated. A source that
        cannot be written (a read-only export) returns 0."""
        ...


@runtime_checkable
class Digested(Protocol):
    """A source whose whole content has a digest: an export file, hashed as bytes. A night
    where it is what the last run left may skip reading it (cluster_sync/nochange.py)."""

    def content_digest(self) -> str | None:
        """The content as it is now, hashed; None when it cannot be read."""
        ...

    def left_digest(self) -> str | None:
        """The content as this object last read or wrote it, hashed; None when it was not read,
        or reading it gave warnings (which a run that skips the read would not repeat)."""
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
        wanted = {f.key: config.columns.get(f.key, f.header) for f in form.COLUMNS}
        _refuse_duplicates(headers, [*wanted.values(), *form.STATUS_HEADERS, form.APPROVED], where)
        fields: dict[str, int] = {}
        missing: list[str] = []
        for f in form.COLUMNS:
            position = index.get(text.fold(wanted[f.key]))
            if position is not None:
                fields[f.key] = position
            elif f.required:
                missing.append(f"“{wanted[f.key]}”")
        if missing:
            raise UserError(
                f"{where} lacks {len(missing)} required column(s): {', '.join(missing)}.",
                [f"found: {', '.join(repr(str(h)) for h in headers if str(h or '').strip())}"],
                hint="check the tab and the header row; a form worded differently is mapped in "
                "[form.columns] of the configuration (see docs/configuration.md).",
            )
        owned = (*form.STATUS_HEADERS, *form.OPTIONAL_HEADERS)
        status = {h: index[text.fold(h)] for h in owned if text.fold(h) in index}
        return cls(fields, status, index.get(text.fold(form.APPROVED)))

    def row(self, cells: Sequence[Any], row_number: int) -> SourceRow:
        def cell(i: int | None) -> Any:
            return cells[i] if i is not None and i < len(cells) else None

        # The one place a partner's text enters: cleaned here, safe everywhere downstream.
        count = len(cells)  # a sheet's trailing empty cells may be left out of a row
        values = {
            key: text.safe_value(cells[i] if i < count else None) for key, i in self.fields.items()
        }
        cid = cell(self.status.get(form.CLUSTER_ID))
        status = cell(self.status.get(form.SYNC_STATUS))
        return SourceRow(
            row_number=row_number,
            values=values,
            cluster_id=normalise_cluster_id(cid),
            approved=form.is_ticked(cell(self.approved)),
            sync_status=text.safe(str(status or "")),
            more={
                h: text.safe(str(cell(self.status[h]) or ""))
                for h in form.OPTIONAL_HEADERS
                if h in self.status
            },
        )


def column_index(letters: str) -> int:
    """The 0-based index of a spreadsheet column name: A -> 0, AA -> 26."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def column_letter(index: int) -> str:
    """The spreadsheet's name of a 0-based column: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _refuse_duplicates(headers: Sequence[Any], used: Sequence[str], where: str) -> None:
    """A header cluster-sync reads or writes that appears twice (a form question deleted and
    created again adds a second column with the same title) is refused: reading either copy
    could make every row look empty and mail every submitter, and nothing says which one is
    right. A person deletes or renames one copy, and the next run goes ahead."""
    wanted = {text.fold(h) for h in used}
    columns: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        key = text.fold(str(header or ""))
        if key in wanted:
            columns.setdefault(key, []).append(i)
    repeated = [
        f"“{text.one_line(str(headers[found[0]]), 80)}” is in columns "
        + " and ".join(column_letter(i) for i in found)
        for found in columns.values()
        if len(found) > 1
    ]
    if repeated:
        raise UserError(
            f"{where} has {len(repeated)} column header(s) twice; nothing was read or sent:",
            repeated,
            hint="this happens when a form question is deleted and created again: delete the "
            "column that holds the old answers, or rename it (for example add “(old)”), then run "
            "the sync again.",
        )


@dataclass
class Assignment:
    """Which data row (0 = the sheet's row 2) each status belongs to, and what could not be
    placed: `unsure` (more than one row fits) and `missing` (no row fits any more)."""

    rows: dict[int, RowStatus] = field(default_factory=dict)
    unsure: list[RowStatus] = field(default_factory=list)
    missing: list[RowStatus] = field(default_factory=list)


class RowFinder:
    """Finds a registration's row in the sheet as it stands now. A row is known by its Timestamp
    and submitter (what the form wrote, which moves with the row when rows are sorted) and told
    apart from an identical one by its Cluster ID. Positions are never trusted on their own."""

    def __init__(
        self, grid: Sequence[Sequence[Any]], owned: Mapping[str, int], config: FormConfig
    ) -> None:
        self.owned = dict(owned)
        headers = [str(h or "").strip() for h in (grid[0] if grid else [])]
        layout = HeaderMap.build(headers, config, "the sheet")
        self.rows = [list(r) for r in grid[1:]]
        read = [layout.row(cells, i + 2) for i, cells in enumerate(self.rows)]
        self.prints = [row.fingerprint for row in read]
        #: rows that are no response (no Timestamp, no submitter): inserted blank, say
        self.nobody = [not any(str(row.values.get(k) or "").strip() for k in WHO) for row in read]
        id_col = self.owned.get(form.CLUSTER_ID)
        self.ids = [
            normalise_cluster_id(self.cell(i, id_col)) if id_col is not None else None
            for i in range(len(self.rows))
        ]
        self._others: set[str] = set()  # set by assign()
        self._ids_before: dict[str, str | None] = {}
        self.by_print: dict[str, list[int]] = {}
        for i, fingerprint in enumerate(self.prints):
            self.by_print.setdefault(fingerprint, []).append(i)

    def cell(self, index: int, col: int | None) -> str:
        cells = self.rows[index]
        value = cells[col] if col is not None and col < len(cells) else ""
        return "" if value is None else str(value)

    def owned_values(self, index: int) -> dict[str, str]:
        return {name: self.cell(index, col) for name, col in self.owned.items()}

    def assign(
        self,
        statuses: Sequence[RowStatus],
        written_ids: set[str],
        before: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Assignment:
        """`written_ids`: Cluster IDs this run has already written; such an ID may sit on the
        wrong row after a race, so it never identifies a row on its own. `before`: owned cells
        by fingerprint, as this run first saw them."""
        found = Assignment()
        claims: dict[int, list[RowStatus]] = {}
        self._others = {st.row.fingerprint for st in statuses}
        self._ids_before = {
            p: normalise_cluster_id(v.get(form.CLUSTER_ID)) for p, v in (before or {}).items()
        }
        for st in statuses:
            where = self._locate(st, written_ids)
            if where is None:
                found.missing.append(st)
            elif where < 0:
                found.unsure.append(st)
            else:
                claims.setdefault(where, []).append(st)
        for index, claimants in claims.items():
            if len(claimants) == 1:
                found.rows[index] = claimants[0]
            else:
                found.unsure.extend(claimants)
        return found

    def _elses(self, index: int, st: RowStatus) -> bool:
        """Whether row `index` is known as another registration's than `st`'s: its fingerprint
        is another status's, or was seen earlier in this run with another Cluster ID."""
        fingerprint = self.prints[index]
        if fingerprint == st.row.fingerprint:
            return False
        if fingerprint in self._others:
            return True
        seen = self._ids_before
        return fingerprint in seen and seen[fingerprint] != st.row.cluster_id

    def changes(
        self,
        found: Assignment,
        before: Mapping[str, Mapping[str, str]],
        written: Mapping[str, set[str]],
    ) -> dict[str, dict[int, str]]:
        """The owned cells to change, by column and row, to make the sheet show `found`: each
        placed status in its own row, and what this run wrote into a row it was not meant for
        (a race) undone where that is certain (see _undo)."""
        out: dict[str, dict[int, str]] = {}
        placed = {st.cluster_id: i for i, st in found.rows.items() if st.cluster_id}
        for index in range(len(self.rows)):
            st = found.rows.get(index)
            wanted = st.cells() if st else {}
            now = self.owned_values(index)
            for name in self.owned:
                value = wanted.get(name)
                if value is None and now[name] and now[name] in written.get(name, ()):
                    value = self._undo(index, name, now[name], before, placed)
                if value is not None and value != now[name]:
                    out.setdefault(name, {})[index] = value
        return out

    def _undo(
        self,
        index: int,
        name: str,
        value: str,
        before: Mapping[str, Mapping[str, str]],
        placed: Mapping[str, int],
    ) -> str | None:
        """What a cell this run wrote should hold, in a row no status is placed on: what the
        row held before (known by its fingerprint), nothing in a row that is no response (a
        row inserted meanwhile), and nothing for a Cluster ID whose registration is placed on
        another row. Otherwise (a response that cannot be identified now) it is left alone:
        None."""
        fingerprint = self.prints[index]
        if fingerprint in before and len(self.by_print[fingerprint]) == 1:
            return str(before[fingerprint].get(name, ""))
        if self.nobody[index]:
            return ""
        if name == form.CLUSTER_ID and placed.get(value, index) != index:
            return ""
        return None

    def owned_by_print(self) -> dict[str, dict[str, str]]:
        """Owned cells of every row that its fingerprint alone identifies."""
        return {
            fingerprint: self.owned_values(rows[0])
            for fingerprint, rows in self.by_print.items()
            if len(rows) == 1
        }

    def _locate(self, st: RowStatus, written_ids: set[str]) -> int | None:
        """The row's index, None when no row fits, -1 when more than one does."""
        before = st.row.cluster_id
        allowed = {before, st.cluster_id} if before else {None, st.cluster_id}
        fits = [i for i in self.by_print.get(st.row.fingerprint, []) if self.ids[i] in allowed]
        if len(fits) > 1 and before:
            fits = [i for i in fits if self.ids[i] == before] or fits
        if len(fits) > 1:
            # Rows alike in Timestamp, submitter and ID are copies of one response: the one
            # where it was read is as right as any other.
            at = st.row.row_number - 2
            fits = [at] if at in fits else fits
        if not fits and before and before not in written_ids:
            # The Timestamp changes when the partner edits the response: its ID still holds,
            # unless the row holding it is known as another registration's (IDs moved off
            # their rows: a sort of the form's columns only, say).
            fits = [i for i, cid in enumerate(self.ids) if cid == before and not self._elses(i, st)]
        if len(fits) > 1:
            return -1
        return fits[0] if fits else None
