"""What `status`, `queue` and `send --dry-run` show, as typed records: one library call each,
which the command line only prints. Reads the state; changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cluster_sync.config import Config
from cluster_sync.fingerprint import TemplateAges, template_ages
from cluster_sync.mailqueue import QueueCounts, queue_counts, queue_listing, refused_of, saved_only
from cluster_sync.privacy.retention import RetentionPlan, plan_retention
from cluster_sync.publish.service import overview, target_key
from cluster_sync.sheetstatus import email_state
from cluster_sync.state import State, StoredRegistration


@dataclass(frozen=True)
class QueuedMessage:
    """One message of the queue, as a person reads it."""

    id: int
    kind: str
    cluster_id: str | None
    subject: str
    recipients: tuple[str, ...]
    #: as stored: queued, sending, sent or failed
    state: str
    #: what a person is told: `state`, or "held" (queued, waiting for its retry time) or
    #: "saved" (sent to the outbox folder, for a person to send)
    label: str
    attempts: int
    last_reply: str
    queued_at: str | None
    sent_at: str | None
    next_attempt_at: str | None
    #: recipients the server refused while it accepted the others (address -> its words)
    refused: dict[str, str] = field(default_factory=dict)
    #: the row as stored, for `status --json`
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def due(self) -> bool:
        """Whether `send` would try it now."""
        return self.state == "sending" or (self.state == "queued" and self.label != "held")


@dataclass(frozen=True)
class QueueListing:
    messages: list[QueuedMessage]
    counts: QueueCounts


def queue(state: State, include_sent: bool = False, now: datetime | None = None) -> QueueListing:
    """Every message not delivered and every one with recipients refused (`include_sent`: all
    of them), with the queue's counts."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    messages = [_record(row, moment) for row in queue_listing(state, include_sent)]
    return QueueListing(messages, queue_counts(state, now))


def _record(row: dict[str, Any], now: str) -> QueuedMessage:
    reply = str(row["last_reply"] or "")
    label = str(row["state"])
    waiting = row["next_attempt_at"]
    if label == "queued" and waiting and str(waiting) > now:
        label = "held"
    elif label == "sent" and saved_only(reply):
        label = "saved"
    return QueuedMessage(
        id=int(row["id"]),
        kind=str(row["kind"]),
        cluster_id=row["cluster_id"],
        subject=str(row["subject"]),
        recipients=tuple(json.loads(str(row["recipients"]))),
        state=str(row["state"]),
        label=label,
        attempts=int(row["attempts"]),
        last_reply=reply,
        queued_at=row["queued_at"],
        sent_at=row["sent_at"],
        next_attempt_at=waiting,
        refused=refused_of(reply),
        stored=row,
    )


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    outcome: str
    #: what the run did, as recorded (new, updated, invalid, error, sent, saved, ...)
    counts: dict[str, int]
    #: the row as stored, for `status --json`
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Status:
    """Everything `cluster-sync status` shows."""

    registrations: list[StoredRegistration]
    #: Cluster ID -> what happened to its current factsheet's email, in words
    emails: dict[str, str]
    queue: QueueListing
    runs: list[RunRecord]
    #: files published, waiting, the last problem and files to withdraw; empty without [publish]
    published: dict[str, Any]
    retention: RetentionPlan
    templates: TemplateAges


def status(cfg: Config, state: State, now: datetime | None = None) -> Status:
    """The registrations, their emails, the queue, the last five runs, publishing, what
    retention removes next and how old the factsheets' templates are."""
    moment = now or datetime.now(UTC)
    regs = state.registrations()
    runs = [dict(r) for r in state.last_runs(5)]
    return Status(
        registrations=regs,
        emails={r.cluster_id: email_state(state, r.cluster_id, r.version) for r in regs},
        queue=queue(state, now=moment),
        runs=[
            RunRecord(
                int(r["id"]), str(r["started_at"]), str(r["outcome"]), json.loads(r["counts"]), r
            )
            for r in runs
        ],
        published=overview(state, target_key(cfg)),
        retention=plan_retention(cfg, state, moment),
        templates=template_ages(cfg, state),
    )
