"""One delivery pass over the mail queue (cluster_sync/mailqueue.py), through any Mailer.

Delivery marks a message `sending` and commits before handing it over (on the disk before its
content leaves: cluster_sync/state.py), then `sent` once the backend accepts it (committed with
the next message's `sending` mark). The outbox, where saving a message again replaces its file,
takes them in batches (Delivery). A run killed in between leaves `sending` rows, which the next
run settles first: the backend is asked whether it has the message (the outbox can tell); when
it cannot tell (SMTP), the message is sent again with the same Message-ID. docs/mail.md
explains that window. With mailqueue.py and mailstore.py, this is the code that runs SQL on
the `messages` table (tests/test_layers.py).
"""

from __future__ import annotations

import bisect
import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cluster_sync import mailstore
from cluster_sync.mailers.base import (
    SAVED_REPLY,
    Envelope,
    Mailer,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from cluster_sync.mailqueue import DeliveryReport, envelope_of, iso_time, utc_now
from cluster_sync.state import State

if TYPE_CHECKING:  # for hints only: config's own checks import what leads here
    from cluster_sync.config import LimitsConfig

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
#: waits between tries within one run; what is still failing after them waits for the next run
IN_RUN_WAITS = (2.0, 8.0)
#: after this many messages in a row are left for a later run, the server is unwell: stop
GIVE_UP_AFTER = 3


def _due(state: State, now: datetime) -> list[int]:
    """The ids of what is due: each message is loaded only when its turn comes, so a queue of
    thousands never sits in memory at once."""
    rows = state.db.execute(
        "SELECT id FROM messages WHERE state = 'queued' "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id",
        (iso_time(now),),
    ).fetchall()
    return [int(r[0]) for r in rows]


def _load_many(state: State, ids: list[int]) -> list[Envelope]:
    """The messages `ids` in that order: one read of their rows (a batch's worth at a time)."""
    return [envelope_of(state, row) for row in _rows(state, ids)]


def _rows(state: State, ids: list[int]) -> list[dict[str, Any]]:
    """The rows of messages `ids`, in that order, read at once; each message's bytes (its
    attachments' base64) are built only when its turn comes (_envelope)."""
    rows = state.db.execute(
        f"SELECT * FROM messages WHERE id IN ({', '.join('?' * len(ids))})", ids
    ).fetchall()
    found = {int(row["id"]): row for row in rows}
    return [dict(found[i]) for i in ids]


def _sent_times(state: State, since: datetime) -> list[str]:
    """When each message sent after `since` was sent (as stored), in order."""
    rows = state.db.execute(
        "SELECT sent_at FROM messages WHERE state = 'sent' AND sent_at > ? ORDER BY sent_at",
        (iso_time(since),),
    )
    return [str(r[0]) for r in rows]


def _recover(state: State, mailer: Mailer, now: datetime) -> int:
    """Settle messages a killed run left in `sending`."""
    rows = state.db.execute("SELECT * FROM messages WHERE state = 'sending'").fetchall()
    found = f"{SAVED_REPLY} (found after an interrupted run)"
    for row in rows:
        envelope = envelope_of(state, dict(row))
        delivered = mailer.already_delivered(envelope)
        with state.transaction() as db:
            if delivered:
                # Only the outbox can tell (SMTP answers None), so "found" means "saved".
                db.execute(
                    "UPDATE messages SET state = 'sent', sent_at = ?, last_reply = ? WHERE id = ?",
                    (iso_time(now), found, envelope.id),
                )
            else:
                db.execute("UPDATE messages SET state = 'queued' WHERE id = ?", (envelope.id,))
    return len(rows)


#: messages handed to an idempotent backend together (Mailer.idempotent): one read, one
#: `sending` commit, one round of disk waits and one `sent` commit for all of them
BATCH = 100


@dataclass
class Delivery:
    """One delivery pass: everything due, within the caps, through one open mailer.

    A backend that is idempotent (the outbox: a message saved again lands on its own file
    again) and has no caps takes the messages in batches: marked `sending` together, handed
    over without a disk wait each, made durable together (Mailer.settle), then recorded
    `sent` together, so that whatever the state records as sent is on the disk. A run killed
    in a batch leaves it `sending`, and the next run asks the backend what it has. Any other
    backend takes one message at a time, each `sending` mark durable before its content
    leaves (docs/mail.md: the ambiguous window)."""

    state: State
    mailer: Mailer
    limits: LimitsConfig
    clock: Clock = utc_now
    sleep: Callable[[float], None] = time.sleep
    in_run_waits: tuple[float, ...] = IN_RUN_WAITS
    report: DeliveryReport = field(default_factory=DeliveryReport)
    #: False when the caller closes the mailer itself
    close: bool = True
    waited: float = 0.0  # seconds spent waiting for the per-minute cap in this pass
    #: called just before a message is handed over; may return it rewritten (the digest,
    #: which reports on the delivery it closes)
    before_send: Callable[[Envelope, DeliveryReport], Envelope] | None = None
    #: which messages report on the delivery before them (the digest, by queue id): a batch
    #: never holds one after other messages, so before_send gets it once those are recorded
    reports: Callable[[int], bool] | None = None
    #: the caps' view of the queue: when each message of the last day was sent, read once
    #: and kept by the pass itself (no count per message)
    _sent: list[str] | None = field(default=None, init=False, repr=False)
    #: a `sent` mark made with the pass's next change (message id, sent_at, reply): one
    #: commit for one message's `sent` and the next one's `sending` (_changing)
    _pending: tuple[int, str, str] | None = field(default=None, init=False, repr=False)
    #: the row of the message after the one being handed over, and its envelope once built
    #: while the server reads the one before (Envelope.after_content)
    _upcoming: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _ahead: Envelope | None = field(default=None, init=False, repr=False)

    def run(self) -> DeliveryReport:
        self.report.saved_only = self.mailer.saves_only
        self.report.recovered = _recover(self.state, self.mailer, self.clock())
        due = _due(self.state, self.clock())
        if not due:
            return self.report
        try:
            self._open()
        except (TemporaryFailure, PermanentFailure) as exc:
            # The server is unreachable: nothing is lost, everything waits for the next run.
            self.report.deferred = len(due)
            self.report.stop_reason = f"could not use {self.mailer.description}: {exc}"
            self.report.unreachable = True
            if self.close:
                self.mailer.close()
            return self.report
        try:
            if getattr(self.mailer, "idempotent", False) and not self.mailer.limits_apply:
                # (the caps count what the state records as sent, a batch only at its end)
                self._deliver_batches(due)
            else:
                self._deliver_each(due)
        finally:
            self._flush()
            if self.close:
                self.mailer.close()
        return self.report

    def _open(self) -> None:
        """Connect; a temporary failure (a busy server's 421, a timeout) is tried once more
        after the first of the waits a message gets. A refused login is not: one attempt per
        run, so that a wrong password does not lock the account."""
        waits = list(self.in_run_waits[:1])
        while True:
            try:
                self.mailer.open()
                return
            except TemporaryFailure as exc:
                if not waits:
                    raise
                log.info("could not connect to %s (%s); trying again", self.mailer.description, exc)
                self.report.reconnected = True
                self.sleep(waits.pop(0) * (1 + random.random() / 2))

    def _deliver_each(self, due: list[int]) -> None:
        failing = 0
        rows: list[dict[str, Any]] = []
        for index in range(len(due)):
            if not self._within_caps():
                self.report.deferred += len(due) - index
                return
            if not rows:  # a batch's worth read at once (never with a `sent` mark waiting)
                self._flush()
                rows = _rows(self.state, due[index : index + BATCH])
                rows.reverse()
            row = rows.pop()
            self._upcoming = rows[-1] if rows else None
            before = self.report.deferred
            self._deliver(self._built(row))
            failing = failing + 1 if self.report.deferred > before else 0
            if failing >= GIVE_UP_AFTER:
                self._give_up(len(due) - index - 1)
                return

    def _built(self, row: dict[str, Any]) -> Envelope:
        """The message of `row`: built while the server read the one before, or now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.id == int(row["id"]):
            return ahead
        return envelope_of(self.state, row)

    def _build_next(self) -> None:
        """While the server reads a message's content: the next message's bytes (joining its
        attachments' base64 is most of what the client does for a message)."""
        row = self._upcoming
        if row is None or (self._ahead is not None and self._ahead.id == int(row["id"])):
            return
        try:
            self._ahead = envelope_of(self.state, row)
        except Exception:  # its own turn builds it again, and meets the error there
            self._ahead = None

    def _give_up(self, left: int) -> None:
        """Every other message would wait out the same in-run retries for nothing."""
        self.report.deferred += left
        self.report.stop_reason = (
            f"{self.mailer.description} kept failing; the rest waits for the next run"
        )
        self.report.unreachable = True

    def _deliver_batches(self, due: list[int]) -> None:
        failing, index = 0, 0
        while index < len(due):
            self._flush()  # a message retried alone below may have left its `sent` mark
            batch = _load_many(self.state, self._batch_ids(due, index))
            if self.before_send is not None:
                batch = [self.before_send(envelope, self.report) for envelope in batch]
            self._mark_all(batch, "state = 'sending', attempts = attempts + 1")
            # Durable before the first file (the same mark as for a single message, below).
            synced = self.state.durable_soon()
            results: list[SendResult] = []
            failure: TemporaryFailure | PermanentFailure | None = None
            for envelope in batch:
                try:
                    handing = replace(envelope, before_content=synced, batched=True)
                    results.append(self.mailer.send(handing))
                except (TemporaryFailure, PermanentFailure) as exc:
                    failure = exc
                    break
            tried = len(results) + (failure is not None)
            if batch[tried:]:  # never handed over: back as they were
                self._mark_all(batch[tried:], "state = 'queued', attempts = attempts - 1")
            try:
                self.mailer.settle()
            except TemporaryFailure as exc:
                # None of the batch is known to be on the disk: each waits for a later run
                # (whatever is there is replaced then), and so does everything after it.
                for envelope in batch[:tried]:
                    self._give_up_or_wait(envelope, exc.reply, [])
                self._give_up(len(due) - index - tried)
                return
            self._record_sent(batch[: len(results)], results)
            index += tried
            if results:
                failing = 0
            if failure is None:
                continue
            before = self.report.deferred
            self._after_failure(batch[len(results)], failure)
            failing = failing + 1 if self.report.deferred > before else 0
            if failing >= GIVE_UP_AFTER:
                self._give_up(len(due) - index)
                return

    def _batch_ids(self, due: list[int], index: int) -> list[int]:
        ids = due[index : index + BATCH]
        if self.reports is not None:  # one that reports on the others starts a batch
            ids = ids[: next((n for n, i in enumerate(ids) if n and self.reports(i)), len(ids))]
        return ids

    def _mark_all(self, envelopes: list[Envelope], sql: str) -> None:
        ids = [envelope.id for envelope in envelopes]
        with self._changing() as db:
            db.execute(f"UPDATE messages SET {sql} WHERE id IN ({', '.join('?' * len(ids))})", ids)

    def _record_sent(self, envelopes: list[Envelope], results: list[SendResult]) -> None:
        moment = iso_time(self.clock())
        with self._changing() as db:
            db.executemany(
                "UPDATE messages SET state = 'sent', sent_at = ?, last_reply = ? WHERE id = ?",
                [(moment, _reply(r), e.id) for e, r in zip(envelopes, results, strict=True)],
            )
        for envelope, result in zip(envelopes, results, strict=True):
            self._count_sent(envelope, result, moment)

    def _after_failure(self, envelope: Envelope, exc: TemporaryFailure | PermanentFailure) -> None:
        """A message of a batch failed (it is marked `sending`): as one alone would."""
        if isinstance(exc, PermanentFailure):
            self._fail(envelope, exc.reply)
            return
        waits = list(self.in_run_waits)
        if not self._give_up_or_wait(envelope, exc.reply, waits):
            self._deliver(envelope, waits)  # its other tries, one at a time

    def _within_caps(self) -> bool:
        if not self.mailer.limits_apply:
            return True
        now = self.clock()
        if self._sent_since(now - timedelta(days=1)) >= self.limits.per_day:
            self.report.stop_reason = f"the daily cap of {self.limits.per_day} messages was reached"
            return False
        # The per-minute cap slows a run down (the window frees itself), but a nightly run does
        # not wait for ever: past max_wait_minutes, the rest stays queued for the next run.
        budget = self.limits.max_wait_minutes * 60
        while self._sent_since(self.clock() - timedelta(minutes=1)) >= self.limits.per_minute:
            self._flush()  # not left waiting through the wait
            if self.waited >= budget:
                self.report.stop_reason = (
                    f"the cap of {self.limits.per_minute} messages a minute held delivery for "
                    f"{self.limits.max_wait_minutes} minutes; the rest waits for the next run"
                )
                return False
            self.sleep(1.0)
            self.waited += 1.0
        return True

    def _sent_since(self, since: datetime) -> int:
        """How many messages were sent after `since` (a moment of the last day)."""
        if self._sent is None:
            self._sent = _sent_times(self.state, since)
        return len(self._sent) - bisect.bisect_right(self._sent, iso_time(since))

    @contextmanager
    def _changing(self) -> Iterator[sqlite3.Connection]:
        """A transaction of the pass, which commits the `sent` mark waiting, if any, first."""
        pending = self._pending
        with self.state.transaction() as db:
            if pending is not None:
                db.execute(
                    "UPDATE messages SET state = 'sent', sent_at = ?, last_reply = ? WHERE id = ?",
                    (pending[1], pending[2], pending[0]),
                )
            yield db
        self._pending = None

    def _flush(self) -> None:
        """Commit the `sent` mark waiting, before anything that takes time or reads it."""
        if self._pending is not None:
            with self._changing():
                pass

    def _mark(self, envelope: Envelope, sql: str, *params: object) -> None:
        with self._changing() as db:
            db.execute(f"UPDATE messages SET {sql} WHERE id = ?", (*params, envelope.id))

    def _deliver(self, envelope: Envelope, waits: list[float] | None = None) -> None:
        waits = list(self.in_run_waits) if waits is None else waits
        while True:
            if self.before_send is not None:
                if self.reports is None or self.reports(envelope.id):
                    self._flush()  # what it reports on is recorded first
                envelope = self.before_send(envelope, self.report)
            # The `sending` mark and its disk sync (_Handover): a backend that says so makes
            # them itself, while the server answers (Envelope.started, before_content); any
            # other is handed the message only once they are done.
            handover = _Handover(self, envelope)
            if getattr(self.mailer, "waits_before_content", False):
                handing = replace(
                    envelope,
                    started=handover.start,
                    before_content=handover.content,
                    after_content=self._build_next,
                )
            else:
                handover.content()
                handing = envelope
            try:
                result = self.mailer.send(handing)
            except PermanentFailure as exc:
                handover.count()
                self._fail(envelope, exc.reply)
                return
            except TemporaryFailure as exc:
                handover.count()
                if self._give_up_or_wait(envelope, exc.reply, waits):
                    return
                continue
            moment = iso_time(self.clock())
            self._pending = (envelope.id, moment, _reply(result))
            self._count_sent(envelope, result, moment)
            return

    def _count_sent(self, envelope: Envelope, result: SendResult, moment: str) -> None:
        self.report.sent += 1
        if self._sent is not None:
            bisect.insort(self._sent, moment)
        for address, reply in result.refused.items():
            self.report.refused.append((envelope.id, address, reply))

    def _fail(self, envelope: Envelope, reply: str) -> None:
        self._mark(envelope, "state = 'failed', last_reply = ?", reply)
        self.report.failed.append((envelope.id, _subject(self.state, envelope), reply))

    def _give_up_or_wait(self, envelope: Envelope, reply: str, waits: list[float]) -> bool:
        """After a temporary failure: wait and retry within the run, or leave the message
        queued for a later run (failed for good after max_attempts). True when done with it."""
        (attempts,) = self.state.db.execute(
            "SELECT attempts FROM messages WHERE id = ?", (envelope.id,)
        ).fetchone()
        if attempts >= self.limits.max_attempts:
            self._mark(
                envelope,
                "state = 'failed', last_reply = ?",
                f"gave up after {attempts} tries: {reply}",
            )
            self.report.failed.append((envelope.id, _subject(self.state, envelope), reply))
            return True
        if waits:
            self._mark(envelope, "state = 'queued', last_reply = ?", reply)
            self.sleep(waits.pop(0) * (1 + random.random() / 2))
            return False
        later = self.clock() + timedelta(minutes=5 * 2 ** min(attempts, 6))
        self._mark(
            envelope,
            "state = 'queued', last_reply = ?, next_attempt_at = ?",
            reply,
            iso_time(later),
        )
        self.report.deferred += 1
        return True


@dataclass
class _Handover:
    """One try at handing a message over, and its `sending` mark: made when the backend
    starts the transaction (Envelope.started: the commit runs while the server answers the
    first command), at the latest right before the content leaves, and durable (synced to
    disk) before it does: a power loss after the handover finds it `sending`, never `queued`
    (cluster_sync/state.py). The disk sync runs while a server answers MAIL and RCPT. The
    other marks need no wait of their own: this one makes them durable too, one message
    later, and a `sent` mark lost with the power leaves a `sending` row, the documented
    ambiguous window (docs/mail.md). The previous message's `sent` mark commits with this
    mark, in one transaction; the pass commits it alone before anything that takes time
    (reading the next batch, a wait, its end), and a backend calls `started` before a
    connection, so a kill leaves it unrecorded no longer than when it had a commit of its
    own."""

    delivery: Delivery
    envelope: Envelope
    marked: bool = False
    synced: Callable[[], None] | None = None  # the wait for the mark's disk sync

    def start(self) -> None:
        if self.synced is None:
            self.count()
            self.synced = self.delivery.state.durable_soon()

    def content(self) -> None:
        self.start()
        assert self.synced is not None
        self.synced()

    def count(self) -> None:
        """The mark alone: a try counts whether or not the backend got as far as starting."""
        if not self.marked:
            self.delivery._mark(self.envelope, "state = 'sending', attempts = attempts + 1")
            self.marked = True


def _reply(result: SendResult) -> str:
    """What a `sent` message keeps of the backend's answer: the refused recipients, if any."""
    return json.dumps(result.refused, ensure_ascii=False) if result.refused else result.reply


def _subject(state: State, envelope: Envelope) -> str:
    row = state.db.execute("SELECT subject FROM messages WHERE id = ?", (envelope.id,)).fetchone()
    return str(row[0]) if row else ""


def deliver(
    state: State,
    mailer: Mailer,
    limits: LimitsConfig,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    in_run_waits: tuple[float, ...] = IN_RUN_WAITS,
    close: bool = True,
    before_send: Callable[[Envelope, DeliveryReport], Envelope] | None = None,
    reports: Callable[[int], bool] | None = None,
) -> DeliveryReport:
    """Send everything that is due, including what earlier runs left queued. With
    close=False the connection stays open (the caller closes it). `before_send` may rewrite a
    message right before it goes; `reports` names those that report on the delivery before
    them (Delivery.reports)."""
    delivery = Delivery(state, mailer, limits, clock, sleep, in_run_waits, close=close)
    delivery.before_send, delivery.reports = before_send, reports
    report = delivery.run()
    mailstore.collect(state)
    return report
