"""A night where the export is byte for byte what the last run read, and nothing else changed,
skips reading it (cluster_sync/nochange.py) and reports what reading it would have: these tests
run the same night both ways and compare, and check each thing that must make a run read."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from test_sync import NOW, edit_cell, row_by_title, sync
from test_unchanged import outcome

from cluster_sync import config as config_mod
from cluster_sync import generation
from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.sources import open_source
from cluster_sync.state import State

SKIPPED = "the export is not read"
DAY = timedelta(days=1)


def night(
    config: Config, caplog: pytest.LogCaptureFixture, n: int, **options: object
) -> tuple[tuple[object, ...], bool]:
    """Sync on night n; (what it reported, whether it skipped reading the export)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cluster_sync.engine"):
        state = State(config.path(config.state.database))
        try:
            summary = Sync(
                config,
                state,
                open_source(config),
                open_mailer(config),
                now=NOW + n * DAY,
                **options,  # type: ignore[arg-type]
            ).run()
        finally:
            state.close()
    skipped = any(SKIPPED in r.getMessage() for r in caplog.records)
    return outcome(summary), skipped


def settle(config: Config, caplog: pytest.LogCaptureFixture) -> tuple[object, ...]:
    """The first sync, then a night where nothing changed: it reads the export, and its report
    is remembered for the next."""
    sync(config)
    report, skipped = night(config, caplog, 1)
    assert not skipped
    return report


def with_state(config: Config, action: Callable[[State], object]) -> None:
    state = State(config.path(config.state.database))
    try:
        action(state)
    finally:
        state.close()


def test_a_repeat_night_skips_the_read_and_reports_the_same(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(approval=True)
    full = settle(config, caplog)
    fast, skipped = night(config, caplog, 2)
    assert skipped
    assert fast == full
    assert fast[1]  # rows waiting for approval are listed either way
    again, skipped = night(config, caplog, 3)
    assert skipped and again == full


def test_one_byte_changed_in_the_export_reads_it(
    make_config: Callable[..., Config], project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    settle(config, caplog)
    export = project / "responses.csv"
    data = export.read_bytes()
    at = data.index(b"Governance toolkit")
    export.write_bytes(data[:at] + b"H" + data[at + 1 :])  # one byte of one title
    edited, skipped = night(config, caplog, 2)
    assert not skipped
    assert any(r[2].startswith("Hovernance") for r in edited[0] if r[3] == "updated")  # type: ignore[index, union-attr]
    # the run after the edit wrote statuses and sent mail: the next reads the export again,
    # and is remembered; the one after it reports the same without reading
    full, skipped = night(config, caplog, 3)
    fast, skipped_too = night(config, caplog, 4)
    assert (skipped, skipped_too) == (False, True)
    assert fast == full


def test_an_approved_tick_reads_the_export(
    make_config: Callable[..., Config], project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(approval=True)
    report = settle(config, caplog)
    held = report[1][0]  # type: ignore[index]
    assert night(config, caplog, 2)[1]  # waiting for the tick changes nothing by itself
    cluster_id = next(r[1] for r in report[0] if r[0] == held)  # type: ignore[index, union-attr]
    edit_cell(project / "responses.csv", cluster_id, "Approved", "TRUE")
    ticked, skipped = night(config, caplog, 3)
    assert not skipped and held not in ticked[1]  # type: ignore[operator]


def test_a_changed_setting_or_template_reads_the_export(
    make_config: Callable[..., Config], project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    shutil.copytree(ROOT / "templates" / "email", project / "email")
    toml = project / "cluster-sync.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(f'"{ROOT.as_posix()}/templates/email"', '"email"'), "utf-8")
    config = config_mod.load(toml)
    settle(config, caplog)
    template = project / "email" / "digest.txt.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert not night(config, caplog, 2)[1]  # every row is processed again
    assert not night(config, caplog, 3)[1]  # the first night it all stays as it was
    assert night(config, caplog, 4)[1]
    text = toml.read_text(encoding="utf-8")
    other = text.replace('reply_to = "Secretariat <secretariat', 'reply_to = "Office <office')
    assert other != text
    toml.write_text(other, encoding="utf-8")
    assert not night(config_mod.load(toml), caplog, 5)[1]


def test_a_message_to_deliver_reads_the_export(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    from cluster_sync.resend import resend

    config = make_config()
    report = settle(config, caplog)
    first = next(r for r in report[0] if r[3] == "unchanged")  # type: ignore[index, union-attr]
    with_state(config, lambda s: resend(config, s, first[1], None, NOW + 2 * DAY))  # type: ignore[index]
    assert not night(config, caplog, 2)[1]


def test_a_message_waiting_for_a_retry_reads_the_export(
    make_config: Callable[..., Config], project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from cluster_sync.mailqueue import queue_counts

    config = make_config()
    (project / "var").mkdir()
    (project / "var" / "outbox").write_text("a file where the outbox folder should be")
    sync(config)
    for n in (1, 2):
        assert not night(config, caplog, n)[1]
    counts: list[int] = []
    with_state(config, lambda s: counts.append(queue_counts(s, NOW + 2 * DAY).queued))
    assert counts[0] > 0
    (project / "var" / "outbox").unlink()
    assert not night(config, caplog, 3)[1]  # delivered now, and the statuses say so


def test_a_missing_factsheet_reads_the_export_and_is_made_again(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    settle(config, caplog)
    folder = config.path(config.output.directory) / "factsheets"
    victim = sorted(folder.glob("*.docx"))[3]
    victim.unlink()
    assert not night(config, caplog, 2)[1]
    assert victim.exists()


def test_a_lost_or_restored_state_reads_the_export(
    make_config: Callable[..., Config], project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    settle(config, caplog)
    database = config.path(config.state.database)
    backup = project / "backup.sqlite3"
    with_state(config, lambda s: s.db.execute(f"VACUUM INTO '{backup}'"))
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Objectives", "One new objective")
    assert not night(config, caplog, 2)[1]
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, database)  # the state as it was before the edit
    assert not night(config, caplog, 3)[1]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)  # lost
    assert not night(config, caplog, 4)[1]


def test_only_and_dry_run_read_the_export(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    report = settle(config, caplog)
    first = next(r for r in report[0] if r[3] == "unchanged")  # type: ignore[index, union-attr]
    assert not night(config, caplog, 2, only=first[1])[1]  # type: ignore[index]
    assert not command(config, "sync", "--dry-run")[2]
    assert "dry run" in config.path(config.log.file or Path()).read_text(encoding="utf-8")
    assert command(config, "sync")[2]  # neither took the repeat away


def test_a_row_naming_an_erased_person_reads_the_export(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    """The sheet still names the person: the secretariat is told each night until it is edited."""
    from cluster_sync.privacy.forget import erase, plan_erasure

    config = make_config()
    settle(config, caplog)

    def forget(state: State) -> None:
        erase(
            config, state, plan_erasure(config, state, "lucia.deiana@example.org", []), NOW.date()
        )

    with_state(config, forget)
    for n in (2, 3, 4):
        report, skipped = night(config, caplog, n)
        assert not skipped
    assert report[2]["rows"] and "erased on request" in command(config, "sync")[1]  # type: ignore[index]


def test_retention_due_reads_the_export(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    """Email bodies are kept 90 days by default (from when they were sent: the clock's time, a
    few days after NOW): once they are due, the run prunes them after reading the export."""
    config = make_config()
    settle(config, caplog)
    assert night(config, caplog, 80)[1]
    assert not night(config, caplog, 120)[1]
    assert any("retention pruned" in r.getMessage() for r in caplog.records)


def test_a_state_written_between_runs_reads_the_export(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    """Any change to the state counts, by a command or by hand: here a stored title."""
    config = make_config()
    settle(config, caplog)
    with_state(config, lambda s: s.db.execute("UPDATE registrations SET title = title || '!'"))
    assert not night(config, caplog, 2)[1]


def test_every_table_counts_towards_the_generation(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    try:
        tables = {
            str(r[0])
            for r in state.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        assert generation.tracked(state.db) == tables - generation.UNTRACKED
        before = generation.current(state.db)
        with state.transaction() as db:
            db.execute("INSERT INTO suppressed VALUES ('x', 'now')")
        with state.transaction() as db:
            db.execute("UPDATE suppressed SET created_at = 'now'")  # the same value
        assert generation.current(state.db) == before + 1
    finally:
        state.close()


def command(config: Config, *args: str) -> tuple[int, str, bool]:
    """The command as cron runs it: (exit code, what it printed with run numbers left out,
    whether it skipped reading the export, from its log)."""
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    log = config.path(config.log.file or Path("none"))
    before = log.read_text(encoding="utf-8").count(SKIPPED) if log.exists() else 0
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), *args]
    )
    skipped = log.read_text(encoding="utf-8").count(SKIPPED) > before
    return result.exit_code, re.sub(r"\brun \d+", "run N", result.output), skipped


def test_the_command_prints_the_same_either_way(make_config: Callable[..., Config]) -> None:
    """What cron sees: the same words and exit code, whether the export was read or not."""
    config = make_config(approval=True)
    sync(config)
    full, fast, again = (command(config, "sync") for _ in range(3))
    assert (full[2], fast[2], again[2]) == (False, True, True)
    assert full[:2] == fast[:2] == again[:2]
    assert "unchanged: 16" in full[1] and "waiting for approval: 6" in full[1]
