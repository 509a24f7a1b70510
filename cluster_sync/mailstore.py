"""How queued messages' bytes are kept in the state: the message without its attachment, and
the attachment once, by content hash, for as long as a message that is not yet sent needs it.

A factsheet email is 57 KB, 42 KB of it the attached factsheet (base64). Kept whole and forever,
10,000 of them made a 525 MB state database. Here the composer leaves a slot where the
attachment's base64 lines go (`SLOT`); the queue stores the message with the slot cut out, the
offset of the cut, and the attachment's hash; delivery puts the lines back, byte for byte what
the email package would have written. Once every message that uses an attachment is sent, the
attachment is dropped (`collect`): a sent message is never sent again, and its text, headers,
recipients and Message-ID stay in the state.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from cluster_sync.state import State

#: stands where the attachment's base64 lines go; random per process, so no text a partner
#: typed can be mistaken for it (and the slot must be found exactly once)
SLOT = f"ATTACHMENT-{secrets.token_hex(16)}"


def base64_lines(data: bytes) -> bytes:
    """The attachment as the email package encodes it: 76-character lines, CRLF between them."""
    return base64.encodebytes(data).rstrip(b"\n").replace(b"\n", b"\r\n")


def cut(raw: bytes) -> tuple[bytes, int]:
    """The message without its slot, and where the slot was."""
    slot = SLOT.encode()
    at = raw.find(slot)
    if at < 0 or raw.find(slot, at + 1) >= 0:
        raise ValueError("the attachment slot must appear exactly once in a message")
    return raw[:at] + raw[at + len(slot) :], at


def keep(state: State, data: bytes) -> str:
    """Store an attachment once; its hash is how messages refer to it."""
    digest = hashlib.sha256(data).hexdigest()
    state.db.execute(
        "INSERT INTO attachments (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
        (digest, data),
    )
    return digest


def whole(state: State, row: dict[str, Any]) -> bytes:
    """A queued message's complete bytes, its attachment put back."""
    raw = bytes(row["raw"])
    if not row["attachment"]:
        return raw
    found = state.db.execute(
        "SELECT data FROM attachments WHERE hash = ?", (row["attachment"],)
    ).fetchone()
    if found is None:  # only a sent message loses its attachment; nothing sends it again
        raise LookupError(f"the attachment of message {row['id']} is no longer kept")
    at = int(row["attachment_at"])
    return raw[:at] + base64_lines(bytes(found[0])) + raw[at:]


def collect(state: State) -> int:
    """Drop the attachments no unsent message needs; returns how many were dropped."""
    with state.transaction() as db:
        cursor = db.execute(
            "DELETE FROM attachments WHERE hash NOT IN (SELECT attachment FROM messages "
            "WHERE attachment IS NOT NULL AND state != 'sent')"
        )
    if cursor.rowcount and not state.db.in_transaction:  # executescript would commit
        # give the pages back (a no-op on a database made before migration 4, see
        # docs/operations.md); executescript runs the pragma to the end, execute one step
        state.db.executescript("PRAGMA incremental_vacuum;")
    return cursor.rowcount
