"""How queued messages leave: one module per backend behind the `Mailer` protocol, in a registry
keyed by the name `mail.backend` uses; a backend's module (and what it needs) is imported only
when it is used. A new backend is one module, one line in BACKENDS and its name in
config.MailConfig.backend (tests/test_mailer_contract.py checks the two agree)."""

from __future__ import annotations

from cluster_sync import plugins
from cluster_sync.config import Config
from cluster_sync.mailers.base import (
    Envelope,
    Mailer,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)

__all__ = [
    "Envelope",
    "Mailer",
    "PermanentFailure",
    "SendResult",
    "TemporaryFailure",
    "open_mailer",
]


#: mail.backend -> "module:Class" (the class has `from_config(config)`)
BACKENDS: dict[str, str] = {
    "outbox": "cluster_sync.mailers.outbox:OutboxMailer",
    "smtp": "cluster_sync.mailers.smtp:SmtpMailer",
}


def open_mailer(config: Config) -> Mailer:
    """The backend the configuration names (not yet connected: delivery opens it)."""
    mailer: Mailer = plugins.load(BACKENDS, config.mail.backend).from_config(config)
    return mailer
