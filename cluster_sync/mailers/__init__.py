"""How queued messages leave: one module per backend behind the `Mailer` protocol, in a registry
keyed by the name `mail.backend` uses; a backend's module (and what it needs) is imported only
when it is used. A new backend is one module (its class and, when it has settings, their
pydantic model) and one line in plugins.MAILERS: `mail.backend` accepts the name from there and its
[mail.NAME] table is validated by that model (tests/test_mailer_contract.py checks every
registered backend is under contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster_sync import plugins
from cluster_sync.mailers.base import (
    Envelope,
    Mailer,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)

if TYPE_CHECKING:
    from cluster_sync.config import Config

__all__ = [
    "Envelope",
    "Mailer",
    "PermanentFailure",
    "SendResult",
    "TemporaryFailure",
    "open_mailer",
]


#: mail.backend -> the class and the model of mail.NAME (kept in plugins.py, which the
#: configuration reads without importing any backend)
BACKENDS = plugins.MAILERS


def open_mailer(config: Config) -> Mailer:
    """The backend the configuration names (not yet connected: delivery opens it)."""
    mailer: Mailer = plugins.load(BACKENDS, config.mail.backend).from_config(config)
    return mailer
