"""The digest to the secretariat, and the story of a run in the log.

The digest is queued with the run's work, before delivery begins, so that a run killed while
delivering still leaves it queued for the next run (worded as it stood then: queued, not yet
delivered). It is delivered last and written again just before it is handed over, with what the
delivery actually did. A run killed before it queued its digest is told by the next run's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cluster_sync import keys, mailqueue
from cluster_sync.addresses import secretariat
from cluster_sync.config import Config
from cluster_sync.mailers.base import Envelope
from cluster_sync.mailqueue import (
    DeliveryReport,
    Outgoing,
    enqueue,
    queue_counts,
    replace_content,
    saved_only,
)
from cluster_sync.render.email import Composer
from cluster_sync.sheetstatus import local_time
from cluster_sync.state import State
from cluster_sync.summary import RunSummary, digest_context, sent_words
from cluster_sync.text import counted

log = logging.getLogger("cluster_sync.engine")

#: how the digest names the messages of a run by kind
KIND_WORDS = {
    "factsheet": "factsheet email",
    "factsheet_update": "updated factsheet email",
    "problems": "problem report",
    "report": "CoP report email",
}


class Digest:
    """This run's digest: composed, queued, and written again just before it goes."""

    def __init__(self, config: Config, state: State, composer: Composer, now: datetime) -> None:
        self.config = config
        self.state = state
        self.composer = composer
        self.now = now
        self.today = now.astimezone(config.zone).date()
        self.ids: set[int] = set()  # this run's digest in the queue (parts, if split)

    def queue(self, summary: RunSummary) -> None:
        with self.state.transaction():
            for message in self._compose(summary, final=False):
                if enqueue(self.state, message, summary.run_id, self.now):
                    summary.queued += 1
                    number = mailqueue.id_of(self.state, message.dedupe_key)
                    assert number is not None  # queued just now, in this transaction
                    self.ids.add(number)
        summary.digest = True

    def rewrite(self, summary: RunSummary, envelope: Envelope) -> Envelope:
        """Every other message of the delivery is settled by now (the digest is queued last),
        so the digest can count what happened."""
        key = mailqueue.dedupe_key_of(self.state, envelope.id)
        fresh = {m.dedupe_key: m for m in self._compose(summary, True, exclude=envelope.id)}
        return replace_content(self.state, envelope, fresh[key]) if key in fresh else envelope

    def _compose(
        self, summary: RunSummary, final: bool, exclude: int | None = None
    ) -> list[Outgoing]:
        self._tell_when(summary)
        queue = queue_counts(self.state, self.now, exclude)
        return self.composer.compose(
            dedupe_key=keys.digest(summary.run_id),
            kind="digest",
            cluster_id=None,
            template="digest",
            context=digest_context(summary, self.today, final, queue),
            to=secretariat(self.config),
            now=self.now,
        )

    def _tell_when(self, summary: RunSummary) -> None:
        """For each open problem: when its submitter was told (or why not), from the queue."""
        latest = mailqueue.latest_of_kind(self.state, "problems")
        for result in summary.of("invalid"):
            if result.untold:
                result.told = "not told: no usable email address"
                continue
            found = None if result.cluster_id is None else latest.get(result.cluster_id)
            if found is None:
                result.told = "not told yet"
            elif found["state"] == "sent" and saved_only(found["last_reply"]):
                when = local_time(found["sent_at"], self.config)
                result.told = f"problem report saved to the outbox on {when}, not sent yet"
            elif found["state"] == "sent":
                result.told = f"told by email on {local_time(found['sent_at'], self.config)}"
            elif found["state"] == "failed":
                result.told = "could not be told: the email failed (see `cluster-sync queue`)"
            else:
                when = local_time(found["queued_at"], self.config)
                result.told = f"email queued on {when}, not delivered yet"


def interrupted_runs(state: State, run_id: int, now: datetime, config: Config) -> list[str]:
    """Earlier runs still marked running were killed (the lock says no other is alive); they
    are marked interrupted. One killed before it queued its digest owes the secretariat one:
    this run's digest says what it had queued, and that mail goes out with this run's."""
    owed = []
    for run in state.db.execute(
        "SELECT id, started_at FROM runs WHERE outcome = 'running' AND id < ?", (run_id,)
    ).fetchall():
        number = int(run["id"])
        queued = mailqueue.kinds_queued_by(state, number)
        with state.transaction() as db:
            db.execute(
                "UPDATE runs SET outcome = 'interrupted', finished_at = ? WHERE id = ?",
                (now.isoformat(timespec="seconds"), number),
            )
        if "digest" in queued:
            continue  # its digest is queued: it goes out as it stands
        done = ", ".join(counted(n, KIND_WORDS.get(k, f"{k} email")) for k, n in queued.items())
        owed.append(
            f"run {number}, started {local_time(run['started_at'], config)}, was stopped "
            f"before it finished and before its digest was written; it had queued "
            f"{done or 'no email'}" + (", delivered with this run's mail" if queued else "")
        )
    return owed


def sheet_link(config: Config) -> str:
    """Where the secretariat opens the sheet: its address, or the export's path (each
    source's settings know their own)."""
    return config.source.link(config.path)


def merged(first: DeliveryReport, then: DeliveryReport) -> DeliveryReport:
    """Two delivery passes of one run as one."""
    return DeliveryReport(
        sent=first.sent + then.sent,
        failed=first.failed + then.failed,
        deferred=first.deferred + then.deferred,
        stop_reason=first.stop_reason or then.stop_reason,
        unreachable=first.unreachable or then.unreachable,
        refused=first.refused + then.refused,
        recovered=first.recovered + then.recovered,
        saved_only=first.saved_only,
        reconnected=first.reconnected or then.reconnected,
    )


def log_outcome(summary: RunSummary, seconds: float) -> None:
    """The story of the run in the log, at INFO: a night that went well leaves its lines too."""
    c = summary.counts
    log.info(
        "%s read %s from %s (%s skipped): %s new, %s updated, %s unchanged, %s to fix, "
        "%s, %s could not be processed",
        summary.label,
        counted(c["rows"], "response"),
        summary.source,
        counted(c["blank"], "blank row"),
        c["new"],
        c["updated"],
        c["unchanged"],
        c["invalid"],
        counted(c["duplicate"], "duplicate"),
        counted(c["error"], "row"),
    )
    log.info(
        "%s mail: %s queued, %s %s, %s failed, %s still queued (%s held for a retry)%s",
        summary.label,
        c["queued"],
        summary.delivery.sent,
        sent_words(summary.delivery.saved_only),
        c["failed"],
        c["still_queued"],
        c["held"],
        f", {counted(c['refused'], 'recipient')} refused" if c["refused"] else "",
    )
    problems = summary.exit_codes()
    outcome = "; ".join(line for _, line in problems) if problems else "everything done"
    log.info("%s finished in %.1f s: %s (%s)", summary.label, seconds, summary.outcome, outcome)
