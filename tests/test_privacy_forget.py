"""`forget` end to end: a person erased from the state (every table and column, JSON and the
bytes of every email, decoded), the outbox, the log, the factsheets and the next report; the
next sync does not bring them back; `export-person` shows what is held first."""

from __future__ import annotations

import email
import email.policy
import html
import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from test_sync import NOW, edit_cell, row_by_title, rows, sync

from cluster_sync import config as config_mod
from cluster_sync import logs
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.privacy.export import person_record
from cluster_sync.privacy.forget import erase, plan_erasure
from cluster_sync.report.gather import Period
from cluster_sync.report.service import make_report
from cluster_sync.state import State

PERSON = "lucia.deiana@example.org"
NAME = "Lucia Deiana"
PERIOD = Period(date(2024, 1, 1), date(2027, 12, 31))


def words(data: bytes) -> str:
    """What a reader could see in some bytes: as text, every decoded MIME part, and the text
    of any Office document among them (tags removed)."""
    found = [data.decode("utf-8", "replace")]
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))
        found.append(html.unescape(re.sub(rb"<[^>]+>", b"", xml).decode("utf-8", "replace")))
    elif b"\nContent-Type:" in data or data.startswith((b"Content-Type", b"From", b"Subject")):
        message = email.message_from_bytes(data, policy=email.policy.default)
        found += [f"{k}: {v}" for k, v in message.items()]
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload != data:
                found.append(words(payload))
    return "\n".join(found).casefold()


def state_mentions(path: Path, needle: str) -> list[str]:
    db = sqlite3.connect(path)
    hits = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            for (value,) in db.execute(f'SELECT "{column}" FROM "{table}"'):
                data = value if isinstance(value, bytes) else str(value).encode()
                if needle.casefold() in words(data):
                    hits.append(f"{table}.{column}")
    db.close()
    return hits


def files_mentioning(folder: Path, needle: str) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return [p for p in found if needle.casefold() in words(p.read_bytes())]


def test_forget_erases_everywhere_and_the_next_sync_keeps_it_so(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    log_file = config.path(config.log.file or Path())
    logs.setup(log_file, "DEBUG")
    responses = project / "responses.csv"
    sync(config)
    # the address also typed (in other capitals) into another cluster's free text
    governance_id = row_by_title(responses, "Governance toolkit")["Cluster ID"]
    other = next(
        r["Cluster ID"]
        for r in rows(responses)
        if r["Sync status"].startswith("OK") and r["Cluster ID"] != governance_id
    )
    edit_cell(responses, other, "Expertise needed", "Ask Lucia.Deiana@Example.ORG")
    sync(config, NOW.replace(day=26))
    database = config.path(config.state.database)
    outbox = outbox_folder(config)
    output = config.path(config.output.directory)
    state = State(database)
    report = make_report(config, state, PERIOD, NOW.date())
    assert state_mentions(database, PERSON) and files_mentioning(outbox, PERSON)
    assert NAME.casefold() in words(report.markdown.read_bytes())

    record = person_record(config, state, PERSON.upper())
    assert {r["cluster_id"] for r in record["registrations"]} == {governance_id, other}
    assert record["messages"] and record["files"]["factsheets"]
    governance = next(r for r in record["registrations"] if r["cluster_id"] == governance_id)
    assert governance["roles"] == ["participant"]
    answers = json.dumps(governance["answers"]).casefold()
    assert PERSON in answers and "niccolo.manca@example.org" not in answers  # not theirs

    plan = plan_erasure(config, state, PERSON, [])
    assert NAME in plan.names and plan.items > 0
    before = database.read_bytes()
    result = erase(config, state, plan, NOW.date())
    assert result.remaining == []
    assert database.read_bytes() != before
    make_report(config, state, PERIOD, NOW.date())  # the next report
    state.close()
    _assert_gone(database, outbox, output, log_file)

    later = sync(config, NOW.replace(day=27))
    _assert_gone(database, outbox, output, log_file)
    governance = row_by_title(responses, "Governance toolkit")
    assert later.erased_rows and "erased on request" in governance["Sync status"]
    assert later.counts["updated"] == 0  # nothing new was made from the old answers
    digest = max(outbox.glob("*digest*.eml"))
    assert "erased on request" in words(digest.read_bytes())
    db = sqlite3.connect(database)
    (kind, items) = db.execute("SELECT kind, items FROM erasures").fetchone()
    assert (kind, items) == ("forget", plan.items)


def _assert_gone(database: Path, outbox: Path, output: Path, log_file: Path) -> None:
    for needle in (PERSON, NAME):
        assert state_mentions(database, needle) == [], needle
        # the file itself, free pages and the write-ahead log included
        for part in database.parent.glob(database.name + "*"):
            assert needle.casefold().encode() not in part.read_bytes().lower(), part
        assert files_mentioning(outbox, needle) == []
        assert files_mentioning(output, needle) == []
        assert needle.casefold() not in log_file.read_text(encoding="utf-8").casefold()


def test_forget_shows_first_and_changes_nothing_without_yes(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    database = config.path(config.state.database)
    before = database.read_bytes()
    runner = CliRunner()
    args = ["--config", str(project / "cluster-sync.toml"), "forget", PERSON]
    shown = runner.invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    assert "Dry run" in shown.output and "registrations: 1" in shown.output
    assert database.read_bytes() == before
    done = runner.invoke(cli, [*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert "Erased" in done.output
    assert state_mentions(database, PERSON) == []
    exported = runner.invoke(
        cli, ["--config", str(project / "cluster-sync.toml"), "export-person", PERSON]
    )
    assert "Registrations naming this address: 0" in exported.output
    assert "erased on request earlier" in exported.output


def test_forgetting_a_contact_keeps_the_cluster_and_its_other_people(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    responses = project / "responses.csv"
    sync(config)
    contact = row_by_title(responses, "Governance toolkit")["Contact email"]
    state = State(config.path(config.state.database))
    result = erase(config, state, plan_erasure(config, state, contact, []), NOW.date())
    state.close()
    assert result.remaining == []
    later = sync(config, NOW.replace(day=26))
    assert later.counts["error"] == 0 and later.counts["updated"] == 0
    database = config.path(config.state.database)
    assert state_mentions(database, contact) == []
    assert files_mentioning(outbox_folder(config), contact) == []
    state = State(database)
    reg = state.registration(row_by_title(responses, "Governance toolkit")["Cluster ID"])
    state.close()
    assert reg is not None and reg.data is not None and reg.status == "valid"
    assert reg.data["contact_email"]["email"] == "" and reg.data["participants"]


def test_forget_reaches_the_attachments_kept_for_queued_emails(
    make_config: Callable[..., Config], project: Path
) -> None:
    """Emails still queued keep their attachments apart, once each by hash: forget removes
    those naming the person, and the attachments no message needs any more go too."""
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on: delivery must wait
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make_config()
    toml = project / "cluster-sync.toml"
    text = toml.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
    smtp = f'\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nauth = "none"\n'
    toml.write_text(text + smtp, encoding="utf-8")
    config = config_mod.load(toml)
    sync(config)
    database = config.path(config.state.database)
    state = State(database)
    governance_id = row_by_title(project / "responses.csv", "Governance toolkit")["Cluster ID"]
    queued = state.db.execute(
        "SELECT id FROM messages WHERE cluster_id = ? AND state = 'queued'", (governance_id,)
    ).fetchall()
    assert queued  # its factsheet email waits, its attachment kept apart
    assert [h for h, d in state.db.execute("SELECT hash, data FROM attachments")
            if NAME.casefold() in words(bytes(d))]  # fmt: skip

    result = erase(config, state, plan_erasure(config, state, PERSON, []), NOW.date())

    assert result.remaining == []
    needed = {
        h
        for (h,) in state.db.execute(
            "SELECT m.hash FROM message_attachments m JOIN messages ON messages.id = m.message "
            "WHERE messages.state != 'sent'"
        )
    }
    kept = {h for (h,) in state.db.execute("SELECT hash FROM attachments")}
    assert kept == needed  # nothing orphaned
    from cluster_sync import mailstore

    for row in state.db.execute("SELECT id, raw FROM messages WHERE state = 'queued'"):
        whole = mailstore.whole(state, dict(row))  # every queued email can still be sent
        assert PERSON not in words(whole) and NAME.casefold() not in words(whole)
    state.close()
    assert state_mentions(database, PERSON) == [] and state_mentions(database, NAME) == []
