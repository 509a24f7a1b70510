"""The Google source against a real Google Sheet. Skipped unless these are set:

CLUSTER_SYNC_LIVE_SHEET          key of a test spreadsheet shared with the service account
GOOGLE_APPLICATION_CREDENTIALS   the service account's key file
CLUSTER_SYNC_LIVE_TAB            (optional) the tab, default "Form responses 1"
CLUSTER_SYNC_LIVE_WRITE=1        (optional) also write statuses back: use a copy of the sheet

CLUSTER_SYNC_LIVE_SHEET=1AbC… GOOGLE_APPLICATION_CREDENTIALS=~/keys/sa.json pytest -m live
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cluster_sync.config import FormConfig
from cluster_sync.errors import SourceError
from cluster_sync.sources.base import RowStatus
from cluster_sync.sources.google import GoogleSource
from cluster_sync.sources.google_settings import GoogleSourceConfig

SHEET = os.environ.get("CLUSTER_SYNC_LIVE_SHEET", "")
KEY_FILE = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
TAB = os.environ.get("CLUSTER_SYNC_LIVE_TAB", "Form responses 1")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (SHEET and KEY_FILE),
        reason="set CLUSTER_SYNC_LIVE_SHEET and GOOGLE_APPLICATION_CREDENTIALS to run",
    ),
]


def live_source(spreadsheet: str = SHEET) -> GoogleSource:
    settings = GoogleSourceConfig(type="google", spreadsheet=spreadsheet, worksheet=TAB)
    return GoogleSource(settings, FormConfig(), Path(KEY_FILE).expanduser())


def test_reads_the_live_sheet() -> None:
    snapshot = live_source().read()
    assert snapshot.timezone is not None
    assert "Timestamp" in snapshot.headers
    for row in snapshot.rows:
        stamp = row.values.get("timestamp")
        assert stamp in (None, "") or isinstance(stamp, int | float)


def test_a_wrong_key_is_reported_plainly() -> None:
    with pytest.raises(SourceError, match=r"no spreadsheet with the key|may not open"):
        live_source("1" + "x" * 43).read()


@pytest.mark.skipif(os.environ.get("CLUSTER_SYNC_LIVE_WRITE") != "1", reason="writes to the sheet")
def test_writes_statuses_back() -> None:
    src = live_source()
    snapshot = src.read()
    statuses = [
        RowStatus(row, row.cluster_id, row.sync_status or "Checked by the live test", "live test")
        for row in snapshot.rows
        if row.cluster_id
    ]
    assert src.write_back(statuses) == len(statuses)
