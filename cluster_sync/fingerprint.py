"""Which template made each factsheet: a fingerprint of everything the secretariat changes to
change how a factsheet looks, recorded per factsheet version.

The fingerprint hashes the bytes of the factsheet template (`output.factsheet_template`) and of
the artwork it prints (`[branding] programme_logo`, `eu_emblem`), never their paths: moving a
file changes nothing, editing or replacing it does. `cluster-sync status` compares each current
factsheet's fingerprint with today's and `cluster-sync rerender --all` makes the outdated ones
again.

Factsheet versions made before cluster-sync recorded fingerprints have none: their template is
"unknown". They are reported apart from the outdated ones, and `rerender --all` includes them,
because nothing proves they carry the current template (the case that matters: a logo added
since).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.state import State

#: how many Cluster IDs a status line names before "and N more"
SHOWN = 8


def template_fingerprint(config: Config) -> str:
    """16 hex digits naming the template and artwork in use now. An unreadable file counts as
    its own distinct content, so that it never matches a readable one."""
    digest = hashlib.sha256()
    parts: list[tuple[str, Path | None]] = [
        ("factsheet_template", config.path(config.output.factsheet_template)),
        ("programme_logo", config.branding.programme_logo),
        ("eu_emblem", config.branding.eu_emblem),
    ]
    for name, path in parts:
        digest.update(name.encode() + b"\0")
        if path is None:
            digest.update(b"none\0")
            continue
        try:
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            content = "unreadable"
        digest.update(content.encode() + b"\0")
    return digest.hexdigest()[:16]


def record_template(state: State, cluster_id: str, version: int, fingerprint: str) -> None:
    """The template that made (or made again) this factsheet version; the caller's
    transaction records it with the version itself."""
    state.db.execute(
        "INSERT OR REPLACE INTO factsheet_templates VALUES (?, ?, ?)",
        (cluster_id, version, fingerprint),
    )


@dataclass(frozen=True)
class TemplateAges:
    """The current factsheets of valid registrations, by the template that made them."""

    current: str  # today's fingerprint
    up_to_date: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)  # made with another template
    unknown: list[str] = field(default_factory=list)  # made before fingerprints were kept

    @property
    def outdated(self) -> list[str]:
        """What `rerender --all` makes again, in Cluster ID order."""
        return sorted(self.older + self.unknown)

    def lines(self) -> list[str]:
        """What `cluster-sync status` prints; nothing when every factsheet is up to date."""
        found = []
        if self.older:
            found.append(
                f"Factsheets made with an older template: {len(self.older)} ({_ids(self.older)})."
            )
        if self.unknown:
            found.append(
                f"Factsheets made before templates were recorded (template unknown): "
                f"{len(self.unknown)} ({_ids(self.unknown)})."
            )
        if found:
            found.append(
                "  `cluster-sync rerender --all` makes them again with the current template "
                "(add --notify to email them)."
            )
        return found


def template_ages(config: Config, state: State) -> TemplateAges:
    current = template_fingerprint(config)
    ages = TemplateAges(current)
    rows = state.db.execute(
        "SELECT r.cluster_id, t.template FROM registrations r "
        "LEFT JOIN factsheet_templates t ON t.cluster_id = r.cluster_id AND t.version = r.version "
        "WHERE r.status = 'valid' AND r.version > 0 AND r.data IS NOT NULL ORDER BY r.cluster_id"
    ).fetchall()
    for cluster_id, template in rows:
        if template is None:
            ages.unknown.append(cluster_id)
        elif template == current:
            ages.up_to_date.append(cluster_id)
        else:
            ages.older.append(cluster_id)
    return ages


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
