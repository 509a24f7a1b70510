"""The settings of a local export (`[source]` with `type = "file"`, the default): a module of
its own, so that the configuration reads them without loading the export readers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cluster_sync.settings import SourceSettings


class FileSourceConfig(SourceSettings):
    type: Literal["file"] = "file"
    path: Path
    #: also write Cluster ID / Sync status / Last synced into the export (a working copy)
    write_back: bool = False
    #: sheet (tab) name inside an .xlsx workbook; default: the first one
    worksheet: str | None = None

    def link(self, resolve: Callable[[Path], Path]) -> str:
        return str(resolve(self.path))
