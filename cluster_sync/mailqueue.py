"""The mail queue in the state database: what is queued, and what is known of each message.

Every message is queued (rendered bytes, recipients, stable Message-ID) before anything is sent;
the same key is never queued twice. Its delivery is cluster_sync/mailpass.py, its stored bodies
and attachments cluster_sync/mailstore.py: with those two, this module is the only code that
runs SQL on the `messages` table (tests/test_layers.py). docs/mail.md explains the states a
message goes through and the one ambiguous window.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cluster_sync import keys, mailstore
from cluster_sync.mailers.base import (
    SAVED_REPLY,
    Envelope,
)
from cluster_sync.state import State

if TYPE_CHECKING:  # for hints only: config's own checks import what leads here
    pass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """A message ready to queue: its bytes are written once (cluster_sync/render/mime.py) and
    what is stored is what is delivered."""

    dedupe_key: str  # the same key is never queued twice
    kind: str
    cluster_id: str | None
    sender: str
    recipients: tuple[str, ...]
    message_id: str  # the Message-ID header's value
    subject: str  # the Subject, decoded
    #: the complete message but for each attached file's base64 lines, which go at `offsets`
    raw: bytes
    offsets: tuple[int, ...] = ()
    #: the attached files' bytes, in order, one for each offset
    attachments: tuple[bytes, ...] = ()

    def as_bytes(self) -> bytes:
        """The complete message, as it will be sent."""
        if not self.attachments:
            return self.raw
        return mailstore.fill(self.raw, self.offsets, self.attachments)

    def with_message_id(self, message_id: str) -> Outgoing:
        """The same message under another Message-ID (one it was queued with before)."""
        head_end = self.raw.index(b"\r\n\r\n") + 2
        old = f"\r\nMessage-ID: {self.message_id}\r\n".encode("ascii")
        new = f"\r\nMessage-ID: {message_id}\r\n".encode("ascii")
        at = self.raw.find(old, 0, head_end)
        if at < 0:
            raise ValueError("the message has no Message-ID header to replace")
        shift = len(new) - len(old)
        return replace(
            self,
            message_id=message_id,
            raw=self.raw[:at] + new + self.raw[at + len(old) :],
            offsets=tuple(offset + shift for offset in self.offsets),
        )


@dataclass
class DeliveryReport:
    sent: int = 0  # accepted by the server, or saved to the outbox (see `saved_only`)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (id, subject, reply)
    deferred: int = 0  # tried in this pass and left queued: temporary failures or over a cap
    stop_reason: str | None = None  # why delivery stopped early, if it did
    unreachable: bool = False  # the server could not be used at all, or kept failing
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (id, address, reply)
    recovered: int = 0
    saved_only: bool = False  # the backend saves files for a person to send (the outbox)
    reconnected: bool = False  # the first connection failed and a later one worked


@dataclass(frozen=True)
class QueueCounts:
    """What is not delivered yet, counted the same way by the run summary, `send`, `queue`,
    `status` and the digest. `queued` is everything still to deliver: what is due now, what a
    temporary failure holds until its retry time, and what a killed run left `sending`."""

    due: int = 0
    held: int = 0  # queued with a retry time still ahead (after a 4xx or a dropped connection)
    sending: int = 0
    failed: int = 0

    @property
    def queued(self) -> int:
        return self.due + self.held + self.sending


def queue_counts(
    state: State, now: datetime | None = None, exclude: int | None = None
) -> QueueCounts:
    """The queue as it stands; `exclude` leaves out one message (the digest being written)."""
    moment = iso_time(now or utc_now())
    row = state.db.execute(
        "SELECT "
        "count(*) FILTER (WHERE state = 'queued' AND (next_attempt_at IS NULL "
        "  OR next_attempt_at <= :now)), "
        "count(*) FILTER (WHERE state = 'queued' AND next_attempt_at > :now), "
        "count(*) FILTER (WHERE state = 'sending'), "
        "count(*) FILTER (WHERE state = 'failed') "
        "FROM messages WHERE state != 'sent' AND id IS NOT :exclude",
        {"now": moment, "exclude": exclude},
    ).fetchone()
    return QueueCounts(*(int(n) for n in row))


def refused_of(last_reply: str | None) -> dict[str, str]:
    """The recipients a server refused while it accepted the others (address -> its words),
    from a sent message's `last_reply`."""
    if not last_reply or not last_reply.startswith("{"):
        return {}
    try:
        found = json.loads(last_reply)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def saved_only(last_reply: str | None) -> bool:
    """Whether a `sent` message was only saved to the outbox folder, not accepted by a server."""
    return bool(last_reply and last_reply.startswith(SAVED_REPLY))


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def enqueue(state: State, outgoing: Outgoing, run_id: int | None, now: datetime) -> bool:
    """Queue a message unless one with the same dedupe key exists; True when queued now."""
    cursor = state.db.execute(
        "INSERT INTO messages (dedupe_key, message_id, kind, cluster_id, subject, sender, "
        "recipients, raw, state, queued_at, run_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?) "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        (
            outgoing.dedupe_key,
            outgoing.message_id,
            outgoing.kind,
            outgoing.cluster_id,
            outgoing.subject,
            outgoing.sender,
            json.dumps(list(outgoing.recipients)),
            outgoing.raw,
            iso_time(now),
            run_id,
        ),
    )
    if cursor.rowcount != 1:
        return False
    _keep_attachments(state, int(cursor.lastrowid or 0), outgoing)
    return True


def _keep_attachments(state: State, message: int, outgoing: Outgoing) -> None:
    """Each attached file is kept apart, once (cluster_sync/mailstore.py)."""
    if outgoing.attachments:
        hashes = [mailstore.keep(state, data) for data in outgoing.attachments]
        mailstore.attach(state, message, outgoing.offsets, hashes, new=True)


def envelope_of(state: State, row: dict[str, Any]) -> Envelope:
    return Envelope(
        id=int(row["id"]),
        message_id=str(row["message_id"]),
        kind=str(row["kind"]),
        cluster_id=row["cluster_id"],
        sender=str(row["sender"]),
        recipients=tuple(json.loads(str(row["recipients"]))),
        raw=mailstore.whole(state, row),
    )


def _load(state: State, message_id: int) -> Envelope:
    row = state.db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    return envelope_of(state, dict(row))


def replace_content(state: State, envelope: Envelope, outgoing: Outgoing) -> Envelope:
    """Store new bytes for a queued message, keeping its Message-ID (the digest, written
    again with the outcome of the delivery it reports on)."""
    outgoing = outgoing.with_message_id(envelope.message_id)
    with state.transaction() as db:
        cursor = db.execute(
            "UPDATE messages SET raw = ?, subject = ? WHERE id = ? AND state = 'queued'",
            (outgoing.raw, outgoing.subject, envelope.id),
        )
        if cursor.rowcount == 1:  # what it took before goes, whatever it takes now
            hashes = [mailstore.keep(state, data) for data in outgoing.attachments]
            mailstore.attach(state, envelope.id, outgoing.offsets, hashes)
    return Envelope(
        envelope.id,
        envelope.message_id,
        envelope.kind,
        envelope.cluster_id,
        envelope.sender,
        envelope.recipients,
        outgoing.as_bytes(),
    )


def requeue(state: State, message_id: int) -> bool:
    """`cluster-sync retry ID`: a failed message goes back to the queue with fresh attempts."""
    with state.transaction() as db:
        cursor = db.execute(
            "UPDATE messages SET state = 'queued', attempts = 0, next_attempt_at = NULL "
            "WHERE id = ? AND state = 'failed'",
            (message_id,),
        )
    return cursor.rowcount == 1


def queue_listing(state: State, include_sent: bool = False) -> list[dict[str, object]]:
    """Every message not delivered, and those delivered with some recipients refused (a
    problem someone must look at); `include_sent` for all of them."""
    where = "" if include_sent else "WHERE state != 'sent' OR last_reply LIKE '{%'"
    rows = state.db.execute(
        "SELECT id, kind, cluster_id, subject, recipients, state, attempts, last_reply, "
        f"queued_at, sent_at, next_attempt_at FROM messages {where} ORDER BY id"
    ).fetchall()
    return [dict(r) for r in rows]


# -- what other modules read of the queue: the `messages` table is read and written here only


def id_of(state: State, dedupe_key: str) -> int | None:
    """The queue's number of the message stored under `dedupe_key`."""
    row = state.db.execute("SELECT id FROM messages WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
    return int(row[0]) if row else None


def dedupe_key_of(state: State, message_id: int) -> str | None:
    row = state.db.execute("SELECT dedupe_key FROM messages WHERE id = ?", (message_id,)).fetchone()
    return str(row[0]) if row else None


def message_id_header(state: State, dedupe_key: str) -> str | None:
    """The Message-ID header of the message stored under `dedupe_key`."""
    row = state.db.execute(
        "SELECT message_id FROM messages WHERE dedupe_key = ?", (dedupe_key,)
    ).fetchone()
    return str(row[0]) if row else None


def latest_of_kind(state: State, kind: str) -> dict[str, Any]:
    """cluster_id -> the newest message of `kind` about it (state, sent_at, queued_at,
    last_reply): one read for every cluster, where a read per cluster scanned the queue each
    time (quadratic in the size of the sheet)."""
    rows = state.db.execute(
        "SELECT cluster_id, state, sent_at, queued_at, last_reply FROM messages "
        "WHERE kind = ? AND cluster_id IS NOT NULL ORDER BY id",
        (kind,),
    )
    return {row["cluster_id"]: row for row in rows}


def kinds_queued_by(state: State, run_id: int) -> dict[str, int]:
    """kind -> how many messages a run queued."""
    rows = state.db.execute(
        "SELECT kind, count(*) FROM messages WHERE run_id = ? GROUP BY kind ORDER BY kind",
        (run_id,),
    ).fetchall()
    return {str(kind): int(n) for kind, n in rows}


def outcomes_in_key_range(state: State, low: str, high: str) -> list[Any]:
    """Every message with `low <= dedupe_key < high` (dedupe_key, state, recipients, sent_at,
    last_reply), in queue order: one read for a whole kind of message (keys.FACTSHEETS)."""
    return state.db.execute(
        "SELECT dedupe_key, state, recipients, sent_at, last_reply FROM messages "
        "WHERE dedupe_key >= ? AND dedupe_key < ? ORDER BY id",
        (low, high),
    ).fetchall()


def outcomes_of_parts(state: State, key: str, low: str, high: str) -> list[Any]:
    """The message stored under `key` and its parts (keys.with_parts), in queue order (state,
    recipients, sent_at, last_reply)."""
    return state.db.execute(
        "SELECT state, recipients, sent_at, last_reply FROM messages "
        "WHERE dedupe_key = ? OR (dedupe_key >= ? AND dedupe_key < ?) ORDER BY id",
        (key, low, high),
    ).fetchall()


def sent_before(state: State, cutoff: str) -> list[int]:
    """The ids of the messages sent before `cutoff` (ISO), in queue order (retention)."""
    rows = state.db.execute(
        "SELECT id FROM messages WHERE state = 'sent' AND sent_at < ? ORDER BY id", (cutoff,)
    )
    return [int(r[0]) for r in rows]


def withhold_factsheets(state: State, cluster_id: str, reason: str) -> int:
    """A cluster's factsheet emails still waiting in the queue are never sent: failed with
    `reason` (its consent was withdrawn). Returns how many."""
    cursor = state.db.execute(
        "UPDATE messages SET state = 'failed', last_reply = ? WHERE cluster_id = ? "
        "AND kind LIKE 'factsheet%' AND state = 'queued'",
        (reason, cluster_id),
    )
    return cursor.rowcount


# -- what recovery (cluster_sync/recovery.py) learns from the queue and tells it


def cluster_ids(state: State) -> set[str]:
    """Every Cluster ID a stored message is about."""
    rows = state.db.execute("SELECT DISTINCT cluster_id FROM messages WHERE cluster_id IS NOT NULL")
    return {str(r[0]) for r in rows}


def sent_message_ids(state: State) -> set[str]:
    """The Message-ID headers of every sent message."""
    rows = state.db.execute("SELECT message_id FROM messages WHERE state = 'sent'")
    return {str(r[0]) for r in rows}


def record_delivered(
    state: State,
    dedupe_key: str,
    message_id: str,
    cluster_id: str | None,
    recipients: list[str],
    sent_at: str,
    reply: str,
) -> int:
    """A message found delivered outside this database (the outbox folder, after the
    database was lost or restored): never queued or sent again. Returns 1 when this
    changed what the state knew."""
    updated = state.db.execute(
        "UPDATE messages SET state = 'sent', sent_at = coalesce(sent_at, ?), last_reply = ? "
        "WHERE dedupe_key = ? AND state != 'sent'",
        (sent_at, reply, dedupe_key),
    ).rowcount
    inserted = state.db.execute(
        "INSERT OR IGNORE INTO messages (dedupe_key, message_id, kind, cluster_id, subject, "
        "sender, recipients, raw, state, queued_at, sent_at, last_reply) "
        "VALUES (?, ?, ?, ?, '', '', ?, x'', 'sent', ?, ?, ?)",
        (
            dedupe_key,
            message_id,
            keys.prefix(dedupe_key),
            cluster_id,
            json.dumps(recipients),
            sent_at,
            sent_at,
            reply,
        ),
    ).rowcount
    return int(updated + inserted > 0)
