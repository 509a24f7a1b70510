"""Developer metadata and data filters in the fake Sheets API, as Google's reference describes
them (spreadsheets.developerMetadata, DataFilter, values:batchGetByDataFilter,
values:batchUpdateByDataFilter, and the createDeveloperMetadata / deleteDeveloperMetadata and
dimension requests of spreadsheets:batchUpdate).

A DataFilter selects ranges: an A1 range, a GridRange, or the rows/columns/tabs carrying the
developer metadata its lookup matches (a column's range is the whole column of the grid, e.g.
`Sheet1!D1:D1000`, as the guide's `Sheet7!A7:Z7` is a whole row).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from cluster_sync.testing import sheet_edits
from cluster_sync.testing.sheet_model import DeveloperMetadata, GridRange, RangeError, Sheet

if TYPE_CHECKING:
    from cluster_sync.testing.fake_sheets_api import Spreadsheet

Json = dict[str, Any]
Query = dict[str, list[str]]
_TYPES = {"ROWS": "ROW", "COLUMNS": "COLUMN", None: "SHEET"}


# -- matching --------------------------------------------------------------------------------


def _lookup_matches(lookup: Json, sheet: Sheet, meta: DeveloperMetadata) -> bool:
    for field, have in (
        ("metadataId", meta.metadata_id),
        ("metadataKey", meta.key),
        ("metadataValue", meta.value),
        ("visibility", meta.visibility),
        ("locationType", _TYPES[meta.dimension]),
    ):
        if field in lookup and lookup[field] != have:
            return False
    where = lookup.get("metadataLocation")
    if where is None:
        return True
    exact = lookup.get("locationMatchingStrategy") == "EXACT_LOCATION"
    if where.get("spreadsheet"):
        return False  # the fake keeps no spreadsheet-level metadata
    if "sheetId" in where:
        return where["sheetId"] == sheet.sheet_id and (meta.dimension is None or not exact)
    span = where.get("dimensionRange", {})
    if span.get("sheetId", 0) != sheet.sheet_id:
        return False
    if meta.dimension == span.get("dimension"):
        return span.get("startIndex", 0) <= meta.index < span.get("endIndex", meta.index + 1)
    return not exact  # a row and a column (or a tab) always intersect


def matching_metadata(book: Spreadsheet, lookup: Json) -> list[tuple[Sheet, DeveloperMetadata]]:
    return [
        (sheet, meta)
        for sheet in book.sheets
        for meta in sheet.metadata
        if _lookup_matches(lookup, sheet, meta)
    ]


def _meta_range(sheet: Sheet, meta: DeveloperMetadata) -> GridRange:
    if meta.dimension == "COLUMNS":
        return GridRange(sheet.title, 0, meta.index, sheet.row_count, meta.index + 1)
    if meta.dimension == "ROWS":
        return GridRange(sheet.title, meta.index, 0, meta.index + 1, sheet.col_count)
    return GridRange(sheet.title, 0, 0, sheet.row_count, sheet.col_count)


def filter_ranges(book: Spreadsheet, data_filter: Json) -> list[tuple[Sheet, GridRange]]:
    """The ranges a DataFilter selects (none when its metadata no longer exists)."""
    if "a1Range" in data_filter:
        return [book.grid(data_filter["a1Range"])]
    if "gridRange" in data_filter:
        g = data_filter["gridRange"]
        sheet = _sheet_by_id(book, g.get("sheetId", 0))
        grid = GridRange(
            sheet.title,
            g.get("startRowIndex", 0),
            g.get("startColumnIndex", 0),
            g.get("endRowIndex", sheet.row_count),
            g.get("endColumnIndex", sheet.col_count),
        )
        return [(sheet, grid)]
    if "developerMetadataLookup" in data_filter:
        found = matching_metadata(book, data_filter["developerMetadataLookup"])
        return [(sheet, _meta_range(sheet, meta)) for sheet, meta in found]
    raise RangeError("Invalid dataFilter: one of a1Range, gridRange or developerMetadataLookup")


def _sheet_by_id(book: Spreadsheet, sheet_id: int) -> Sheet:
    for sheet in book.sheets:
        if sheet.sheet_id == sheet_id:
            return sheet
    raise RangeError(f"No grid with id: {sheet_id}")


def as_json(sheet: Sheet, meta: DeveloperMetadata) -> Json:
    answer: Json = {"metadataId": meta.metadata_id, "metadataKey": meta.key}
    if meta.value is not None:
        answer["metadataValue"] = meta.value
    answer["location"] = sheet_edits.location(sheet, meta)
    answer["visibility"] = meta.visibility
    return answer


# -- endpoints -------------------------------------------------------------------------------


def search(book: Spreadsheet, _rng: str, _query: Query, body: Any) -> Json:
    """developerMetadata:search: every metadata matched by any filter, with the filters that
    matched it. A location filter (A1 or grid range) matches metadata on intersecting places."""
    matched: dict[int, Json] = {}
    for data_filter in (body or {}).get("dataFilters", []):
        if "developerMetadataLookup" in data_filter:
            hits = matching_metadata(book, data_filter["developerMetadataLookup"])
        else:
            ranges = filter_ranges(book, data_filter)
            hits = [
                (sheet, meta)
                for sheet, grid in ranges
                for meta in sheet.metadata
                if _intersects(_meta_range(sheet, meta), grid)
            ]
        for sheet, meta in hits:
            entry = matched.setdefault(
                meta.metadata_id, {"developerMetadata": as_json(sheet, meta), "dataFilters": []}
            )
            entry["dataFilters"].append(data_filter)
    return {"matchedDeveloperMetadata": list(matched.values())} if matched else {}


def get(book: Spreadsheet, rng: str, _query: Query, _body: Any) -> Json:
    from cluster_sync.testing.fake_sheets_api import ApiError

    for sheet in book.sheets:
        for meta in sheet.metadata:
            if str(meta.metadata_id) == rng:
                return as_json(sheet, meta)
    raise ApiError(404, f"No developer metadata with ID: {rng}")


def batch_get(book: Spreadsheet, _rng: str, _query: Query, body: Any) -> Json:
    """values:batchGetByDataFilter: one MatchedValueRange per range selected, naming every
    filter that selected it."""
    from cluster_sync.testing.fake_sheets_api import grid_values

    body = body or {}
    found: dict[str, Json] = {}
    for data_filter in body.get("dataFilters", []):
        for sheet, grid in filter_ranges(book, data_filter):
            a1 = grid.a1()
            if a1 not in found:
                value_range = grid_values(book, sheet, grid, body)
                found[a1] = {"valueRange": value_range, "dataFilters": []}
            found[a1]["dataFilters"].append(data_filter)
    answer: Json = {"spreadsheetId": book.key}
    if found:
        answer["valueRanges"] = list(found.values())
    return answer


def batch_update(book: Spreadsheet, _rng: str, _query: Query, body: Any) -> Json:
    """values:batchUpdateByDataFilter. Values are written from the top-left of every range the
    filter selects; more values than the range holds fail the whole request; nulls are skipped.
    A filter that selects nothing writes nothing."""
    from cluster_sync.testing import fake_sheets_api as api

    body = body or {}
    option = body.get("valueInputOption")
    api.check_input_option(option)
    planned = []
    for entry in body.get("data", []):
        rows = api.rows_of(entry)
        for sheet, grid in filter_ranges(book, entry.get("dataFilter", {})):
            width = max([0, *(len(r) for r in rows)])
            if len(rows) > grid.r1 - grid.r0 or width > grid.c1 - grid.c0:
                raise RangeError(
                    f"Requested writing within range [{grid.a1()}], but tried writing "
                    f"{len(rows)} rows and {width} columns."
                )
            start = GridRange(sheet.title, grid.r0, grid.c0, grid.r0 + 1, grid.c0 + 1, True)
            planned.append((entry, api.plan_write(book, start.a1(), rows)))
    responses = []
    for entry, write in planned:
        reply = api.apply_write(write, option, book.locale, book.key)
        reply.pop("spreadsheetId")
        reply["dataFilter"] = entry.get("dataFilter")
        responses.append(reply)
    return {
        "spreadsheetId": book.key,
        "totalUpdatedRows": len({(w.sheet.title, r) for _, w in planned for r in w.rows_span()}),
        "totalUpdatedColumns": len({(w.sheet.title, c) for _, w in planned for c in w.cols_span()}),
        "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
        "totalUpdatedSheets": len({w.sheet.title for _, w in planned}),
        "responses": responses,
    }


def _intersects(a: GridRange, b: GridRange) -> bool:
    return a.title == b.title and a.r0 < b.r1 and b.r0 < a.r1 and a.c0 < b.c1 and b.c0 < a.c1


# -- spreadsheets:batchUpdate requests -------------------------------------------------------


def create(book: Spreadsheet, spec: Json) -> Json:
    meta_json = spec.get("developerMetadata") or {}
    if not meta_json.get("metadataKey") or not meta_json.get("visibility"):
        raise RangeError("Developer metadata must have a key and a visibility.")
    where = meta_json.get("location") or {}
    span = where.get("dimensionRange")
    if span:
        sheet = _sheet_by_id(book, span.get("sheetId", 0))
        start, end = span.get("startIndex"), span.get("endIndex")
        if start is None or end is None or end - start != 1:
            raise RangeError("Developer metadata must be on a single row or column.")
        dimension, index = span["dimension"], start
    elif "sheetId" in where:
        sheet, dimension, index = _sheet_by_id(book, where["sheetId"]), None, 0
    else:
        raise RangeError("The fake keeps developer metadata on rows, columns and tabs only.")
    taken = {m.metadata_id for s in book.sheets for m in s.metadata}
    wanted = meta_json.get("metadataId")
    if wanted in taken:
        raise RangeError(f"Developer metadata with ID {wanted} already exists.")
    metadata_id = wanted or random.choice([i for i in range(1, 2**31 - 1, 7919) if i not in taken])
    meta = DeveloperMetadata(
        metadata_id,
        meta_json["metadataKey"],
        meta_json.get("metadataValue"),
        meta_json["visibility"],
        dimension,
        index,
    )
    sheet.metadata.append(meta)
    return {"createDeveloperMetadata": {"developerMetadata": as_json(sheet, meta)}}


def delete(book: Spreadsheet, spec: Json) -> Json:
    data_filter = spec.get("dataFilter") or {}
    lookup = data_filter.get("developerMetadataLookup")
    if lookup is None:
        raise RangeError("deleteDeveloperMetadata needs a developerMetadataLookup filter.")
    gone = matching_metadata(book, lookup)
    for sheet, meta in gone:
        sheet.metadata.remove(meta)
    deleted = [as_json(sheet, meta) for sheet, meta in gone]
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted}}


def insert_dimension(book: Spreadsheet, spec: Json) -> Json:
    span = spec["range"]
    sheet = _sheet_by_id(book, span.get("sheetId", 0))
    sheet_edits.insert(
        sheet, span["dimension"], span["startIndex"], span["endIndex"] - span["startIndex"]
    )
    return {}


def delete_dimension(book: Spreadsheet, spec: Json) -> Json:
    span = spec["range"]
    sheet = _sheet_by_id(book, span.get("sheetId", 0))
    sheet_edits.delete(sheet, span["dimension"], span["startIndex"], span["endIndex"])
    return {}


def move_dimension(book: Spreadsheet, spec: Json) -> Json:
    span = spec["source"]
    sheet = _sheet_by_id(book, span.get("sheetId", 0))
    sheet_edits.move(
        sheet, span["dimension"], span["startIndex"], span["endIndex"], spec["destinationIndex"]
    )
    return {}


def sort_range(book: Spreadsheet, spec: Json) -> Json:
    """Only what a person does from the menu: sort the rows below a header by one column."""
    g = spec["range"]
    sheet = _sheet_by_id(book, g.get("sheetId", 0))
    (order,) = spec.get("sortSpecs", [{}])[:1] or [{}]
    descending = order.get("sortOrder") == "DESCENDING"
    sheet_edits.sort_rows(
        sheet, order.get("dimensionIndex", 0), g.get("startRowIndex", 0), descending
    )
    return {}


REQUESTS = {
    "createDeveloperMetadata": create,
    "deleteDeveloperMetadata": delete,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "moveDimension": move_dimension,
    "sortRange": sort_range,
}
HANDLERS = {
    "developerMetadata.search": search,
    "developerMetadata.get": get,
    "values.batchGetByDataFilter": batch_get,
    "values.batchUpdateByDataFilter": batch_update,
}
