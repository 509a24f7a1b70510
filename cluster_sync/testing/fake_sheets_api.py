"""The endpoints of the fake Sheets API, as plain functions on a spreadsheet.

Each handler takes (spreadsheet, range from the path, query parameters, JSON body) and returns
the JSON answer, or raises ApiError / RangeError, which the server turns into Google's error body.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster_sync.testing import fake_sheets_metadata as metadata
from cluster_sync.testing import sheet_model as model
from cluster_sync.testing.sheet_model import GridRange, RangeError, Sheet

Json = dict[str, Any]
Query = dict[str, list[str]]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
_MESSAGES = {
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
    "per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}


class ApiError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message or _MESSAGES.get(code, "Error")

    def body(self) -> Json:
        status = _STATUS_NAMES.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status}}


@dataclass
class Spreadsheet:
    key: str
    title: str
    locale: str = "en_GB"
    time_zone: str = "Europe/Brussels"
    #: accounts (service-account emails) that may open it; None: anyone with a token
    shared_with: set[str] | None = None
    sheets: list[Sheet] = field(default_factory=list)

    def add_sheet(self, title: str, rows: int = 1000, cols: int = 26) -> Sheet:
        # Google numbers the first tab 0 and later ones with large arbitrary ids.
        sheet_id = 0 if not self.sheets else 1_000_000 + len(self.sheets)
        sheet = Sheet(title, sheet_id, row_count=rows, col_count=cols)
        self.sheets.append(sheet)
        return sheet

    def sheet(self, title: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(title)

    def load_csv(self, title: str, path: Path) -> Sheet:
        """A tab filled from a CSV export, values typed as if entered in the Sheets UI."""
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        sheet = self.add_sheet(title, cols=max([1, *(len(r) for r in rows)]))
        sheet.load(rows, self.locale)
        return sheet

    def metadata(self) -> Json:
        return {
            "spreadsheetId": self.key,
            "properties": {
                "title": self.title,
                "locale": self.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": self.time_zone,
            },
            "sheets": [_sheet_properties(s, i) for i, s in enumerate(self.sheets)],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.key}/edit",
        }

    def grid(self, a1: str) -> tuple[Sheet, GridRange]:
        title, cells = model.split_range(a1)
        if title is None:
            # A bare name is a tab; anything else is a range on the first tab.
            names = [s.title for s in self.sheets]
            title, cells = (cells, None) if cells in names else (names[0], cells)
        try:
            sheet = self.sheet(title or "")
        except KeyError:
            raise RangeError(f"Unable to parse range: {a1}") from None
        return sheet, model.grid_range(sheet.title, cells, sheet.row_count, sheet.col_count)


def _sheet_properties(sheet: Sheet, index: int) -> Json:
    grid = {"rowCount": sheet.row_count, "columnCount": sheet.col_count}
    return {
        "properties": {
            "sheetId": sheet.sheet_id,
            "title": sheet.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
    }


def _one(query: Query, name: str, default: str) -> str:
    return query.get(name, [default])[0]


def _value_range(book: Spreadsheet, a1: str, query: Query) -> Json:
    sheet, grid = book.grid(a1)
    options = {name: _one(query, name, "") for name in _READ_OPTIONS}
    return grid_values(book, sheet, grid, options)


_READ_OPTIONS = ("majorDimension", "valueRenderOption", "dateTimeRenderOption")


def grid_values(book: Spreadsheet, sheet: Sheet, grid: GridRange, options: Json) -> Json:
    """A ValueRange of `grid`, rendered as the read options (query or JSON body) ask."""
    major = options.get("majorDimension") or "ROWS"
    render = options.get("valueRenderOption") or "FORMATTED_VALUE"
    dt_render = options.get("dateTimeRenderOption") or "SERIAL_NUMBER"
    values = sheet.values(grid, render, dt_render, book.locale, major)
    answer: Json = {"range": grid.a1(), "majorDimension": major}
    if values:  # an empty range has no "values" key at all
        answer["values"] = values
    return answer


def get_metadata(book: Spreadsheet, _rng: str, _query: Query, _body: Any) -> Json:
    return book.metadata()


def values_get(book: Spreadsheet, rng: str, query: Query, _body: Any) -> Json:
    return _value_range(book, rng, query)


def values_batch_get(book: Spreadsheet, _rng: str, query: Query, _body: Any) -> Json:
    ranges = [_value_range(book, a1, query) for a1 in query.get("ranges", [])]
    return {"spreadsheetId": book.key, "valueRanges": ranges}


def check_input_option(option: str | None) -> None:
    _parser(option)


def _parser(option: str | None) -> Callable[[Any, str], model.Cell | None]:
    if option == "RAW":
        return lambda value, _locale: model.parse_raw(value)
    if option == "USER_ENTERED":
        return model.parse_user_entered
    raise ApiError(400, "Invalid valueInputOption: " + repr(option))


@dataclass
class _Write:
    sheet: Sheet
    grid: GridRange
    rows: list[list[Any]]

    def rows_span(self) -> range:
        return range(self.grid.r0, self.grid.r1)

    def cols_span(self) -> range:
        return range(self.grid.c0, self.grid.c1)


def plan_write(book: Spreadsheet, a1: str, rows: list[list[Any]]) -> _Write:
    """Where `rows` land when written at `a1` (its top-left cell); refused beyond the grid."""
    sheet, start = book.grid(a1)
    height, width = len(rows), max([0, *(len(r) for r in rows)])
    single = height == 1 and width == 1
    grid = GridRange(sheet.title, start.r0, start.c0, start.r0 + height, start.c0 + width, single)
    if grid.r1 > sheet.row_count or grid.c1 > sheet.col_count:
        raise RangeError(
            f"Range ({grid.a1()}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )
    return _Write(sheet, grid, rows)


def apply_write(write: _Write, option: str, locale: str, book_key: str) -> Json:
    parse = _parser(option)
    for r, row in enumerate(write.rows):
        for c, value in enumerate(row):
            if value is not None:  # null leaves a cell as it is
                write.sheet.put(write.grid.r0 + r, write.grid.c0 + c, parse(value, locale))
    g = write.grid
    return {
        "spreadsheetId": book_key,
        "updatedRange": g.a1(),
        "updatedRows": g.r1 - g.r0,
        "updatedColumns": g.c1 - g.c0,
        "updatedCells": sum(len(r) for r in write.rows),
    }


def values_update(book: Spreadsheet, rng: str, query: Query, body: Any) -> Json:
    option = _one(query, "valueInputOption", "")
    _parser(option)
    return apply_write(plan_write(book, rng, rows_of(body)), option, book.locale, book.key)


def values_batch_update(book: Spreadsheet, _rng: str, _query: Query, body: Any) -> Json:
    option = body.get("valueInputOption")
    _parser(option)
    # Google applies a batch all or nothing: check every range before writing any.
    writes = [plan_write(book, d["range"], rows_of(d)) for d in body.get("data", [])]
    replies = [apply_write(w, option, book.locale, book.key) for w in writes]
    rows = {(w.sheet.title, r) for w in writes for r in w.rows_span()}
    cols = {(w.sheet.title, c) for w in writes for c in w.cols_span()}
    return {
        "spreadsheetId": book.key,
        "totalUpdatedRows": len(rows),
        "totalUpdatedColumns": len(cols),
        "totalUpdatedCells": sum(r["updatedCells"] for r in replies),
        "totalUpdatedSheets": len({w.sheet.title for w in writes}),
        "responses": replies,
    }


def rows_of(body: Any) -> list[list[Any]]:
    rows = (body or {}).get("values") or []
    if (body or {}).get("majorDimension") == "COLUMNS":
        width = max([0, *(len(r) for r in rows)])
        rows = [[col[i] if i < len(col) else None for col in rows] for i in range(width)]
    return [list(r) for r in rows]


def values_clear(book: Spreadsheet, rng: str, _query: Query, _body: Any) -> Json:
    sheet, grid = book.grid(rng)
    for r in range(grid.r0, min(grid.r1, len(sheet.cells))):
        for c in range(grid.c0, min(grid.c1, len(sheet.cells[r]))):
            sheet.cells[r][c] = None
    return {"spreadsheetId": book.key, "clearedRange": grid.a1()}


def values_append(book: Spreadsheet, rng: str, query: Query, body: Any) -> Json:
    """Find the table at `rng` (the block of filled cells from its corner) and write below it."""
    sheet, grid = book.grid(rng)
    table = _table(sheet, grid)
    start_row = table.r1 if table else grid.r0
    rows = rows_of(body)
    sheet.row_count = max(sheet.row_count, start_row + len(rows))  # append grows the grid
    target = f"{model.quote_title(sheet.title)}!{model.column_letters(grid.c0)}{start_row + 1}"
    option = _one(query, "valueInputOption", "")
    update = apply_write(plan_write(book, target, rows), option, book.locale, book.key)
    answer: Json = {"spreadsheetId": book.key}
    if table:
        answer["tableRange"] = table.a1()
    answer["updates"] = update
    return answer


def _table(sheet: Sheet, grid: GridRange) -> GridRange | None:
    if sheet.get(grid.r0, grid.c0) is None:
        return None
    c1 = grid.c0
    while sheet.get(grid.r0, c1) is not None:
        c1 += 1
    r1 = grid.r0
    while any(sheet.get(r1, c) is not None for c in range(grid.c0, c1)):
        r1 += 1
    single = r1 - grid.r0 == 1 and c1 - grid.c0 == 1
    return GridRange(sheet.title, grid.r0, grid.c0, r1, c1, single=single)


def spreadsheet_batch_update(book: Spreadsheet, _rng: str, _query: Query, body: Any) -> Json:
    """Requests are checked and applied in order, all or nothing: on a failure the spreadsheet
    is put back as it was (the fake keeps a copy rather than validating ahead)."""
    requests = (body or {}).get("requests", [])
    saved = [_saved(sheet) for sheet in book.sheets]
    replies = []
    try:
        for request in requests:
            ((name, spec),) = request.items()
            if name not in _STRUCTURE:
                raise ApiError(400, f"Unsupported request in this fake: {name}")
            replies.append(_STRUCTURE[name](book, spec))
    except (ApiError, RangeError, KeyError, TypeError, ValueError) as exc:
        for sheet, before in zip(book.sheets, saved, strict=True):
            sheet.__dict__.update(before.__dict__)  # the same objects, as they were
        if isinstance(exc, ApiError | RangeError):
            raise
        raise ApiError(400, f"Invalid request: {exc}") from None
    return {"spreadsheetId": book.key, "replies": replies}


def _saved(sheet: Sheet) -> Sheet:
    """A copy to put back if a later request of the batch fails (cells are replaced, never
    changed in place, so copying the row lists is enough)."""
    return dataclasses.replace(
        sheet,
        cells=[list(row) for row in sheet.cells],
        metadata=[dataclasses.replace(m) for m in sheet.metadata],
    )


def _by_id(book: Spreadsheet, sheet_id: int) -> Sheet:
    for sheet in book.sheets:
        if sheet.sheet_id == sheet_id:
            return sheet
    raise ApiError(400, f"No grid with id: {sheet_id}")


def _update_properties(book: Spreadsheet, spec: Json) -> Json:
    props = spec["properties"]
    grid = props.get("gridProperties", {})
    _by_id(book, props.get("sheetId", 0)).resize(grid.get("rowCount"), grid.get("columnCount"))
    return {}


def _append_dimension(book: Spreadsheet, spec: Json) -> Json:
    sheet = _by_id(book, spec.get("sheetId", 0))
    if spec["dimension"] == "COLUMNS":
        sheet.col_count += spec["length"]
    else:
        sheet.row_count += spec["length"]
    return {}


_STRUCTURE: dict[str, Callable[[Spreadsheet, Json], Json]] = {
    "updateSheetProperties": _update_properties,
    "appendDimension": _append_dimension,
    **metadata.REQUESTS,
}

HANDLERS: dict[str, Callable[[Spreadsheet, str, Query, Any], Json]] = {
    "spreadsheets.get": get_metadata,
    "spreadsheets.batchUpdate": spreadsheet_batch_update,
    "values.get": values_get,
    "values.batchGet": values_batch_get,
    "values.update": values_update,
    "values.batchUpdate": values_batch_update,
    "values.clear": values_clear,
    "values.append": values_append,
    **metadata.HANDLERS,
}
