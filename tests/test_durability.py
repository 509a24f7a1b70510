"""Commits are synced to disk where something outside the state relies on them, and only there
(cluster_sync/state.py, "Durability"). SQLite's trace hook shows every statement the state
runs, in order; a commit is durable when it ran with `synchronous = FULL` (SQLite then syncs the
WAL at that commit, and every earlier commit with it). At each effect outside the database (a
message handed to the outbox, the export written back) the latest commit must be durable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.mailers.base import Envelope, SendResult
from cluster_sync.mailers.outbox import OutboxMailer
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.sources.base import RowStatus
from cluster_sync.sources.file import FileSource
from cluster_sync.state import State

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Trace:
    """Every statement the state's connection runs, in order."""

    def __init__(self, state: State) -> None:
        self.statements: list[str] = []
        state.db.set_trace_callback(self.statements.append)

    def commits(self) -> list[tuple[int, bool]]:
        """(position, durable) of every commit so far, a COMMIT or a change made outside
        BEGIN ... COMMIT (SQLite commits it on its own): durable when it ran under FULL."""
        mode, inside, found = "", False, []
        for position, statement in enumerate(self.statements):
            words = " ".join(statement.split()).upper()
            if words.startswith("PRAGMA SYNCHRONOUS ="):
                mode = words.rsplit("=", 1)[1].strip()
            elif words.startswith("BEGIN"):
                inside = True
            elif words == "COMMIT":
                inside = False
                found.append((position, mode == "FULL"))
            elif words == "ROLLBACK":
                inside = False
            elif not inside and words.startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
                found.append((position, mode == "FULL"))
        return found

    def last_commit_durable(self) -> bool:
        commits = self.commits()
        return bool(commits) and commits[-1][1]

    def all_commits_on_disk(self) -> bool:
        """The latest commit was durable, or the WAL file was fsynced after it (what SQLite
        does at a commit under FULL), which makes every commit so far durable."""
        commits = self.commits()
        if not commits:
            return False
        position, durable = commits[-1]
        later = self.statements[position + 1 :]
        return durable or any(s.startswith("-- fsync ") and s.endswith("-wal") for s in later)


def test_the_state_commits_without_a_sync_unless_asked(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    trace = Trace(state)
    assert state.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with state.transaction() as db:
        db.execute("INSERT INTO runs (started_at) VALUES ('x')")
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert not trace.last_commit_durable()
    with state.transaction(durable=True) as db:
        db.execute("INSERT INTO runs (started_at) VALUES ('y')")
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL for this commit
    assert trace.last_commit_durable()
    assert state.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # and back
    # asked for inside another transaction: the outer commit is followed by a durable one
    before = len(trace.commits())
    with state.transaction() as db:
        db.execute("INSERT INTO runs (started_at) VALUES ('z')")
        state.make_durable()
    assert [d for _, d in trace.commits()[before:]] == [False, True]
    state.close()


def test_a_rolled_back_durable_transaction_leaves_the_setting_as_it_was(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    try:
        with state.transaction(durable=True) as db:
            db.execute("INSERT INTO runs (started_at) VALUES ('x')")
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert state.db.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert state.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    state.close()


class WatchedOutbox(OutboxMailer):
    """The real outbox backend; at the moment each message's file is written, notes whether
    every commit so far is on the disk and what another connection (a later run) reads of
    the message."""

    def __init__(self, folder: Path, state_path: Path) -> None:
        super().__init__(folder)
        self.state_path = state_path
        self.trace: Trace | None = None
        self.seen: list[tuple[bool, str]] = []
        self.sending: Envelope | None = None

    def send(self, envelope: Envelope) -> SendResult:
        self.sending = envelope
        return super().send(envelope)

    def written(self) -> None:
        import sqlite3

        assert self.trace is not None and self.sending is not None
        other = sqlite3.connect(self.state_path)
        (state,) = other.execute(
            "SELECT state FROM messages WHERE id = ?", (self.sending.id,)
        ).fetchone()
        other.close()
        self.seen.append((self.trace.all_commits_on_disk(), state))


class WatchedExport(FileSource):
    """The real export source; notes whether the latest commit was durable when the export
    is written back."""

    trace: Trace | None = None
    seen: list[bool]

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        assert self.trace is not None
        self.seen.append(self.trace.last_commit_durable())
        return super().write_back(statuses)


def test_every_message_and_the_write_back_follow_a_durable_commit(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `sending` mark (one for a batch of outbox files) commits without a sync; the WAL's
    fsync runs in a thread while the backend prepares, and the content may leave only once it
    is done. The fsync is noted in the trace when it returns, and held back until the file is
    written or 50 ms have gone by: a backend that did not wait for it would write the file
    first, and fail here. And no message is recorded `sent` before its file and the folder's
    new name are on the disk: a power loss never leaves a `sent` mark without its file."""
    import os
    import threading

    from cluster_sync.mailers import outbox

    config = make_config()
    from cluster_sync.sources.file_settings import FileSourceConfig

    assert isinstance(config.source, FileSourceConfig)
    database = config.path(config.state.database)
    state = State(database)
    trace = Trace(state)
    mailer = WatchedOutbox(outbox_folder(config), database)
    mailer.trace = trace
    file_written = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith("-wal") and threading.current_thread() is not threading.main_thread():
            file_written.wait(0.05)
        real_fsync(fd)
        trace.statements.append(f"-- fsync {name}")

    def watched(write: Callable[..., None]) -> Callable[..., None]:
        def watched_write(path: Path, data: bytes, **options: bool) -> None:
            mailer.written()
            file_written.set()
            write(path, data, **options)
            file_written.clear()

        return watched_write

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(outbox, "atomic_write", watched(outbox.atomic_write))
    monkeypatch.setattr(outbox, "put_unsynced", watched(outbox.put_unsynced))
    source = WatchedExport(config.path(config.source.path), config.source, config.form)
    source.trace, source.seen = trace, []
    summary = Sync(config, state, source, mailer, now=NOW).run()
    state.close()
    assert summary.delivery is not None and summary.delivery.sent > 10
    assert len(mailer.seen) == summary.delivery.sent
    # each message: marked `sending` (visible to another connection), on the disk
    assert mailer.seen == [(True, "sending")] * len(mailer.seen)
    assert source.seen == [True]
    # and the rows' own commits are not synced: far fewer durable commits than commits
    durable = sum(d for _, d in trace.commits())
    assert durable <= 3 < len(trace.commits())
    # every `sent` mark commits after its file's fsync and then the folder's
    folder = str(outbox_folder(config).resolve())
    files = {int(p.name[:5]): str(p.resolve()) for p in outbox_folder(config).glob("*.eml")}
    commits = [position for position, _ in trace.commits()]
    marked = set()
    for position, statement in enumerate(trace.statements):
        if statement.startswith("UPDATE messages SET state = 'sent'"):
            message = int(statement.rsplit("=", 1)[1])
            commit = next(c for c in commits if c >= position)
            before = trace.statements[:commit]
            synced = before.index(f"-- fsync {files[message]}")
            assert f"-- fsync {folder}" in before[synced:], message
            marked.add(message)
    assert marked == set(files) and len(files) == summary.delivery.sent


def test_forget_changes_files_only_once_the_erasure_is_durable(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power loss after `forget` deleted or rewrote files must not bring the erased data
    back into the state: before any file it deletes or replaces, the erasure's transaction
    (its first commit) or a later commit was made with `synchronous = FULL`, which makes it
    durable. The bookkeeping of the files themselves may commit without a sync: lost, it
    names a file that is no longer there."""
    import os

    from test_sync import sync

    from cluster_sync.privacy.forget import erase, plan_erasure

    config = make_config()
    sync(config)
    state = State(config.path(config.state.database))
    plan = plan_erasure(config, state, "lucia.deiana@example.org", [])
    trace = Trace(state)
    seen: list[bool] = []

    def erasure_durable() -> bool:
        commits = trace.commits()
        return bool(commits) and any(durable for _, durable in commits)

    unlink, replace = Path.unlink, os.replace

    def watched_unlink(path: Path, missing_ok: bool = False) -> None:
        seen.append(erasure_durable())
        unlink(path, missing_ok=missing_ok)

    def watched_replace(source: str, target: str) -> None:
        seen.append(erasure_durable())
        replace(source, target)

    monkeypatch.setattr(Path, "unlink", watched_unlink)
    monkeypatch.setattr(os, "replace", watched_replace)
    erase(config, state, plan, NOW.date())
    state.close()
    assert seen and all(seen)
    # the erasure's own transaction is the first commit, and it is not durable by itself
    assert trace.commits()[0][1] is False


def test_each_new_factsheet_is_on_the_disk_before_the_next_durable_commit(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new version's .docx is renamed into place without its own fsync (files.atomic_write,
    synced=False); the state syncs every such file before its next durable commit, so no
    durable record names a file that a power loss could leave empty. The file events go
    into the same list as the state's statements, in the order they happen."""
    import os

    config = make_config()
    state = State(config.path(config.state.database))
    trace = Trace(state)
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        trace.statements.append(f"-- fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(src: str, dst: str | Path) -> None:
        real_replace(src, dst)
        trace.statements.append(f"-- written {dst}")

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    from cluster_sync.mailers import open_mailer
    from cluster_sync.sources import open_source

    summary = Sync(config, state, open_source(config), open_mailer(config), now=NOW).run()
    state.close()
    factsheets = {str(p) for p in summary.factsheets}
    assert len(factsheets) > 10
    durable = {position for position, d in trace.commits() if d}
    waiting: set[str] = set()
    for position, statement in enumerate(trace.statements):
        if statement.startswith("-- written ") and statement[11:] in factsheets:
            waiting.add(statement[11:])
        elif statement.startswith("-- fsync "):
            waiting.discard(statement[9:])
        elif position in durable:
            assert waiting == set(), f"durable commit before these were synced: {waiting}"
    assert waiting == set()
    synced = {s[9:] for s in trace.statements if s.startswith("-- fsync ")}
    assert factsheets <= synced
