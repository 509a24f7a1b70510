"""Where registrations come from. One module per backend behind the `Source` protocol; the
registry maps the config's `source.type` to a class, importing the backend only when used. A new
source is one module, one line in SOURCES and its settings model in the `source` union of
config.py, keyed by its `type` (tests/test_source_contract.py checks the two agree)."""

from __future__ import annotations

from cluster_sync import plugins
from cluster_sync.config import Config
from cluster_sync.sources.base import RowStatus, Snapshot, Source, SourceRow

__all__ = ["RowStatus", "Snapshot", "Source", "SourceRow", "open_source"]


#: source.type -> "module:Class" (the class has `from_config(config)`)
SOURCES: dict[str, str] = {
    "file": "cluster_sync.sources.file:FileSource",
    "google": "cluster_sync.sources.google:GoogleSource",
}


def open_source(config: Config) -> Source:
    """The source the configuration names."""
    source: Source = plugins.load(SOURCES, config.source.type).from_config(config)
    return source
