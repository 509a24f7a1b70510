"""Published copies (Drive, the web folder) of factsheets naming an erased person: found, then
withdrawn with the earlier versions a target keeps, and the re-rendered versions published in
their place by the publishing pass (cluster_sync/publish/service.py)."""

from __future__ import annotations

from cluster_sync.config import Config
from cluster_sync.publish.service import publish_configured, target_key
from cluster_sync.state import State
from cluster_sync.text import counted


def plan_published(state: State, clusters: set[str]) -> tuple[list[str], int]:
    """Every file published of a cluster naming them is withdrawn, with the earlier versions a
    target keeps (Drive's revisions); the version made without them is published again.
    Returns those clusters and how many distinct published files they have."""
    found, count = [], 0
    for cluster_id in sorted(clusters):
        (files,) = state.db.execute(
            "SELECT count(DISTINCT target || '/' || remote_id) FROM published "
            "WHERE cluster_id = ? AND remote_id IS NOT NULL",
            (cluster_id,),
        ).fetchone()
        if files:
            found.append(cluster_id)
            count += int(files)
    return found, count


def withdraw_published(config: Config, state: State, clusters: list[str]) -> list[str]:
    """The publishing pass, now: the marked clusters' files are withdrawn from the target
    (Drive: deleted with their revisions) and the re-rendered versions published in their
    place. What could not be withdrawn, in words (the next sync tries again)."""
    if not clusters:
        return []
    left = []
    if config.publish is not None:
        report = publish_configured(config, state)
        pending = state.db.execute(
            "SELECT count(*) FROM withdrawn WHERE reason = 'erasure'"
        ).fetchone()[0]
        if pending:
            why = "; ".join(report.errors) or "not reached"
            left.append(
                f"published factsheet files of {counted(pending, 'cluster')} ({why}); the next "
                "sync tries again"
            )
    # a destination no longer configured cannot be reached from here
    current = target_key(config)
    marks = ", ".join("?" * len(clusters))
    for (target,) in state.db.execute(
        f"SELECT DISTINCT target FROM published WHERE cluster_id IN ({marks}) ORDER BY 1",
        clusters,
    ).fetchall():
        if target != current:
            left.append(
                f"factsheet files published to {target}, no longer the configured "
                "destination: delete them there"
            )
    return left
