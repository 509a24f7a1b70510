"""What one sync did, row by row and in total: printed by the CLI, recorded with the run,
and sent to the secretariat as the digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cluster_sync.dates import format_date
from cluster_sync.mailqueue import DeliveryReport


@dataclass
class RowResult:
    row: int
    cluster_id: str | None
    title: str
    change: str  # new | updated | unchanged | invalid | duplicate | error
    note: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: int
    source: str
    rows: int = 0
    blank: int = 0
    results: list[RowResult] = field(default_factory=list)
    factsheets: list[Path] = field(default_factory=list)
    queued: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    written_back: int = 0
    write_back_error: str | None = None
    awaiting_approval: list[RowResult] = field(default_factory=list)
    report: Path | None = None
    report_error: str | None = None
    #: sheet rows that still name people erased on request (the secretariat must edit them)
    erased_rows: list[int] = field(default_factory=list)
    #: what retention removed this run, by kind (cluster_sync/privacy/retention.py)
    pruned: dict[str, int] = field(default_factory=dict)

    def of(self, change: str) -> list[RowResult]:
        return [r for r in self.results if r.change == change]

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
            sent=self.delivery.sent,
            failed=len(self.delivery.failed),
            deferred=self.delivery.deferred,
            awaiting_approval=len(self.awaiting_approval),
            written_back=self.written_back,
        )
        return counts

    @property
    def did_something(self) -> bool:
        c = self.counts
        return (
            any(c[k] for k in ("new", "updated", "factsheets", "queued", "failed", "error"))
            or any(r.note == "problems sent" for r in self.of("invalid"))
            or bool(self.erased_rows)
            or any(self.pruned.values())
        )


def digest_context(summary: RunSummary, today: date) -> dict[str, Any]:
    """The tags of templates/email/digest.*.j2 (listed in docs/templates.md)."""
    c = summary.counts
    headline = (
        f"{c['new']} new, {c['updated']} updated, {c['invalid']} to fix, "
        f"{c['duplicate']} duplicate(s), {c['failed']} failed deliveries"
    )
    return {
        "run_date": format_date(today),
        "source": summary.source,
        "headline": headline,
        "new": summary.of("new"),
        "updated": summary.of("updated"),
        "invalid": summary.of("invalid"),
        "duplicates": summary.of("duplicate"),
        "errors": summary.of("error"),
        "awaiting": summary.awaiting_approval,
        "failed": [{"id": i, "subject": s, "reply": r} for i, s, r in summary.delivery.failed],
        "sent": summary.delivery.sent,
        "deferred": summary.delivery.deferred,
        "erased_rows": summary.erased_rows,
        "pruned": {k: n for k, n in summary.pruned.items() if n},
    }
