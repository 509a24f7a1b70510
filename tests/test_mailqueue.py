"""The delivery loop with an in-memory mail backend: a server that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from smtp_server import from_message

from cluster_sync.config import LimitsConfig
from cluster_sync.mailers.base import Envelope, SendResult, TemporaryFailure
from cluster_sync.mailpass import deliver
from cluster_sync.mailqueue import enqueue, queue_listing, requeue
from cluster_sync.state import State

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class DownServer:
    """Accepts the connection, then answers every message with a 451."""

    description = "a server that is down"
    limits_apply = True
    saves_only = False

    def __init__(self) -> None:
        self.tries = 0

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, envelope: Envelope) -> SendResult:
        self.tries += 1
        raise TemporaryFailure("451 4.3.0 try again later")

    def already_delivered(self, envelope: Envelope) -> bool | None:
        return None


def queue(state: State, count: int) -> None:
    for number in range(count):
        message = EmailMessage()
        message["Subject"] = f"message {number}"
        message["Message-ID"] = f"<m{number}@example.org>"
        message.set_content("hello")
        outgoing = from_message(
            message, f"key-{number}", "factsheet", None, "a@example.org", ("b@example.org",)
        )
        enqueue(state, outgoing, None, NOW)


def test_a_server_that_keeps_failing_stops_the_pass_early(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    queue(state, 10)
    server = DownServer()
    report = deliver(state, server, LimitsConfig(), clock=lambda: NOW, sleep=lambda s: None)
    # three messages get their in-run retries; the other seven are not tried in vain
    assert server.tries == 3 * 3
    assert report.sent == 0 and report.deferred == 10
    assert "kept failing" in (report.stop_reason or "")
    assert {m["state"] for m in queue_listing(state)} == {"queued"}


def test_requeue_only_takes_failed_messages(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    queue(state, 1)
    (message,) = queue_listing(state)
    assert not requeue(state, int(str(message["id"])))
    state.db.execute("UPDATE messages SET state = 'failed', attempts = 8")
    assert requeue(state, int(str(message["id"])))
    (message,) = queue_listing(state)
    assert message["state"] == "queued" and message["attempts"] == 0


class AcceptingServer(DownServer):
    description = "a server that accepts everything"

    def send(self, envelope: Envelope) -> SendResult:
        self.tries += 1
        return SendResult()


def test_per_minute_cap_waits_at_most_the_budget_then_leaves_the_rest_queued(
    tmp_path: Path,
) -> None:
    state = State(tmp_path / "state.db")
    queue(state, 10)
    slept: list[float] = []
    limits = LimitsConfig(per_minute=4, max_wait_minutes=0)
    report = deliver(state, AcceptingServer(), limits, clock=lambda: NOW, sleep=slept.append)
    assert report.sent == 4 and report.deferred == 6 and slept == []
    assert "4 messages a minute" in (report.stop_reason or "")
    waiting = [m for m in queue_listing(state) if m["state"] == "queued"]
    assert len(waiting) == 6  # nothing lost: the next run sends them


def test_a_message_costs_one_commit_and_the_caps_one_read_a_pass(tmp_path: Path) -> None:
    """One message's `sent` mark commits with the next one's `sending` mark, and the caps
    read when the last day's messages were sent once, then count the pass's own."""
    state = State(tmp_path / "state.db")
    queue(state, 30)
    statements: list[str] = []
    state.db.set_trace_callback(statements.append)
    limits = LimitsConfig(per_minute=1000, per_day=10_000)
    report = deliver(state, AcceptingServer(), limits, clock=lambda: NOW)
    assert report.sent == 30
    caps = [s for s in statements if "sent_at >" in s]
    assert len(caps) == 1
    marks = [s for s in statements if s.startswith("UPDATE messages SET state = 's")]
    # each message: `sending`, then `sent` (the trace repeats a statement for each trigger)
    assert len(set(marks)) == 60
    commits = statements.count("COMMIT")
    assert commits <= 30 + 3  # the last `sent` alone, and what the pass does around them
    assert {m["state"] for m in queue_listing(state, include_sent=True)} == {"sent"}
    state.close()


def test_the_daily_cap_counts_earlier_passes_and_this_one(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    queue(state, 10)
    limits = LimitsConfig(per_minute=1000, per_day=4)
    server = AcceptingServer()
    first = deliver(state, server, LimitsConfig(per_minute=1000, per_day=3), clock=lambda: NOW)
    assert first.sent == 3 and first.deferred == 7 and "daily cap" in (first.stop_reason or "")
    second = deliver(state, server, limits, clock=lambda: NOW + timedelta(hours=1))
    assert second.sent == 1 and second.deferred == 6
    # a day after the first pass, its three no longer count; the second's one still does
    third = deliver(state, server, limits, clock=lambda: NOW + timedelta(days=1, seconds=1))
    assert third.sent == 3 and third.deferred == 3
    assert server.tries == 7
    state.close()
