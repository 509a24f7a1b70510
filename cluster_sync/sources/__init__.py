"""Where registrations come from. One module per backend behind the `Source` protocol; the
registry maps the config's `source.type` to a factory, importing the backend only when used."""

from __future__ import annotations

from cluster_sync.config import Config, FileSourceConfig
from cluster_sync.sources.base import RowStatus, Snapshot, Source, SourceRow

__all__ = ["RowStatus", "Snapshot", "Source", "SourceRow", "open_source"]


def open_source(config: Config) -> Source:
    """The source the configuration names."""
    if isinstance(config.source, FileSourceConfig):
        from cluster_sync.sources.file import FileSource

        return FileSource(config.path(config.source.path), config.source, config.form)
    from cluster_sync.sources.google import GoogleSource

    return GoogleSource.from_config(config)
