"""The fake Sheets API's developer metadata and data filters, over HTTP, against what Google's
reference and its guide "Read, write, and search metadata" show (request and answer shapes,
how tags follow inserted, moved and deleted columns, what sorting does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Cell, Sheet

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    with FakeSheets() as server:
        yield server


@pytest.fixture
def sheet(fake: FakeSheets) -> Sheet:
    tab = fake.add_spreadsheet("K").add_sheet("Sheet1", rows=6, cols=4)
    tab.load([["a", "b", "c", "d"], ["1", "2", "3", "4"], ["5", "6", "7", "8"]], "en_US")
    return tab


def post(fake: FakeSheets, path: str, body: Any, status: int = 200) -> Any:
    answer = requests.post(f"{fake.base_url}/v4/spreadsheets/K{path}", json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    return answer.json()


def create(fake: FakeSheets, dimension: str, index: int, **fields: str) -> dict[str, Any]:
    """createDeveloperMetadata on one row or column, as the guide's example sends it."""
    span = {"sheetId": 0, "dimension": dimension, "startIndex": index, "endIndex": index + 1}
    meta = {"location": {"dimensionRange": span}, "visibility": "DOCUMENT", **fields}
    answer = post(
        fake,
        ":batchUpdate",
        {"requests": [{"createDeveloperMetadata": {"developerMetadata": meta}}]},
    )
    made: dict[str, Any] = answer["replies"][0]["createDeveloperMetadata"]["developerMetadata"]
    return made


def tag(fake: FakeSheets, col: int, value: str = "x") -> dict[str, Any]:
    return create(fake, "COLUMNS", col, metadataKey="owned", metadataValue=value)


def where(fake: FakeSheets, metadata_id: int) -> int | None:
    lookup = {"dataFilters": [{"developerMetadataLookup": {"metadataId": metadata_id}}]}
    found = post(fake, "/developerMetadata:search", lookup).get("matchedDeveloperMetadata", [])
    if not found:
        return None
    assert found[0]["dataFilters"] == lookup["dataFilters"]
    return int(found[0]["developerMetadata"]["location"]["dimensionRange"]["startIndex"])


def edit(fake: FakeSheets, request: dict[str, Any]) -> None:
    post(fake, ":batchUpdate", {"requests": [request]})


def test_created_metadata_is_answered_as_the_guide_shows(fake: FakeSheets, sheet: Sheet) -> None:
    made = tag(fake, 2, "Sync status")
    assert made == {
        "metadataId": made["metadataId"],
        "metadataKey": "owned",
        "metadataValue": "Sync status",
        "location": {
            "locationType": "COLUMN",
            "dimensionRange": {
                "sheetId": 0,
                "dimension": "COLUMNS",
                "startIndex": 2,
                "endIndex": 3,
            },
        },
        "visibility": "DOCUMENT",
    }
    assert made["metadataId"] > 0
    got = requests.get(
        f"{fake.base_url}/v4/spreadsheets/K/developerMetadata/{made['metadataId']}", headers=AUTH
    )
    assert got.json() == made


def test_a_column_tag_follows_inserts_moves_and_deletes(fake: FakeSheets, sheet: Sheet) -> None:
    mid = tag(fake, 2)["metadataId"]
    span = {"sheetId": 0, "dimension": "COLUMNS"}
    edit(fake, {"insertDimension": {"range": {**span, "startIndex": 0, "endIndex": 2}}})
    assert where(fake, mid) == 4
    assert [c.value if c else None for c in sheet.cells[0]] == [None, None, "a", "b", "c", "d"]
    # Google's example: moving [1, 3) to 4 in 0..4 gives 0, 3, 1, 2, 4.
    edit(
        fake,
        {
            "moveDimension": {
                "source": {**span, "startIndex": 4, "endIndex": 5},
                "destinationIndex": 1,
            }
        },
    )
    assert where(fake, mid) == 1
    assert sheet.cells[0][1] == Cell("c")
    edit(fake, {"deleteDimension": {"range": {**span, "startIndex": 0, "endIndex": 1}}})
    assert where(fake, mid) == 0
    edit(fake, {"deleteDimension": {"range": {**span, "startIndex": 0, "endIndex": 1}}})
    assert where(fake, mid) is None  # deleted with its column


def test_sorting_moves_values_not_row_metadata(fake: FakeSheets, sheet: Sheet) -> None:
    mid = create(fake, "ROWS", 1, metadataKey="row")["metadataId"]
    sort = {
        "range": {"sheetId": 0, "startRowIndex": 1},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}],
    }
    edit(fake, {"sortRange": sort})
    read = post(
        fake,
        "/values:batchGetByDataFilter",
        {"dataFilters": [{"developerMetadataLookup": {"metadataId": mid}}]},
    )
    assert read["valueRanges"][0]["valueRange"] == {
        "range": "Sheet1!A2:D2",
        "majorDimension": "ROWS",
        "values": [["5", "6", "7", "8"]],  # the row kept its tag; its values were sorted
    }


def test_values_by_data_filter(fake: FakeSheets, sheet: Sheet) -> None:
    mid = tag(fake, 3)["metadataId"]
    by_tag = {"developerMetadataLookup": {"metadataId": mid}}
    whole = {"a1Range": "Sheet1"}
    read = post(
        fake,
        "/values:batchGetByDataFilter",
        {"dataFilters": [whole, by_tag], "valueRenderOption": "UNFORMATTED_VALUE"},
    )
    assert read["spreadsheetId"] == "K"
    assert [m["dataFilters"] for m in read["valueRanges"]] == [[whole], [by_tag]]
    assert read["valueRanges"][0]["valueRange"]["range"] == "Sheet1!A1:D6"
    assert read["valueRanges"][1]["valueRange"] == {
        "range": "Sheet1!D1:D6",
        "majorDimension": "ROWS",
        "values": [["d"], [4], [8]],
    }
    write = {
        "valueInputOption": "RAW",
        "data": [{"dataFilter": by_tag, "majorDimension": "COLUMNS", "values": [[None, "=x"]]}],
    }
    answer = post(fake, "/values:batchUpdateByDataFilter", write)
    assert answer["responses"] == [
        {
            "updatedRange": "Sheet1!D1:D2",
            "updatedRows": 2,
            "updatedColumns": 1,
            "updatedCells": 2,
            "dataFilter": by_tag,
        }
    ]
    assert sheet.get(0, 3) == Cell("d")  # null: left as it was
    assert sheet.get(1, 3) == Cell("=x")  # RAW: text, never a formula
    too_long = {**write, "data": [{**write["data"][0], "values": [["v"] * 7]}]}
    post(fake, "/values:batchUpdateByDataFilter", too_long, status=400)
    assert sheet.get(1, 3) == Cell("=x")


def test_a_failed_batch_leaves_the_spreadsheet_as_it_was(fake: FakeSheets, sheet: Sheet) -> None:
    span = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
    body = {"requests": [{"deleteDimension": {"range": span}}, {"noSuchRequest": {}}]}
    post(fake, ":batchUpdate", body, status=400)
    assert sheet.cells[0][0] == Cell("a")
    assert sheet.col_count == 4


def test_a_server_without_developer_metadata(fake: FakeSheets, sheet: Sheet) -> None:
    fake.without("developerMetadata.search", "createDeveloperMetadata")
    post(fake, "/developerMetadata:search", {"dataFilters": []}, status=404)
    body = {"requests": [{"createDeveloperMetadata": {"developerMetadata": {}}}]}
    answer = post(fake, ":batchUpdate", body, status=400)
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
