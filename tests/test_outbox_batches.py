"""The outbox takes messages in batches (mailpass.Delivery, Mailer.idempotent): what the
state records as saved is on the disk, a failure in the middle of a batch says exactly which
messages were saved and which wait, and saving a message again never makes a second file.
Faults are placed where the program meets the operating system (the rename that makes a file
whole, the fsync that puts it on the disk)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_mailqueue import NOW, queue

from cluster_sync.config import LimitsConfig
from cluster_sync.mailers.base import Envelope
from cluster_sync.mailers.outbox import UNSENT_HEADER, OutboxMailer
from cluster_sync.mailpass import BATCH, deliver
from cluster_sync.mailqueue import DeliveryReport
from cluster_sync.state import State


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    db = State(tmp_path / "state.db")
    yield db
    db.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The outbox folder."""
    return tmp_path / "outbox"


def rows(state: State) -> list[tuple[int, str, int]]:
    return [
        (int(i), str(s), int(a))
        for i, s, a in state.db.execute("SELECT id, state, attempts FROM messages ORDER BY id")
    ]


def saved(folder: Path) -> list[int]:
    """The queue ids of the .eml files in the folder (each name starts with its id)."""
    return sorted(int(p.name[:5]) for p in folder.glob("*.eml"))


def full_disk_from(monkeypatch: pytest.MonkeyPatch, files: int) -> None:
    """The disk fills up once `files` .eml files are in place: every later rename fails."""
    real_replace = os.replace
    count = {"eml": 0}

    def replace(src: str, dst: str | Path) -> None:
        if str(dst).endswith(".eml"):
            if count["eml"] >= files:
                raise OSError(errno.ENOSPC, "No space left on device")
            count["eml"] += 1
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_full_disk_in_a_batch_keeps_what_was_saved_and_says_which_wait(
    state: State, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(state, 10)
    full_disk_from(monkeypatch, 3)
    slept: list[float] = []
    report = deliver(
        state, OutboxMailer(folder), LimitsConfig(), clock=lambda: NOW, sleep=slept.append
    )
    # three saved; the fourth tried three times (two waits), so were the fifth and sixth,
    # then the pass stops: the four after them are not tried in vain
    assert report.sent == 3 and report.deferred == 7 and not report.failed
    assert report.unreachable and "kept failing" in (report.stop_reason or "")
    assert len(slept) == 3 * 2
    assert rows(state) == [
        (1, "sent", 1), (2, "sent", 1), (3, "sent", 1),
        (4, "queued", 3), (5, "queued", 3), (6, "queued", 3),
        (7, "queued", 0), (8, "queued", 0), (9, "queued", 0), (10, "queued", 0),
    ]  # fmt: skip
    assert saved(folder) == [1, 2, 3]
    assert not [p for p in folder.iterdir() if not p.name.endswith(".eml")]  # no temp file left
    # space again, at the next run (past the retry time): the rest, each once
    monkeypatch.undo()
    later = NOW + timedelta(days=1)
    report = deliver(state, OutboxMailer(folder), LimitsConfig(), clock=lambda: later)
    assert report.sent == 7 and not report.deferred
    assert saved(folder) == list(range(1, 11))


def test_a_batch_whose_files_cannot_be_synced_is_not_recorded_and_is_saved_once_later(
    state: State, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(state, 5)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".eml"):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    report = deliver(state, OutboxMailer(folder), LimitsConfig(), clock=lambda: NOW)
    # the files are there, but not known to be on the disk: none counts as saved
    assert report.sent == 0 and report.deferred == 5 and report.unreachable
    assert {s for _, s, _ in rows(state)} == {"queued"}
    assert saved(folder) == [1, 2, 3, 4, 5]
    monkeypatch.undo()
    report = deliver(state, OutboxMailer(folder), LimitsConfig(), clock=lambda: NOW + timedelta(1))
    assert report.sent == 5
    assert saved(folder) == [1, 2, 3, 4, 5]  # the same files, written again
    assert {s for _, s, _ in rows(state)} == {"sent"}


def test_a_file_cut_short_by_a_power_loss_is_written_again(state: State, folder: Path) -> None:
    """A batched file is renamed into place before it is synced: after a power loss its name
    may be there with less in it while the state still says `sending`. Only the whole
    message counts as saved; anything else is replaced."""
    queue(state, 2)
    first = deliver(state, OutboxMailer(folder), LimitsConfig(), clock=lambda: NOW)
    assert first.sent == 2
    whole = {p.name: p.read_bytes() for p in folder.glob("*.eml")}
    # as a power loss would leave it: both `sending`, one file empty, the other whole
    state.db.execute("UPDATE messages SET state = 'sending'")
    cut, _whole = sorted(folder.glob("*.eml"))
    cut.write_bytes(b"")
    report = deliver(state, OutboxMailer(folder), LimitsConfig(), clock=lambda: NOW)
    assert report.recovered == 2 and report.sent == 1
    assert {p.name: p.read_bytes() for p in folder.glob("*.eml")} == whole
    assert all(data.startswith(UNSENT_HEADER) for data in whole.values())
    assert {s for _, s, _ in rows(state)} == {"sent"}


def test_a_message_reporting_on_the_delivery_waits_until_those_before_it_are_recorded(
    state: State, folder: Path
) -> None:
    """The digest (before_send rewrites it with the delivery's outcome) starts a batch of its
    own: the report it is given counts every message before it."""
    queue(state, BATCH + 5)
    reporting = {4, BATCH + 2}
    seen: dict[int, int] = {}

    def before_send(envelope: Envelope, report: DeliveryReport) -> Envelope:
        seen[envelope.id] = report.sent
        return envelope

    report = deliver(
        state,
        OutboxMailer(folder),
        LimitsConfig(),
        clock=lambda: NOW,
        before_send=before_send,
        reports=reporting.__contains__,
    )
    assert report.sent == BATCH + 5
    assert {i: seen[i] for i in reporting} == {i: i - 1 for i in reporting}
    assert saved(folder) == list(range(1, BATCH + 6))


def test_a_backend_with_caps_gets_one_message_at_a_time(state: State, folder: Path) -> None:
    """The caps count what the state records as sent, which a batch records only at its end:
    an idempotent backend whose caps apply is not given batches."""

    class CappedOutbox(OutboxMailer):
        limits_apply = True
        seen: list[bool]

        def send(self, envelope: Envelope) -> object:  # type: ignore[override]
            self.seen.append(envelope.batched)
            return super().send(envelope)

    queue(state, 6)
    capped = CappedOutbox(folder)
    capped.seen = []
    report = deliver(
        state, capped, LimitsConfig(per_minute=4, max_wait_minutes=0), clock=lambda: NOW
    )
    assert report.sent == 4 and report.deferred == 2
    assert capped.seen == [False] * 4
