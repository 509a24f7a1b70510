"""What every backend's settings model is built from: the base model (a misspelt key is a
problem to report, values are frozen), the base of a source's settings, and the checks several
backends share. This module imports no backend, so a backend's settings module (and the
configuration) can use it without loading Google's libraries or an SMTP client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cluster_sync.net import is_loopback


class Settings(BaseModel):
    """The base of every settings model: the general sections of config.py and each
    backend's own model, which lives beside its backend (see plugins.py)."""

    # A misspelt key is a problem to report, not a setting to ignore silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSettings(Settings):
    """What every source's settings have; a source's own model adds the rest. The model of
    `source.type` is the one registered with it in `plugins.SOURCES`."""

    type: str
    #: write Cluster ID / Sync status / Last synced into the source
    write_back: bool

    def link(self, resolve: Callable[[Path], Path]) -> str:
        """Where the secretariat opens the registrations (the digest shows it), or "";
        `resolve` turns a configured path into a real one (Config.path)."""
        return ""


def api_address(value: str, example: str) -> str:
    """An http(s) API address; plain http only on this machine (a token would travel in clear)."""
    from urllib.parse import urlsplit

    url = urlsplit(value)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ValueError(f"is not an http(s) address such as {example}")
    if url.scheme == "http" and not is_loopback(url.hostname):
        raise ValueError("must use https; plain http is only for a server on this machine")
    return value.rstrip("/")


def check_addresses(values: list[str], single: bool) -> None:
    """Each value one well-formed address (`single`) or a list of them, or a ValueError."""
    from cluster_sync.validate import parse_addresses

    for value in values:
        found = parse_addresses(value)
        errors = [error for _, error in found if error]
        if errors:
            raise ValueError(errors[0].rstrip("."))
        if single and len(found) > 1:
            raise ValueError("give one address per entry")


def octal_mode(value: str, allowed: int, example: str, rule: str) -> str:
    """An octal file mode that lets the owner read and write and sets no bit outside
    `allowed`; else a ValueError saying `rule`."""
    try:
        mode = int(value, 8)
    except ValueError:
        raise ValueError(f"is not an octal mode such as {example}") from None
    if mode & ~allowed or mode & 0o600 != 0o600:
        raise ValueError(rule)
    return value
