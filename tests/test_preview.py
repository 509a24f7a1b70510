"""`cluster-sync preview CL-ID [--out DIR] [--send-to ADDRESS]` through the real CLI: the
factsheet and its email made into a folder, changing nothing; a test send marked as one."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from smtp_server import PASSWORD, USER, Tls, smtp_server
from test_cli import run
from test_sync import NOW, edit_cell, outbox, read_eml, row_by_title, rows, sync

from cluster_sync.config import Config
from cluster_sync.preview import TEST_HEADER
from cluster_sync.render.email import KEY_HEADER
from cluster_sync.state import State


def _snapshot(project: Path, leave_out: Path) -> dict[str, bytes]:
    """Every file of the project (state, sheet export, outputs, outbox) with its bytes; the
    log is a record of what was asked, not state. A reader of a WAL database may leave SQLite's
    index file (-shm) and an empty write-ahead log (-wal): no data, checked to be so."""
    found = {}
    for p in sorted(project.rglob("*")):
        if not p.is_file() or leave_out in p.parents or p.suffix == ".log":
            continue
        if p.name.endswith("-shm"):
            continue
        if p.name.endswith("-wal"):
            assert p.stat().st_size == 0, "something was written to the state database"
            continue
        found[str(p.relative_to(project))] = p.read_bytes()
    return found


def _rows_of(config: Config) -> dict[str, list[tuple[object, ...]]]:
    state = State(config.path(config.state.database))
    try:
        tables = [
            r[0] for r in state.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {t: [tuple(r) for r in state.db.execute(f"SELECT * FROM {t}")] for t in tables}
    finally:
        state.close()


def test_preview_makes_the_files_and_changes_nothing(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Adapting coastal plans")
    cid = row["Cluster ID"]
    out = project / "preview"
    tables = _rows_of(config)
    before = _snapshot(project, out)

    code, output = run(config, "preview", cid.lower(), "--out", str(out))
    assert code == 0, output
    assert f"Preview of {cid} (factsheet v1) in {out}:" in output
    assert "Nothing was recorded, queued, published or written to the sheet." in output
    assert _snapshot(project, out) == before
    assert _rows_of(config) == tables

    (factsheet,) = out.glob(f"{cid}-*-v1.docx")
    text = "\n".join(p.text for p in docx.Document(str(factsheet)).paragraphs)
    tables_text = "\n".join(
        c.text for t in docx.Document(str(factsheet)).tables for r in t.rows for c in r.cells
    )
    assert cid in text + tables_text
    message = read_eml(out / "email.eml")
    original = next(
        read_eml(p) for p in outbox(config) if cid in p.name and "-factsheet-" in p.name
    )
    assert message["Subject"] == original["Subject"]
    assert message["To"] == original["To"] and message["Cc"] == original["Cc"]
    assert message[TEST_HEADER] == "preview" and message[KEY_HEADER] is None
    assert next(message.iter_attachments()).get_filename() == factsheet.name

    code, output = run(config, "preview", cid, "--out", str(out))
    assert code == 1 and "is not an empty folder" in output  # never writes over files

    code, output = run(config, "-q", "preview", cid)
    assert code == 0, output
    folder = Path(output.strip())
    try:
        assert (
            folder.is_dir() and (folder / "email.eml").is_file() and project not in folder.parents
        )
    finally:
        shutil.rmtree(folder)
    assert _snapshot(project, out) == before


def test_send_to_sends_one_test_message_that_is_nobodys_email(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    cid = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    tables = _rows_of(config)
    sent = set(outbox(config))
    out = project / "preview"

    code, output = run(
        config, "preview", cid, "--out", str(out), "--send-to", "Ana <ana@example.net>"
    )
    assert code == 0, output
    assert "Test message sent to ana@example.net" in output
    (test,) = set(outbox(config)) - sent
    message = read_eml(test)
    assert str(message["Subject"]).startswith("[TEST] Factsheet for your cluster " + cid)
    assert [a.addr_spec for a in message["To"].addresses] == ["ana@example.net"]
    assert message["Cc"] is None
    assert message[TEST_HEADER] == "test send" and message[KEY_HEADER] is None
    assert _rows_of(config) == tables  # not recorded: not the partner's email

    # The night after, even with the state database lost, the test is never taken for the
    # factsheet's delivery, and nothing is sent twice.
    config.path(config.state.database).unlink()
    sync(config, NOW.replace(day=26))
    assert set(outbox(config)) - sent == {test}
    state = State(config.path(config.state.database))
    kinds = {r[0] for r in state.db.execute("SELECT kind FROM messages")}
    state.close()
    assert "preview" not in kinds

    code, output = run(config, "preview", cid, "--send-to", "not an address")
    assert code == 1 and "--send-to 'not an address' is not one email address" in output


def test_the_preview_email_is_the_waiting_update_with_its_changes(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(approval=True)
    sync(config)
    approved = next(
        r
        for r in rows(project / "responses.csv")
        if r["Sync status"].startswith("OK: factsheet v1")
    )
    cid = approved["Cluster ID"]
    edit_cell(project / "responses.csv", cid, "Approved", "FALSE")
    edit_cell(project / "responses.csv", cid, "Acronym", "NEWACRO")
    sync(config, NOW.replace(day=26))  # v2, held for approval

    code, output = run(config, "preview", cid, "--out", str(project / "preview"))
    assert code == 0, output
    assert "(factsheet v2)" in output
    message = read_eml(project / "preview" / "email.eml")
    assert str(message["Subject"]).startswith("Updated factsheet")
    body = message.get_body(("plain",)).get_content()
    assert "What changed since the version you received:" in body
    assert re.search(r"Acronym: “.+” → “NEWACRO”", body), body


def test_preview_says_what_to_do(make_config: Callable[..., Config], project: Path) -> None:
    config = make_config()
    code, output = run(config, "preview", "CL-2025-001")
    assert code == 1 and "There is no state database" in output
    assert not config.path(config.state.database).exists()
    sync(config)
    code, output = run(config, "preview", "CL-1999-999")
    assert code == 1 and "There is no registration 'CL-1999-999'" in output
    invalid = row_by_title(project / "responses.csv", "Marine heatwaves")["Cluster ID"]
    code, output = run(config, "preview", invalid)
    assert code == 1 and "has no factsheet yet" in output
    assert "Traceback" not in output


def test_send_to_through_a_real_smtp_server(
    make_config: Callable[..., Config],
    project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config()
    sync(config)  # into the outbox; then the mail goes through SMTP
    cid = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    tables = _rows_of(config)
    tls = Tls.make(tmp_path_factory.mktemp("tls"))
    monkeypatch.setenv("CLUSTER_SYNC_TEST_SMTP_PASSWORD", PASSWORD)
    with smtp_server(tls) as server:
        path = project / "cluster-sync.toml"
        text = path.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
        text = text.replace("cop@example.org>", f"{USER}>", 1)
        text += (
            f'\n[mail.smtp]\nhost = "{server.host}"\nport = {server.port}\n'
            f'security = "starttls"\nusername = "{USER}"\n'
            f'password_env = "CLUSTER_SYNC_TEST_SMTP_PASSWORD"\nca_file = "{server.ca_file}"\n'
        )
        path.write_text(text, encoding="utf-8")
        code, output = run(config, "preview", cid, "--send-to", "ana@example.net")
        assert code == 0, output
        (received,) = server.recorder.messages
    assert received.rcpt_tos == ["ana@example.net"]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert str(message["Subject"]).startswith("[TEST] ") and message[TEST_HEADER] == "test send"
    assert _rows_of(config) == tables
