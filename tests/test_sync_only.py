"""`cluster-sync sync --only CL-ID` through the real CLI: the nightly sync for one registration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from test_cli import run
from test_sync import edit_cell, outbox, row_by_title, sync

from cluster_sync.config import Config


def test_only_the_named_registration_is_handled(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    csv_path = project / "responses.csv"
    one = row_by_title(csv_path, "Governance toolkit")
    other = row_by_title(csv_path, "Adapting coastal plans")
    edit_cell(csv_path, one["Cluster ID"], "Acronym", "GOV-N2K-2")
    edit_cell(csv_path, other["Cluster ID"], "Acronym", "BOKA-2")
    before = set(outbox(config))

    code, output = run(config, "sync", "--only", one["Cluster ID"].lower())
    assert code == 0, output
    assert "new: 0   updated: 1   unchanged: 0   need fixing: 0" in output
    sent = {p.name.split("-", 1)[1] for p in set(outbox(config)) - before}
    assert any(one["Cluster ID"] in name and "factsheet-update" in name for name in sent)
    assert not any(other["Cluster ID"] in name for name in sent)
    assert "v2" in row_by_title(csv_path, "Governance toolkit")["Sync status"]
    assert row_by_title(csv_path, "Adapting coastal plans")["Sync status"] == other["Sync status"]

    code, output = run(config, "sync")
    assert code == 0, output
    assert "updated: 1" in output  # the other one, left for the full run
    assert "v2" in row_by_title(csv_path, "Adapting coastal plans")["Sync status"]


def test_an_id_not_in_the_sheet_does_nothing_and_says_so(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    before = (project / "responses.csv").read_bytes(), set(outbox(config))
    code, output = run(config, "sync", "--only", "CL-1999-001")
    assert code == 1
    assert "No row of" in output and "'CL-1999-001'" in output and "nothing was done" in output
    assert ((project / "responses.csv").read_bytes(), set(outbox(config))) == before


def test_a_dry_run_of_one_registration(make_config: Callable[..., Config], project: Path) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Marine heatwaves")
    code, output = run(config, "sync", "--dry-run", "--only", row["Cluster ID"])
    assert code == 0, output
    assert "Dry run: nothing was changed or sent." in output
    assert "new: 0   updated: 0   unchanged: 0   need fixing: 1" in output
