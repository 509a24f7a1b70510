"""An operator's habits: --config after the command, CLUSTER_SYNC_CONFIG, `| head`."""

from __future__ import annotations

import os
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
