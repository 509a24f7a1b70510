"""How queued messages leave: one module per backend behind the `Mailer` protocol."""

from __future__ import annotations

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


def open_mailer(config: Config) -> Mailer:
    """The backend the configuration names (not yet connected: delivery opens it)."""
    if config.mail.backend == "outbox":
        from cluster_sync.mailers.outbox import OutboxMailer

        assert config.mail.outbox is not None  # checked when the config was loaded
        return OutboxMailer(config.path(config.mail.outbox))
    from cluster_sync.mailers.smtp import SmtpMailer

    return SmtpMailer.from_config(config)
