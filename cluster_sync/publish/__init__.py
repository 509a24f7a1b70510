"""Publishing factsheets where people can open them, and the link the sheet shows.

A target (Google Drive, a web folder) takes the files of one factsheet version and returns where
each now lives. Targets sit behind the `Target` protocol in a registry keyed by the name
`[publish] target` uses; a target's module (and its dependencies) is imported only when used.
The run itself, its records and its guarantees are in `cluster_sync.publish.service`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cluster_sync import plugins
from cluster_sync.errors import PublishError

if TYPE_CHECKING:
    from cluster_sync.config import Config

#: formats a factsheet version may come in, in the order the sheet prefers to link them
FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

#: `[publish] target` -> the class and the model of its [publish.NAME] table (kept in
#: plugins.py, which the configuration reads without importing any target)
TARGETS = plugins.TARGETS

# What a link may look like before it goes into a sheet cell: an http(s) address without spaces,
# quotes or control characters, so no cell can ever read it as a formula or as anything else.
_SAFE_LINK = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+")


@dataclass(frozen=True)
class FactsheetFile:
    """One file of one factsheet version."""

    cluster_id: str
    version: int
    format: str  # a key of FORMATS
    path: Path

    @property
    def mime_type(self) -> str:
        return FORMATS[self.format]

    @property
    def key(self) -> str:
        """The same for every version: what a target replaces (CL-2025-007.docx)."""
        return f"{self.cluster_id}.{self.format}"


@dataclass(frozen=True)
class Remote:
    """Where a published file lives."""

    remote_id: str
    url: str
    version: int = 0  # the version it holds, when the target can tell
    #: True: the target already held this version (an interrupted run had put it there)
    reused: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Job:
    file: FactsheetFile
    #: the file this cluster and format already has at the target (replaced, never duplicated)
    known: Remote | None
    #: an earlier run began this upload and did not record its end: it may have landed
    recovering: bool


class Target(Protocol):
    #: identifies the destination in the state (a changed folder starts afresh)
    key: str
    description: str

    def link_before_upload(self, file: FactsheetFile, known: Remote | None) -> str | None:
        """The link the file will have, when it can be known before it is uploaded."""
        ...

    def prepare(self, jobs: Sequence[Job]) -> None:
        """Called once before a batch (a target may look up what it already holds)."""
        ...

    def publish(self, job: Job) -> Remote:
        """Put the file at the target, replacing `job.known`; raise PublishError."""
        ...

    def withdraw(self, remote: Remote) -> None:
        """Remove a published file with every earlier version it kept (Drive's revisions), so
        nobody can open it any more; a file already gone is fine. Raise PublishError."""
        ...

    def check(self) -> str:
        """Whether publishing can work, in one line (for `cluster-sync check`); uploads nothing."""
        ...


def open_target(config: Config, **kwargs: Any) -> Target:
    """The target `[publish] target` names, built from its settings."""
    assert config.publish is not None
    target: Target = plugins.load(TARGETS, config.publish.target).from_config(config, **kwargs)
    return target


def version_files(
    docx: Path, cluster_id: str, version: int, others: dict[str, tuple[str | None, str | None]]
) -> list[FactsheetFile]:
    """The files of one factsheet version, the preferred format first: the .docx and the other
    formats the run made of it (`others`: the state's factsheet_files record, format -> (path,
    problem)); a format that could not be made, or whose file is gone, is left out."""
    paths = {"docx": docx} | {fmt: Path(path) for fmt, (path, _) in others.items() if path}
    return [
        FactsheetFile(cluster_id, version, fmt, paths[fmt])
        for fmt in FORMATS
        if fmt in paths and paths[fmt].is_file()
    ]


def checked_link(url: str, where: str) -> str:
    """A link as the sheet and the emails may show it, or a PublishError."""
    if not _SAFE_LINK.fullmatch(url):
        raise PublishError(
            f"{where} answered with a link that is not a plain web address: {url!r}."
        )
    return url
