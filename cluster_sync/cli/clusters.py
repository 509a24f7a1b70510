"""`cluster-sync rerender` and `cluster-sync preview`: the secretariat acts on chosen clusters.
Each command parses, makes one library call (cluster_sync/rerender.py, cluster_sync/preview.py)
and says what was done."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cluster_sync.cli.base import Command, existing_database, load_config, opened_state
from cluster_sync.console import handle_errors, say
from cluster_sync.text import counted

if TYPE_CHECKING:
    from cluster_sync.config import Config
    from cluster_sync.mailqueue import QueueCounts
    from cluster_sync.rerender import Rerendered


@click.command(cls=Command)
@click.argument("cluster_ids", nargs=-1, metavar="[CL-ID]...")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every factsheet made with an older (or unrecorded) template.",
)
@click.option(
    "--notify",
    is_flag=True,
    help="Email each new version to the people who had the one it replaces (else nobody).",
)
@click.pass_context
@handle_errors
def rerender(ctx: click.Context, cluster_ids: tuple[str, ...], every: bool, notify: bool) -> None:
    """Make a new version of factsheets with the current template (CL-ID... or --all)."""
    from cluster_sync.lock import state_lock
    from cluster_sync.mailers import open_mailer
    from cluster_sync.mailqueue import queue_counts
    from cluster_sync.rerender import rerender as make_again

    cfg = load_config(ctx)
    with state_lock(cfg.path(cfg.state.database)), opened_state(cfg, must_exist=True) as state:
        mailer = open_mailer(cfg) if notify else None
        done = make_again(cfg, state, cluster_ids, every, datetime.now(UTC), mailer)
        queue = queue_counts(state)
    _say_rerendered(ctx, cfg, done, every, notify, queue)
    codes = done.exit_codes()
    for _, line in codes:
        click.secho(f"Warning: {line}", fg="yellow", err=True)
    if codes:
        sys.exit(codes[0][0])


def _say_rerendered(
    ctx: click.Context, cfg: Config, done: Rerendered, every: bool, notify: bool, queue: QueueCounts
) -> None:
    from cluster_sync.summary import delivery_sentence

    if every and not done.made and not done.failed:
        say(ctx, "Every factsheet is already made with the current template; nothing to do.")
        return
    made = ", ".join(f"{cid} v{version}" for cid, version in done.made)
    say(
        ctx,
        f"Made again with the current template: {counted(len(done.made), 'factsheet')}"
        + (f" ({made})." if made else "."),
    )
    if done.current:
        say(ctx, f"Already made with the current template (left alone): {len(done.current)}.")
    for cid, why in done.failed.items():
        say(ctx, f"  {cid}: could not be made again: {why}", fg="red")
    for problem in done.output_problems:
        say(ctx, f"  {problem}", fg="yellow")
    if done.left_to_sync:
        say(
            ctx,
            f"Not emailed, their earlier version not being sent yet (waiting for approval): "
            f"{', '.join(done.left_to_sync)}; the sync sends the new version as usual.",
        )
    if not notify:
        say(ctx, "Nobody was emailed (--notify emails the new versions).")
    else:
        say(ctx, f"Factsheet emails queued: {done.queued} ({', '.join(done.emailed) or 'none'}).")
        if done.delivery is not None:
            say(ctx, delivery_sentence(done.delivery, queue))
    if done.publishing is not None:
        p = done.publishing
        say(ctx, f"Factsheet files published: {p.published}, not published yet: {p.unpublished}.")
    say(ctx, f"Factsheets: {cfg.path(cfg.output.directory) / 'factsheets'}")


@click.command(cls=Command)
@click.argument("cluster_id", metavar="CL-ID")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A new or empty folder for the files. Default: a new temporary folder.",
)
@click.option(
    "--send-to",
    metavar="ADDRESS",
    default=None,
    help='Also send the email to this one address, marked as a test ("[TEST]").',
)
@click.pass_context
@handle_errors
def preview(ctx: click.Context, cluster_id: str, out: Path | None, send_to: str | None) -> None:
    """Make CL-ID's factsheet and email into a folder, changing nothing (no state, no sheet)."""
    from cluster_sync.mailers import open_mailer
    from cluster_sync.preview import preview as make_preview
    from cluster_sync.state import State

    cfg = load_config(ctx)
    database = existing_database(cfg)
    state = State.scratch_of(database)  # an in-memory copy: the database is only read
    try:
        mailer = open_mailer(cfg) if send_to else None
        done = make_preview(cfg, state, cluster_id, datetime.now(UTC), out, send_to, mailer)
    finally:
        state.close()
    say(ctx, f"Preview of {done.cluster_id} (factsheet v{done.version}) in {done.folder}:")
    for path in done.files:
        say(ctx, f"  {path.name}")
    for problem in done.problems:
        say(ctx, f"  {problem}", fg="yellow")
    say(ctx, f"The email would go to: {', '.join(done.recipients)}.")
    if done.sent_to:
        say(ctx, f"Test message sent to {done.sent_to} ({done.sent_reply}).")
    say(ctx, "Nothing was recorded, queued, published or written to the sheet.")
    if ctx.obj["quiet"]:
        click.echo(str(done.folder))  # `-q`: the folder alone, for a script
