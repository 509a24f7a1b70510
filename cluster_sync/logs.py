"""Logging to the file the configuration names, with secrets masked wherever they appear."""

from __future__ import annotations

import logging
from pathlib import Path

from cluster_sync.files import create_private

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this value in every log line from now on (passwords, tokens)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(message: str) -> str:
    for secret in _SECRETS:
        message = message.replace(secret, "********")
    return message


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(log_file: Path | None, level: str, verbose: bool = False) -> None:
    root = logging.getLogger("cluster_sync")
    root.setLevel(logging.DEBUG if verbose else getattr(logging, level))
    for old in list(root.handlers):
        root.removeHandler(old)
    # Without a log file, records go nowhere (not to stderr through Python's last resort: the
    # CLI already shows every error once, in plain words).
    root.addHandler(logging.NullHandler())
    if log_file is not None:
        # created with the configured mode (owner only by default), not the umask's 0644
        create_private(log_file)
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    if verbose:
        console = logging.StreamHandler()
        console.setFormatter(_Redacting("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
