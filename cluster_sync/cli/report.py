"""`cluster-sync report`: the CoP clusters report for a period, as .docx and .md, optionally
queued to the secretariat and delivered at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cluster_sync.cli.base import Command, load_config, opened_state
from cluster_sync.console import handle_errors, say
from cluster_sync.errors import ClusterSyncError

if TYPE_CHECKING:
    from cluster_sync.config import Config
    from cluster_sync.report.gather import Period
    from cluster_sync.report.service import Report
    from cluster_sync.state import State


def _day(value: date | datetime | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def _period(start: date | None, end: date | None, today: date) -> Period:
    from cluster_sync.report.gather import Period, default_period

    default = default_period(end or today)
    period = Period(start or default.start, end or default.end)
    if period.start > period.end:
        raise ClusterSyncError(
            f"--from {period.start.isoformat()} is after --to {period.end.isoformat()}.",
            hint="give the first day of the period with --from and the last with --to.",
        )
    return period


@click.command(cls=Command)
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day of the period (YYYY-MM-DD). Default: 1 January of --to's year.",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day of the period (YYYY-MM-DD). Default: today.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the .docx (the .md and the charts go beside it). "
    "Default: <output.directory>/reports/cop-report-<from>-<to>.docx.",
)
@click.option(
    "--send",
    is_flag=True,
    help="Queue the report to the secretariat (once per period) and deliver now.",
)
@click.option(
    "--correction",
    is_flag=True,
    help="With --send: send this draft although the period was sent before, marked as a "
    "corrected draft.",
)
@click.pass_context
def report(
    ctx: click.Context,
    start: datetime | None,
    end: datetime | None,
    out: Path | None,
    send: bool,
    correction: bool,
) -> None:
    """Make the Community of Practice clusters report for a period (.docx and .md)."""
    handle_errors(_run)(ctx, _day(start), _day(end), out, send, correction)


def _run(
    ctx: click.Context,
    start: date | None,
    end: date | None,
    out: Path | None,
    send: bool,
    correction: bool = False,
) -> None:
    from cluster_sync.lock import state_lock
    from cluster_sync.report.service import make_report

    if correction and not send:
        raise ClusterSyncError(
            "--correction goes with --send; nothing was made.",
            hint="run `cluster-sync report --send --correction` with the period's --from and --to.",
        )
    cfg = load_config(ctx)
    now = datetime.now(UTC)
    period = _period(start, end, now.astimezone(cfg.zone).date())
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg, must_exist=True) as state:
        made = make_report(cfg, state, period, now.astimezone(cfg.zone).date(), out)
        say(ctx, f"Report (Word, draft {made.draft}): {made.docx}")
        say(ctx, f"Report (Markdown): {made.markdown}")
        for line in _other_files(cfg, made):
            say(ctx, line)
        say(ctx, made.summary)
        if send:
            _send(ctx, cfg, state, made, now, correction)


def _other_files(cfg: Config, made: Report) -> list[str]:
    from cluster_sync.outputs import SOURCE, problems

    lines = []
    for name, file in made.files.items():
        if name != SOURCE and file.path:
            lines.append(f"Report ({name.upper()}): {file.path}")
    lines += [f"Report: {p}" for p in problems(cfg, made.files)]
    return lines


def _send(
    ctx: click.Context, cfg: Config, state: State, made: Report, now: datetime, correction: bool
) -> None:
    from cluster_sync.mailers import open_mailer
    from cluster_sync.mailpass import deliver
    from cluster_sync.report.service import send_correction, send_report, sent_message

    before = sent_message(state, made.period)
    if correction and send_correction(cfg, state, made, now):
        what = f"corrected draft {made.draft}" if before else f"draft {made.draft}"
        say(ctx, f"Queued to the secretariat ({what}): {', '.join(cfg.mail.secretariat)}")
        if not before:
            say(ctx, "Nothing was sent for this period before: it goes as the period's report.")
    elif not correction and send_report(cfg, state, made, now):
        say(ctx, f"Queued to the secretariat: {', '.join(cfg.mail.secretariat)}")
    elif correction:
        say(ctx, f"Draft {made.draft} of this period was already queued; not again.", fg="yellow")
    else:
        say(
            ctx,
            f"The report of this period was already sent ({before}); not queued again. To send "
            f"this corrected draft {made.draft}, run the same command with --correction.",
            fg="yellow",
        )
    result = deliver(state, open_mailer(cfg), cfg.mail.limits)
    say(ctx, f"Sent {result.sent}, failed {len(result.failed)}, still queued {result.deferred}.")
    if result.stop_reason:
        say(ctx, f"Delivery paused: {result.stop_reason}", fg="yellow")
