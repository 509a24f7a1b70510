"""Who the configuration names as the secretariat: the digest, notices and CoP reports go to
them (validate.parse_addresses parses every address, in the form's words)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster_sync.model import Address
from cluster_sync.validate import parse_addresses

if TYPE_CHECKING:
    from cluster_sync.config import Config


def secretariat(config: Config) -> list[Address]:
    """Who receives the digest, the notices and the CoP report (`mail.secretariat`; the
    configuration refused any cell that is not one address)."""
    return [a for cell in config.mail.secretariat for a, _ in parse_addresses(cell) if a]
