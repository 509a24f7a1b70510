"""Unchanged rows are skipped before validation (cluster_sync/unchanged.py), yet everything that
affects a row still reaches it: an edit, an Approved tick, a missing factsheet, a new template,
a status overwritten by hand, a copied row, a mail server back up. A skipped row keeps its
`last_seen` (the last run that processed it), which is how these tests see what was skipped."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT
from test_sync import NOW, VALID, edit_cell, outbox, row_by_title, rows, sync

from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.engine import RunSummary, Sync
from cluster_sync.state import State

LATER = NOW.replace(day=26)


def processed(config: Config, summary_now: str) -> set[str]:
    """Cluster IDs the run at `summary_now` processed (it updates last_seen)."""
    state = State(config.path(config.state.database))
    try:
        return {r.cluster_id for r in state.registrations() if r.last_seen == summary_now}
    finally:
        state.close()


def originals(summary: RunSummary) -> set[str]:
    """The registrations a duplicate row repeats: the duplicate is processed every run (it has
    no Cluster ID), and with it the row it repeats, to tell which one is the duplicate."""
    return {str(r.note.split()[2]) for r in summary.of("duplicate")}


def outcome(summary: RunSummary) -> tuple[object, ...]:
    results = [
        (r.row, r.cluster_id, r.title, r.change, r.note, r.problems) for r in summary.results
    ]
    return (results, [r.row for r in summary.awaiting_approval], summary.counts)


def forget_fingerprints(config: Config) -> None:
    state = State(config.path(config.state.database))
    with state.transaction() as db:
        db.execute("UPDATE registrations SET row_fingerprint = NULL")
    state.close()


def write_grid(path: Path, grid: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def read_grid(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_skipped_rows_report_what_processing_them_would(
    make_config: Callable[..., Config],
) -> None:
    config = make_config(approval=True)
    first = sync(config)
    quiet = sync(config, LATER)
    assert processed(config, LATER.isoformat(timespec="seconds")) == originals(first)
    forget_fingerprints(config)
    full = sync(config, LATER.replace(day=27))
    assert len(processed(config, LATER.replace(day=27).isoformat(timespec="seconds"))) > VALID
    assert outcome(quiet) == outcome(full)
    assert quiet.awaiting_approval  # the held ones are listed either way


def test_only_the_edited_row_is_processed(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    first = sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Objectives", "One new objective")
    summary = sync(config, LATER)
    assert processed(config, LATER.isoformat(timespec="seconds")) == {
        row["Cluster ID"]
    } | originals(first)
    assert [r.cluster_id for r in summary.of("updated")] == [row["Cluster ID"]]
    assert summary.counts["unchanged"] == VALID - 1


def test_approved_tick_reaches_a_held_row(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(approval=True)
    first = sync(config)
    held = next(r for r in rows(project / "responses.csv") if "waiting for approval" in r["Sync status"])  # fmt: skip
    sync(config, LATER)  # nothing changed: still held
    assert row_by_title(project / "responses.csv", held["Cluster title"][:20])["Sync status"] == held["Sync status"]  # fmt: skip
    edit_cell(project / "responses.csv", held["Cluster ID"], "Approved", "TRUE")
    summary = sync(config, LATER.replace(day=27))
    assert summary.counts["queued"] == 2  # its factsheet email, and the digest
    assert len([p for p in outbox(config) if f"factsheet-{held['Cluster ID']}" in p.name]) == 1
    assert processed(config, LATER.replace(day=27).isoformat(timespec="seconds")) == {held["Cluster ID"]} | originals(first)  # fmt: skip
    after = row_by_title(project / "responses.csv", held["Cluster title"][:20])
    assert after["Sync status"].startswith("OK: factsheet v1 ")


def test_a_missing_factsheet_is_made_again(make_config: Callable[..., Config]) -> None:
    config = make_config()
    sync(config)
    folder = config.path(config.output.directory) / "factsheets"
    victim = sorted(folder.glob("*.docx"))[3]
    victim.unlink()
    summary = sync(config, LATER)
    assert summary.factsheets and summary.factsheets[0].name == victim.name
    assert victim.exists() and summary.counts["queued"] == 1  # the digest only: it was emailed


def test_a_new_template_processes_every_row_once(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    shutil.copytree(ROOT / "templates" / "email", project / "email")
    text = (project / "cluster-sync.toml").read_text(encoding="utf-8")
    (project / "cluster-sync.toml").write_text(
        text.replace(f'"{ROOT.as_posix()}/templates/email"', '"email"'), encoding="utf-8"
    )
    config = config_mod.load(project / "cluster-sync.toml")
    first = sync(config)
    digest = project / "email" / "digest.txt.j2"
    digest.write_text(digest.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    summary = sync(config, LATER)
    everyone = {r.cluster_id for r in first.results if r.cluster_id}
    assert processed(config, LATER.isoformat(timespec="seconds")) == everyone
    assert summary.counts["factsheets"] == 0 and summary.counts["queued"] == 0
    sync(config, LATER.replace(day=27))
    assert processed(config, LATER.replace(day=27).isoformat(timespec="seconds")) == originals(
        first
    )


def test_a_status_overwritten_by_hand_is_written_again(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Sync status", "typed over")
    summary = sync(config, LATER)
    assert summary.written_back == 1
    assert row_by_title(project / "responses.csv", "Governance toolkit")["Sync status"] == row["Sync status"]  # fmt: skip


def test_a_row_copied_with_its_id_is_a_duplicate(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    first = sync(config)
    grid = read_grid(project / "responses.csv")
    id_col = grid[0].index("Cluster ID")
    original = next(line for line in grid[1:] if line[id_col])
    write_grid(project / "responses.csv", [*grid, list(original)])
    summary = sync(config, LATER)
    assert len(summary.of("duplicate")) == len(first.of("duplicate")) + 1
    assert summary.counts["queued"] == 0 and summary.counts["factsheets"] == 0


def test_a_new_row_repeating_an_unchanged_title_is_a_duplicate(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    first = sync(config)
    grid = read_grid(project / "responses.csv")
    id_col, status_col = grid[0].index("Cluster ID"), grid[0].index("Sync status")
    original = next(line for line in grid[1:] if line[id_col] and "OK" in line[status_col])
    copy = list(original)
    copy[id_col] = copy[status_col] = ""
    copy[0] = "30/11/2026 10:00:00"  # submitted later
    write_grid(project / "responses.csv", [*grid, copy])
    summary = sync(config, LATER)
    duplicates = summary.of("duplicate")
    assert len(duplicates) == len(first.of("duplicate")) + 1
    assert any(d.note.startswith(f"duplicate of {original[id_col]}") for d in duplicates)


def test_mail_queued_earlier_is_delivered_and_shown(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    (project / "var").mkdir()
    (project / "var" / "outbox").write_text("a file where the outbox folder should be")
    first = sync(config)
    assert "queued" in row_by_title(project / "responses.csv", "Governance toolkit")["Sync status"]  # fmt: skip
    (project / "var" / "outbox").unlink()
    summary = sync(config, LATER)
    assert processed(config, LATER.isoformat(timespec="seconds")) == originals(first)
    assert summary.delivery.sent > VALID and outbox(config)
    status = row_by_title(project / "responses.csv", "Governance toolkit")["Sync status"]
    assert status.startswith("OK: factsheet v1 ")


def test_a_dry_run_after_a_sync_renders_nothing_again(
    make_config: Callable[..., Config], project: Path
) -> None:
    from cluster_sync.mailers.outbox import OutboxMailer
    from cluster_sync.sources import open_source

    config = make_config()
    sync(config)
    database = config.path(config.state.database)
    before = database.read_bytes()
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Objectives", "One new objective")
    scratch = project / "scratch"
    scratch.mkdir()
    state = State.scratch_of(database, scratch)
    summary = Sync(
        config, state, open_source(config), OutboxMailer(scratch / "outbox"), now=LATER,
        output_dir=scratch, existing_dir=config.path(config.output.directory), write_back=False,
    ).run()  # fmt: skip
    state.close()
    assert [p.parent for p in summary.factsheets] == [scratch / "factsheets"]  # the edit only
    assert summary.counts["updated"] == 1 and summary.counts["unchanged"] == VALID - 1
    assert database.read_bytes() == before


def test_settings_that_shape_the_output_are_in_every_fingerprint(
    make_config: Callable[..., Config], project: Path
) -> None:
    """Asking for PDFs, attaching other files, other artwork or another brake: the stored
    fingerprints no longer match, so every row is looked at again."""
    from cluster_sync.mailers.outbox_settings import OutboxConfig
    from cluster_sync.unchanged import settings_digest

    config = make_config()
    logo = ROOT / "examples" / "branding" / "programme-logo-placeholder.png"
    changes = {
        "output.formats": ("output", {"formats": ["docx", "pdf"]}),
        "mail.attach": ("mail", {"attach": ["docx", "pdf"]}),
        "branding": ("branding", {"programme_logo": logo}),
        "safety": ("safety", {"max_newly_invalid_share": 0.9}),
        # a backend's own settings (mail.outbox is the outbox backend's) count the same
        "mail.outbox": ("mail", {"others": {"outbox": OutboxConfig(Path("var/elsewhere"))}}),
    }
    digests = {"as configured": settings_digest(config)}
    for name, (section, update) in changes.items():
        changed = getattr(config, section).model_copy(update=update)
        digests[name] = settings_digest(config.model_copy(update={section: changed}))
    assert len(set(digests.values())) == len(digests), digests
