"""Where registrations come from. One module per backend behind the `Source` protocol; the
registry maps the config's `source.type` to a class and its settings model, importing the backend
only when used. A new source is one module (its class and its settings model, a subclass
of settings.SourceSettings, kept light: see plugins.py) and one line in plugins.SOURCES: the
configuration accepts `type = "NAME"` from there (tests/test_source_contract.py checks every
registered source is under contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster_sync import plugins
from cluster_sync.sources.base import RowStatus, Snapshot, Source, SourceRow

if TYPE_CHECKING:
    from cluster_sync.config import Config

__all__ = ["RowStatus", "Snapshot", "Source", "SourceRow", "open_source"]


#: source.type -> the class and its settings model (kept in plugins.py, which the
#: configuration reads without importing any source)
SOURCES = plugins.SOURCES


def open_source(config: Config) -> Source:
    """The source the configuration names."""
    source: Source = plugins.load(SOURCES, config.source.type).from_config(config)
    return source
