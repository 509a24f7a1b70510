"""Publishing to Google Drive: the real sync, google-auth and requests over HTTP against the
local fake of the Drive API (cluster_sync.testing.fake_drive)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from google_fixtures import Sleeps
from publish_fixtures import (
    FOLDER,
    SAVED_V1,
    MakeConfig,
    drive_section,
    edit_answer,
    factsheet_emails,
    responses,
    run_sync,
    sheet,
)

from cluster_sync.state import State
from cluster_sync.testing.fake_drive import FakeDrive

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def drive() -> Iterator[FakeDrive]:
    with FakeDrive() as fake:
        fake.add_folder(FOLDER)
        yield fake


def queries(drive: FakeDrive, kind: str) -> list[dict[str, str]]:
    return [
        {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
        for k2, _, path in drive.log
        if k2 == kind
    ]


def published_rows(config: object) -> list[tuple[str, int, str, str, str]]:
    state = State(config.path(config.state.database))  # type: ignore[attr-defined]
    try:
        return [
            tuple(r)
            for r in state.db.execute(
                "SELECT cluster_id, version, format, state, remote_id FROM published ORDER BY 1, 2"
            )
        ]
    finally:
        state.close()


# -- a new factsheet, then a new version ---------------------------------------------------------


def test_new_factsheets_are_uploaded_and_linked_in_the_sheet(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    config = make_config(extra=drive_section(drive.base_url))

    summary = run_sync(config)

    files = drive.in_folder(FOLDER)
    assert summary.publishing is not None and summary.publishing.published == 2
    assert drive.calls["files.create"] == 2
    for row in sheet(path):
        cid = row["Cluster ID"]
        (made,) = [f for f in files if f.app_properties["clusterSyncFile"] == f"{cid}.docx"]
        assert row["Factsheet"] == f"https://drive.google.com/file/d/{made.id}/view?usp=drivesdk"
        local = next((project / "var/output/factsheets").glob(f"{cid}-*-v1.docx"))
        assert made.content == local.read_bytes()  # the uploaded bytes are the factsheet's
        assert made.name == local.name and made.mime_type == DOCX
    # every upload was multipart and asked for supportsAllDrives and only the fields it needs
    for params in queries(drive, "files.create"):
        assert params["uploadType"] == "multipart"
        assert params["supportsAllDrives"] == "true"
        assert params["fields"] == "id,webViewLink,appProperties"


def test_a_new_version_replaces_the_content_of_the_same_file(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    config = make_config(extra=drive_section(drive.base_url))
    run_sync(config)
    before = {r["Cluster ID"]: r["Factsheet"] for r in sheet(path)}
    (first,) = [f for f in drive.in_folder(FOLDER) if "number-1" in f.name]
    old = first.content

    edit_answer(path, "Cluster number 1", "Acronym", "NEWNAME")
    drive.calls.clear()
    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.published == 1
    assert dict(drive.calls) == {"files.update": 1}  # no list, no create, no new sharing
    assert {r["Cluster ID"]: r["Factsheet"] for r in sheet(path)} == before  # same links
    assert len(drive.in_folder(FOLDER)) == 2
    assert first.revisions == [old]  # Drive keeps the first version as a revision
    v2 = next((project / "var/output/factsheets").glob("*-v2.docx"))
    assert first.content == v2.read_bytes() and first.name == v2.name
    assert first.app_properties["clusterSyncVersion"] == "2"


def test_a_night_without_changes_costs_no_drive_call(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    responses(project, 3)
    config = make_config(extra=drive_section(drive.base_url))
    run_sync(config)
    drive.calls.clear()

    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.published == 0
    assert sum(drive.calls.values()) == 0


# -- sharing -------------------------------------------------------------------------------------


def test_files_are_shared_as_configured(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    responses(project, 1)
    extra = drive_section(
        drive.base_url,
        share_with_domain='"example.org"',
        share_with='["Ana Lopez <ana@example.org>", "bo@example.net"]',
    )
    run_sync(make_config(extra=extra))

    (made,) = drive.in_folder(FOLDER)
    shared = [
        {k: p.get(k) for k in ("type", "role", "domain", "emailAddress")} for p in made.permissions
    ]
    assert shared == [
        {"type": "domain", "role": "reader", "domain": "example.org", "emailAddress": None},
        {"type": "user", "role": "reader", "domain": None, "emailAddress": "ana@example.org"},
        {"type": "user", "role": "reader", "domain": None, "emailAddress": "bo@example.net"},
    ]
    assert made.permissions[0]["allowFileDiscovery"] is False
    calls = queries(drive, "permissions.create")
    assert "sendNotificationEmail" not in calls[0]  # Google refuses it for a domain
    assert [c.get("sendNotificationEmail") for c in calls[1:]] == ["false", "false"]
    assert all(c["supportsAllDrives"] == "true" for c in calls)


# -- storage, outages, retries -------------------------------------------------------------------


def test_no_storage_says_the_ways_out_and_the_email_still_goes(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    drive.no_storage = True  # a service account made since April 2025, and a My Drive folder
    config = make_config(extra=drive_section(drive.base_url))

    summary = run_sync(config)

    report = summary.publishing
    assert report is not None and report.published == 0 and report.unpublished == 2
    assert drive.calls["files.create"] == 1  # the first refusal stops the others
    message = report.errors[0]
    assert "no storage" in message
    for way in ("shared drive", 'credentials = "authorized_user"', "domain-wide delegation"):
        assert way in message
    assert len(factsheet_emails(config)) == 2  # the emails went all the same
    assert all(r["Sync status"].startswith(SAVED_V1) for r in sheet(path))
    assert all(r.get("Factsheet", "") == "" for r in sheet(path))
    assert summary.counts["publish_errors"] == 1


def test_a_shared_drive_folder_works_without_storage_of_ones_own(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 1)
    drive.no_storage = True
    drive.add_folder(FOLDER, shared_drive=True)  # files in a shared drive belong to the drive
    summary = run_sync(make_config(extra=drive_section(drive.base_url)))

    assert summary.publishing is not None and summary.publishing.published == 1
    assert sheet(path)[0]["Factsheet"].startswith("https://drive.google.com/file/d/")


def test_429_and_500_are_tried_again(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 1)
    drive.fail(429, kind="files.create")
    drive.fail(500, kind="files.create")
    sleeps = Sleeps()

    summary = run_sync(make_config(extra=drive_section(drive.base_url)), sleeps)

    assert summary.publishing is not None and summary.publishing.published == 1
    assert drive.calls["files.create"] == 3
    assert len(drive.in_folder(FOLDER)) == 1  # a refused try made nothing: no duplicate
    assert len(sleeps) >= 2 and sheet(path)[0]["Factsheet"]


def test_drive_down_delays_the_link_not_the_email_and_the_next_run_publishes(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    config = make_config(extra=drive_section(drive.base_url))
    drive.fail(503, times=100)

    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.unpublished == 2
    assert "kept answering 503" in summary.publishing.errors[0]
    # the look-up for earlier files, four tries; no upload is tried behind a failing look-up
    assert dict(drive.calls) == {"files.list": 4}
    assert len(factsheet_emails(config)) == 2
    assert all(r["Sync status"].startswith(SAVED_V1) for r in sheet(path))

    drive._faults.clear()
    again = run_sync(config)

    assert again.publishing is not None and again.publishing.published == 2
    assert all(r["Factsheet"].startswith("https://drive.google.com/") for r in sheet(path))
    assert len(drive.in_folder(FOLDER)) == 2


def test_the_digest_lists_what_was_not_published(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    from publish_fixtures import emails

    responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url))
    drive.fail(503, times=100)
    run_sync(config)

    (digest,) = [m for m in emails(config) if "cluster-sync" in str(m["Subject"])]
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "FACTSHEETS NOT PUBLISHED YET (1)" in text
    assert "kept answering 503" in text


# -- crashes -------------------------------------------------------------------------------------


def test_an_upload_that_landed_unrecorded_is_not_uploaded_again(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    """The answer to the upload never arrives (the run is killed, or the connection drops
    after Google made the file): the next try and the next run find the file instead."""
    path = responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url, timeout_seconds="2"))
    drive.stall(30, kind="files.create", after=True)  # made, then no answer within the timeout

    summary = run_sync(config)

    assert drive.calls["files.create"] == 1  # the retry looked first and found the file
    assert len(drive.in_folder(FOLDER)) == 1
    assert summary.publishing is not None and summary.publishing.published == 1
    (made,) = drive.in_folder(FOLDER)
    assert made.id in sheet(path)[0]["Factsheet"]


def test_a_run_killed_after_the_upload_never_uploads_twice(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url, retries="0", timeout_seconds="2"))
    drive.stall(30, kind="files.create", after=True)
    first = run_sync(config)  # the file lands, the run never hears of it
    assert first.publishing is not None and first.publishing.unpublished == 1
    assert [r[3] for r in published_rows(config)] == ["pending"]

    drive.calls.clear()
    again = run_sync(config)

    assert drive.calls["files.create"] == 0 and drive.calls["files.update"] == 0
    assert again.publishing is not None and again.publishing.recovered == 1
    (made,) = drive.in_folder(FOLDER)
    assert made.id in sheet(path)[0]["Factsheet"]
    assert [r[3:] for r in published_rows(config)] == [("done", made.id)]


def test_a_lost_state_finds_the_files_it_made_instead_of_making_more(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    config = make_config(extra=drive_section(drive.base_url))
    run_sync(config)
    links = [r["Factsheet"] for r in sheet(path)]
    config.path(config.state.database).unlink()
    for extra in ("-wal", "-shm"):
        Path(str(config.path(config.state.database)) + extra).unlink(missing_ok=True)

    drive.calls.clear()
    run_sync(config)

    assert drive.calls["files.create"] == 0
    assert len(drive.in_folder(FOLDER)) == 2
    assert [r["Factsheet"] for r in sheet(path)] == links


# -- partners' text ------------------------------------------------------------------------------


def test_a_title_never_reaches_a_query_or_a_name_unescaped(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    title = "O'Brien \\ \"quoted\" ../../etc/passwd ' or name contains '"
    path = responses(project, 1, title=title)
    config = make_config(extra=drive_section(drive.base_url, timeout_seconds="2"))
    drive.stall(30, kind="files.create", after=True)  # forces the look-up query too

    run_sync(config)

    (made,) = drive.in_folder(FOLDER)
    assert "/" not in made.name and "'" not in made.name and '"' not in made.name
    assert "\\" not in made.name and ".." not in made.name
    assert made.name.startswith("CL-") and made.name.endswith("-v1.docx")
    for params in queries(drive, "files.list"):
        assert "Brien" not in params["q"] and "passwd" not in params["q"]
    assert sheet(path)[0]["Factsheet"].endswith("/view?usp=drivesdk")


def test_drive_query_literals_escape_quotes_and_backslashes(drive: FakeDrive) -> None:
    from cluster_sync.publish.drive import drive_literal
    from cluster_sync.testing.fake_drive import DriveFile

    tricky = "it's a \\ test ' or '1'='1"
    drive.files["x"] = DriveFile("x", tricky, DOCX, [FOLDER])
    drive.files["y"] = DriveFile("y", "it", DOCX, [FOLDER])
    from cluster_sync.testing.drive_requests import parse_query

    (match,) = parse_query(f"name = {drive_literal(tricky)}")
    assert [f.id for f in drive.files.values() if match(f)] == ["x"]


# -- credentials -------------------------------------------------------------------------------


def test_publishing_as_a_person_with_an_oauth_file(
    make_config: MakeConfig,
    project: Path,
    drive: FakeDrive,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.oauth2.credentials

    # google-auth sends every authorised-user refresh to Google, whatever the file says
    monkeypatch.setattr(
        google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", drive.base_url + "/token"
    )
    responses(project, 1)
    oauth = tmp_path / "user.json"
    oauth.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "client.apps.googleusercontent.com",
                "client_secret": "secret",
                "refresh_token": "refresh",
                "token_uri": drive.base_url + "/token",
            }
        ),
        encoding="utf-8",
    )
    extra = drive_section(drive.base_url).replace(
        'credentials = "none"', f'credentials = "authorized_user"\ncredentials_file = "{oauth}"'
    )
    summary = run_sync(make_config(extra=extra))

    assert drive.calls["token"] == 1
    assert summary.publishing is not None and summary.publishing.published == 1


def test_a_missing_folder_is_said_plainly(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url, folder="1NoSuchFolder000000000"))
    summary = run_sync(config)

    assert summary.publishing is not None
    assert "has no folder 1NoSuchFolder000000000" in summary.publishing.errors[0]
    assert len(factsheet_emails(config)) == 1


def test_attach_false_links_the_drive_file_once_it_exists(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url, attach="false"))
    run_sync(config)
    (first,) = factsheet_emails(config)
    # the first version's link does not exist before its upload: the file is attached
    assert len(list(first.iter_attachments())) == 1

    edit_answer(path, "Cluster number 1", "Acronym", "NEWNAME")
    run_sync(config)

    (update,) = [m for m in factsheet_emails(config) if "Updated" in str(m["Subject"])]
    assert list(update.iter_attachments()) == []
    link = sheet(path)[0]["Factsheet"]
    assert link in update.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_killed_sync_never_uploads_twice(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    """A real crash: the sync process is killed (SIGKILL) right after Drive has made the file
    and before the answer reaches it. The next run finds the file instead of uploading again."""
    import os
    import signal
    import subprocess
    import sys

    path = responses(project, 2)
    make_config(extra=drive_section(drive.base_url))
    command = [sys.executable, "-m", "cluster_sync", "--config", "cluster-sync.toml", "sync"]
    process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    drive.after("files.create", lambda: os.kill(process.pid, signal.SIGKILL))
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert len(drive.in_folder(FOLDER)) == 1

    again = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)

    assert again.returncode == 0, again.stderr
    assert drive.calls["files.create"] == 2  # the one before the kill, and the other cluster's
    files = drive.in_folder(FOLDER)
    assert len(files) == 2
    assert sorted(r["Factsheet"].split("/")[5] for r in sheet(path)) == sorted(f.id for f in files)


def test_the_google_sheet_gets_a_plain_link_that_stays_across_versions(
    project: Path, drive: FakeDrive
) -> None:
    """The real gspread write-back into the fake Google Sheet: the Factsheet column is added by
    header, holds the Drive link as plain text written RAW (never a formula), and keeps it."""
    from conftest import CONFIG_TEMPLATE, ROOT
    from google_fixtures import HEADERS, KEY, TAB, answer_row, load_sheet

    from cluster_sync import config as config_mod
    from cluster_sync.testing.fake_sheets import FakeSheets
    from cluster_sync.testing.sheet_model import Cell

    with FakeSheets() as sheets:
        tab = load_sheet(sheets, [HEADERS, answer_row(1), answer_row(2)])
        text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
        source = (
            f'[source]\ntype = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
            f'credentials = "none"\napi_base_url = "{sheets.base_url}"\nretries = 1\n'
        )
        text = source + text.split("[form]", 1)[1].join(["[form]", ""])
        (project / "cluster-sync.toml").write_text(text + drive_section(drive.base_url))
        config = config_mod.load(project / "cluster-sync.toml")

        run_sync(config)

        header = [c.value if c else "" for c in tab.cells[0]]
        column = header.index("Factsheet")
        links = [tab.get(r, column) for r in (1, 2)]
        files = {f.id for f in drive.in_folder(FOLDER)}
        assert all(isinstance(c, Cell) and c.formula is None for c in links)
        assert {str(c.value).split("/")[5] for c in links if c} == files
        # values written by tagged column (main's write-back) or, without tags, by position
        kinds = ("values.batchUpdateByDataFilter", "values.batchUpdate")
        writes = [body for kind, _, _, body in sheets.log if kind in kinds]
        assert writes and all(body["valueInputOption"] == "RAW" for body in writes)
        # an owned column like the status ones: tagged, so a moved column is found again
        assert "Factsheet" in {m.value for m in tab.metadata}

        title = header.index("Acronym")
        tab.put(1, title, Cell("CHANGED"))
        run_sync(config)

        assert [tab.get(r, column) for r in (1, 2)] == links
        assert drive.calls["files.update"] == 1 and len(drive.in_folder(FOLDER)) == 2


def test_check_says_whether_the_folder_can_be_used(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    responses(project, 1)
    make_config(extra=drive_section(drive.base_url))
    args = ["--config", str(project / "cluster-sync.toml"), "check"]

    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "factsheets are published to the Drive folder “Factsheets”" in ok.output
    assert drive.uploads == 0

    make_config(extra=drive_section(drive.base_url, folder="1NoSuchFolder000000000"))
    missing = CliRunner().invoke(cli, args)
    assert missing.exit_code != 0
    assert "has no folder 1NoSuchFolder000000000" in missing.output


def test_a_file_over_5_mb_goes_up_in_a_resumable_session(drive: FakeDrive, tmp_path: Path) -> None:
    """Google advises multipart uploads up to 5 MB only: a bigger file (a PDF full of photos)
    is sent through a resumable session, for the first version and the next."""
    import os

    from cluster_sync.publish import FactsheetFile, Job
    from cluster_sync.publish.drive import DriveTarget
    from cluster_sync.publish.drive_settings import DrivePublishConfig

    settings = DrivePublishConfig(folder=FOLDER, credentials="none", api_base_url=drive.base_url)
    target = DriveTarget(settings, None, sleep=Sleeps())
    big = tmp_path / "CL-2025-001-big-v1.pdf"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    first = FactsheetFile("CL-2025-001", 1, "pdf", big)
    target.prepare([Job(first, None, False)])

    made = target.publish(Job(first, None, False))

    (stored,) = drive.in_folder(FOLDER)
    assert stored.id == made.remote_id and stored.content == big.read_bytes()
    assert stored.mime_type == "application/pdf"
    assert [q["uploadType"] for q in queries(drive, "files.create")] == ["resumable"]
    assert drive.calls["resumable.put"] == 1

    big.write_bytes(os.urandom(6 * 1024 * 1024))
    second = FactsheetFile("CL-2025-001", 2, "pdf", big)
    again = target.publish(Job(second, made, False))

    assert again.remote_id == made.remote_id and again.url == made.url
    assert stored.content == big.read_bytes() and len(stored.revisions) == 1
    assert [q["uploadType"] for q in queries(drive, "files.update")] == ["resumable"]


def test_without_app_properties_queries_our_files_are_found_in_the_folder_listing(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    path = responses(project, 2)
    config = make_config(extra=drive_section(drive.base_url))
    drive.plain_queries_only = True
    run_sync(config)
    links = [r["Factsheet"] for r in sheet(path)]
    state = config.path(config.state.database)
    for suffix in ("", "-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)

    drive.calls.clear()
    run_sync(config)

    assert drive.calls["files.create"] == 0 and len(drive.in_folder(FOLDER)) == 2
    assert [r["Factsheet"] for r in sheet(path)] == links
