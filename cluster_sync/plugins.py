"""The one way a registry entry becomes a class: sources, mail backends, output formats and
publishing targets are each named in their package's registry as "module:Class", and the
module (with whatever it needs, Google's libraries say) is imported only when it is used."""

from __future__ import annotations

import importlib
from typing import Any


def load(registry: dict[str, str], name: str) -> Any:
    """The class registered under `name`: `registry[name]` is "package.module:Class"."""
    module, _, cls = registry[name].partition(":")
    return getattr(importlib.import_module(module), cls)
