"""Outputs made again without the people they named: a factsheet rendered again from the
stored (cleaned) answers with its other formats (its PDF), or its files removed. `forget` and
retention's anonymisation share these."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.model import Registration
from cluster_sync.state import State


def rerender_factsheet(config: Config, state: State, path: Path, today: date) -> None:
    """The recorded factsheet at `path` rendered again from the stored (cleaned) data, or
    removed when there is no valid data to render it from."""
    from cluster_sync.render.branding import logo_images
    from cluster_sync.render.factsheet import factsheet_context, render_docx

    row = state.db.execute(
        "SELECT cluster_id, version FROM factsheets WHERE path = ?", (str(path),)
    ).fetchone()
    reg = state.registration(row["cluster_id"]) if row else None
    if reg is None or not reg.data or reg.status != "valid":
        path.unlink(missing_ok=True)
        return
    registration = Registration.from_data(reg.data)
    context = factsheet_context(registration, reg.cluster_id, row["version"], today)
    template = config.path(config.output.factsheet_template)
    render_docx(template, context, path, extras=logo_images(config.branding))
    _remake_other_formats(config, state, reg.cluster_id, row["version"], path)


def _remake_other_formats(
    config: Config, state: State, cluster_id: str, version: int, docx: Path
) -> None:
    """The version's other formats (its PDF) made again from the re-rendered document and
    recorded, as the sync records them; a format that cannot be made is recorded with why."""
    from cluster_sync.outputs import make_outputs

    made = make_outputs(config, [docx], fresh=[docx])[docx]
    with state.transaction():
        state.record_factsheet_files(
            cluster_id,
            version,
            {n: (str(m.path) if m.path else None, m.problem) for n, m in made.items()},
        )


def drop_other_formats(state: State, path: Path) -> None:
    """The other files made from a factsheet (its PDF): removed with it or when it is rendered
    again, since they show what it said before; the sync makes them again from the new one."""
    row = state.db.execute(
        "SELECT cluster_id, version FROM factsheets WHERE path = ?", (str(path),)
    ).fetchone()
    if row is None:
        return
    others = state.db.execute(
        "SELECT path FROM factsheet_files WHERE cluster_id = ? AND version = ? AND path != ?",
        (row["cluster_id"], row["version"], str(path)),
    ).fetchall()
    for (other,) in others:
        if other:
            Path(other).unlink(missing_ok=True)
    state.db.execute(
        "DELETE FROM factsheet_files WHERE cluster_id = ? AND version = ? "
        "AND (path IS NULL OR path != ?)",
        (row["cluster_id"], row["version"], str(path)),
    )
