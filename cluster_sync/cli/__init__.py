"""The command line: a thin layer over the library. Each command opens what it needs, makes one
library call and prints the result (cluster_sync.console says it, and shows every error in one
place, in plain words). click is imported here, in the other modules of this package and in
cluster_sync.console only: the library never needs it."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from cluster_sync import __version__
from cluster_sync import config as config_mod
from cluster_sync.cli.base import CONFIG_HELP, Group, load_config, opened_state
from cluster_sync.cli.clusters import preview, rerender
from cluster_sync.cli.privacy import export_person, forget
from cluster_sync.cli.report import report
from cluster_sync.config import Config
from cluster_sync.console import (
    finish_run,
    handle_errors,
    let_readers_leave,
    print_summary,
    queue_line,
    say,
    say_delivery,
)
from cluster_sync.errors import ClusterSyncError
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.text import counted

log = logging.getLogger("cluster_sync")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=config_mod.DEFAULT_PATH,
    envvar="CLUSTER_SYNC_CONFIG",
    show_default=True,
    show_envvar=True,
    help=CONFIG_HELP,
)
@click.option("-v", "--verbose", is_flag=True, help="Show details and tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (for cron).")
@click.version_option(__version__, prog_name="cluster-sync")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool, quiet: bool) -> None:
    """Sync cluster registrations: validate them, make Word factsheets, email them, and show
    what was done in the responses sheet."""
    ctx.obj = {"config_path": config_path, "verbose": verbose, "quiet": quiet}


# -- sync ------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and render into a scratch folder; change no state, deliver nothing.",
)
@click.option(
    "--keep", is_flag=True, help="With --dry-run: keep the scratch folder and say where it is."
)
@click.option(
    "--accept-mass-change",
    is_flag=True,
    help="Go ahead although many valid registrations would become invalid at once "
    "(the run otherwise holds them back and exits 6).",
)
@click.option("--only", metavar="CL-ID", help="Handle this one registration only.")
@click.pass_context
@handle_errors
def sync(
    ctx: click.Context, dry_run: bool, keep: bool, accept_mass_change: bool, only: str | None
) -> None:
    """Run the nightly sync: read, validate, render, email, write statuses back."""
    from cluster_sync.lock import state_lock

    cfg = load_config(ctx)
    ctx.obj["only"] = only
    ctx.obj["accept_mass_change"] = accept_mass_change
    with state_lock(cfg.path(cfg.state.database)):
        summary = _dry_run(ctx, cfg, keep) if dry_run else _real_run(ctx, cfg)
    finish_run(summary)


def _progress(ctx: click.Context) -> Callable[[Iterable[Any]], Iterable[Any]] | None:
    if ctx.obj["quiet"] or not sys.stderr.isatty():
        return None

    def wrap(items: Iterable[Any]) -> Iterable[Any]:
        items = list(items)
        with click.progressbar(items, label="Registrations", file=sys.stderr) as bar:
            yield from bar

    return wrap


def _real_run(ctx: click.Context, cfg: Config) -> Any:
    from cluster_sync.engine import Sync
    from cluster_sync.mailers import open_mailer
    from cluster_sync.sources import open_source

    with opened_state(cfg) as state:
        summary = Sync(
            cfg,
            state,
            open_source(cfg),
            open_mailer(cfg),
            progress=_progress(ctx),
            only=ctx.obj.get("only"),
            accept_mass_change=ctx.obj["accept_mass_change"],
        ).run()
    where = {"factsheets": cfg.path(cfg.output.directory) / "factsheets"}
    outbox = outbox_folder(cfg)
    if cfg.mail.backend == "outbox" and outbox:
        where["emails"] = outbox
    print_summary(ctx, summary, where)
    return summary


def _dry_run(ctx: click.Context, cfg: Config, keep: bool) -> Any:
    from cluster_sync.dryrun import dry_run

    done = dry_run(
        cfg,
        keep=keep,
        progress=_progress(ctx),
        only=ctx.obj.get("only"),
        accept_mass_change=ctx.obj["accept_mass_change"],
    )
    print_summary(ctx, done.summary, done.where)
    if done.kept:
        say(ctx, f"The scratch folder is kept: {done.kept} (delete it when done).")
    else:
        say(ctx, "The scratch folder was removed (--keep keeps it, to read what was made).")
    return done.summary


# -- check, status ---------------------------------------------------------------------------


@cli.command()
@click.option("--connect", is_flag=True, help="Also log in to the mail server (nothing is sent).")
@click.pass_context
@handle_errors
def check(ctx: click.Context, connect: bool) -> None:
    """Check the configuration, templates, source headers, folders and mail settings; change
    nothing."""
    from cluster_sync.checks import run_checks

    cfg = load_config(ctx)
    say(ctx, f"configuration: OK ({ctx.obj['config_path']})", fg="green")
    results = run_checks(cfg, connect)
    for r in results:
        if r.warning:
            click.secho(f"{r.area}: WARNING\n  {r.message}", fg="yellow", err=True)
        elif r.ok:
            say(ctx, f"{r.area}: OK ({r.message})", fg="green")
        else:
            click.secho(f"{r.area}: PROBLEM\n  {r.message}", fg="red", err=True)
    if not all(r.ok for r in results):
        sys.exit(2)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the registrations, their state, what is queued, and the last runs."""
    from cluster_sync.overview import status as read_status

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        found = read_status(cfg, state)
    regs, emails, counts, ages = (
        found.registrations,
        found.emails,
        found.queue.counts,
        found.templates,
    )
    published, prune = found.published, found.retention
    if as_json:
        click.echo(
            json.dumps(
                {
                    "registrations": [r.__dict__ | {"email": emails[r.cluster_id]} for r in regs],
                    "queue": [m.stored for m in found.queue.messages],
                    "queue_counts": {
                        "queued": counts.queued,
                        "held_for_retry": counts.held,
                        "failed": counts.failed,
                    },
                    "runs": [run.stored for run in found.runs],
                    "retention_next_run": prune.counts,
                    "templates": {"older": ages.older, "unknown": ages.unknown},
                }
                | ({"publishing": published} if published else {}),
                default=str,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"{counted(len(regs), 'registration')}:")
    for r in regs:
        state_text = f"v{r.version} {emails[r.cluster_id]}".strip() if r.version else r.status
        if r.status == "invalid":
            state_text = f"needs fixing ({len(r.problems)})"
        click.echo(f"  {r.cluster_id}  {state_text:<34} {r.title[:60]}")
    click.echo(f"Mail queue: {queue_line(counts)} (details: cluster-sync queue)")
    for line in ages.lines():
        click.echo(line)
    if published:
        click.echo(
            f"Published factsheet files: {published['published']}, waiting: {published['waiting']}"
            + (f" (last problem: {published['last_error']})" if published["last_error"] else "")
        )
        if published["to_withdraw"]:
            click.echo(f"Published files the next sync withdraws: {published['to_withdraw']}")
    click.echo(f"Retention at the next sync will remove: {prune.describe()}")
    for run in found.runs:
        c = run.counts
        delivered = f"{c.get('sent', 0)} sent" + (
            f", {c['saved']} saved to the outbox" if c.get("saved") else ""
        )
        click.echo(
            f"  run {run.id} {run.started_at} {run.outcome}: "
            f"{c.get('new', 0)} new, {c.get('updated', 0)} updated, "
            f"{c.get('invalid', 0)} to fix, {c.get('error', 0)} could not be processed, "
            f"{delivered}"
        )


# -- mail queue ------------------------------------------------------------------------------


@cli.command()
@click.option("--dry-run", is_flag=True, help="List what would be delivered; send nothing.")
@click.pass_context
@handle_errors
def send(ctx: click.Context, dry_run: bool) -> None:
    """Deliver what is queued (including what earlier runs left)."""
    from cluster_sync.lock import state_lock
    from cluster_sync.mailers import open_mailer
    from cluster_sync.mailpass import deliver
    from cluster_sync.mailqueue import queue_counts
    from cluster_sync.overview import queue as read_queue
    from cluster_sync.summary import delivery_sentence

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg) as state:
        if dry_run:
            listing = read_queue(state)
            counts = listing.counts
            say(ctx, f"{counted(counts.due + counts.sending, 'message')} would be delivered now:")
            for m in listing.messages:
                if m.due:
                    say(ctx, f"  #{m.id} {m.kind:<16} {m.subject}")
            if counts.held:
                say(ctx, f"{counted(counts.held, 'message')} held for a retry at a later time.")
            return
        report = deliver(state, open_mailer(cfg), cfg.mail.limits)
        counts = queue_counts(state)
    log.info("send: %s", delivery_sentence(report, counts))
    say_delivery(ctx, report, counts)


@cli.command("queue")
@click.option("--all", "include_sent", is_flag=True, help="Include messages already sent.")
@click.pass_context
@handle_errors
def queue(ctx: click.Context, include_sent: bool) -> None:
    """List queued and failed messages, and why they failed."""
    from cluster_sync.overview import queue as read_queue

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        listing = read_queue(state, include_sent)
    if not listing.messages:
        click.echo("Nothing queued or failed.")
        return
    for m in listing.messages:
        click.echo(
            f"#{m.id:<5} {m.label:<8} {m.kind:<16} {counted(len(m.recipients), 'recipient'):>14}  "
            f"{m.subject}"
        )
        if m.label == "held":
            click.echo(f"        held for a retry until {m.next_attempt_at}")
        if m.refused:
            for address, words in m.refused.items():
                click.echo(f"        refused by the mail server: {address}: {words}")
        elif m.last_reply and m.state != "sent":
            click.echo(f"        tries: {m.attempts}, last answer: {m.last_reply}")
    click.echo(f"{queue_line(listing.counts)}.")


@cli.command("outbox", hidden=True)
@click.option("--all", "include_sent", is_flag=True, help="Include messages already sent.")
@click.pass_context
def outbox(ctx: click.Context, include_sent: bool) -> None:
    """The old name of `queue`, kept so that existing scripts keep working ("outbox" is the
    folder of .eml files of the outbox mail backend, not the queue)."""
    click.echo("Note: `cluster-sync outbox` is now `cluster-sync queue`.", err=True)
    ctx.invoke(queue, include_sent=include_sent)


@cli.command()
@click.argument("message_id", type=int)
@click.pass_context
@handle_errors
def retry(ctx: click.Context, message_id: int) -> None:
    """Put a failed message (by its number in `cluster-sync queue`) back in the queue."""
    from cluster_sync.mailqueue import requeue

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        if not requeue(state, message_id):
            raise ClusterSyncError(
                f"There is no failed message #{message_id}.",
                hint="`cluster-sync queue` lists the failed messages and their numbers.",
            )
    say(
        ctx,
        f"Message #{message_id} is queued again; `cluster-sync send` or the next sync delivers it.",
    )


@cli.command()
@click.argument("cluster_id")
@click.option("--to", "to", metavar="ADDRESS", help="Send it to this one address only.")
@click.pass_context
@handle_errors
def resend(ctx: click.Context, cluster_id: str, to: str | None) -> None:
    """Send the current factsheet of CLUSTER_ID again (to its people, or to --to ADDRESS)."""
    from datetime import UTC, datetime

    from cluster_sync.lock import state_lock
    from cluster_sync.mailers import open_mailer
    from cluster_sync.mailpass import deliver
    from cluster_sync.resend import resend as queue_resend

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg, must_exist=True) as state:
        done = queue_resend(cfg, state, cluster_id, to, datetime.now(UTC))
        report = deliver(state, open_mailer(cfg), cfg.mail.limits)
    say(
        ctx,
        f"Factsheet v{done.version} of {done.cluster_id} queued for "
        f"{counted(len(done.recipients), 'recipient')}: {', '.join(done.recipients)}.",
    )
    say(ctx, f"Sent {report.sent}, failed {len(report.failed)}, still queued {report.deferred}.")
    if report.failed or report.deferred:
        say(ctx, "`cluster-sync queue` shows what is waiting and why.", fg="yellow")


cli.add_command(report)
cli.add_command(forget)
cli.add_command(export_person)
cli.add_command(rerender)
cli.add_command(preview)


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv",
              show_default=True, help="File format.")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write. Default: <output.directory>/registry/clusters.<format>.")  # fmt: skip
@click.pass_context
@handle_errors
def export(ctx: click.Context, fmt: str, out: Path | None) -> None:
    """Write the cluster registry (consented, valid clusters) as CSV, JSON or XLSX."""
    from datetime import datetime

    from cluster_sync.registry_export import export_registry

    cfg = load_config(ctx)
    out = out or cfg.path(cfg.output.directory) / "registry" / f"clusters.{fmt}"
    with opened_state(cfg, must_exist=True) as state:
        count = export_registry(state, fmt, out, datetime.now(cfg.zone).date())
    say(ctx, f"Registry: {count} cluster{'' if count == 1 else 's'} written to {out}")


@cli.command(cls=click.Command)  # no configuration: it writes one
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
@handle_errors
def init(ctx: click.Context, folder: Path) -> None:
    """Write a deployment folder: configuration, Word and email templates, the systemd
    service and timer, a crontab line, the form's questions and example responses. Never
    writes over a file."""
    from cluster_sync.deployment import init as write_folder

    written = write_folder(folder)
    say(ctx, f"Wrote {counted(len(written), 'file')} into {folder}:")
    for path in written:
        say(ctx, f"  {path.relative_to(folder.resolve())}")
    config = folder / "config"
    say(
        ctx,
        "Next: try it on the example responses with "
        f"`cluster-sync --config {config / 'example.toml'} sync`; then fill in "
        f"{config / 'cluster-sync.toml'} (the lines marked CHANGE) and the secrets in "
        f"{config / 'env'}, and run `cluster-sync --config {config / 'cluster-sync.toml'} check`. "
        f"{folder / 'schedule'} holds the systemd units and the crontab line.",
    )


def main() -> None:
    let_readers_leave()  # `| head` stops the printing, never the work
    cli(prog_name="cluster-sync")
