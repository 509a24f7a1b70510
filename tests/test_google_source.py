"""The Google source, running real gspread and google-auth code over HTTP against the local fake
Sheets API (cluster_sync.testing.fake_sheets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from google_fixtures import (
    ACCOUNT,
    HEADERS,
    KEY,
    TAB,
    Sleeps,
    answer_row,
    load_sheet,
    service_account_key,
    settings,
    shown,
)

from cluster_sync import dates, form
from cluster_sync.config import FormConfig
from cluster_sync.errors import SourceError, UserError
from cluster_sync.sources.base import RowStatus, Snapshot
from cluster_sync.sources.google import GoogleSource, spreadsheet_key
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Cell, to_serial

STATUS_COLUMNS = list(form.STATUS_HEADERS)


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    with FakeSheets() as server:
        yield server


def source(fake: FakeSheets, sleeps: Sleeps | None = None, **changes: Any) -> GoogleSource:
    return GoogleSource(
        settings(fake, **changes), FormConfig(), sleep=Sleeps() if sleeps is None else sleeps
    )


def statuses(snapshot: Snapshot, status: str = "Factsheet sent") -> list[RowStatus]:
    return [
        RowStatus(row, row.cluster_id or f"CL-2025-{i:03d}", status, "2025-01-31 02:00")
        for i, row in enumerate(snapshot.rows, start=1)
        if row.values.get("title")
    ]


# -- reading ---------------------------------------------------------------------------------


def test_read_gives_serial_dates_in_the_sheets_time_zone(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)], time_zone="America/New_York")
    snapshot = source(fake).read()

    row = snapshot.rows[0]
    assert snapshot.timezone == ZoneInfo("America/New_York")
    assert row.values["timestamp"] == to_serial(datetime(2024, 11, 2, 10, 1))
    assert row.values["start_date"] == to_serial(datetime(2025, 2, 3))
    stamp = dates.parse_datetime(row.values["timestamp"], "DMY", snapshot.timezone)
    assert stamp == datetime(2024, 11, 2, 10, 1, tzinfo=ZoneInfo("America/New_York"))
    assert row.values["title"] == "Cluster number 1"
    sent = [path for kind, _, path, _ in fake.log if kind == "values.get"]
    assert "valueRenderOption=UNFORMATTED_VALUE" in sent[0]
    assert "dateTimeRenderOption=SERIAL_NUMBER" in sent[0]


def test_read_takes_a_full_address_and_tolerates_ragged_rows(fake: FakeSheets) -> None:
    short = answer_row(2)[:13]  # the API drops the trailing empty cells of a row
    load_sheet(fake, [HEADERS, short])
    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
    snapshot = source(fake, spreadsheet=url).read()

    assert snapshot.rows[0].values["contact_email"] == "contact2@example.org"
    assert snapshot.rows[0].values["consent"] is None
    assert snapshot.description.startswith(f"the Google Sheet {KEY}")


def test_tab_title_is_matched_whatever_the_case(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)], tab="Form Responses 1")
    assert source(fake, worksheet="form responses 1").read().rows


def test_spreadsheet_key_from_key_or_address() -> None:
    assert spreadsheet_key(f"  {KEY} ") == KEY
    assert spreadsheet_key(f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0") == KEY
    with pytest.raises(SourceError, match="neither a spreadsheet key"):
        spreadsheet_key("https://example.org/my sheet")


def test_empty_tab_is_a_clear_error(fake: FakeSheets) -> None:
    fake.add_spreadsheet(KEY).add_sheet(TAB)
    with pytest.raises(SourceError, match="empty: not even a header row"):
        source(fake).read()


def test_missing_required_column_names_it(fake: FakeSheets) -> None:
    headers = [h for h in HEADERS if h != "Contact email"]
    load_sheet(fake, [headers])
    with pytest.raises(UserError, match="“Contact email”"):
        source(fake).read()


# -- writing back ----------------------------------------------------------------------------


def test_write_back_adds_the_three_headers_and_writes_ids(fake: FakeSheets) -> None:
    sheet = load_sheet(fake, [HEADERS, answer_row(1), answer_row(2)])
    src = source(fake)
    before = shown(sheet)

    assert src.write_back(statuses(src.read())) == 2

    after = shown(sheet)
    assert after[0] == HEADERS + STATUS_COLUMNS
    assert after[1][-3:] == ["CL-2025-001", "Factsheet sent", "2025-01-31 02:00"]
    assert after[2][-3:] == ["CL-2025-002", "Factsheet sent", "2025-01-31 02:00"]
    assert [row[: len(HEADERS)] for row in after] == before  # no answer touched
    # The form's tab was exactly as wide as its questions: one call widened it, once.
    assert fake.calls["spreadsheets.batchUpdate"] == 1
    fake.calls.clear()
    src.write_back(statuses(src.read(), "Up to date"))
    assert "spreadsheets.batchUpdate" not in fake.calls
    assert shown(sheet)[1][-2] == "Up to date"


def test_formula_looking_statuses_stay_text(fake: FakeSheets) -> None:
    sheet = load_sheet(fake, [HEADERS, answer_row(1), answer_row(2), answer_row(3), answer_row(4)])
    src = source(fake)
    risky = ['=HYPERLINK("https://evil.example","click")', "+33 1 23 45 67 89", "-5", "@x"]
    snapshot = src.read()
    rows = [
        RowStatus(r, f"CL-{i}", text, "t")
        for i, (r, text) in enumerate(zip(snapshot.rows, risky, strict=True))
    ]
    src.write_back(rows)

    status_col = HEADERS.__len__() + 1
    cells = [sheet.get(r, status_col) for r in range(1, 5)]
    assert cells == [Cell(text) for text in risky]  # text, no formula, not a number
    assert [row.sync_status for row in src.read().rows] == risky
    body = next(b for kind, _, _, b in fake.log if kind == "values.batchUpdateByDataFilter")
    assert body["valueInputOption"] == "RAW"


def test_the_fake_would_turn_them_into_formulas_without_raw(fake: FakeSheets) -> None:
    """The test above proves something: the same text sent USER_ENTERED is not kept as text."""
    sheet = load_sheet(fake, [["a", "b", "c", "d"]])
    body = {
        "valueInputOption": "USER_ENTERED",
        "data": [
            {
                "range": "'Form responses 1'!A2:D2",
                "values": [['=HYPERLINK("u","click")', "+33 1", "-5", "@x"]],
            }
        ],
    }
    url = f"{fake.base_url}/v4/spreadsheets/{KEY}/values:batchUpdate"
    requests.post(
        url, json=body, headers={"Authorization": "Bearer t"}, timeout=5
    ).raise_for_status()
    assert sheet.get(1, 0) == Cell("click", formula='=HYPERLINK("u","click")')
    assert sheet.get(1, 1) == Cell("#ERROR!", formula="=+33 1")
    assert sheet.get(1, 2) == Cell(-5)
    assert sheet.get(1, 3) == Cell("@x")


def test_a_column_inserted_mid_run_moves_nothing_into_it(fake: FakeSheets) -> None:
    """Columns are found by their tags when Google applies the write (test_google_races.py
    covers every other edit, at the write and during a retry wait)."""
    sheet = load_sheet(fake, [HEADERS, answer_row(1), answer_row(2)])

    def insert_question() -> None:  # someone adds a column left of "Contact email"
        sheet.insert_columns(12)
        sheet.put(0, 12, Cell("Phone"))

    fake.after("values.get", insert_question, count=1)  # right after read()'s values request
    src = source(fake)
    assert src.write_back(statuses(src.read())) == 2
    after = shown(sheet)
    assert after[0] == [*HEADERS[:12], "Phone", *HEADERS[12:], *STATUS_COLUMNS]
    assert [row[12] for row in after] == ["Phone", "", ""]
    assert after[1][-3:] == ["CL-2025-001", "Factsheet sent", "2025-01-31 02:00"]


def test_write_back_matches_rows_by_id_after_a_resort(fake: FakeSheets) -> None:
    sheet = load_sheet(fake, [HEADERS, answer_row(1), answer_row(2), answer_row(3)])
    src = source(fake)
    src.write_back(statuses(src.read()))
    snapshot = src.read()
    sheet.cells[1:] = sheet.cells[:0:-1]  # someone sorts the responses newest first

    src.write_back([RowStatus(r, r.cluster_id, f"seen {r.cluster_id}", "t") for r in snapshot.rows])
    for row in shown(sheet)[1:]:
        assert row[-2] == f"seen {row[-3]}"


def test_status_columns_go_right_of_unlabelled_notes(fake: FakeSheets) -> None:
    sheet = load_sheet(fake, [HEADERS, [*answer_row(1), "", "a note"]], cols=len(HEADERS) + 2)
    src = source(fake)
    src.write_back(statuses(src.read()))
    assert shown(sheet)[1][len(HEADERS) : len(HEADERS) + 2] == ["", "a note"]
    assert shown(sheet)[0][len(HEADERS) + 2 :] == STATUS_COLUMNS


def test_write_back_off_writes_nothing(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)])
    src = source(fake, write_back=False)
    assert src.write_back(statuses(src.read())) == 0
    assert fake.api_calls == 2


# -- faults ----------------------------------------------------------------------------------


def test_a_short_429_storm_is_survived(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)])
    fake.fail(429, times=3)
    sleeps = Sleeps()
    assert source(fake, sleeps, retries=3).read().rows
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2] <= 32  # backoff grows, bounded


def test_a_long_429_storm_fails_cleanly_with_nothing_written(fake: FakeSheets) -> None:
    sheet = load_sheet(fake, [HEADERS, answer_row(1)])
    src = source(fake, retries=2)
    snapshot = src.read()
    before = shown(sheet)
    fake.fail(429, times=100, kind="values.batchUpdateByDataFilter")

    with pytest.raises(SourceError, match="Google kept failing") as caught:
        src.write_back(statuses(snapshot))
    assert "3 failed writes" in str(caught.value)
    assert fake.calls["values.batchUpdateByDataFilter"] == 3
    # Each try was planned from a fresh read of the sheet:
    assert fake.calls["values.batchGetByDataFilter"] == 4  # after tagging, and before each try
    assert shown(sheet) == before  # not even the new headers


def test_server_errors_are_retried(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)])
    fake.fail(500, times=1, kind="spreadsheets.get")
    fake.fail(503, times=1, kind="values.get")
    assert source(fake).read().rows


def test_a_stalled_request_times_out_and_is_retried(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)])
    fake.stall(5, times=1, kind="values.get")
    sleeps = Sleeps()
    assert source(fake, sleeps, timeout_seconds=0.2).read().rows
    assert len(sleeps) == 1


def test_a_server_that_never_answers_in_time_is_a_clear_error(fake: FakeSheets) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)])
    fake.stall(5, times=10, kind="values.get")
    with pytest.raises(SourceError, match="Could not reach the Google Sheets API"):
        source(fake, timeout_seconds=0.1, retries=1).read()


def test_403_names_the_service_account_to_share_with(fake: FakeSheets, tmp_path: Path) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)], shared_with={"someone.else@example.org"})
    key_file = service_account_key(tmp_path / "key.json", fake.token_url)
    src = GoogleSource(settings(fake, credentials="service_account"), FormConfig(), key_file)

    with pytest.raises(SourceError) as caught:
        src.read()
    assert ACCOUNT in caught.value.message
    assert f"add {ACCOUNT} as Editor" in (caught.value.hint or "")
    assert fake.calls["spreadsheets.get"] == 1  # a 403 is not retried


def test_a_shared_sheet_opens_with_a_service_account_key(fake: FakeSheets, tmp_path: Path) -> None:
    load_sheet(fake, [HEADERS, answer_row(1)], shared_with={ACCOUNT})
    key_file = service_account_key(tmp_path / "key.json", fake.token_url)
    src = GoogleSource(settings(fake, credentials="service_account"), FormConfig(), key_file)
    assert src.read().rows[0].values["title"] == "Cluster number 1"
    assert fake.calls["token"] == 1


def test_404_says_the_key_is_wrong(fake: FakeSheets) -> None:
    with pytest.raises(SourceError, match=f"no spreadsheet with the key {KEY}"):
        source(fake).read()


def test_missing_tab_lists_the_tabs(fake: FakeSheets) -> None:
    book = fake.add_spreadsheet(KEY)
    book.add_sheet("Sheet1")
    book.add_sheet("Risposte del modulo 1")
    with pytest.raises(SourceError) as caught:
        source(fake).read()
    assert f"no tab named “{TAB}”" in caught.value.message
    assert "“Sheet1”, “Risposte del modulo 1”" in (caught.value.hint or "")


def test_missing_key_file_says_what_to_do(fake: FakeSheets, tmp_path: Path) -> None:
    src = GoogleSource(
        settings(fake, credentials="service_account"), FormConfig(), tmp_path / "nope.json"
    )
    with pytest.raises(SourceError, match=r"nope\.json does not exist") as caught:
        src.read()
    assert "GOOGLE_APPLICATION_CREDENTIALS" in (caught.value.hint or "")


def test_no_credentials_at_all(fake: FakeSheets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    src = GoogleSource(settings(fake, credentials="service_account"), FormConfig())
    with pytest.raises(SourceError, match="No Google credentials are configured"):
        src.read()


def test_broken_key_file(fake: FakeSheets, tmp_path: Path) -> None:
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account"}')
    src = GoogleSource(settings(fake, credentials="service_account"), FormConfig(), broken)
    with pytest.raises(SourceError, match="not a valid service-account key file"):
        src.read()


def test_no_credentials_option_is_refused_for_google_itself(fake: FakeSheets) -> None:
    cfg = settings(fake, api_base_url="https://sheets.googleapis.com")
    with pytest.raises(SourceError, match="cannot be used with Google itself"):
        GoogleSource(cfg, FormConfig()).read()


# -- the API budget --------------------------------------------------------------------------


def _sync_calls(rows: int) -> dict[str, int]:
    with FakeSheets() as fake:
        load_sheet(fake, [HEADERS, *(answer_row(n) for n in range(rows))])
        src = source(fake)
        src.write_back(statuses(src.read()))  # first sync: gives IDs, adds the status columns
        fake.calls.clear()
        written = src.write_back(statuses(src.read(), "Up to date"))  # a nightly sync
        assert written == rows
        return dict(fake.calls)


def test_api_calls_do_not_grow_with_rows() -> None:
    small, large = _sync_calls(10), _sync_calls(5000)
    assert (
        small
        == large
        == {
            "spreadsheets.get": 1,  # read(): tab list and time zone
            "values.get": 1,  # read(): the whole tab
            "developerMetadata.search": 1,  # where the status columns are tagged
            "values.batchGetByDataFilter": 2,  # the tab with the tagged columns: before, and after
            "values.batchUpdateByDataFilter": 1,  # every status, located by the tags
        }
    )


def test_two_writes_in_one_run(fake: FakeSheets) -> None:
    rows = [[*HEADERS, "Cluster ID"], [*answer_row(1), "CL-2024-001"]]
    sheet = load_sheet(fake, rows)
    src = source(fake)
    snapshot = src.read()
    src.write_back(statuses(snapshot, "first"))  # adds Sync status and Last synced
    src.write_back(statuses(snapshot, "second"))  # ...which are not "moved columns"
    assert shown(sheet)[1][-3:] == ["CL-2024-001", "second", "2025-01-31 02:00"]


def test_a_further_owned_column_is_written_like_the_others(
    fake: FakeSheets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owned columns are form.STATUS_HEADERS, whatever it lists: one more (a link to the
    factsheet, say) is added, tagged and written from RowStatus.more."""
    monkeypatch.setattr(form, "STATUS_HEADERS", (*form.STATUS_HEADERS, "Factsheet"))
    sheet = load_sheet(fake, [HEADERS, answer_row(1), answer_row(2)])
    src = source(fake)
    rows = [
        RowStatus(r, f"CL-2025-00{i}", "Sent", "t", more={"Factsheet": f"https://x/{i}"})
        for i, r in enumerate(src.read().rows, start=1)
    ]
    assert src.write_back(rows) == 2
    after = shown(sheet)
    assert after[0][-4:] == [*STATUS_COLUMNS, "Factsheet"]
    assert [row[-1] for row in after[1:]] == ["https://x/1", "https://x/2"]
    assert sorted(m.value or "" for m in sheet.metadata) == sorted(form.STATUS_HEADERS)


def test_ranges_are_read_in_every_form_google_answers_them() -> None:
    from cluster_sync.sources.google_tags import columns_of

    assert columns_of("'Form responses 1'!D1:D1000") == (3, 3)
    assert columns_of("Sheet1!D:D") == (3, 3)  # an unbounded column
    assert columns_of("Sheet1!A1:Z1000") == (0, 25)
    assert columns_of("'It''s'!AB7") == (27, 27)
    assert columns_of("Sheet1") is None  # a bare tab: its width is taken from elsewhere
