"""`sync --dry-run` as one library call: the real code path on an in-memory copy of the
state, rendering into a scratch folder that is removed afterwards unless it is kept. Nothing
is changed and nothing is sent: the emails go to an outbox inside the scratch folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster_sync.config import Config
from cluster_sync.summary import RunSummary


@dataclass(frozen=True)
class DryRun:
    summary: RunSummary
    #: the scratch folder, when it was kept (None: it was removed)
    kept: Path | None
    #: where the kept folder holds what was made: "factsheets", "emails"
    where: dict[str, Path] = field(default_factory=dict)


def dry_run(
    cfg: Config,
    *,
    keep: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    only: str | None = None,
    accept_mass_change: bool = False,
) -> DryRun:
    """Run the sync on a scratch copy of the state; the caller holds the state lock."""
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
                progress=progress,
                only=only,
                accept_mass_change=accept_mass_change,
            ).run()
        finally:
            state.close()
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    if not keep:
        return DryRun(summary, None)
    return DryRun(
        summary, scratch, {"factsheets": scratch / "factsheets", "emails": scratch / "outbox"}
    )
