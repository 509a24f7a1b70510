"""What a person (or a spreadsheets.batchUpdate request) does to a tab's layout in the fake:
insert, delete or move rows and columns, sort rows, rename a header, and how developer metadata
follows each edit.

Google documents that developer metadata "will remain associated at those locations as they
move around": metadata on row 5 is on row 6 once a row is inserted above it, and it is deleted
with its row or column. Sorting (sortRange) rearranges the *values* of cells inside a range; it
does not insert, delete or move a dimension, so metadata on rows stays on its row index while
the values change, and metadata on columns is not concerned at all.
"""

from __future__ import annotations

from typing import Any

from cluster_sync.testing.sheet_model import Cell, DeveloperMetadata, Sheet, render_cell

ROWS, COLUMNS = "ROWS", "COLUMNS"


def insert(sheet: Sheet, dimension: str, index: int, count: int = 1) -> None:
    """Blank rows or columns at `index`; everything from there moves down or right."""
    if dimension == COLUMNS:
        for row in sheet.cells:
            if len(row) > index:
                row[index:index] = [None] * count
        sheet.col_count += count
    else:
        if len(sheet.cells) > index:
            sheet.cells[index:index] = [[] for _ in range(count)]
        sheet.row_count += count
    for meta in _on(sheet, dimension):
        if meta.index >= index:
            meta.index += count


def delete(sheet: Sheet, dimension: str, start: int, end: int) -> None:
    """Rows or columns [start, end) disappear with their metadata; the rest moves up or left."""
    count = end - start
    if dimension == COLUMNS:
        for row in sheet.cells:
            del row[start:end]
        sheet.col_count -= count
    else:
        del sheet.cells[start:end]
        sheet.row_count -= count
    for meta in list(_on(sheet, dimension)):
        if start <= meta.index < end:
            sheet.metadata.remove(meta)
        elif meta.index >= end:
            meta.index -= count


def move(sheet: Sheet, dimension: str, start: int, end: int, destination: int) -> None:
    """moveDimension: [start, end) goes to `destination`, an index counted before the source is
    taken out (Google's example: moving rows 1..3 of 0,1,2,3,4 to 4 gives 0,3,1,2,4)."""
    size = sheet.col_count if dimension == COLUMNS else sheet.row_count
    order = list(range(size))
    moved, rest = order[start:end], order[:start] + order[end:]
    at = destination - len([i for i in moved if i < destination])
    order = rest[:at] + moved + rest[at:]  # order[new index] = old index
    _permute_cells(sheet, dimension, order)
    new_index = {old: new for new, old in enumerate(order)}
    for meta in _on(sheet, dimension):
        meta.index = new_index[meta.index]


def sort_rows(sheet: Sheet, column: int, first_row: int = 1, descending: bool = False) -> None:
    """sortRange over the rows from `first_row` down (the header row stays): the values move,
    row metadata stays where it is (see the module docstring)."""
    body = sheet.cells[first_row:]

    def key(row: list[Cell | None]) -> tuple[int, str]:
        cell = row[column] if column < len(row) else None
        shown = str(render_cell(cell, "UNFORMATTED_VALUE", "SERIAL_NUMBER", "en_US"))
        padded = shown.zfill(30) if _is_number(shown) else shown.casefold()
        return (0 if shown else 1, padded)  # empty cells go last either way

    filled = sorted((r for r in body if key(r)[0] == 0), key=key, reverse=descending)
    sheet.cells[first_row:] = filled + [r for r in body if key(r)[0] == 1]


def rename(sheet: Sheet, column: int, header: str) -> None:
    """Type another header into row 1 of `column`."""
    sheet.put(0, column, Cell(header) if header else None)


def location(sheet: Sheet, meta: DeveloperMetadata) -> dict[str, Any]:
    """The DeveloperMetadataLocation Google answers for `meta`."""
    if meta.dimension is None:
        return {"locationType": "SHEET", "sheetId": sheet.sheet_id}
    return {
        "locationType": "COLUMN" if meta.dimension == COLUMNS else "ROW",
        "dimensionRange": {
            "sheetId": sheet.sheet_id,
            "dimension": meta.dimension,
            "startIndex": meta.index,
            "endIndex": meta.index + 1,
        },
    }


def _on(sheet: Sheet, dimension: str) -> list[DeveloperMetadata]:
    return [m for m in sheet.metadata if m.dimension == dimension]


def _permute_cells(sheet: Sheet, dimension: str, order: list[int]) -> None:
    if dimension == ROWS:
        old = sheet.cells
        sheet.cells = [old[o] if o < len(old) else [] for o in order]
        while sheet.cells and not any(sheet.cells[-1]):
            sheet.cells.pop()
        return
    for r, row in enumerate(sheet.cells):
        moved = [row[o] if o < len(row) else None for o in order]
        while moved and moved[-1] is None:
            moved.pop()
        sheet.cells[r] = moved


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
