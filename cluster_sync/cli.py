"""The command line: a thin layer over the library. Each command opens what it needs, makes one
library call and prints the result (cluster_sync.console says it, and shows every error in one
place, in plain words)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cluster_sync import __version__, files, logs
from cluster_sync import config as config_mod
from cluster_sync.cluster_commands import preview, rerender
from cluster_sync.config import Config
from cluster_sync.console import (
    due_now,
    finish_run,
    handle_errors,
    print_summary,
    queue_line,
    say,
    say_delivery,
)
from cluster_sync.errors import ClusterSyncError
from cluster_sync.report.command import report
from cluster_sync.text import counted

log = logging.getLogger("cluster_sync")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=config_mod.DEFAULT_PATH,
    show_default=True,
    help="The configuration file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show details and tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (for cron).")
@click.version_option(__version__, prog_name="cluster-sync")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool, quiet: bool) -> None:
    """Sync cluster registrations: validate them, make Word factsheets, email them, and show
    what was done in the responses sheet."""
    ctx.obj = {"config_path": config_path, "verbose": verbose, "quiet": quiet}


def load_config(ctx: click.Context) -> Config:
    cfg = config_mod.load(ctx.obj["config_path"])
    files.configure(cfg.privacy.mode)
    logs.setup(cfg.path(cfg.log.file) if cfg.log.file else None, cfg.log.level, ctx.obj["verbose"])
    return cfg


def existing_database(cfg: Config) -> Path:
    """The state database's path, for commands that only look at it, so that they never
    create one by accident (a typo in the path, or no sync run yet)."""
    path = cfg.path(cfg.state.database)
    if not path.exists():
        raise ClusterSyncError(
            f"There is no state database at {path}: no sync has run with this configuration yet.",
            hint="run `cluster-sync sync` first, or check state.database in the configuration.",
        )
    return path


@contextmanager
def opened_state(cfg: Config, must_exist: bool = False) -> Iterator[Any]:
    """The state database; `must_exist` for commands that only look at it, so that they never
    create one by accident (a typo in the path, or no sync run yet)."""
    from cluster_sync.state import State

    path = existing_database(cfg) if must_exist else cfg.path(cfg.state.database)
    state = State(path)
    try:
        yield state
    finally:
        state.close()


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
    if cfg.mail.backend == "outbox" and cfg.mail.outbox:
        where["emails"] = cfg.path(cfg.mail.outbox)
    print_summary(ctx, summary, where)
    return summary


def _dry_run(ctx: click.Context, cfg: Config, keep: bool) -> Any:
    """The real code path on an in-memory copy of the state, rendering into a scratch folder
    that is removed afterwards unless `--keep`."""
    from cluster_sync.engine import Sync
    from cluster_sync.mailers.outbox import OutboxMailer
    from cluster_sync.sources import open_source
    from cluster_sync.state import State

    scratch = Path(tempfile.mkdtemp(prefix="cluster-sync-dry-run-"))
    try:
        state = State.scratch_of(cfg.path(cfg.state.database), scratch)
        try:
            summary = Sync(
                cfg,
                state,
                open_source(cfg),
                OutboxMailer(scratch / "outbox"),
                output_dir=scratch,
                existing_dir=cfg.path(cfg.output.directory),
                dry_run=True,
                progress=_progress(ctx),
                only=ctx.obj.get("only"),
                accept_mass_change=ctx.obj["accept_mass_change"],
            ).run()
        finally:
            state.close()
        where = {"factsheets": scratch / "factsheets", "emails": scratch / "outbox"}
        print_summary(ctx, summary, where if keep else {})
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    if keep:
        say(ctx, f"The scratch folder is kept: {scratch} (delete it when done).")
    else:
        say(ctx, "The scratch folder was removed (--keep keeps it, to read what was made).")
    return summary


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
    from datetime import UTC, datetime

    from cluster_sync.fingerprint import template_ages
    from cluster_sync.mailqueue import queue_counts, queue_listing
    from cluster_sync.privacy.retention import plan_retention
    from cluster_sync.publish.service import overview, target_key
    from cluster_sync.sheetstatus import email_state

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        regs = state.registrations()
        emails = {r.cluster_id: email_state(state, r.cluster_id, r.version) for r in regs}
        queue = queue_listing(state)
        counts = queue_counts(state)
        runs = [dict(r) for r in state.last_runs(5)]
        published = overview(state, target_key(cfg))
        prune = plan_retention(cfg, state, datetime.now(UTC))
        ages = template_ages(cfg, state)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "registrations": [r.__dict__ | {"email": emails[r.cluster_id]} for r in regs],
                    "queue": queue,
                    "queue_counts": {
                        "queued": counts.queued,
                        "held_for_retry": counts.held,
                        "failed": counts.failed,
                    },
                    "runs": runs,
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
    click.echo(f"Mail queue: {queue_line(counts)} (details: cluster-sync outbox)")
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
    for run in runs:
        c = json.loads(run["counts"])
        delivered = f"{c.get('sent', 0)} sent" + (
            f", {c['saved']} saved to the outbox" if c.get("saved") else ""
        )
        click.echo(
            f"  run {run['id']} {run['started_at']} {run['outcome']}: "
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
    from cluster_sync.mailqueue import deliver, queue_counts, queue_listing
    from cluster_sync.summary import delivery_sentence

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg) as state:
        if dry_run:
            counts = queue_counts(state)
            due = [m for m in queue_listing(state) if m["state"] in ("queued", "sending")]
            say(ctx, f"{counted(counts.due + counts.sending, 'message')} would be delivered now:")
            for m in due:
                if not m["next_attempt_at"] or m["state"] == "sending" or due_now(m):
                    say(ctx, f"  #{m['id']} {m['kind']:<16} {m['subject']}")
            if counts.held:
                say(ctx, f"{counted(counts.held, 'message')} held for a retry at a later time.")
            return
        report = deliver(state, open_mailer(cfg), cfg.mail.limits)
        counts = queue_counts(state)
    log.info("send: %s", delivery_sentence(report, counts))
    say_delivery(ctx, report, counts)


@cli.command()
@click.option("--all", "include_sent", is_flag=True, help="Include messages already sent.")
@click.pass_context
@handle_errors
def outbox(ctx: click.Context, include_sent: bool) -> None:
    """List queued and failed messages, and why they failed."""
    from cluster_sync.mailqueue import queue_counts, queue_listing, refused_of, saved_only

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        rows = queue_listing(state, include_sent)
        counts = queue_counts(state)
    if not rows:
        click.echo("Nothing queued or failed.")
        return
    for m in rows:
        people = len(json.loads(str(m["recipients"])))
        reply = str(m["last_reply"] or "")
        refused = refused_of(reply)
        label = str(m["state"])
        if label == "queued" and m["next_attempt_at"] and not due_now(m):
            label = "held"
        elif label == "sent" and saved_only(reply):
            label = "saved"
        click.echo(
            f"#{m['id']:<5} {label:<8} {m['kind']:<16} {counted(people, 'recipient'):>14}  "
            f"{m['subject']}"
        )
        if label == "held":
            click.echo(f"        held for a retry until {m['next_attempt_at']}")
        if refused:
            for address, words in refused.items():
                click.echo(f"        refused by the mail server: {address}: {words}")
        elif reply and m["state"] != "sent":
            click.echo(f"        tries: {m['attempts']}, last answer: {reply}")
    click.echo(f"{queue_line(counts)}.")


@cli.command()
@click.argument("message_id", type=int)
@click.pass_context
@handle_errors
def retry(ctx: click.Context, message_id: int) -> None:
    """Put a failed message (by its number in `cluster-sync outbox`) back in the queue."""
    from cluster_sync.mailqueue import requeue

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        if not requeue(state, message_id):
            raise ClusterSyncError(
                f"There is no failed message #{message_id}.",
                hint="`cluster-sync outbox` lists the failed messages and their numbers.",
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
    from cluster_sync.mailqueue import deliver
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
        say(ctx, "`cluster-sync outbox` shows what is waiting and why.", fg="yellow")


# The report command lives with the report library; it imports only click here.
cli.add_command(report)
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


# -- personal data (docs/privacy.md) --------------------------------------------------------


@cli.command()
@click.argument("address")
@click.option("--name", "names", multiple=True, help="Also remove this name (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only show what would change (the default).")
@click.option("--yes", is_flag=True, help="Do it: erase the person everywhere.")
@click.pass_context
@handle_errors
def forget(
    ctx: click.Context, address: str, names: tuple[str, ...], dry_run: bool, yes: bool
) -> None:
    """Erase a person (an erasure request): from the state, the outbox, the outputs, the log."""
    from datetime import datetime

    from cluster_sync.lock import state_lock
    from cluster_sync.privacy.forget import erase, plan_erasure

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg, must_exist=True) as state:
        plan = plan_erasure(cfg, state, address, list(names))
        for what, n in plan.counts.items():
            say(ctx, f"  {what}: {n}")
        for path in plan.files:
            say(ctx, f"    {path}")
        if not yes or dry_run:
            say(
                ctx,
                f"Dry run: {counted(plan.items, 'item')} would change; run again with --yes to erase.",
            )
            return
        result = erase(cfg, state, plan, datetime.now(cfg.zone).date())
    if result.remaining:
        raise ClusterSyncError(
            f"Erased {counted(plan.items, 'item')}, but these still name the person: "
            + ", ".join(result.remaining),
            hint="remove them by hand; docs/privacy.md lists every place cluster-sync writes.",
        )
    say(
        ctx,
        f"Erased: {counted(plan.items, 'item')} changed; the address is on the suppression list.",
    )
    say(ctx, "Also delete or edit the person's answers in the responses sheet (the sync cannot).")


@cli.command("export-person")
@click.argument("address")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the JSON here (and a .txt beside it) instead of printing.")  # fmt: skip
@click.pass_context
@handle_errors
def export_person(ctx: click.Context, address: str, out: Path | None) -> None:
    """Everything held about one address (an access request), as JSON and in words."""
    from cluster_sync.privacy.export import person_record, person_text, write_record

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        record = person_record(cfg, state, address)
    if out is None:
        click.echo(person_text(record), nl=False)
        return
    paths = write_record(record, out)
    say(ctx, f"Written: {paths[0]} and {paths[1]}")


def main() -> None:
    cli(prog_name="cluster-sync")
