"""Header trouble never becomes a mass mailing: duplicated headers are refused, and the brake
holds back a run that would suddenly find many valid registrations invalid."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from test_sync import INVALID, NOW, VALID, outbox, read_eml, rows, sync

from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.sources.base import column_letter
from cluster_sync.state import State


def _grid(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _save(path: Path, grid: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _blank_column(path: Path, header: str, count: int | None = None) -> list[str]:
    """Empty one answer in the first `count` rows that have a Cluster ID; their IDs."""
    grid = _grid(path)
    col, id_col = grid[0].index(header), grid[0].index("Cluster ID")
    touched = []
    for line in grid[1:]:
        if len(line) > id_col and line[id_col] and (count is None or len(touched) < count):
            line[col] = ""
            touched.append(line[id_col])
    _save(path, grid)
    return touched


def _cli(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), "-q", "sync", *args]
    )
    return result.exit_code, result.output


def _statuses(config: Config) -> dict[str, str]:
    return {r["Cluster ID"]: r["Sync status"] for r in rows(config.base_dir / "responses.csv")}


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_a_duplicated_question_is_refused_naming_both_columns(
    make_config: Callable[..., Config], project: Path
) -> None:
    """A form question deleted and created again: the new column (empty for the old answers)
    must not make every row invalid and mail every submitter."""
    config = make_config()
    grid = _grid(project / "responses.csv")
    col = grid[0].index("Start date")
    for line in grid:
        line.append("Start date" if line is grid[0] else "")
    _save(project / "responses.csv", grid)
    before = (project / "responses.csv").read_bytes()
    code, output = _cli(config)
    assert code == 2
    assert (
        f"“Start date” is in columns {column_letter(col)} and {column_letter(len(grid[0]) - 1)}"
        in output
    )
    assert outbox(config) == []
    assert (project / "responses.csv").read_bytes() == before


def test_a_duplicated_status_column_is_refused(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    grid = _grid(project / "responses.csv")
    width = len(grid[0])
    for line in grid:
        line.extend(["Cluster ID", "x", "Cluster ID"] if line is grid[0] else ["", "", ""])
    _save(project / "responses.csv", grid)
    code, output = _cli(config)
    assert code == 2
    assert f"“Cluster ID” is in columns {column_letter(width)} and {column_letter(width + 2)}" in (
        output
    )


def test_a_column_emptied_for_everyone_holds_the_rows_back_and_exits_6(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    sent_before = len(outbox(config))
    statuses_before = _statuses(config)
    _blank_column(project / "responses.csv", "Lead organisation")
    code, output = _cli(config)
    assert code == 6
    assert f"{VALID} of {VALID} registrations that were valid would now be invalid" in output
    # the rows that were already invalid gain a problem too: held back alike
    assert f"{VALID + INVALID} row(s) with new problems were held back" in output
    assert "--accept-mass-change" in output
    new = outbox(config)[sent_before:]
    # no correction email to any submitter: one notice, to the secretariat only
    assert {a.addr_spec for p in new for a in read_eml(p)["To"].addresses} == {
        "secretariat@example.org"
    }
    [notice] = [m for m in map(read_eml, new) if "held back" in m["Subject"]]
    body = notice.get_body(("plain",))
    assert body is not None and "Lead organisation is required" in body.get_content()
    assert _statuses(config) == statuses_before  # no status written for them
    state = State(config.path(config.state.database))
    try:
        assert sum(r.status == "valid" for r in state.registrations()) == VALID
    finally:
        state.close()
    # the next night, the same situation: still held, the secretariat is not told twice
    told = len(outbox(config))
    code, _ = _cli(config)
    assert code == 6
    assert len(outbox(config)) == told


def test_a_person_accepts_the_change_and_the_submitters_are_told(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    sent_before = len(outbox(config))
    touched = _blank_column(project / "responses.csv", "Lead organisation", 6)
    assert _cli(config)[0] == 6
    code, _ = _cli(config, "--accept-mass-change")
    assert code == 0
    problems = [read_eml(p) for p in outbox(config)[sent_before:]]
    # whatever language each row asked for (test_languages.py)
    assert len([m for m in problems if m["X-Cluster-Sync-Key"].startswith("problems:")]) == 6
    statuses = _statuses(config)
    assert all("Lead organisation" in statuses[cid] for cid in touched)


def test_few_newly_invalid_rows_are_handled_as_usual(
    make_config: Callable[..., Config], project: Path
) -> None:
    """Below the share (and the minimum of 3), a broken answer is an ordinary correction."""
    config = make_config()
    sync(config)
    touched = _blank_column(project / "responses.csv", "Lead organisation", 2)
    summary = sync(config, NOW)
    assert summary.mass_change is None
    assert sorted(r.cluster_id for r in summary.of("invalid") if r.cluster_id in touched) == sorted(
        touched
    )


def test_the_share_and_minimum_are_settings(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(extra="\n[safety]\nmax_newly_invalid_share = 0.1\nmin_newly_invalid = 2\n")
    sync(config)
    touched = _blank_column(project / "responses.csv", "Lead organisation", 2)
    summary = sync(config, NOW)
    assert summary.mass_change is not None
    assert summary.mass_change.newly_invalid == 2
    assert sorted(i.cluster_id for i in summary.mass_change.held) == sorted(touched)
    assert not {r.cluster_id for r in summary.results} & set(touched)


def test_rows_left_alone_as_unchanged_count_among_the_valid(
    make_config: Callable[..., Config], project: Path
) -> None:
    """The rows skipped as unchanged (cluster_sync/unchanged.py) are still valid registrations:
    two broken rows out of all of them stay under half, though they are all the rows that
    changed."""
    config = make_config(extra="\n[safety]\nmax_newly_invalid_share = 0.5\nmin_newly_invalid = 2\n")
    sync(config)
    touched = _blank_column(project / "responses.csv", "Lead organisation", 2)
    summary = sync(config, NOW)
    assert summary.mass_change is None
    assert sorted(r.cluster_id for r in summary.of("invalid") if r.cluster_id in touched) == sorted(
        touched
    )
