"""The fake Sheets API answers as Google did: every Sheets request recorded from real Google
traffic (gspread's own test cassettes, MIT licence, see fake_sheets_recordings/PROVENANCE.txt)
is replayed against the fake, and its answer is compared with the recorded one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import to_serial

RECORDINGS = Path(__file__).parent / "fake_sheets_recordings"
CASSETTES = sorted(RECORDINGS.glob("*.json"))
SHEETS = "https://sheets.googleapis.com"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    with FakeSheets() as server:
        yield server


def _interactions(cassette: Path) -> list[dict[str, Any]]:
    return list(json.loads(cassette.read_text(encoding="utf-8"))["interactions"])


def _body(recorded: dict[str, Any]) -> Any:
    text = recorded["body"]["string"]
    return json.loads(text) if text.strip() else None


def _prepare(fake: FakeSheets, interaction: dict[str, Any]) -> None:
    """Mirror the Drive calls the recording made to set up (the fake serves only Sheets)."""
    request, answer = interaction["request"], interaction["response"]
    if request["method"] == "POST" and request["uri"].startswith(DRIVE_FILES):
        made = _body(answer)
        book = fake.add_spreadsheet(made["id"], made["name"], locale="en_US", time_zone="Etc/GMT")
        book.add_sheet("Sheet1")
    elif request["method"] == "DELETE" and request["uri"].startswith(DRIVE_FILES):
        fake.spreadsheets.pop(request["uri"].split("/")[-1].split("?")[0], None)


def _replay(fake: FakeSheets, request: dict[str, Any]) -> requests.Response:
    url = fake.base_url + request["uri"][len(SHEETS) :]
    body = request["body"]
    headers = {"Authorization": "Bearer recorded"}
    if body:
        headers["Content-Type"] = "application/json"
    return requests.request(request["method"], url, data=body, headers=headers, timeout=5)


def _private(fake: FakeSheets, uri: str, status: int) -> None:
    """A sheet the recording was refused (403) exists, shared with someone else."""
    key = uri[len(SHEETS + "/v4/spreadsheets/") :].split("?")[0].split("/")[0]
    if status == 403 and key not in fake.spreadsheets:
        fake.add_spreadsheet(key, "private", shared_with=set()).add_sheet("Sheet1")


def _compare(kind: str, got: Any, recorded: Any) -> None:
    if kind == "spreadsheets.get" and "properties" in recorded:
        # The fake leaves out formatting and theme properties; everything it says must match.
        for key in ("spreadsheetId", "sheets", "spreadsheetUrl"):
            assert got[key] == recorded[key]
        for key, value in got["properties"].items():
            assert value == recorded["properties"][key], key
    else:
        assert got == recorded


@pytest.mark.parametrize("cassette", CASSETTES, ids=[c.stem for c in CASSETTES])
def test_fake_answers_like_the_recording(fake: FakeSheets, cassette: Path) -> None:
    replayed = 0
    for interaction in _interactions(cassette):
        request, answer = interaction["request"], interaction["response"]
        if not request["uri"].startswith(SHEETS):
            _prepare(fake, interaction)
            continue
        _private(fake, request["uri"], answer["status"]["code"])
        got = _replay(fake, request)
        kind = fake.log[-1][0]
        assert got.status_code == answer["status"]["code"], request["uri"]
        _compare(kind, got.json(), _body(answer))
        replayed += 1
    assert replayed >= 2


def test_the_recordings_cover_what_the_google_source_uses() -> None:
    kinds = {
        (
            i["request"]["method"],
            i["request"]["uri"].split("?")[0].rsplit("/", 1)[-1].split(":")[-1],
        )
        for c in CASSETTES
        for i in _interactions(c)
        if i["request"]["uri"].startswith(SHEETS)
    }
    assert ("POST", "batchUpdate") in kinds  # values:batchUpdate and :batchUpdate
    assert any(method == "GET" for method, _ in kinds)


# -- behaviours the recordings show, spelled out -----------------------------------------------


def _get(fake: FakeSheets, path: str) -> tuple[int, Any]:
    answer = requests.get(fake.base_url + path, headers={"Authorization": "Bearer t"}, timeout=5)
    return answer.status_code, answer.json()


def test_titles_are_quoted_in_answers_only_when_needed(fake: FakeSheets) -> None:
    fake.add_spreadsheet("K").add_sheet("Form responses 1", rows=20, cols=24)
    _, answer = _get(fake, "/v4/spreadsheets/K/values/%27Form%20responses%201%27")
    assert answer == {"range": "'Form responses 1'!A1:X20", "majorDimension": "ROWS"}


def test_render_options(fake: FakeSheets) -> None:
    book = fake.add_spreadsheet("K", locale="en_GB")
    book.add_sheet("Sheet1").load([["29/11/2024 10:15:00", "2020-01-01", "1.5", "TRUE"]], "en_GB")
    base = "/v4/spreadsheets/K/values/Sheet1?valueRenderOption="
    _, raw = _get(fake, base + "UNFORMATTED_VALUE&dateTimeRenderOption=SERIAL_NUMBER")
    _, dated = _get(fake, base + "UNFORMATTED_VALUE&dateTimeRenderOption=FORMATTED_STRING")
    _, shown = _get(fake, base + "FORMATTED_VALUE")
    stamp = to_serial(datetime(2024, 11, 29, 10, 15))
    assert raw["values"] == [[stamp, 43831, 1.5, True]]
    assert dated["values"] == [["29/11/2024 10:15:00", "2020-01-01", 1.5, True]]
    assert shown["values"] == [["29/11/2024 10:15:00", "2020-01-01", "1.5", "TRUE"]]


def test_errors_have_googles_json_body(fake: FakeSheets) -> None:
    fake.add_spreadsheet("K").add_sheet("Sheet1")
    fake.fail(429)
    status, body = _get(fake, "/v4/spreadsheets/K")
    assert status == 429
    assert body["error"]["code"] == 429
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    status, body = _get(fake, "/v4/spreadsheets/K/values/Nope!A1")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_writes_beyond_the_grid_are_refused_whole(fake: FakeSheets) -> None:
    sheet = fake.add_spreadsheet("K").add_sheet("Sheet1", rows=5, cols=3)
    data = [
        {"range": "Sheet1!A1", "values": [["kept out"]]},
        {"range": "Sheet1!D1", "values": [["too far"]]},
    ]
    answer = requests.post(
        fake.base_url + "/v4/spreadsheets/K/values:batchUpdate",
        json={"valueInputOption": "RAW", "data": data},
        headers={"Authorization": "Bearer t"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "exceeds grid limits" in answer.json()["error"]["message"]
    assert sheet.cells == []


def test_requests_are_counted_by_kind(fake: FakeSheets) -> None:
    fake.add_spreadsheet("K").add_sheet("Sheet1")
    _get(fake, "/v4/spreadsheets/K")
    _get(fake, "/v4/spreadsheets/K/values/Sheet1")
    _get(fake, "/v4/spreadsheets/K/values:batchGet?ranges=Sheet1!A1&ranges=Sheet1!B2")
    assert dict(fake.calls) == {"spreadsheets.get": 1, "values.get": 1, "values.batchGet": 1}
    assert fake.api_calls == 3
