"""What every command shares: --config after the command's name, the configuration and the
state as a command opens them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cluster_sync import config as config_mod
from cluster_sync import files, logs
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError

CONFIG_HELP = "The configuration file (or set CLUSTER_SYNC_CONFIG)."


def _config_here(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """`cluster-sync sync --config X`: the option after the command wins over the one
    before it, the environment and the default."""
    if value is not None:
        ctx.obj["config_path"] = value


class Command(click.Command):
    """A command that takes --config after its name too, as operators type it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--config", "config_here"],
                type=click.Path(path_type=Path),
                expose_value=False,
                callback=_config_here,
                help=CONFIG_HELP,
            )
        )


class Group(click.Group):
    command_class = Command


def load_config(ctx: click.Context) -> Config:
    cfg = config_mod.load(ctx.obj["config_path"])
    files.configure(cfg.privacy.mode)
    logs.setup(cfg.path(cfg.log.file) if cfg.log.file else None, cfg.log.level, ctx.obj["verbose"])
    return cfg


def existing_database(cfg: Config) -> Path:
    """The state database's path, for commands that only look at it, so that they never
    create one by accident (a typo in the path, or no sync run yet)."""
    path = cfg.path(cfg.state.database)
    if not path.exists():
        raise ClusterSyncError(
            f"There is no state database at {path}: no sync has run with this configuration yet.",
            hint="run `cluster-sync sync` first, or check state.database in the configuration.",
        )
    return path


@contextmanager
def opened_state(cfg: Config, must_exist: bool = False) -> Iterator[Any]:
    """The state database; `must_exist` for commands that only look at it (existing_database)."""
    from cluster_sync.state import State

    path = existing_database(cfg) if must_exist else cfg.path(cfg.state.database)
    state = State(path)
    try:
        yield state
    finally:
        state.close()
