"""Writing the statuses into the Google Sheet while people may be editing it.

People insert, delete and move columns, sort rows, insert and delete rows and rename headers at
any moment, also in the seconds between our read and our write, or while a write waits out a
429. So nothing here trusts a position computed earlier:

- **Columns are found by Google, at write time.** Each owned column (form.STATUS_HEADERS) carries
  a developer-metadata tag (key OWNED_KEY, value = its header) on its COLUMN dimension. Google
  keeps such a tag on its column when columns are inserted, deleted or moved, and deletes it
  with its column. Values are written with values:batchUpdateByDataFilter, located by the tag's
  metadataId, so a column moved after our read cannot turn our write into a write over the
  partner's column next to it: Google resolves the tag when it applies the write.
- **A column is ours only if its tag and its header agree**, in one consistent read
  (values:batchGetByDataFilter returns the tab and the tagged columns together). A tag on a
  column headed otherwise (renamed, or a tag created on the wrong column by a race) is deleted,
  never written through; the column whose header is ours is tagged instead, and checked again
  on the next read before anything is written into it.
- **Rows are found again in every round** (RowFinder: Timestamp and submitter, told apart by
  Cluster ID), from a read made just before that round's write. Rows can still move between
  that read and the write, so each write is followed by a verifying read: a status that landed
  on another registration's row is moved to its own row, and what it covered is put back to
  what that row held before this run (only ever in our own columns). Rounds repeat until a read
  shows every status on its row, at most a bounded number of times.
- **Every retry starts with a fresh read.** A failed write (429, 5xx, a timeout: it may or may
  not have landed) is never resent blindly: after the backoff wait the tab is read again and the
  write planned again from what it holds then.
- **Where it cannot be sure** (two rows alike, a row gone, two columns with our header, a sheet
  that keeps changing), those cells are not written and write_back raises SourceError, which the
  sync reports as "statuses not written back" (exit 3); the next run puts it right.

If the API refuses developer metadata (a server without it), the writer falls back to writing by
position, each write planned from a read just before it and checked by the read after it; a
header row that changed in between is reported, since a column moved in that instant may have
received statuses. The log says when this fallback is used.

API calls of a write-back with no edits racing it: 1 developerMetadata:search, 1
values:batchGetByDataFilter, 1 values:batchUpdateByDataFilter, 1 verifying
values:batchGetByDataFilter. The first time, or after a column was renamed or deleted, 1
spreadsheets:batchUpdate (tags, and room on the right) and 1 more read. Each race or failed
write costs one more read and write. None of this grows with the number of rows.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import requests
from google.auth.exceptions import TransportError
from gspread.exceptions import APIError
from gspread.utils import rowcol_to_a1

from cluster_sync import form, text
from cluster_sync.config import FormConfig
from cluster_sync.errors import SourceError, UserError
from cluster_sync.sources.base import Assignment, RowFinder, RowStatus
from cluster_sync.sources.google_tags import OWNED_KEY, ColumnTags, View, columns_of

log = logging.getLogger(__name__)

GOOGLE_API = "https://sheets.googleapis.com"
#: the longest single wait between two tries, as Google's backoff guidance suggests
MAX_WAIT_SECONDS = 32.0
#: rounds beyond the retries: tagging, the write, the verifying read, one repair
EXTRA_ROUNDS = 4
_UNSUPPORTED = (400, 404, 405, 501)
_NETWORK = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    TransportError,
)

Json = dict[str, Any]
Guard = Callable[[str, str], AbstractContextManager[None]]


def transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


class StatusWriter:
    """One write-back: rounds of read, plan, write, until a read shows every status in place."""

    def __init__(
        self,
        client: Any,
        key: str,
        sheet_id: int,
        title: str,
        form_config: FormConfig,
        where: str,
        guard: Guard,
        *,
        tries: int,
        sleep: Callable[[float], None],
        grid_width: int,
    ) -> None:
        self.client = client
        self.key = key
        self.sheet_id = sheet_id
        self.quoted = "'" + title.replace("'", "''") + "'"
        self.form = form_config
        self.where = where
        self.guard = guard
        self.tries = tries
        self.sleep = sleep
        self.width = grid_width
        self.tags = ColumnTags(sheet_id, where)
        self.by_tags = True
        self.written: dict[str, set[str]] = {}
        self.before: dict[str, dict[str, str]] | None = None
        self.layout: list[str] | None = None  # header row a write by position relied on
        self.wrote_to: list[int] = []  # the columns it wrote into

    # -- the rounds -------------------------------------------------------------------------

    def write(self, statuses: Sequence[RowStatus]) -> int:
        self._find_tags()
        failures = 0
        last: Assignment | None = None
        for _ in range(self.tries + EXTRA_ROUNDS):
            view = self._read()
            self._check_layout(view)
            owned, fixes = self.tags.resolve(view, self.by_tags)
            if fixes:
                self._fix_tags(fixes)
                continue
            found, changes, headers = self._plan(view, owned, statuses)
            last = found
            if not changes and not headers:
                return self._finish(found)
            outcome = self._send(owned, changes, headers)
            if outcome is None:
                failures += 1
                if failures >= self.tries:
                    break
                self._wait(failures)
                continue
            for name, cells in changes.items():
                self.written.setdefault(name, set()).update(v for v in cells.values() if v)
            self.layout = None if self.by_tags else _after_write(view.headers, owned, headers)
            self.wrote_to = sorted(owned[n] for n in set(changes) | headers)
        placed = "" if last is None else f" ({len(last.rows)} of {len(statuses)} rows placed)"
        ids = form.CLUSTER_ID in self.written
        raise SourceError(
            f"{self.where} kept changing while the statuses were written, or Google kept "
            f"failing ({failures} failed writes); some statuses may be missing or out of "
            f"date{placed}"
            + (
                f", and a {form.CLUSTER_ID} written in the last try may sit on another row."
                if ids
                else "."
            ),
            hint="run the sync again (best when nobody is editing the sheet); it puts the "
            "statuses right"
            + (
                f". Before that, check the {form.CLUSTER_ID} of recently added rows against "
                "their titles (`cluster-sync status` lists every ID with its title)."
                if ids
                else "."
            ),
        )

    def _done(self) -> str:
        """What an error message says was written before it."""
        if not self.written:
            return "No status was written."
        return (
            "Statuses were written, but not yet checked; the next run checks them and puts any "
            "misplaced one right."
        )

    def _plan(
        self, view: View, owned: dict[str, int], statuses: Sequence[RowStatus]
    ) -> tuple[Assignment, dict[str, dict[int, str]], set[str]]:
        try:
            finder = RowFinder(view.grid, owned, self.form)
        except UserError as exc:
            raise SourceError(
                f"The header row of {self.where} changed while the sync was running "
                f"({exc.message}), so its rows cannot be told apart. {self._done()}",
                hint="run the sync again: it reads the new layout and writes the statuses then.",
            ) from None
        if self.before is None:
            self.before = finder.owned_by_print()
        found = finder.assign(statuses, self.written.get(form.CLUSTER_ID, set()), self.before)
        changes = finder.changes(found, self.before, self.written)
        headers = {n for n, c in owned.items() if c >= len(view.headers) or not view.headers[c]}
        return found, changes, headers

    def _finish(self, found: Assignment) -> int:
        trouble = list(self.tags.problems)
        if found.unsure:
            rows = ", ".join(str(st.row.row_number) for st in found.unsure[:10])
            trouble.append(
                f"{len(found.unsure)} status(es) not written because more than one row "
                f"looks like the registration (rows read as {rows})"
            )
        if found.missing:
            rows = ", ".join(str(st.row.row_number) for st in found.missing[:10])
            trouble.append(
                f"{len(found.missing)} registration(s) no longer found in the sheet (rows read "
                f"as {rows}: deleted, or edited while the sync ran)"
            )
        if trouble:
            raise SourceError(
                f"Not every status could be written back to {self.where}: "
                + "; ".join(trouble)
                + f". The other {len(found.rows)} are in place.",
                hint="nothing was written for those rows; the next run writes them once the "
                "sheet is settled (rename or delete a duplicated status column if one is named).",
            )
        return len(found.rows)

    def _check_layout(self, view: View) -> None:
        """Written by position: had a column moved at that instant, a status may have landed
        in the wrong column. Say so rather than carry on as if all were well."""
        if self.layout is None or _trimmed(view.headers) == _trimmed(self.layout):
            return
        letters = ", ".join(rowcol_to_a1(1, c + 1)[:-1] for c in self.wrote_to)
        raise SourceError(
            f"The columns of {self.where} changed at the moment the statuses were written. "
            "This Sheets API offers no column tags, so they were written by position, into "
            f"the columns that were then {letters}: check those cells for statuses that "
            "landed in another column.",
            hint="undo such values (File › Version history shows them), then run the sync "
            "again; it writes the statuses into the right columns.",
        )

    def _wait(self, failures: int) -> None:
        wait = min(2 ** (failures - 1) + random.random(), MAX_WAIT_SECONDS)
        log.warning(
            "Google Sheets: the status write failed; reading the sheet again in %.1f s before "
            "trying again (try %d of %d)",
            wait,
            failures + 1,
            self.tries,
        )
        self.sleep(wait)

    # -- Google calls -----------------------------------------------------------------------

    def _fix_tags(self, fixes: list[Json]) -> None:
        try:
            answer = self._batch_update(fixes, "tagging the status columns")
        except _Unsupported:
            self._fall_back("createDeveloperMetadata")
            return
        created = sum("createDeveloperMetadata" in f for f in fixes)
        if self.tags.absorb(answer) < created:
            self._find_tags(fresh=True)  # an answer that does not show the new tags

    def _url(self, suffix: str) -> str:
        return f"{GOOGLE_API}/v4/spreadsheets/{self.key}{suffix}"

    def _post(self, suffix: str, body: Json, doing: str) -> Json:
        with self.guard(doing, self._done()):
            try:
                return dict(self.client.request("post", self._url(suffix), json=body).json())
            except APIError as err:
                if err.response.status_code in _UNSUPPORTED and self.by_tags:
                    raise _Unsupported(str(err)) from None
                raise

    def _batch_update(self, requests_: list[Json], doing: str) -> Json:
        return self._post(":batchUpdate", {"requests": requests_}, doing)

    def _find_tags(self, fresh: bool = False) -> None:
        lookup = {"developerMetadataLookup": {"metadataKey": OWNED_KEY}}
        try:
            answer = self._post(
                "/developerMetadata:search", {"dataFilters": [lookup]}, "reading tags"
            )
        except _Unsupported:
            self._fall_back("developerMetadata:search")
            return
        self.tags.load(answer, fresh)

    def _fall_back(self, what: str) -> None:
        log.warning(
            "%s: the Sheets API refused %s (developer metadata); statuses are written by "
            "position, each write checked by a read just before and after it",
            self.where,
            what,
        )
        self.by_tags = False

    def _read(self) -> View:
        options = {
            "majorDimension": "ROWS",
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
        }
        if self.by_tags:
            filters: list[Json] = [{"a1Range": self.quoted}]
            filters += self.tags.lookups()
            try:
                answer = self._post(
                    "/values:batchGetByDataFilter",
                    {"dataFilters": filters, **options},
                    "reading the sheet before writing",
                )
            except _Unsupported:
                self._fall_back("values:batchGetByDataFilter")
            else:
                return self._view(answer)
        with self.guard("reading the sheet before writing", self._done()):
            answer = self.client.values_get(self.key, self.quoted, params=options)
        return self._view(
            {"valueRanges": [{"valueRange": answer, "dataFilters": [{"a1Range": 1}]}]}
        )

    def _view(self, answer: Json) -> View:
        view = View([])
        for match in answer.get("valueRanges", []):
            value_range = match.get("valueRange", {})
            span = columns_of(str(value_range.get("range", "")))
            for data_filter in match.get("dataFilters", []):
                if "a1Range" in data_filter:
                    view.grid = [list(r) for r in value_range.get("values", [])]
                    view.width = span[1] + 1 if span else self.width
                lookup = data_filter.get("developerMetadataLookup", {})
                if "metadataId" in lookup and span and span[0] == span[1]:
                    view.tagged.setdefault(int(lookup["metadataId"]), []).append(span[0])
        if not view.grid:
            raise SourceError(
                f"{self.where} is empty now: not even a header row; no more statuses were written."
            )
        self.width = view.width or self.width
        return view

    def _send(
        self, owned: dict[str, int], changes: dict[str, dict[int, str]], headers: set[str]
    ) -> Json | None:
        """One write, never retried as it is: None when it failed in a way worth a fresh try."""
        data = [
            self._column_data(name, owned[name], changes.get(name, {}), name in headers)
            for name in sorted(set(changes) | headers, key=form.STATUS_HEADERS.index)
        ]
        flat = [d for group in data for d in group]
        suffix = "/values:batchUpdateByDataFilter" if self.by_tags else "/values:batchUpdate"
        body = {"valueInputOption": "RAW", "data": flat}
        # What is not handled here becomes a plain-words error.
        with self.guard("writing the statuses back", self._done()):
            try:
                response = self.client.request("post", self._url(suffix), json=body, retry=False)
            except APIError as err:
                status = err.response.status_code
                if status in _UNSUPPORTED[1:] and self.by_tags:
                    self._fall_back("values:batchUpdateByDataFilter")
                    return None
                # 400: the tab changed under the write (rows deleted, say): read again.
                if not (transient(status) or status == 400):
                    raise
                log.warning("Google Sheets: the status write failed (%s)", err)
                return None
            except _NETWORK as err:
                # It may or may not have landed: the next read tells.
                log.warning("Google Sheets: the status write failed (%s)", type(err).__name__)
                return None
        return dict(response.json())

    def _column_data(self, name: str, col: int, cells: dict[int, str], header: bool) -> list[Json]:
        if self.by_tags:
            # One vector down the tagged column, from row 1; null cells are left as they are.
            size = max([-1, *cells]) + 2
            vector: list[str | None] = [None] * size
            if header:
                vector[0] = name
            for index, value in cells.items():
                vector[index + 1] = value
            return [
                {
                    "dataFilter": self.tags.lookup(name),
                    "majorDimension": "COLUMNS",
                    "values": [vector],
                }
            ]
        letter = rowcol_to_a1(1, col + 1)[:-1]
        data: list[Json] = []
        if header:
            data.append({"range": f"{self.quoted}!{letter}1", "values": [[name]]})
        for first, values in _runs(cells):
            last = first + len(values) - 1
            data.append(
                {
                    "range": f"{self.quoted}!{letter}{first + 2}:{letter}{last + 2}",
                    "majorDimension": "COLUMNS",
                    "values": [values],
                }
            )
        return data


class _Unsupported(Exception):
    """The API has no developer metadata (or no data-filter endpoints)."""


def _runs(cells: dict[int, str]) -> Iterator[tuple[int, list[str]]]:
    """Consecutive rows as (first row, values)."""
    run: list[int] = []
    for index in sorted(cells):
        if run and index != run[-1] + 1:
            yield run[0], [cells[i] for i in run]
            run = []
        run.append(index)
    if run:
        yield run[0], [cells[i] for i in run]


def _after_write(headers: list[str], owned: dict[str, int], written: set[str]) -> list[str]:
    """The header row as it is once the headers in `written` are in their columns."""
    out = list(headers)
    for name in written:
        out.extend([""] * (owned[name] + 1 - len(out)))
        out[owned[name]] = text.fold(name)
    return out


def _trimmed(headers: list[str]) -> list[str]:
    out = list(headers)
    while out and not out[-1]:
        out.pop()
    return out
