"""The one line a person reads in the sheet's "Sync status" column, and "Last synced"."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cluster_sync import text
from cluster_sync.config import Config
from cluster_sync.identity import Identified
from cluster_sync.state import State, StoredRegistration

STATUS_LIMIT = 480


Parts = dict[str, list[Any]]


def status_line(
    state: State,
    item: Identified,
    stored: StoredRegistration | None,
    config: Config,
    parts: Parts | None = None,
) -> tuple[str, str]:
    """`parts` (from factsheet_parts) saves a query per row when the whole sheet is done."""
    if item.cluster_id is None or stored is None:
        return (
            f"Duplicate of {item.duplicate_of}: this response repeats a cluster already "
            "registered, so it was not processed. To change that cluster, edit the original "
            "response; the secretariat can delete this row.",
            "",
        )
    when = _local(stored.last_changed, config)
    if stored.status == "pending":
        return (
            "Not processed yet: the last run could not finish this response; it is tried "
            "again on the next run, and the secretariat has been told.",
            "",
        )
    if stored.status == "invalid":
        problems = " ".join(f"({n}) {p}" for n, p in enumerate(stored.problems, start=1))
        line = f"Needs fixing ({len(stored.problems)}): {problems} Edit the response to fix it."
        return text.one_line(line, STATUS_LIMIT), when
    return _valid_line(state, stored, config, parts), when


def factsheet_parts(state: State) -> Parts:
    """The queued parts of every factsheet email, by dedupe key without its part number: one
    read instead of one per row."""
    found: Parts = {}
    for row in state.db.execute(
        "SELECT dedupe_key, state, recipients, sent_at, last_reply FROM messages "
        "WHERE dedupe_key >= 'factsheet:' AND dedupe_key < 'factsheet;' ORDER BY id"
    ):
        found.setdefault(row["dedupe_key"].partition("#")[0], []).append(row)
    return found


def _valid_line(
    state: State, stored: StoredRegistration, config: Config, preloaded: Parts | None
) -> str:
    version = stored.version
    if stored.emailed_version < version:
        if config.approval.required and not stored.approved:
            return f"Factsheet v{version} ready; waiting for approval (tick Approved to send it)."
        return f"Factsheet v{version} ready; email not sent yet."
    # A factsheet email to many people is split into parts (at most 100 recipients each).
    key = f"factsheet:{stored.cluster_id}:v{version}"
    parts = (
        preloaded.get(key, [])
        if preloaded is not None
        else state.db.execute(
            # the key itself, or its parts "key#1", "key#2"... ("$" sorts right after "#"), a
            # range the unique index on dedupe_key answers without scanning the queue
            "SELECT state, recipients, sent_at, last_reply FROM messages "
            "WHERE dedupe_key = ? OR (dedupe_key >= ? AND dedupe_key < ?) ORDER BY id",
            (key, f"{key}#", f"{key}$"),
        ).fetchall()
    )
    if not parts:
        return f"OK: factsheet v{version} made."
    people = sum(len(json.loads(p["recipients"])) for p in parts)
    failed = [p for p in parts if p["state"] == "failed"]
    if failed:
        reply = text.one_line(str(failed[0]["last_reply"] or ""), 160)
        return (
            f"Factsheet v{version} could not be emailed ({reply}); the secretariat has been told."
        )
    if all(p["state"] == "sent" for p in parts):
        last = max(str(p["sent_at"]) for p in parts)
        return f"OK: factsheet v{version} sent to {people} people on {_local(last, config)}."
    return f"Factsheet v{version} made; email to {people} people queued."


def _local(stamp: str | None, config: Config) -> str:
    return _in_zone(stamp, config.zone) if stamp else ""


@functools.lru_cache(maxsize=4096)
def _in_zone(stamp: str, zone: ZoneInfo) -> str:
    """Many rows share a time (the run's): each is formatted once."""
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%Y-%m-%d %H:%M")
