"""The mail backend interface. A backend only moves bytes: the queue (cluster_sync.mailqueue,
delivered by cluster_sync.mailpass) decides what to send, when, and records every outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


def _ready() -> None:
    """Nothing to wait for."""


@dataclass(frozen=True)
class Envelope:
    """One queued message, exactly as it will be sent."""

    id: int
    message_id: str
    kind: str
    cluster_id: str | None
    sender: str  # envelope sender (addr-spec)
    recipients: tuple[str, ...]  # envelope recipients (addr-specs), at most 100
    raw: bytes  # the complete RFC 5322 message
    #: to call right before the message's content leaves (DATA, the outbox file): it waits
    #: for the `sending` mark to reach the disk and raises when it cannot (mailpass)
    before_content: Callable[[], None] = field(default=_ready, compare=False, repr=False)
    #: may be called once the transaction has begun (the first command written, before its
    #: reply is read) and before anything slow (a connection): the queue then records the
    #: message `sending` while the server answers, not before. before_content calls it if the
    #: backend did not; calling it again does nothing
    started: Callable[[], None] = field(default=_ready, compare=False, repr=False)
    #: may be called once the content has left, while the backend waits for the verdict: the
    #: queue prepares the next message meanwhile. It never raises
    after_content: Callable[[], None] = field(default=_ready, compare=False, repr=False)
    #: handed over as one of a batch (an idempotent backend only): what send() leaves may
    #: reach the disk only at the backend's settle(), which the queue calls before it records
    #: the batch as delivered
    batched: bool = field(default=False, compare=False, repr=False)


#: the reply recorded for a message the outbox backend wrote as a file: saved for a person to
#: send, not sent (the sheet, `status` and the digest never call it sent)
SAVED_REPLY = "saved to the outbox"


@dataclass(frozen=True)
class SendResult:
    """Accepted. `refused` lists recipients the server rejected for good while it accepted
    the others (address -> the server's words); `reply` is what the backend answered."""

    refused: dict[str, str] = field(default_factory=dict)
    reply: str = "250 OK"


class TemporaryFailure(Exception):
    """Try again later: a 4xx reply, a dropped connection, a timeout."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class PermanentFailure(Exception):
    """Never try again: a 5xx reply for the message or for every recipient."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class Mailer(Protocol):
    description: str
    #: whether the [mail.limits] caps apply (a mail server's; not a folder of files)
    limits_apply: bool
    #: True when messages are saved for a person to send (the outbox), not sent
    saves_only: bool
    #: True when handing a message over again replaces what an earlier hand-over left, never
    #: adds a second copy (the outbox: one file per message, at a name of its own). Such a
    #: backend has no ambiguous window, so the queue hands it messages in batches (marked
    #: `batched`) and calls settle() once for each batch before recording it. A backend that
    #: does not say so gets one message at a time.
    idempotent: bool

    def check_settings(self) -> None:
        """Raise PermanentFailure for a setting a person must fix (a missing password
        variable, say), without connecting anywhere: `cluster-sync check` calls it."""
        ...

    def open(self) -> None:
        """Connect (or prepare); raises TemporaryFailure / PermanentFailure."""
        ...

    def close(self) -> None: ...

    def send(self, envelope: Envelope) -> SendResult:
        """Hand one message over; raises TemporaryFailure or PermanentFailure."""
        ...

    def settle(self) -> None:
        """Make every `batched` message send() took since the last settle() survive a power
        loss; raises TemporaryFailure when it cannot (then none of them counts as delivered).
        Nothing to do for a backend that is not idempotent."""
        ...

    def already_delivered(self, envelope: Envelope) -> bool | None:
        """After a crash mid-send: True/False when the backend can tell, None when it cannot."""
        ...
