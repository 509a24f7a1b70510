"""The setting of the outbox backend: `mail.outbox`, the folder the .eml files go to. It is
one value, not a table, so its model is a root model; the folder is also read when a sync has
to tell what was saved (recovery, erasure, the run's summary), through `outbox_folder`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import ConfigDict, RootModel

if TYPE_CHECKING:
    from cluster_sync.config import Config


class OutboxConfig(RootModel[Path]):
    model_config = ConfigDict(frozen=True)

    #: what `mail.backend = "outbox"` needs when the setting is missing
    needed_as: ClassVar[str] = "mail.outbox (a folder)"


def outbox_folder(config: Config) -> Path | None:
    """The configured outbox folder (resolved against the project folder), or None when
    `mail.outbox` is not set."""
    settings = config.mail.settings_of("outbox")
    return config.path(settings.root) if isinstance(settings, OutboxConfig) else None
