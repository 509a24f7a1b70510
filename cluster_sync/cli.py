"""The command line: a thin layer over the library. Each command opens what it needs, makes one
library call and prints the result; every error is shown in one place, in plain words."""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from cluster_sync import __version__, files, logs
from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.report.command import report

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("cluster_sync")


def handle_errors(func: F) -> F:
    """Turn every error into a short message with what to do; traceback only with -v."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = bool(ctx.find_root().params.get("verbose"))
        try:
            return func(*args, **kwargs)
        except ClusterSyncError as exc:
            if verbose:
                traceback.print_exc()
            click.secho(f"Error: {logs.redact(str(exc))}", fg="red", err=True)
            log.error("%s", exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing is lost: the next run continues.", err=True)
            sys.exit(130)
        except Exception as exc:
            log.exception("unexpected error")
            if verbose:
                traceback.print_exc()
            click.secho(
                f"Unexpected error: {type(exc).__name__}: {logs.redact(str(exc))}\n"
                "  What to do: run again with -v for details, and report it with the log file.",
                fg="red",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


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


def say(ctx: click.Context, message: str = "", **style: Any) -> None:
    if not ctx.obj["quiet"]:
        click.secho(message, **style)


@contextmanager
def opened_state(cfg: Config, must_exist: bool = False) -> Iterator[Any]:
    """The state database; `must_exist` for commands that only look at it, so that they never
    create one by accident (a typo in the path, or no sync run yet)."""
    from cluster_sync.state import State

    path = cfg.path(cfg.state.database)
    if must_exist and not path.exists():
        raise ClusterSyncError(
            f"There is no state database at {path}: no sync has run with this configuration yet.",
            hint="run `cluster-sync sync` first, or check state.database in the configuration.",
        )
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
@click.pass_context
@handle_errors
def sync(ctx: click.Context, dry_run: bool) -> None:
    """Run the nightly sync: read, validate, render, email, write statuses back."""
    from cluster_sync.lock import state_lock

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)):
        summary, where = (_dry_run if dry_run else _real_run)(ctx, cfg)
    _print_summary(ctx, summary, where, dry_run)
    if summary.write_back_error:
        click.secho(f"Warning: {summary.write_back_error}", fg="yellow", err=True)
        sys.exit(3)
    if summary.delivery.unreachable:
        # Shown even with -q: nothing is lost, but cron should tell someone mail is not flowing.
        click.secho(
            f"Warning: mail delivery stopped: {summary.delivery.capped}. Every message stays "
            "queued; `cluster-sync send` or the next sync delivers it.",
            fg="yellow",
            err=True,
        )
        sys.exit(4)


def _progress(ctx: click.Context) -> Callable[[Iterable[Any]], Iterable[Any]] | None:
    if ctx.obj["quiet"] or not sys.stderr.isatty():
        return None

    def wrap(items: Iterable[Any]) -> Iterable[Any]:
        items = list(items)
        with click.progressbar(items, label="Registrations", file=sys.stderr) as bar:
            yield from bar

    return wrap


def _real_run(ctx: click.Context, cfg: Config) -> tuple[Any, dict[str, Path]]:
    from cluster_sync.engine import Sync
    from cluster_sync.mailers import open_mailer
    from cluster_sync.sources import open_source

    with opened_state(cfg) as state:
        summary = Sync(
            cfg, state, open_source(cfg), open_mailer(cfg), progress=_progress(ctx)
        ).run()
    where = {"factsheets": cfg.path(cfg.output.directory) / "factsheets"}
    if cfg.mail.backend == "outbox" and cfg.mail.outbox:
        where["emails"] = cfg.path(cfg.mail.outbox)
    return summary, where


def _dry_run(ctx: click.Context, cfg: Config) -> tuple[Any, dict[str, Path]]:
    from cluster_sync.engine import Sync
    from cluster_sync.mailers.outbox import OutboxMailer
    from cluster_sync.sources import open_source
    from cluster_sync.state import State

    scratch = Path(tempfile.mkdtemp(prefix="cluster-sync-dry-run-"))
    state = State.scratch_of(cfg.path(cfg.state.database))
    mailer = OutboxMailer(scratch / "outbox")
    summary = Sync(
        cfg,
        state,
        open_source(cfg),
        mailer,
        output_dir=scratch,
        write_back=False,
        retention=False,
        progress=_progress(ctx),
    ).run()
    state.close()
    return summary, {"factsheets": scratch / "factsheets", "emails": scratch / "outbox"}


def _print_summary(ctx: click.Context, summary: Any, where: dict[str, Path], dry_run: bool) -> None:
    c = summary.counts
    say(ctx, "Dry run: nothing was changed or sent.\n" if dry_run else "", fg="yellow")
    say(
        ctx,
        f"Read {c['rows']} response(s) from {summary.source} ({c['blank']} blank row(s) skipped).",
    )
    say(
        ctx,
        f"  new: {c['new']}   updated: {c['updated']}   unchanged: {c['unchanged']}   "
        f"need fixing: {c['invalid']}   duplicates: {c['duplicate']}   errors: {c['error']}",
    )
    say(
        ctx,
        f"  factsheets rendered: {c['factsheets']}   emails queued: {c['queued']}   "
        f"{'written' if dry_run else 'sent'}: {c['sent']}   failed: {c['failed']}   waiting: {c['deferred']}",
    )
    if c["awaiting_approval"]:
        say(ctx, f"  waiting for approval: {c['awaiting_approval']} (tick Approved in the sheet)")
    for r in summary.of("invalid")[:10]:
        say(
            ctx,
            f"  row {r.row} {r.cluster_id}: needs fixing: {r.problems[0]}"
            + (f" (+{len(r.problems) - 1} more)" if len(r.problems) > 1 else ""),
        )
    for r in summary.of("duplicate") + summary.of("error"):
        say(ctx, f"  row {r.row}: {r.note}")
    if summary.delivery.capped:
        say(ctx, f"  delivery paused: {summary.delivery.capped}", fg="yellow")
    if summary.report:
        say(ctx, f"  CoP report draft queued for the secretariat: {summary.report}")
    if summary.report_error:
        click.secho(
            f"Warning: the scheduled CoP report failed: {summary.report_error}",
            fg="yellow",
            err=True,
        )
    pruned = ", ".join(f"{n} {what}" for what, n in summary.pruned.items() if n)
    if pruned:
        say(ctx, f"  retention removed: {pruned}")
    if summary.erased_rows:
        say(ctx, f"  sheet rows naming erased people (edit them): {summary.erased_rows}")
    if not dry_run:
        say(ctx, f"  sheet rows updated: {c['written_back']}")
    for label, path in where.items():
        say(ctx, f"{label.capitalize()}: {path}")


# -- check, status ---------------------------------------------------------------------------


@cli.command()
@click.pass_context
@handle_errors
def check(ctx: click.Context) -> None:
    """Check the configuration, templates, source headers and mail settings; change nothing."""
    from cluster_sync.checks import run_checks

    cfg = load_config(ctx)
    say(ctx, f"configuration: OK ({ctx.obj['config_path']})", fg="green")
    results = run_checks(cfg)
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

    from cluster_sync.mailqueue import queue_listing
    from cluster_sync.privacy.retention import plan_retention

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        regs = state.registrations()
        queue = queue_listing(state)
        runs = [dict(r) for r in state.last_runs(5)]
        prune = plan_retention(cfg, state, datetime.now(UTC))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "registrations": [r.__dict__ for r in regs],
                    "queue": queue,
                    "runs": runs,
                    "retention_next_run": prune.counts,
                },
                default=str,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"{len(regs)} registration(s):")
    for r in regs:
        state_text = f"v{r.version}" + (
            " emailed" if r.emailed_version == r.version and r.version else ""
        )
        if r.status == "invalid":
            state_text = f"needs fixing ({len(r.problems)})"
        click.echo(f"  {r.cluster_id}  {state_text:<18} {r.title[:60]}")
    waiting = [m for m in queue if m["state"] in ("queued", "sending")]
    failed = [m for m in queue if m["state"] == "failed"]
    click.echo(
        f"Mail queue: {len(waiting)} waiting, {len(failed)} failed (details: cluster-sync outbox)"
    )
    click.echo(f"Retention at the next sync will remove: {prune.describe()}")
    for run in runs:
        counts = json.loads(run["counts"])
        click.echo(
            f"  run {run['id']} {run['started_at']} {run['outcome']}: "
            f"{counts.get('new', 0)} new, {counts.get('updated', 0)} updated, "
            f"{counts.get('invalid', 0)} to fix, {counts.get('sent', 0)} sent"
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
    from cluster_sync.mailqueue import deliver, queue_listing

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg) as state:
        if dry_run:
            due = [m for m in queue_listing(state) if m["state"] in ("queued", "sending")]
            say(ctx, f"{len(due)} message(s) would be delivered:")
            for m in due:
                say(ctx, f"  #{m['id']} {m['kind']:<16} {m['subject']}")
            return
        report = deliver(state, open_mailer(cfg), cfg.mail.limits)
    say(ctx, f"Sent {report.sent}, failed {len(report.failed)}, still queued {report.deferred}.")
    if report.capped:
        say(ctx, f"Delivery paused: {report.capped}", fg="yellow")


@cli.command()
@click.option("--all", "include_sent", is_flag=True, help="Include messages already sent.")
@click.pass_context
@handle_errors
def outbox(ctx: click.Context, include_sent: bool) -> None:
    """List queued and failed messages, and why they failed."""
    from cluster_sync.mailqueue import queue_listing

    cfg = load_config(ctx)
    with opened_state(cfg, must_exist=True) as state:
        rows = queue_listing(state, include_sent)
    if not rows:
        click.echo("Nothing queued or failed.")
        return
    for m in rows:
        people = len(json.loads(str(m["recipients"])))
        click.echo(
            f"#{m['id']:<5} {m['state']:<8} {m['kind']:<16} {people:>3} recipient(s)  {m['subject']}"
        )
        if m["last_reply"] and m["state"] != "sent":
            click.echo(f"        tries: {m['attempts']}, last answer: {m['last_reply']}")


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


# The report command lives with the report library; it imports only click here.
cli.add_command(report)


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
            say(ctx, f"Dry run: {plan.items} item(s) would change; run again with --yes to erase.")
            return
        result = erase(cfg, state, plan, datetime.now(cfg.zone).date())
    if result.remaining:
        raise ClusterSyncError(
            f"Erased {plan.items} item(s), but these still name the person: "
            + ", ".join(result.remaining),
            hint="remove them by hand; docs/privacy.md lists every place cluster-sync writes.",
        )
    say(ctx, f"Erased: {plan.items} item(s) changed; the address is on the suppression list.")
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
