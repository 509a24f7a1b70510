"""How queued messages' bytes are kept in the state: the message without its attachments, and
each attachment once, by content hash, for as long as a message that is not yet sent needs it.

A factsheet email is 57 KB, 42 KB of it the attached factsheet (base64). Kept whole and forever,
10,000 of them made a 525 MB state database. Here the composer writes each message without
its files' base64 lines and says where each goes (cluster_sync/render/mime.py); the queue
stores that and, for each file in order, its offset and its hash (`message_attachments`);
delivery puts the lines back, in the email package's own base64 form. Once every message that
uses an attachment is sent, the attachment is dropped (`collect`): a sent message is never sent
again, and its text, headers, recipients and Message-ID stay in the state.

This module is the mail queue's storage (cluster_sync/mailqueue.py): with it, the only code that
reads or writes the `messages` table. The privacy work (cluster_sync/privacy) reads, rewrites and
deletes stored messages through the functions at the end.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cluster_sync.state import State


def base64_lines(data: bytes) -> bytes:
    """The attachment as the email package encodes it: 76-character lines, CRLF between them."""
    return base64.encodebytes(data).rstrip(b"\n").replace(b"\n", b"\r\n")


def fill(raw: bytes, offsets: Sequence[int], files: Sequence[bytes]) -> bytes:
    """The message with each file's base64 lines put back at its offset."""
    out, start = [], 0
    for at, data in zip(offsets, files, strict=True):
        out += [raw[start:at], base64_lines(data)]
        start = at
    out.append(raw[start:])
    return b"".join(out)


def keep(state: State, data: bytes) -> str:
    """Store an attachment once; its hash is how messages refer to it."""
    digest = hashlib.sha256(data).hexdigest()
    state.db.execute(
        "INSERT INTO attachments (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
        (digest, data),
    )
    return digest


def attach(
    state: State, message: int, offsets: Sequence[int], hashes: Sequence[str], new: bool = False
) -> None:
    """Record which kept attachments a stored message takes, in order, and where each goes,
    in place of those it took before; `new`: the message was stored just now and took none."""
    if not new:
        state.db.execute("DELETE FROM message_attachments WHERE message = ?", (message,))
    state.db.executemany(
        "INSERT INTO message_attachments (message, position, at, hash) VALUES (?, ?, ?, ?)",
        [(message, n, at, h) for n, (at, h) in enumerate(zip(offsets, hashes, strict=True))],
    )


def whole(state: State, row: dict[str, Any]) -> bytes:
    """A queued message's complete bytes, its attachments put back."""
    raw = bytes(row["raw"])
    found = state.db.execute(
        "SELECT m.at, a.data FROM message_attachments m LEFT JOIN attachments a "
        "ON a.hash = m.hash WHERE m.message = ? ORDER BY m.position",
        (row["id"],),
    ).fetchall()
    if any(data is None for _, data in found):
        # only a sent message loses its attachments; nothing sends it again
        raise LookupError(f"an attachment of message {row['id']} is no longer kept")
    return fill(raw, [int(at) for at, _ in found], [bytes(data) for _, data in found])


def collect(state: State) -> int:
    """Drop the attachments no unsent message needs; returns how many were dropped."""
    with state.transaction() as db:
        cursor = db.execute(
            "DELETE FROM attachments WHERE hash NOT IN (SELECT m.hash FROM message_attachments m "
            "JOIN messages ON messages.id = m.message WHERE messages.state != 'sent')"
        )
    if cursor.rowcount and not state.db.in_transaction:  # executescript would commit
        # give the pages back (a no-op on a database made before migration 5, see
        # docs/operations.md); executescript runs the pragma to the end, execute one step
        state.db.executescript("PRAGMA incremental_vacuum;")
    return cursor.rowcount


# -- stored messages as the privacy work reads and rewrites them (cluster_sync/privacy): part
# -- of the mail queue, which alone runs SQL on `messages` (tests/test_layers.py)


@dataclass(frozen=True)
class StoredMessage:
    """One message of the queue, as stored: `raw` without its attachments (`complete` puts
    them back while the state keeps them)."""

    id: int
    kind: str
    cluster_id: str | None
    subject: str
    state: str
    recipients: list[str]
    raw: bytes
    queued_at: str
    sent_at: str | None


_STORED = "SELECT id, kind, cluster_id, subject, state, recipients, raw, queued_at, sent_at "


def _stored(row: Any) -> StoredMessage:
    return StoredMessage(
        id=int(row["id"]),
        kind=str(row["kind"]),
        cluster_id=row["cluster_id"],
        subject=str(row["subject"]),
        state=str(row["state"]),
        recipients=[str(r) for r in json.loads(row["recipients"])],
        raw=bytes(row["raw"]),
        queued_at=str(row["queued_at"]),
        sent_at=row["sent_at"],
    )


def stored_message(state: State, message_id: int) -> StoredMessage | None:
    row = state.db.execute(f"{_STORED}FROM messages WHERE id = ?", (message_id,)).fetchone()
    return _stored(row) if row else None


def stored_messages(state: State, cluster_id: str | None = None) -> list[StoredMessage]:
    """Every stored message, or those about one cluster, in queue order."""
    if cluster_id is None:
        rows = state.db.execute(f"{_STORED}FROM messages ORDER BY id")
    else:
        rows = state.db.execute(
            f"{_STORED}FROM messages WHERE cluster_id = ? ORDER BY id", (cluster_id,)
        )
    return [_stored(r) for r in rows.fetchall()]


def complete(state: State, message: StoredMessage) -> bytes:
    """A stored message's bytes with its attachments put back while the state keeps them; a
    sent message whose attachments were dropped as it is."""
    try:
        return whole(state, {"id": message.id, "raw": message.raw})
    except LookupError:
        return message.raw


def replace_bytes(state: State, message_id: int, raw: bytes) -> None:
    """Replace a stored message by complete bytes of our own (redacted, pruned): it no longer
    takes kept attachments, which `collect` drops once nothing needs them."""
    state.db.execute("UPDATE messages SET raw = ? WHERE id = ?", (raw, message_id))
    state.db.execute("DELETE FROM message_attachments WHERE message = ?", (message_id,))


def replace_recipients(
    state: State, message_id: int, recipients: list[str], subject: str | None = None
) -> None:
    """New recipients (and subject, when given) for a stored message: someone erased or
    anonymised."""
    state.db.execute(
        "UPDATE messages SET recipients = ?, subject = coalesce(?, subject) WHERE id = ?",
        (json.dumps(recipients), subject, message_id),
    )


def delete_message(state: State, message_id: int) -> None:
    """A message not sent yet whose only recipient was erased: it is never sent."""
    state.db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
