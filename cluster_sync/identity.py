"""Which registration a row is: its Cluster ID, found in the row, remembered by the state, or
given now. Rows are never identified by position, so sorting the sheet changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cluster_sync import recovery, text
from cluster_sync.recovery import Evidence
from cluster_sync.sources.base import SourceRow
from cluster_sync.state import State
from cluster_sync.validate import Outcome


@dataclass(frozen=True)
class Identified:
    row: SourceRow
    outcome: Outcome
    natural_key: str
    cluster_id: str | None  # None for a duplicate
    duplicate_of: str | None = None


def _title(row: SourceRow, outcome: Outcome) -> str:
    if outcome.registration:
        return outcome.registration.title
    return text.clean_line(str(row.values.get("title") or ""))


def natural_key(row: SourceRow, outcome: Outcome) -> str:
    """The same cluster typed twice has the same title; a row with no title at all is known by
    its submitter and timestamp."""
    folded = text.fold(_title(row, outcome))
    return f"title:{folded}" if folded else f"row:{row.fingerprint}"


def _recovered(
    state: State, evidence: Evidence, key: str, title: str, claimed: set[str]
) -> str | None:
    """The ID the outputs or the outbox give this registration, unless the state or this run
    already gave it to another."""
    cluster_id = evidence.cluster_for(key, title)
    if cluster_id is None or cluster_id in claimed or state.registration(cluster_id):
        return None
    return cluster_id


def _sort_key(item: tuple[SourceRow, Outcome]) -> tuple[int, str, str, int]:
    row, outcome = item
    stamp = outcome.submitted_at
    # Rows that already carry an ID keep it; among the others the earliest response wins, then
    # the submitter: what a row says, not where it stands (its position only as a last resort).
    first = stamp.isoformat() if stamp else "~"
    return (0 if row.cluster_id else 1, first, row.fingerprint, row.row_number)


def identify(
    state: State,
    rows: list[tuple[SourceRow, Outcome]],
    prefix: str,
    today: date,
    now: str,
    evidence: Evidence | None = None,
) -> list[Identified]:
    """Every row's Cluster ID. `evidence` (cluster_sync/recovery.py) gives back the IDs of
    registrations a lost or restored state database no longer knows."""
    evidence = evidence or Evidence()
    claimed_ids: set[str] = set()
    claimed_keys: dict[str, str] = {}
    result: list[Identified] = []
    for row, outcome in sorted(rows, key=_sort_key):
        key = natural_key(row, outcome)
        cluster_id = row.cluster_id
        if cluster_id is None:
            known = state.find_by_key(key)
            cluster_id = known.cluster_id if known else claimed_keys.get(key)
        if cluster_id is None:
            cluster_id = _recovered(state, evidence, key, _title(row, outcome), claimed_ids)
        if cluster_id and (
            cluster_id in claimed_ids or claimed_keys.get(key, cluster_id) != cluster_id
        ):
            first = cluster_id if cluster_id in claimed_ids else claimed_keys[key]
            result.append(Identified(row, outcome, key, None, duplicate_of=first))
            continue
        if cluster_id is None:
            cluster_id = state.reserve_cluster_id(prefix, _year(outcome, today), key, now)
        elif (stored := state.registration(cluster_id)) is None:
            content = outcome.registration.content_hash() if outcome.registration else None
            recovery.seed(state, evidence, cluster_id, key, _title(row, outcome), content, now)
        elif evidence.delivered:
            recovery.catch_up(state, evidence, stored)
        claimed_ids.add(cluster_id)
        claimed_keys.setdefault(key, cluster_id)
        result.append(Identified(row, outcome, key, cluster_id))
    return sorted(result, key=lambda item: item.row.row_number)


def _year(outcome: Outcome, today: date) -> int:
    return (outcome.submitted_at or today).year
