"""Losing or restoring the state database never renumbers clusters or re-mails anyone: what the
sheet, the factsheet files and the outbox hold is recovered (cluster_sync/recovery.py)."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from test_sync import NOW, outbox, read_eml

from cluster_sync.config import Config
from cluster_sync.engine import RunSummary, Sync
from cluster_sync.identity import Identified
from cluster_sync.mailers import open_mailer
from cluster_sync.sources import open_source
from cluster_sync.state import State


def run(
    config: Config, day: int = 25, progress: Callable[..., Iterable[Identified]] | None = None
) -> RunSummary:
    state = State(config.path(config.state.database))
    try:
        sync = Sync(
            config,
            state,
            open_source(config),
            open_mailer(config),
            now=NOW.replace(day=day),
            progress=progress,
        )
        return sync.run()
    finally:
        state.close()


def ids(summary: RunSummary) -> dict[str, str]:
    """Title -> Cluster ID of every registration handled (duplicates left out)."""
    return {r.title: r.cluster_id for r in summary.results if r.cluster_id}


def partner_mail(config: Config) -> list[str]:
    """Subjects of everything in the outbox except the secretariat's digests."""
    return [str(read_eml(p)["Subject"]) for p in outbox(config) if "-digest-" not in p.name]


def delete_state(config: Config) -> None:
    for path in config.path(config.state.database).parent.glob("state.sqlite3*"):
        path.unlink()


def grid(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def save(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def delete_response(path: Path, title_start: str) -> None:
    rows = grid(path)
    col = rows[0].index("Cluster title")
    save(path, [r for r in rows if not (len(r) > col and r[col].startswith(title_start))])


def add_response(path: Path, title: str) -> None:
    rows = grid(path)
    template = next(r for r in rows[1:] if r[rows[0].index("Cluster title")].startswith("Soil"))
    new = list(template[: len(rows[0])])
    new[rows[0].index("Cluster title")] = title
    new[rows[0].index("Acronym")] = "NEW-ONE"
    new[rows[0].index("Timestamp")] = "01/12/2025 09:00:00"
    for name in ("Cluster ID", "Sync status", "Last synced"):
        if name in rows[0]:
            new[rows[0].index(name)] = ""
    save(path, [*rows, new])


def sheet_statuses(path: Path) -> list[str]:
    """The Sync status column, without the moment of sending (the state's own clock before,
    the outbox file's after: the same second or the next)."""
    rows = grid(path)
    col = rows[0].index("Sync status")
    return [row[col].split(" on ")[0] if len(row) > col else "" for row in rows[1:]]


def numbers(cluster_ids: Iterable[str]) -> set[tuple[str, int]]:
    return {(c.split("-")[1], int(c.split("-")[2])) for c in cluster_ids}


# -- without the ID column (write_back = false) -----------------------------------------------


def test_a_deleted_response_shifts_no_id_even_with_the_state_lost(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=False)
    first = ids(run(config))
    sent = partner_mail(config)
    delete_response(project / "responses.csv", "Adapting coastal plans")  # an early one
    delete_state(config)
    again = ids(run(config, 26))
    gone = first.pop("Adapting coastal plans to sea-level rise in the Boka Kotorska bay")
    assert again == first  # every other registration keeps its ID, valid or not
    assert partner_mail(config) == sent  # and nobody hears anything twice
    add_response(project / "responses.csv", "A brand new cluster on river otters")
    new_id = ids(run(config, 27))["A brand new cluster on river otters"]
    assert new_id != gone and new_id not in first.values()
    year = new_id.split("-")[1]
    highest = max(n for y, n in numbers([*first.values(), gone]) if y == year)
    assert int(new_id.split("-")[2]) == highest + 1


def test_ids_stay_when_the_state_is_kept_and_a_response_is_deleted(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=False)
    first = ids(run(config))
    delete_response(project / "responses.csv", "Governance toolkit")
    again = ids(run(config, 26))
    assert all(first[title] == cluster_id for title, cluster_id in again.items())
    assert len(again) == len(first) - 1


def test_an_edit_while_the_state_was_lost_is_sent_as_an_update(
    make_config: Callable[..., Config], project: Path
) -> None:
    """The outbox says which answers the delivered factsheet was made from."""
    config = make_config(write_back=False)
    first = ids(run(config))
    rows = grid(project / "responses.csv")
    col = rows[0].index("TP results to transfer")
    title = rows[0].index("Cluster title")
    for row in rows[1:]:
        if row[title].startswith("Soil carbon"):
            row[col] = "A brand new guide on soil carbon"
    save(project / "responses.csv", rows)
    delete_state(config)
    before = len(partner_mail(config))
    summary = run(config, 26)
    assert [(r.title[:11], r.change, r.note) for r in summary.of("updated")] == [
        ("Soil carbon", "updated", "factsheet v2")
    ]
    assert ids(summary) == first
    new = partner_mail(config)[before:]
    assert new == [
        f"Updated factsheet for your cluster {first[summary.of('updated')[0].title]}: SOIL-C"
    ]


# -- with the ID column -----------------------------------------------------------------------


def test_a_deleted_state_re_mails_nothing_and_reuses_no_id(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    first = ids(run(config))
    sent = partner_mail(config)
    factsheets = sorted(
        p.name for p in (config.path(config.output.directory) / "factsheets").iterdir()
    )
    statuses = sheet_statuses(project / "responses.csv")
    delete_state(config)
    summary = run(config, 26)
    assert ids(summary) == first
    assert partner_mail(config) == sent
    assert summary.of("new") == [] and summary.of("updated") == []
    # the sheet still says who got what ("sent to 3 people"), not "sent to 0 people"
    assert sheet_statuses(project / "responses.csv") == statuses
    assert (
        sorted(p.name for p in (config.path(config.output.directory) / "factsheets").iterdir())
        == factsheets
    )
    add_response(project / "responses.csv", "A brand new cluster on river otters")
    delete_state(config)
    new_id = ids(run(config, 27))["A brand new cluster on river otters"]
    assert new_id not in first.values()


def test_restoring_a_backup_taken_mid_run_re_mails_nothing(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    database = config.path(config.state.database)
    backup = project / "backup.sqlite3"

    def back_up_after_five(items: Iterable[Identified]) -> Iterator[Identified]:
        for number, item in enumerate(items, start=1):
            if number == 6:
                with sqlite3.connect(database) as live, sqlite3.connect(backup) as copy:
                    live.backup(copy)
            yield item

    first = ids(run(config, progress=back_up_after_five))
    sent = partner_mail(config)
    assert len(sent) > 15
    delete_state(config)
    shutil.copy(backup, database)
    summary = run(config, 26)
    assert ids(summary) == first
    assert partner_mail(config) == sent
    state = State(database)
    try:
        queued = state.db.execute("SELECT count(*) FROM messages WHERE state != 'sent'").fetchone()
        assert queued[0] == 0
    finally:
        state.close()


def test_ids_without_the_id_column_do_not_depend_on_row_order(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=False)
    first = run(config)
    rows = grid(project / "responses.csv")
    save(project / "responses.csv", [rows[0], *reversed(rows[1:])])
    again = run(config, 26)
    assert ids(again) == ids(first)
    assert again.of("new") == [] and again.of("updated") == []
    # the same duplicate is reported, whichever row stands first
    assert [(r.title, r.note) for r in again.of("duplicate")] == [
        (r.title, r.note) for r in first.of("duplicate")
    ]


def _edit_results(path: Path, title_start: str, value: str) -> None:
    rows = grid(path)
    col, title = rows[0].index("TP results to transfer"), rows[0].index("Cluster title")
    for row in rows[1:]:
        if len(row) > title and row[title].startswith(title_start):
            row[col] = value
    save(path, rows)


def test_restoring_an_older_backup_re_mails_nothing_and_versions_continue(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    database = config.path(config.state.database)
    run(config)
    with sqlite3.connect(database) as live, sqlite3.connect(project / "old.sqlite3") as copy:
        live.backup(copy)
    _edit_results(project / "responses.csv", "Soil carbon", "A first new guide")
    assert [r.note for r in run(config, 26).of("updated")] == ["factsheet v2"]
    sent = partner_mail(config)
    delete_state(config)
    shutil.copy(project / "old.sqlite3", database)
    summary = run(config, 27)
    assert summary.of("updated") == [] and summary.of("new") == []
    assert partner_mail(config) == sent
    _edit_results(project / "responses.csv", "Soil carbon", "A second new guide")
    again = run(config, 28)
    assert [r.note for r in again.of("updated")] == ["factsheet v3"]
    assert len(partner_mail(config)) == len(sent) + 1
    assert partner_mail(config)[-1].startswith("Updated factsheet for your cluster")
