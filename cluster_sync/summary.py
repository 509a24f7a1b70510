"""What one sync did, row by row and in total: printed by the CLI, recorded with the run,
and sent to the secretariat as the digest. One set of counts feeds all three, so they agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cluster_sync.dates import format_date
from cluster_sync.mailqueue import DeliveryReport, QueueCounts
from cluster_sync.messages import Message
from cluster_sync.publish.service import PublishReport
from cluster_sync.text import counted

#: exit codes of a run that finished but must be heard about (README, docs/operations.md);
#: when several apply, the highest wins
EXIT_WRITE_BACK = 3
EXIT_MAIL_UNUSABLE = 4
EXIT_ROWS_FAILED = 5
EXIT_MASS_CHANGE = 6  # the brake on mass changes (cluster_sync/brake.py)
EXIT_NOT_PUBLISHED = 7


@dataclass
class RowResult:
    row: int
    cluster_id: str | None
    title: str
    change: str  # new | updated | unchanged | invalid | duplicate | error
    note: str = ""
    problems: list[str] = field(default_factory=list)
    #: invalid only: the submitter has no usable address, so nobody told them
    untold: bool = False
    #: invalid only: the set of problems is new in this run
    news: bool = False
    since: str = ""  # invalid only: since when the current problems are open (local time)
    told: str = ""  # invalid only: when the submitter was told, in words
    #: for an updated factsheet: what differs from the version its people last received
    #: what changed for an updated factsheet, one line per question (English: str(line))
    changes: list[Message] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: int
    source: str
    rows: int = 0
    blank: int = 0
    results: list[RowResult] = field(default_factory=list)
    factsheets: list[Path] = field(default_factory=list)
    queued: int = 0  # messages this run queued (the digest included, once queued)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    #: the queue after delivery: everything not delivered, whichever run queued it
    queue: QueueCounts = field(default_factory=QueueCounts)
    written_back: int = 0
    write_back_error: str | None = None
    awaiting_approval: list[RowResult] = field(default_factory=list)
    report: Path | None = None
    report_error: str | None = None
    digest: bool = False  # a digest was queued for the secretariat
    sheet_link: str = ""
    dry_run: bool = False
    #: earlier runs killed before they queued their digest: what each had done, in words
    interrupted: list[str] = field(default_factory=list)
    #: sheet rows that still name people erased on request (the secretariat must edit them)
    erased_rows: list[int] = field(default_factory=list)
    #: what retention removed this run, by kind (cluster_sync/privacy/retention.py)
    pruned: dict[str, int] = field(default_factory=dict)
    #: files made per format beyond the .docx ("pdf": 16), and why some could not be made
    outputs: dict[str, int] = field(default_factory=dict)
    output_problems: list[str] = field(default_factory=list)
    #: the rows held back by the brake on mass changes (cluster_sync/brake.py), if any
    mass_change: Any = None
    #: None: publishing is not configured (or this is a dry run)
    publishing: PublishReport | None = None

    def of(self, change: str) -> list[RowResult]:
        return [r for r in self.results if r.change == change]

    @property
    def untold(self) -> list[RowResult]:
        return [r for r in self.of("invalid") if r.untold]

    @property
    def counts(self) -> dict[str, int]:
        counts = {
            k: len(self.of(k))
            for k in ("new", "updated", "unchanged", "invalid", "duplicate", "error")
        }
        counts.update(
            rows=self.rows,
            blank=self.blank,
            factsheets=len(self.factsheets),
            queued=self.queued,
            # the outbox backend sends nothing: what it wrote is counted as saved, not sent
            sent=0 if self.delivery.saved_only else self.delivery.sent,
            saved=self.delivery.sent if self.delivery.saved_only else 0,
            failed=len(self.delivery.failed),
            refused=len(self.delivery.refused),
            deferred=self.delivery.deferred,
            still_queued=self.queue.queued,
            held=self.queue.held,
            untold=len(self.untold),
            awaiting_approval=len(self.awaiting_approval),
            written_back=self.written_back,
            published=self.publishing.published if self.publishing else 0,
            publish_errors=len(self.publishing.errors) if self.publishing else 0,
            withdrawn=self.publishing.withdrawn if self.publishing else 0,
        )
        return counts

    @property
    def did_something(self) -> bool:
        """Worth a digest: work done, or bad news, in this run's rows."""
        c = self.counts
        return (
            any(
                c[k]
                for k in (
                    "new",
                    "updated",
                    "factsheets",
                    "queued",
                    "error",
                    "publish_errors",
                    "withdrawn",
                )
            )
            or bool(self.interrupted)
            or bool(self.erased_rows)
            or any(self.pruned.values())
            or any(r.note == "problems sent" or (r.untold and r.news) for r in self.of("invalid"))
        )

    def exit_codes(self) -> list[tuple[int, str]]:
        """What a monitor must hear about, as (exit code, one line), highest code first."""
        found: list[tuple[int, str]] = []
        errors = self.of("error")
        if errors:
            rows = ", ".join(str(r.row) for r in errors[:10]) + (", …" if len(errors) > 10 else "")
            found.append(
                (
                    EXIT_ROWS_FAILED,
                    f"{counted(len(errors), 'row')} could not be processed (sheet "
                    f"{'row' if len(errors) == 1 else 'rows'} {rows}); "
                    f"{'it is' if len(errors) == 1 else 'they are'} tried again on the next run. "
                    "The reasons are in the log and the digest.",
                )
            )
        if self.delivery.unreachable:
            found.append(
                (
                    EXIT_MAIL_UNUSABLE,
                    f"mail delivery stopped: {self.delivery.stop_reason}. "
                    f"{counted(self.queue.queued, 'message')} "
                    f"{'stays' if self.queue.queued == 1 else 'stay'} queued; "
                    "`cluster-sync send` or the next sync delivers "
                    f"{'it' if self.queue.queued == 1 else 'them'}.",
                )
            )
        if self.write_back_error:
            found.append((EXIT_WRITE_BACK, self.write_back_error))
        if self.mass_change:
            mass = self.mass_change
            found.append((EXIT_MASS_CHANGE, f"{mass.headline()}. What to do: {mass.what_to_do()}"))
        if self.publishing and self.publishing.errors:
            found.append((EXIT_NOT_PUBLISHED, self._not_published()))
        return sorted(found, key=lambda item: -item[0])

    def _not_published(self) -> str:
        p = self.publishing
        assert p is not None
        first, _, hint = p.errors[0].partition("\n")  # a PublishError's "What to do" line
        more = len(p.errors) - 1
        also = f" (and {counted(more, 'other problem')}, in the log and the digest)" if more else ""
        them = "it" if p.unpublished == 1 else "them"
        line = (
            f"not published: {counted(p.unpublished, 'factsheet file')}: {first.rstrip('.')}"
            f"{also}. The emails and statuses are not held back; the next run publishes {them}."
        )
        return f"{line}\n{hint}" if hint else line

    @property
    def label(self) -> str:
        """How the log names this run."""
        return f"{'dry run' if self.dry_run else 'run'} {self.run_id}"

    @property
    def outcome(self) -> str:
        return "ok" if not self.exit_codes() else "partial"


def sent_words(saved_only: bool) -> str:
    """The verb of delivery: the outbox backend sends nothing, it saves files."""
    return "saved to the outbox" if saved_only else "sent"


def headline(summary: RunSummary) -> str:
    """The digest's subject line: bad news first, then the work; counted nouns agree."""
    c = summary.counts
    bad = [
        (c["error"], f"{counted(c['error'], 'row')} could not be processed"),
        (c["untold"], f"{counted(c['untold'], 'submitter')} could not be told"),
        (c["failed"], f"{counted(c['failed'], 'delivery', 'deliveries')} failed"),
        (c["refused"], f"{counted(c['refused'], 'address', 'addresses')} refused"),
    ]
    if summary.interrupted:
        earlier = len(summary.interrupted)
        bad.append((earlier, f"{counted(earlier, 'earlier run')} interrupted"))
    if summary.delivery.unreachable:
        bad.append((1, "mail server unusable"))
    if c["publish_errors"]:
        bad.append((c["publish_errors"], "publishing failed"))
    work = [
        (c["new"], f"{c['new']} new"),
        (c["updated"], f"{c['updated']} updated"),
        (c["invalid"], f"{c['invalid']} to fix"),
        (c["duplicate"], counted(c["duplicate"], "duplicate")),
        (c["awaiting_approval"], f"{c['awaiting_approval']} awaiting approval"),
    ]
    parts = [words for number, words in bad + work if number]
    return ", ".join(parts) or "nothing new"


def digest_context(
    summary: RunSummary, today: date, final: bool, queue: QueueCounts | None = None
) -> dict[str, Any]:
    """The tags of templates/email/digest.*.j2 (listed in docs/templates.md). `final` once
    delivery is over (the digest is written again just before it is sent); before that it
    tells what was queued, which is what a run killed during delivery leaves behind."""
    delivery = summary.delivery
    queue = queue or summary.queue
    return {
        "run_id": summary.run_id,
        "run_date": format_date(today),
        "source": summary.source,
        "sheet_link": summary.sheet_link,
        "headline": headline(summary),
        "new": summary.of("new"),
        "updated": summary.of("updated"),
        "invalid": summary.of("invalid"),
        "untold": summary.untold,
        "duplicates": summary.of("duplicate"),
        "errors": summary.of("error"),
        "awaiting": summary.awaiting_approval,
        "failed": [{"id": i, "subject": s, "reply": r} for i, s, r in delivery.failed],
        "refused": [{"id": i, "address": a, "reply": r} for i, a, r in delivery.refused],
        "interrupted": summary.interrupted,
        "delivery_known": final,
        "delivery_line": delivery_line(summary, final, queue),
        "published": summary.counts["published"],
        "withdrawn": summary.counts["withdrawn"],
        "publish_errors": summary.publishing.errors if summary.publishing else [],
        "erased_rows": summary.erased_rows,
        "pruned": {k: n for k, n in summary.pruned.items() if n},
    }


def delivery_line(summary: RunSummary, final: bool, queue: QueueCounts) -> str:
    """One sentence on the mail of this run, true at the moment it is written."""
    if not final:
        return (
            f"This run queued {counted(summary.queued, 'email')} besides this digest; "
            f"{counted(queue.queued, 'email')} in all waited for delivery when it was written."
        )
    d = summary.delivery
    parts = [
        f"{counted(d.sent, 'email')} {sent_words(d.saved_only)} in this run before this digest"
    ]
    if d.failed:
        parts.append(f"{len(d.failed)} failed")
    if d.refused:
        parts.append(f"{counted(len(d.refused), 'recipient')} refused by the server")
    held = f" ({queue.held} held for a retry)" if queue.held else ""
    parts.append(f"still queued: {queue.queued}{held}")
    return "; ".join(parts) + "."


def queue_words(queue: QueueCounts) -> str:
    """The queue in the same words everywhere: status, send, outbox, the run summary."""
    held = f" ({queue.held} held for a retry)" if queue.held else ""
    return f"{queue.queued} queued{held}, {queue.failed} failed"


def delivery_sentence(report: DeliveryReport, queue: QueueCounts) -> str:
    """What one delivery pass did, and the queue after it (`send`, `report --send`)."""
    held = f" ({queue.held} held for a retry)" if queue.held else ""
    return (
        f"{counted(report.sent, 'message')} {sent_words(report.saved_only)}, "
        f"{len(report.failed)} failed; still queued: {queue.queued}{held}."
    )
