"""An operator's habits: --config after the command, CLUSTER_SYNC_CONFIG, `| head`.

A closed output is made certain, not left to timing: the command's stdout is a pipe whose
reading end is closed before it starts, so its very first line meets a closed pipe."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from cluster_sync.cli import cli
from cluster_sync.config import Config


def _invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


def test_config_after_the_command(make_config: Callable[..., Config], project: Path) -> None:
    make_config()
    code, output = _invoke(["check", "--config", str(project / "cluster-sync.toml")])
    assert code == 0, output
    assert f"configuration: OK ({project / 'cluster-sync.toml'})" in output


def test_config_from_the_environment(make_config: Callable[..., Config], project: Path) -> None:
    make_config()
    env = {"CLUSTER_SYNC_CONFIG": str(project / "cluster-sync.toml")}
    code, output = _invoke(["check"], env)
    assert code == 0, output
    assert f"configuration: OK ({project / 'cluster-sync.toml'})" in output


def test_the_config_nearest_the_command_wins(
    make_config: Callable[..., Config], project: Path, tmp_path: Path
) -> None:
    make_config()
    missing = tmp_path / "nowhere.toml"
    good = str(project / "cluster-sync.toml")
    env = {"CLUSTER_SYNC_CONFIG": str(missing)}
    assert _invoke(["--config", good, "check"], env)[0] == 0  # before the command, over the env
    assert _invoke(["--config", str(missing), "check", "--config", good])[0] == 0
    code, output = _invoke(["--config", good, "check", "--config", str(missing)])
    assert code == 2 and f"No configuration file at {missing}" in output


def test_every_command_but_init_takes_config_after_its_name() -> None:
    for name, command in cli.commands.items():
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert ("--config" in options) == (name != "init"), name


def test_status_read_by_head_ends_quietly(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    assert _invoke(["--config", str(project / "cluster-sync.toml"), "-q", "sync"])[0] == 0
    env = {**os.environ, "CLUSTER_SYNC_CONFIG": str(config.base_dir / "cluster-sync.toml")}
    done = subprocess.run(
        f"{sys.executable} -m cluster_sync status --json | head -1",
        shell=True,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout == "{\n"
    assert done.stderr == ""


def _with_output_closed(
    project: Path, *args: str, stderr_too: bool = False
) -> subprocess.CompletedProcess[str]:
    """`cluster-sync ARGS` whose reader has gone before the first line (as `| head -0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "cluster_sync", "--config", "cluster-sync.toml", *args],
            cwd=project,
            stdout=write_end,
            stderr=write_end if stderr_too else subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)


def _reader_left(config: Config) -> int:
    """How many times the log says a reader went away (the pipe really was closed)."""
    log = config.path(Path("var/cluster-sync.log")).read_text(encoding="utf-8")
    return log.count("the reader of the output went away")


def test_a_closed_output_stops_the_printing_not_the_sync(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    done = _with_output_closed(project, "sync")
    assert (done.returncode, done.stderr) == (0, "")
    assert _reader_left(config) == 1
    # The whole sync happened: every email saved, every row's status written back.
    status = json.loads(
        _invoke(["--config", str(project / "cluster-sync.toml"), "status", "--json"])[1]
    )
    assert status["queue_counts"] == {"queued": 0, "held_for_retry": 0, "failed": 0}
    (run,) = status["runs"]
    counts = json.loads(run["counts"])
    assert run["outcome"] == "ok" and counts["saved"] == counts["queued"] > 0
    assert len(list((project / "var" / "outbox").glob("*.eml"))) == counts["saved"]
    with (project / "responses.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if any(v.strip() for v in r.values() if v)]
    assert counts["written_back"] == len(rows)
    assert all(row["Sync status"] for row in rows)


def test_a_sync_with_its_output_closed_exits_with_what_it_did(
    make_config: Callable[..., Config], project: Path
) -> None:
    with socket.socket() as probe:  # a port on this machine where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config(
        extra=f'\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'auth = "none"\ntimeout_seconds = 5\n'
    )
    text = (project / "cluster-sync.toml").read_text(encoding="utf-8")
    (project / "cluster-sync.toml").write_text(
        text.replace('backend = "outbox"', 'backend = "smtp"'), encoding="utf-8"
    )
    done = _with_output_closed(project, "sync")
    # 4: the mail server could not be used (docs/operations.md); said on stderr, which is open
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("Warning: ") and "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert _reader_left(config) == 1
    # stderr closed as well (`2>&1 | head`): the same code, and still no complaint anywhere
    again = _with_output_closed(project, "sync", stderr_too=True)
    assert again.returncode == 4
    assert _reader_left(config) == 3  # stdout and stderr of the second run


def test_status_and_queue_with_their_output_closed_end_quietly(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    assert _invoke(["--config", str(project / "cluster-sync.toml"), "-q", "sync"])[0] == 0
    for command in (["status"], ["status", "--json"], ["queue", "--all"]):
        done = _with_output_closed(project, *command)
        assert (done.returncode, done.stderr) == (0, ""), command
    assert _reader_left(config) == 3
