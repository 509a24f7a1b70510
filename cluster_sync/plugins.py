"""The one way a registry entry becomes a class: sources, mail backends, output formats and
publishing targets are each named in their package's registry as "module:Class", and the
module (with whatever it needs, Google's libraries say) is imported only when it is used.

A backend with settings of its own registers them beside its class (`Backend`): the
configuration takes its choices from the registry and validates the table of the backend it
names with the backend's own model, so adding a backend is one module and one registry line."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Backend:
    """A registry entry: the class ("package.module:Class") and the pydantic model of its
    settings ("package.module:Model"), both imported only when the configuration names it."""

    target: str
    settings: str | None = None


# A new backend is one module and one line below. Each class has `from_config(config)`; its
# settings model (a subclass of settings.Settings, or of settings.SourceSettings for a source)
# lives beside it: in the backend's own module when that module imports its heavy libraries
# only inside functions, else in NAME_settings.py next to it, so that reading a configuration
# loads only the settings it names. config.py defines none of them (a test checks). A source's
# settings are its [source] table, keyed by `type`; a mailer's are mail.NAME; a publishing
# target's are [publish.NAME].

#: source.type -> source (sources.Source)
SOURCES: dict[str, Backend] = {
    "file": Backend(
        "cluster_sync.sources.file:FileSource",
        "cluster_sync.sources.file_settings:FileSourceConfig",
    ),
    "google": Backend(
        "cluster_sync.sources.google:GoogleSource",
        "cluster_sync.sources.google_settings:GoogleSourceConfig",
    ),
}

#: mail.backend -> mail backend (mailers.Mailer); the outbox's setting is one value, the
#: folder mail.outbox, the others' are a [mail.NAME] table
MAILERS: dict[str, Backend] = {
    "outbox": Backend(
        "cluster_sync.mailers.outbox:OutboxMailer",
        "cluster_sync.mailers.outbox_settings:OutboxConfig",
    ),
    "smtp": Backend(
        "cluster_sync.mailers.smtp:SmtpMailer", "cluster_sync.mailers.smtp_settings:SmtpConfig"
    ),
}

#: [publish] target -> publishing target (publish.Target)
TARGETS: dict[str, Backend] = {
    "drive": Backend(
        "cluster_sync.publish.drive:DriveTarget",
        "cluster_sync.publish.drive_settings:DrivePublishConfig",
    ),
    "folder": Backend(
        "cluster_sync.publish.webfolder:FolderTarget",
        "cluster_sync.publish.webfolder_settings:FolderPublishConfig",
    ),
}


def load(registry: dict[str, Any], name: str) -> Any:
    """The class registered under `name`: `registry[name]` is "package.module:Class" or a
    `Backend`."""
    entry = registry[name]
    return _resolve(entry.target if isinstance(entry, Backend) else entry)


def settings_model(registry: dict[str, Any], name: str) -> Any:
    """The settings model registered for `name`, or None when the backend has none."""
    entry = registry[name]
    if isinstance(entry, Backend) and entry.settings:
        return _resolve(entry.settings)
    return None


def _resolve(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)
