"""`cluster-sync forget` and `cluster-sync export-person`: requests about one person's data
(docs/privacy.md). Each parses, makes its library calls (cluster_sync/privacy/) and says what
was done."""

from __future__ import annotations

from pathlib import Path

import click

from cluster_sync.cli.base import Command, load_config, opened_state
from cluster_sync.console import handle_errors, say
from cluster_sync.errors import ClusterSyncError
from cluster_sync.text import counted


@click.command(cls=Command)
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


@click.command("export-person", cls=Command)
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
