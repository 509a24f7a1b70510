"""Publishing to a folder a web server serves: no Google needed.

Each cluster has one file per format, named after its Cluster ID only (CL-2025-007.pdf), so the
link never changes and a new version replaces the old one. Only our own IDs make up a name: a
title, whatever it holds, never reaches a path. Files are written beside the target and renamed
over it, so a reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cluster_sync.config import Config
from cluster_sync.errors import PublishError
from cluster_sync.files import atomic_write
from cluster_sync.publish import FactsheetFile, Job, Remote, checked_link
from cluster_sync.publish.webfolder_settings import FolderPublishConfig


class FolderTarget:
    def __init__(self, folder: Path, base_url: str, mode: int = 0o640) -> None:
        self.folder = folder
        self.base_url = base_url
        self.mode = mode
        self.key = f"folder:{folder}|{base_url}"
        self.description = f"the web folder {folder} ({base_url})"

    @classmethod
    def from_config(cls, config: Config, **_: Any) -> FolderTarget:
        assert config.publish is not None
        settings = config.publish.settings_of("folder")
        assert isinstance(settings, FolderPublishConfig)
        return cls(config.path(settings.path), settings.base_url, settings.mode)

    def link_before_upload(self, file: FactsheetFile, known: Remote | None) -> str | None:
        return self._link(file)

    def prepare(self, jobs: Sequence[Job]) -> None:
        if not self.folder.is_dir():
            raise PublishError(
                f"The web folder {self.folder} does not exist.",
                hint="create it (the web server must serve it at publish.folder.base_url), or "
                "fix publish.folder.path.",
                stop=True,
            )

    def publish(self, job: Job) -> Remote:
        file = job.file
        target = self.folder / file.key
        try:
            data = file.path.read_bytes()
            # A re-run after a crash finds the same bytes there: nothing to write again.
            reused = target.is_file() and _digest(target.read_bytes()) == _digest(data)
            if not reused:
                atomic_write(target, data, mode=self.mode)
        except OSError as exc:
            raise PublishError(
                f"Could not copy {file.path.name} to {target}: {exc.strerror or exc}.",
                hint="check that the account running the sync may write into publish.folder.path.",
                stop=True,
            ) from None
        return Remote(file.key, self._link(file), file.version, reused=reused)

    def withdraw(self, remote: Remote) -> None:
        # remote_id is our own key (CL-2025-007.pdf), never a partner's words: a plain name
        if not remote.remote_id or "/" in remote.remote_id or remote.remote_id.startswith("."):
            raise PublishError(f"The state names a published file {remote.remote_id!r}.")
        try:
            (self.folder / remote.remote_id).unlink(missing_ok=True)
        except OSError as exc:
            raise PublishError(
                f"Could not remove {remote.remote_id} from {self.folder}: {exc.strerror or exc}.",
                hint="check that the account running the sync may delete files in "
                "publish.folder.path; the next sync tries again.",
                stop=True,
            ) from None

    def check(self) -> str:
        self.prepare([])
        if not os.access(self.folder, os.W_OK):
            raise PublishError(f"The web folder {self.folder} is not writable by this account.")
        return f"factsheets are published to {self.description}"

    def _link(self, file: FactsheetFile) -> str:
        return checked_link(self.base_url + quote(file.key), "the web folder")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
