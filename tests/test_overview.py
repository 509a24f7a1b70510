"""`status`, `queue` and `send --dry-run` are library calls returning typed records: a message
held for its retry time, one due now, one saved to the outbox folder, and the runs, read back
from a real state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from test_cli import run
from test_mailqueue import NOW, DownServer, queue

from cluster_sync import overview
from cluster_sync.config import Config, LimitsConfig
from cluster_sync.mailpass import deliver
from cluster_sync.state import State


def test_the_queue_tells_held_from_due(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    queue(state, 2)
    deliver(state, DownServer(), LimitsConfig(), clock=lambda: NOW, sleep=lambda s: None)
    before = overview.queue(state, now=NOW)
    held = [m for m in before.messages if m.label == "held"]
    assert held and all(not m.due and m.next_attempt_at for m in held)
    assert all(m.recipients == ("b@example.org",) and m.kind == "factsheet" for m in held)
    assert before.counts.held == len(held)
    later = overview.queue(state, now=NOW + timedelta(days=2))
    assert {m.label for m in later.messages} == {"queued"}
    assert all(m.due for m in later.messages)
    assert [m.id for m in later.messages] == [m.id for m in before.messages]


def test_status_and_queue_after_a_sync(make_config: Callable[..., Config]) -> None:
    config = make_config()
    code, output = run(config, "sync")
    assert code == 0, output
    state = State(config.path(config.state.database))
    try:
        found = overview.status(config, state)
        everything = overview.queue(state, include_sent=True)
    finally:
        state.close()
    assert len(found.registrations) == 23
    assert set(found.emails) == {r.cluster_id for r in found.registrations}
    assert found.queue.messages == []  # the outbox backend saved every message
    assert everything.messages and {m.label for m in everything.messages} == {"saved"}
    assert not any(m.due for m in everything.messages)
    (last,) = found.runs
    assert last.outcome and last.counts["new"] == 16
    assert last.counts["saved"] == len(everything.messages)
