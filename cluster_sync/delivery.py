"""A run's delivery: the digest queued with the run's work, every due message handed over
through one connection, and a second digest for bad news that only the delivery found.

The order matters for a crash. The digest is queued before delivery begins, so a run killed
while delivering still leaves it queued for the next run (worded as it stood: queued, not yet
delivered). It is delivered last and written again just before it goes, with what the delivery
actually did (cluster_sync/digest.py). The queue and its delivery loop are mailqueue.py; this
module is what the nightly run (engine.Sync) does with them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cluster_sync.config import Config
from cluster_sync.digest import Digest, merged
from cluster_sync.errors import ConfigError
from cluster_sync.mailers.base import Envelope, Mailer, PermanentFailure
from cluster_sync.mailpass import deliver
from cluster_sync.mailqueue import DeliveryReport, queue_counts
from cluster_sync.state import State
from cluster_sync.summary import RunSummary


def check_mailer(mailer: Mailer) -> None:
    """A mail setting a person must fix (an unset password variable) stops the run before
    anything is done, rather than leaving every message queued behind a 0 exit code."""
    try:
        mailer.check_settings()
    except PermanentFailure as exc:
        raise ConfigError(
            f"The mail settings cannot work ({mailer.description}):", [exc.reply]
        ) from None


def deliver_run(
    config: Config,
    state: State,
    mailer: Mailer,
    digest: Digest,
    summary: RunSummary,
    now: datetime,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Queue the digest (when the run did something), deliver everything due through one
    connection, then, for a failure or a refused recipient found only now, a digest of its
    own right after. Fills summary.delivery and summary.queue; closes the mailer."""
    wanted = config.mail.digest
    if wanted and summary.did_something:
        digest.queue(summary)
    try:
        # One connection for the whole run: the digest goes through the same session.
        first = summary.delivery = _pass(config, state, mailer, digest, summary, sleep)
        bad_news = first.failed or first.refused
        if wanted and not summary.digest and bad_news and not first.unreachable:
            digest.queue(summary)
            then = _pass(config, state, mailer, digest, summary, sleep, first)
            summary.delivery = merged(first, then)
    finally:
        mailer.close()
    summary.queue = queue_counts(state, now)


def _pass(
    config: Config,
    state: State,
    mailer: Mailer,
    digest: Digest,
    summary: RunSummary,
    sleep: Callable[[float], None] | None,
    before: DeliveryReport | None = None,
) -> DeliveryReport:
    """One delivery pass; `before` is an earlier pass of this run, counted in the digest."""
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}

    def rewrite(envelope: Envelope, report: DeliveryReport) -> Envelope:
        if envelope.kind != "digest" or envelope.id not in digest.ids:
            return envelope
        summary.delivery = report if before is None else merged(before, report)
        return digest.rewrite(summary, envelope)

    return deliver(
        state,
        mailer,
        config.mail.limits,
        close=False,
        before_send=rewrite,
        reports=lambda message: message in digest.ids,
        **kwargs,
    )
