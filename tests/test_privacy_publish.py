"""Personal data and publishing: a response whose consent is edited to no has its published
copies withdrawn on the next sync (web folder and Google Drive), and `forget` leaves nothing
naming the person in any format (Word and PDF), in the published copies (Drive's earlier
revisions included), the state (its write-ahead log too), the outbox, the log or the next
report; the next sync does not bring them back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pdf_support import needs_libreoffice, pdf_text
from publish_fixtures import (
    FOLDER,
    MakeConfig,
    drive_section,
    edit_answer,
    responses,
    run_sync,
    sheet,
)
from test_privacy_forget import state_mentions, words

from cluster_sync import config as config_mod
from cluster_sync import logs
from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.privacy.export import person_record
from cluster_sync.privacy.forget import erase, plan_erasure
from cluster_sync.report.gather import Period
from cluster_sync.report.service import make_report
from cluster_sync.state import State
from cluster_sync.testing.fake_drive import FakeDrive

PERSON = "lucia.deiana@example.org"
NAME = "Lucia Deiana"
PARTICIPANT = f"{NAME}; {PERSON}; Regione Autonoma della Sardegna; Italy"
BASE = "https://www.example.org/factsheets/"


@pytest.fixture
def drive() -> Iterator[FakeDrive]:
    with FakeDrive() as fake:
        fake.add_folder(FOLDER)
        yield fake


def folder_section(folder: Path) -> str:
    return (
        f'\n[publish]\ntarget = "folder"\n\n'
        f'[publish.folder]\npath = "{folder.as_posix()}"\nbase_url = "{BASE}"\n'
    )


def publishing(kind: str, project: Path, drive: FakeDrive) -> str:
    if kind == "drive":
        return drive_section(drive.base_url)
    (project / "www").mkdir()
    return folder_section(project / "www")


def published_copies(kind: str, project: Path, drive: FakeDrive) -> dict[str, list[bytes]]:
    """What anyone with a link could open: name -> contents, Drive's earlier revisions too."""
    if kind == "drive":
        return {
            f"{f.app_properties.get('clusterSyncFile')} ({f.id})": [f.content, *f.revisions]
            for f in drive.files.values()
            if not f.trashed
        }
    return {p.name: [p.read_bytes()] for p in (project / "www").iterdir()}


def readable(data: bytes) -> str:
    """The text a reader sees: a PDF's text layer, a Word file's words, else the bytes."""
    if data.startswith(b"%PDF"):
        import io

        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        return "".join(page.extract_text() for page in reader.pages).casefold()
    return words(data)


# -- consent withdrawn ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "drive"])
def test_consent_edited_to_no_withdraws_the_published_copies(
    make_config: MakeConfig, project: Path, drive: FakeDrive, kind: str
) -> None:
    path = responses(project, 2)
    config = make_config(extra=publishing(kind, project, drive))
    run_sync(config)
    first, second = sheet(path)
    before = published_copies(kind, project, drive)
    assert len(before) == 2 and first["Factsheet"] and second["Factsheet"]

    edit_answer(path, "Cluster number 1", "Consent", "No")
    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.withdrawn == 1
    after = published_copies(kind, project, drive)
    assert len(after) == 1 and not any(first["Cluster ID"] in name for name in after)
    assert after == {k: v for k, v in before.items() if second["Cluster ID"] in k}
    row = sheet(path)[0]
    assert row["Factsheet"] == "" and "Consent" in row["Sync status"]
    assert sheet(path)[1]["Factsheet"] == second["Factsheet"]

    # not published again while consent is not given, whatever else changes
    edit_answer(path, "Cluster number 1", "Acronym", "RENAMED")
    uploads = drive.uploads
    again = run_sync(config)
    assert again.publishing is not None and again.publishing.published == 0
    assert published_copies(kind, project, drive) == after and drive.uploads == uploads

    # consent given again: its factsheet is published again
    edit_answer(path, "Cluster number 1", "Consent", config.form.consent_text)
    back = run_sync(config)
    assert back.publishing is not None and back.publishing.published == 1
    assert len(published_copies(kind, project, drive)) == 2
    assert sheet(path)[0]["Factsheet"].startswith("https://")


def test_a_content_manager_moves_a_withdrawn_file_to_the_trash(
    make_config: MakeConfig, project: Path
) -> None:
    """In a shared drive only a Manager may delete for good (Drive answers 403 to a Content
    manager): the file goes to the trash instead, where nobody with the link can open it."""
    with FakeDrive() as drive:
        drive.add_folder(FOLDER, shared_drive=True)
        drive.shared_drive_role = "fileOrganizer"
        path = responses(project, 1)
        config = make_config(extra=drive_section(drive.base_url))
        run_sync(config)
        (file,) = drive.in_folder(FOLDER)
        edit_answer(path, "Cluster number 1", "Consent", "")
        summary = run_sync(config)
        assert summary.publishing is not None and summary.publishing.withdrawn == 1
        assert not summary.publishing.errors
        assert drive.files[file.id].trashed and drive.in_folder(FOLDER) == []
        assert drive.calls["files.delete"] == 1


# -- forget, with publishing and PDFs ---------------------------------------------------------


def pdf_publishing_config(make_config: MakeConfig, project: Path, extra: str) -> Config:
    make_config(extra=extra)
    toml = project / "cluster-sync.toml"
    text = toml.read_text(encoding="utf-8").replace(
        "[mail]\n", 'formats = ["docx", "pdf"]\n\n[mail]\nattach = ["docx", "pdf"]\n'
    )
    toml.write_text(text + '\n[output.pdf]\nsoffice = "soffice"\ntimeout_seconds = 120\n')
    return config_mod.load(toml)


@needs_libreoffice
@pytest.mark.parametrize("kind", ["folder", "drive"])
def test_after_forget_the_person_is_nowhere_and_the_next_sync_keeps_it_so(
    make_config: MakeConfig, project: Path, drive: FakeDrive, kind: str
) -> None:
    path = responses(project, 2, participants=PARTICIPANT)
    config = pdf_publishing_config(make_config, project, publishing(kind, project, drive))
    log_file = config.path(config.log.file or Path())
    logs.setup(log_file, "DEBUG")
    run_sync(config)
    edit_answer(path, "Cluster number 1", "Acronym", "RENAMED")  # v2: v1's answers are kept
    run_sync(config)
    first, second = sheet(path)
    copies = published_copies(kind, project, drive)
    assert any(NAME.casefold() in readable(c) for cs in copies.values() for c in cs)
    (pdf,) = [c for n, c in copies.items() if n.startswith(f"{first['Cluster ID']}.pdf")]
    assert NAME.casefold() in readable(pdf[0])  # the published PDF names them
    if kind == "drive":
        assert len(pdf) == 2  # v2 replaced v1, which Drive keeps as a revision
    others = {n: c for n, c in copies.items() if second["Cluster ID"] in n}
    database = config.path(config.state.database)
    state = State(database)
    assert state.version_data(first["Cluster ID"], 1) is not None
    assert make_report(config, state, Period(date(2024, 1, 1), date(2027, 12, 31)), date.today())

    record = person_record(config, state, PERSON)  # the access request first
    assert {p["cluster_id"] for p in record["published"]} == {first["Cluster ID"]}
    assert [(v["cluster_id"], v["version"]) for v in record["earlier_versions"]] == [
        (first["Cluster ID"], 1)
    ]
    assert any(f.endswith(".pdf") for f in record["files"]["factsheets"])
    plan = plan_erasure(config, state, PERSON, [])
    assert plan.published == [first["Cluster ID"]] and plan.old_answers == 1
    result = erase(config, state, plan, date(2026, 11, 26))
    assert result.remaining == []
    report = make_report(config, state, Period(date(2024, 1, 1), date(2027, 12, 31)), date.today())
    state.close()

    _assert_nowhere(config, database, log_file, kind, project, drive)
    for file in (report.docx, report.markdown, *(m.path for m in report.files.values() if m.path)):
        assert NAME.casefold() not in readable(file.read_bytes()), file
    # the re-rendered version is published in place of the withdrawn ones; the other cluster
    # was not touched
    again = published_copies(kind, project, drive)
    assert {n.split(" ")[0] for n in again if first["Cluster ID"] in n} == {
        f"{first['Cluster ID']}.docx",
        f"{first['Cluster ID']}.pdf",
    }
    assert {n: c for n, c in again.items() if second["Cluster ID"] in n} == others

    later = run_sync(config)
    assert later.counts["updated"] == 0 and later.erased_rows
    _assert_nowhere(config, database, log_file, kind, project, drive)
    assert published_copies(kind, project, drive) == again
    assert sheet(path)[0]["Factsheet"].startswith("https://")


def _assert_nowhere(
    config: Config, database: Path, log_file: Path, kind: str, project: Path, drive: FakeDrive
) -> None:
    for needle in (PERSON, NAME):
        assert state_mentions(database, needle) == [], needle
        # the database's bytes as they are (write-ahead log included), then checkpointed
        for _ in range(2):
            for part in database.parent.glob(database.name + "*"):
                assert needle.casefold().encode() not in part.read_bytes().lower(), part
            db = sqlite3.connect(database)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        for folder in (config.path(config.output.directory), outbox_folder(config)):  # type: ignore[arg-type]
            for file in (p for p in folder.rglob("*") if p.is_file()):
                assert needle.casefold() not in readable(file.read_bytes()), file
        assert needle.casefold() not in log_file.read_text(encoding="utf-8").casefold()
        for name, contents in published_copies(kind, project, drive).items():
            for content in contents:
                assert needle.casefold() not in readable(content), name
    pdfs = list(config.path(config.output.directory).rglob("*.pdf"))
    assert pdfs and all(pdf_text(p)[0] for p in pdfs)  # PDFs there, with text, were read


def test_a_withdrawal_drive_refuses_is_shown_and_done_by_the_next_sync(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    path = responses(project, 1)
    config = make_config(extra=drive_section(drive.base_url))
    run_sync(config)
    (file,) = drive.in_folder(FOLDER)
    edit_answer(path, "Cluster number 1", "Consent", "")
    drive.fail(503, times=4, kind="files.delete")  # every try of this run (retries = 3)

    failed = run_sync(config)

    assert failed.publishing is not None and failed.publishing.withdrawn == 0
    assert failed.publishing.errors and "withdrawing" in failed.publishing.errors[0]
    assert drive.in_folder(FOLDER) == [file]
    status = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "status"])
    assert "Published files the next sync withdraws: 1" in status.output, status.output

    later = run_sync(config)

    assert later.publishing is not None and later.publishing.withdrawn == 1
    assert drive.in_folder(FOLDER) == [] and file.id not in drive.files
    status = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "status"])
    assert "withdraws" not in status.output


def test_forget_says_which_published_copies_it_could_not_reach(
    make_config: MakeConfig, project: Path, drive: FakeDrive
) -> None:
    """Publishing switched off since: the copies published then cannot be reached, and forget
    says so (and where) instead of claiming the person is gone everywhere."""
    responses(project, 1, participants=PARTICIPANT)
    run_sync(make_config(extra=publishing("folder", project, drive)))
    config = make_config()  # no [publish] any more
    state = State(config.path(config.state.database))
    result = erase(config, state, plan_erasure(config, state, PERSON, []), date(2026, 11, 26))
    state.close()
    assert len(result.remaining) == 1
    assert "no longer the configured destination" in result.remaining[0]
    assert str(project / "www") in result.remaining[0]
    assert list((project / "www").iterdir())  # not touched: it is not ours to reach now
