"""Retention with the clock moved forward: sent email bodies pruned after N days (headers kept),
clusters that ended long ago anonymised (facts kept), only the last K factsheet versions kept;
`status` shows what the next run will prune."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from test_privacy_forget import words
from test_sync import edit_cell, row_by_title, sync

from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.privacy.retention import plan_retention
from cluster_sync.state import State


def messages(config: Config) -> list[sqlite3.Row]:
    db = sqlite3.connect(config.path(config.state.database))
    db.row_factory = sqlite3.Row
    found = db.execute("SELECT * FROM messages WHERE state = 'sent' ORDER BY id").fetchall()
    db.close()
    return found


def plan_at(config: Config, moment: datetime) -> dict[str, int]:
    state = State(config.path(config.state.database))
    try:
        return plan_retention(config, state, moment).counts
    finally:
        state.close()


def test_sent_bodies_are_pruned_after_the_days_set_and_headers_stay(
    make_config: Callable[..., Config],
) -> None:
    config = make_config(extra="\n[privacy]\nsent_body_days = 30\n")
    now = datetime.now(UTC)  # delivery stamps messages with the real clock
    sync(config, now)
    before = messages(config)
    assert before and plan_at(config, now + timedelta(days=29))["email bodies"] == 0
    assert plan_at(config, now + timedelta(days=31))["email bodies"] == len(before)
    later = sync(config, now + timedelta(days=31))
    assert later.pruned["email bodies"] >= len(before)
    after = {m["id"]: m for m in messages(config)}
    for old in before:
        new = after[old["id"]]
        assert (new["message_id"], new["recipients"], new["subject"]) == (
            old["message_id"],
            old["recipients"],
            old["subject"],
        )
        assert len(new["raw"]) < len(old["raw"]) and b"pruned" in new["raw"]
        assert old["message_id"].encode() in new["raw"]
    # done once: only what this later run sent (its digest) is still to be pruned
    state = State(config.path(config.state.database))
    again = plan_retention(config, state, now + timedelta(days=32)).bodies
    state.close()
    assert not set(again) & {m["id"] for m in before}


def test_clusters_that_ended_long_ago_are_anonymised_and_not_read_again(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(extra="\n[privacy]\nanonymise_after_months = 12\n")
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    sync(config, now)
    state = State(config.path(config.state.database))
    ends = {r.cluster_id: r.data for r in state.registrations() if r.data}
    state.close()
    # counted from 31 December of the end year: ended in 2025 -> due after 31 December 2026
    early = [c for c, d in ends.items() if d["end_date"] < "2026"]
    assert plan_at(config, datetime(2026, 12, 31, tzinfo=UTC))["clusters anonymised"] == 0
    due = plan_at(config, datetime(2027, 1, 1, tzinfo=UTC))["clusters anonymised"]
    assert due == len(early) and 0 < len(early) < len(ends)
    ended = {c: d for c, d in ends.items() if d["end_date"] < "2027"}
    far = datetime(2028, 1, 2, tzinfo=UTC)  # a year after 31 December 2026
    summary = sync(config, far)
    assert summary.pruned["clusters anonymised"] == len(ended)
    state = State(config.path(config.state.database))
    for cluster_id, old in ended.items():
        reg = state.registration(cluster_id)
        assert reg is not None and reg.data is not None and reg.submitter is None
        people = [old["contact_email"]["email"], *(p["email"] for p in old["participants"])]
        text = json.dumps(reg.data).casefold()
        assert not [p for p in people if p.casefold() in text]
        assert reg.data["lead_organisation"] == old["lead_organisation"]  # facts stay
        orgs = sorted(p["organisation"] for p in reg.data["participants"])
        assert orgs == sorted(p["organisation"] for p in old["participants"])
        factsheet = Path(str(state.factsheet_path(cluster_id, reg.version)))
        assert old["contact_email"]["email"].casefold() not in words(factsheet.read_bytes())
    state.close()
    again = sync(config, far + timedelta(days=1))  # the old rows are still in the sheet
    assert again.counts["updated"] == 0 and again.pruned["clusters anonymised"] == 0


def test_only_the_last_factsheet_versions_are_kept_and_status_says_what_goes(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(extra="\n[privacy]\nkeep_factsheet_versions = 2\n")
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    responses = project / "responses.csv"
    sync(config, now)
    cluster_id = row_by_title(responses, "Governance toolkit")["Cluster ID"]
    for n in (1, 2):
        edit_cell(responses, cluster_id, "Expertise needed", f"Edit number {n}")
        sync(config, now + timedelta(days=n), retention=False)
    folder = config.path(config.output.directory) / "factsheets"
    versions = sorted(folder.glob(f"{cluster_id}-*"))
    assert len(versions) == 3
    status = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "status"])
    assert "Retention at the next sync will remove: 1 old factsheet versions" in status.output
    summary = sync(config, now + timedelta(days=3))
    assert summary.pruned["old factsheet versions"] == 1
    assert sorted(folder.glob(f"{cluster_id}-*")) == versions[1:]


def test_an_anonymised_cluster_keeps_no_earlier_version_no_old_answers_no_named_copy(
    make_config: Callable[..., Config], project: Path
) -> None:
    """Anonymisation reaches what publishing and change lists keep: the earlier factsheet
    versions are deleted, the kept answers lose the people, and the web folder's copy is
    replaced by the anonymised version in the same run."""
    from publish_fixtures import edit_answer, responses, run_sync, sheet

    web = project / "www"
    web.mkdir()
    extra = (
        f'\n[publish]\ntarget = "folder"\n\n[publish.folder]\npath = "{web.as_posix()}"\n'
        'base_url = "https://www.example.org/f/"\n\n[privacy]\nanonymise_after_months = 12\n'
    )
    path = responses(project, 1, contact_person="Maria Pinna")  # ended 30 June 2025
    config = make_config(extra=extra)
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    run_sync(config, now=now)
    edit_answer(path, "Cluster number 1", "Acronym", "RENAMED")
    run_sync(config, now=now + timedelta(days=1))
    (row,) = sheet(path)
    cluster_id = row["Cluster ID"]
    folder = config.path(config.output.directory) / "factsheets"
    assert len(list(folder.glob(f"{cluster_id}-*.docx"))) == 2
    (copy,) = web.iterdir()
    assert "maria pinna" in words(copy.read_bytes())
    assert plan_at(config, datetime(2027, 1, 2, tzinfo=UTC))["clusters anonymised"] == 1

    summary = run_sync(config, now=datetime(2027, 1, 2, 2, 0, tzinfo=UTC))

    assert summary.pruned["clusters anonymised"] == 1
    assert summary.publishing is not None
    assert (summary.publishing.withdrawn, summary.publishing.published) == (1, 1)
    (current,) = folder.glob(f"{cluster_id}-*.docx")
    assert current.name.endswith("-v2.docx")
    (copy,) = web.iterdir()
    assert copy.read_bytes() == current.read_bytes()
    for data in (copy.read_bytes(), current.read_bytes()):
        assert "maria pinna" not in words(data) and "contact1@example.org" not in words(data)
    state = State(config.path(config.state.database))
    kept = state.version_data(cluster_id, 1)
    state.close()
    assert kept is not None and kept["acronym"] == "CL1"  # the facts stay
    assert "maria pinna" not in json.dumps(kept).casefold()
    assert "contact1@example.org" not in json.dumps(kept).casefold()
    assert sheet(path)[0]["Factsheet"] == row["Factsheet"]  # the same link, anonymised file


def test_old_answers_beyond_the_kept_versions_go_except_the_one_last_received(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(extra="\n[privacy]\nkeep_factsheet_versions = 1\n", approval=True)
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    responses = project / "responses.csv"
    edit_cell_all_approved(responses)
    sync(config, now, retention=False)
    cluster_id = row_by_title(responses, "Governance toolkit")["Cluster ID"]
    # v2 and v3 are made but held for approval: v1 is the version its people last received
    edit_cell(responses, cluster_id, "Approved", "")
    for n in (1, 2):
        edit_cell(responses, cluster_id, "Expertise needed", f"Edit number {n}")
        sync(config, now + timedelta(days=n), retention=False)
    state = State(config.path(config.state.database))
    reg = state.registration(cluster_id)
    assert reg is not None and (reg.version, reg.emailed_version) == (3, 1)
    plan = plan_retention(config, state, now + timedelta(days=3))
    state.close()
    assert (cluster_id, 2) in plan.old_answers and (cluster_id, 1) not in plan.old_answers
    sync(config, now + timedelta(days=3))
    state = State(config.path(config.state.database))
    assert state.version_data(cluster_id, 2) is None
    assert state.version_data(cluster_id, 1) is not None  # the change list is made from it
    state.close()


def edit_cell_all_approved(responses: Path) -> None:
    """Tick "Approved" on every row of the export (the approval column exists already)."""
    import csv

    with responses.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    if "Approved" not in grid[0]:
        grid[0].append("Approved")
        for line in grid[1:]:
            line.append("")
    col = grid[0].index("Approved")
    for line in grid[1:]:
        line[col] = "TRUE"
    with responses.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(grid)
