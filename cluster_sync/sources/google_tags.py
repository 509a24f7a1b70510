"""The owned columns of the Google Sheet and the developer-metadata tags that mark them (see
cluster_sync.sources.google_write for why)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from gspread.utils import rowcol_to_a1

from cluster_sync import form, text

log = logging.getLogger(__name__)

OWNED_KEY = "cluster-sync.owned-column"
_RANGE = re.compile(r"!\$?([A-Z]+)\$?\d*(?::\$?([A-Z]+)\$?\d*)?$")
Json = dict[str, Any]


def _column(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def columns_of(a1: str) -> tuple[int, int] | None:
    """First and last column index of an A1 range as Google answers it ('T'!D1:D1000)."""
    m = _RANGE.search(a1)
    if not m:
        return None
    first = _column(m[1])
    return first, _column(m[2]) if m[2] else first


@dataclass
class View:
    """The tab in one consistent read: its cells, the columns each tag is on now, its width."""

    grid: list[list[Any]]
    tagged: dict[int, list[int]] = field(default_factory=dict)
    width: int = 0

    @property
    def headers(self) -> list[str]:
        return [text.fold(str(h or "")) for h in (self.grid[0] if self.grid else [])]

    @property
    def content_width(self) -> int:
        return max([0, *(len(r) for r in self.grid)])

    def column_is_empty(self, col: int) -> bool:
        return all(col >= len(r) or r[col] in ("", None) for r in self.grid)


class ColumnTags:
    """Which tag marks which owned column, and where each owned column is in a given read."""

    def __init__(self, sheet_id: int, where: str) -> None:
        self.sheet_id = sheet_id
        self.where = where
        self.tags: dict[int, str] = {}  # metadataId -> owned header
        self.fresh: set[int] = set()  # tags created by this run, on a column not yet headed
        self.ids: dict[str, int] = {}  # owned header -> the tag found good in the last read
        self.problems: list[str] = []

    def load(self, answer: Json, fresh: bool = False) -> None:
        """Take in a developerMetadata:search answer: the tags on this tab's columns. `fresh`:
        the search follows our own tagging, so tags not known before are the ones just made."""
        for match in answer.get("matchedDeveloperMetadata", []):
            meta = match.get("developerMetadata", {})
            span = meta.get("location", {}).get("dimensionRange", {})
            if span.get("sheetId", 0) == self.sheet_id and span.get("dimension") == "COLUMNS":
                mid = int(meta["metadataId"])
                if fresh and mid not in self.tags:
                    self.fresh.add(mid)
                self.tags[mid] = str(meta.get("metadataValue", ""))

    def lookups(self) -> list[Json]:
        return [{"developerMetadataLookup": {"metadataId": m}} for m in self.tags]

    def lookup(self, name: str) -> Json:
        return {"developerMetadataLookup": {"metadataId": self.ids[name]}}

    def resolve(self, view: View, by_tags: bool) -> tuple[dict[str, int], list[Json]]:
        """Owned column positions in this view, or the tag changes needed first (room on the
        right first among them). Without tags (`by_tags` False), positions by header."""
        owned: dict[str, int] = {}
        fixes: list[Json] = []
        self.problems = []
        next_new = view.content_width
        for name in form.STATUS_HEADERS:
            col, fix = self._column_for(name, view) if by_tags else (None, [])
            fixes += fix
            if col is not None:
                owned[name] = col
                continue
            if fix and any("deleteDeveloperMetadata" in f for f in fix):
                continue  # decide where it goes once the stray tag is gone
            matches = [c for c, h in enumerate(view.headers) if h == text.fold(name)]
            if len(matches) > 1:
                letters = ", ".join(rowcol_to_a1(1, c + 1)[:-1] for c in matches)
                self.problems.append(f"more than one column is headed “{name}” ({letters})")
                continue
            target = matches[0] if matches else next_new
            next_new += 0 if matches else 1
            if by_tags:
                fixes.append(self._create(name, target))
            else:
                owned[name] = target
        room = max([0, *(owned.values()), *(_tag_column(f) for f in fixes)]) + 1
        if room > view.width:
            grow = {"sheetId": self.sheet_id, "dimension": "COLUMNS", "length": room - view.width}
            fixes.insert(0, {"appendDimension": grow})
        return owned, fixes

    def _column_for(self, name: str, view: View) -> tuple[int | None, list[Json]]:
        good: dict[int, int] = {}  # metadataId -> column
        fixes: list[Json] = []
        for mid in [m for m, n in self.tags.items() if n == name]:
            cols = view.tagged.get(mid, [])
            if len(cols) != 1:
                if not cols:
                    del self.tags[mid]  # its column was deleted, and the tag with it
                continue
            col = cols[0]
            header = view.headers[col] if col < len(view.headers) else ""
            unheaded = not header and mid in self.fresh and view.column_is_empty(col)
            if header == text.fold(name) or unheaded:
                good[mid] = col
            else:
                # Renamed, or tagged on the wrong column by a race: the tag goes, the column
                # is left as it is.
                log.warning("%s: the tag of “%s” is on a column headed otherwise", self.where, name)
                fixes.append(_delete(mid))
                del self.tags[mid]
        if len(set(good.values())) > 1:
            self.problems.append(f"“{name}” is tagged on more than one column")
            return None, fixes
        if not good:
            return None, fixes
        keep, *extra = sorted(good)  # a tag created twice (a retried request) is one tag
        for mid in extra:
            fixes.append(_delete(mid))
            del self.tags[mid]
        self.ids[name] = keep
        return good[keep], fixes

    def _create(self, name: str, col: int) -> Json:
        return {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": OWNED_KEY,
                    "metadataValue": name,
                    "location": {
                        "dimensionRange": {
                            "sheetId": self.sheet_id,
                            "dimension": "COLUMNS",
                            "startIndex": col,
                            "endIndex": col + 1,
                        }
                    },
                    "visibility": "DOCUMENT",
                }
            }
        }

    def absorb(self, answer: Json) -> int:
        """Take in the tags a spreadsheets:batchUpdate created; how many its answer shows."""
        shown = 0
        for reply in answer.get("replies", []):
            made = (reply or {}).get("createDeveloperMetadata", {}).get("developerMetadata")
            if made:
                self.tags[int(made["metadataId"])] = str(made.get("metadataValue", ""))
                self.fresh.add(int(made["metadataId"]))
                shown += 1
        return shown


def _delete(metadata_id: int) -> Json:
    lookup = {"developerMetadataLookup": {"metadataId": metadata_id}}
    return {"deleteDeveloperMetadata": {"dataFilter": lookup}}


def _tag_column(fix: Json) -> int:
    made = fix.get("createDeveloperMetadata")
    if not made:
        return -1
    return int(made["developerMetadata"]["location"]["dimensionRange"]["startIndex"])
