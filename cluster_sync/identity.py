"""Which registration a row is: its Cluster ID, found in the row, remembered by the state, or
given now. Rows are never identified by position, so sorting the sheet changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cluster_sync import text
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


def natural_key(row: SourceRow, outcome: Outcome) -> str:
    """The same cluster typed twice has the same title; a row with no title at all is known by
    its submitter and timestamp."""
    title = outcome.registration.title if outcome.registration else row.values.get("title")
    folded = text.fold(str(title or ""))
    return f"title:{folded}" if folded else f"row:{row.fingerprint}"


def _sort_key(item: tuple[SourceRow, Outcome]) -> tuple[int, str, int]:
    row, outcome = item
    stamp = outcome.submitted_at
    # Rows that already carry an ID keep it; among the others the earliest response wins.
    return (0 if row.cluster_id else 1, stamp.isoformat() if stamp else "~", row.row_number)


def identify(
    state: State, rows: list[tuple[SourceRow, Outcome]], prefix: str, today: date, now: str
) -> list[Identified]:
    claimed_ids: set[str] = set()
    claimed_keys: dict[str, str] = {}
    result: list[Identified] = []
    for row, outcome in sorted(rows, key=_sort_key):
        key = natural_key(row, outcome)
        cluster_id = row.cluster_id
        if cluster_id is None:
            known = state.find_by_key(key)
            cluster_id = known.cluster_id if known else claimed_keys.get(key)
        if cluster_id and (
            cluster_id in claimed_ids or claimed_keys.get(key, cluster_id) != cluster_id
        ):
            first = cluster_id if cluster_id in claimed_ids else claimed_keys[key]
            result.append(Identified(row, outcome, key, None, duplicate_of=first))
            continue
        if cluster_id is None:
            cluster_id = state.reserve_cluster_id(prefix, _year(outcome, today), key, now)
        elif state.registration(cluster_id) is None:
            state.adopt_cluster_id(cluster_id)
        claimed_ids.add(cluster_id)
        claimed_keys.setdefault(key, cluster_id)
        result.append(Identified(row, outcome, key, cluster_id))
    return sorted(result, key=lambda item: item.row.row_number)


def _year(outcome: Outcome, today: date) -> int:
    return (outcome.submitted_at or today).year
