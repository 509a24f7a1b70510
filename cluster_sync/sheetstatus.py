"""The one line a person reads in the sheet's "Sync status" column, and "Last synced"."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cluster_sync import keys, text
from cluster_sync.config import Config
from cluster_sync.identity import Identified
from cluster_sync.mailqueue import (
    outcomes_in_key_range,
    outcomes_of_parts,
    refused_of,
    saved_only,
)
from cluster_sync.outputs import files_note, recorded
from cluster_sync.state import State, StoredRegistration
from cluster_sync.text import counted

STATUS_LIMIT = 480
#: a row the last run could not process: what went wrong is for the secretariat (the digest,
#: the log), never the program's own words in the partner's sheet
ERROR_LINE = (
    "Could not be processed in the last run; the secretariat has the details. "
    "It is tried again on the next run."
)


@dataclass
class Parts:
    """What the status lines of a whole sheet read, in one read each instead of two per row
    (factsheet_parts)."""

    #: the queued parts of every factsheet email, by dedupe key without its part number
    emails: dict[str, list[Any]] = field(default_factory=dict)
    #: (cluster, version) -> its files, for current versions with a format not made
    files: dict[tuple[str, int], list[Any]] = field(default_factory=dict)


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
    when = local_time(stored.last_changed, config)
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
    line = _valid_line(state, stored, config, parts)
    files = (
        parts.files.get((stored.cluster_id, stored.version), [])
        if parts is not None
        else state.factsheet_files(stored.cluster_id, stored.version)
    )
    note = files_note(config, recorded(dict(files)))
    return text.one_line(f"{line} {note}" if note else line, STATUS_LIMIT), when


def factsheet_parts(state: State) -> Parts:
    """The queued parts of every factsheet email, and the files of every current factsheet
    version with a format that could not be made (all a status line says of its files)."""
    found = Parts()
    for row in outcomes_in_key_range(state, *keys.FACTSHEETS):
        found.emails.setdefault(keys.whole(row["dedupe_key"]), []).append(row)
    for cluster_id in state.clusters_missing_files():
        version = state.registration(cluster_id)
        if version is not None:
            files = state.factsheet_files(cluster_id, version.version)
            found.files[(cluster_id, version.version)] = list(files.items())
    return found


def _valid_line(
    state: State, stored: StoredRegistration, config: Config, preloaded: Parts | None
) -> str:
    version = stored.version
    if stored.emailed_version < version:
        if config.approval.required and not stored.approved:
            return f"Factsheet v{version} ready; waiting for approval (tick Approved to send it)."
        return f"Factsheet v{version} ready; email not sent yet."
    key = keys.factsheet(stored.cluster_id, version)
    parts = (
        preloaded.emails.get(key, [])
        if preloaded is not None
        else _factsheet_email(state, stored.cluster_id, version)
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
    if not all(p["state"] == "sent" for p in parts):
        return f"Factsheet v{version} made; email to {counted(people, 'person', 'people')} queued."
    when = local_time(max(str(p["sent_at"]) for p in parts), config)
    if all(saved_only(p["last_reply"]) for p in parts):
        return (
            f"OK: factsheet v{version} made; its email to {counted(people, 'person', 'people')} was saved "
            f"to the outbox on {when}, for the secretariat to send."
        )
    refused = sum(len(refused_of(p["last_reply"])) for p in parts)
    line = f"OK: factsheet v{version} sent to {counted(people - refused, 'person', 'people')} on {when}."
    if refused:
        line += (
            f" The mail server refused {counted(refused, 'address', 'addresses')}; "
            "the secretariat has been told."
        )
    return line


def _factsheet_email(state: State, cluster_id: str, version: int) -> list[Any]:
    """The queued parts of a factsheet's email: one message, or several when it goes to more
    people than one message may carry."""
    return outcomes_of_parts(state, *keys.with_parts(keys.factsheet(cluster_id, version)))


def email_state(state: State, cluster_id: str, version: int) -> str:
    """A factsheet version's email in one or two words for `status`: "emailed" only when a
    mail server accepted every part."""
    parts = _factsheet_email(state, cluster_id, version)
    if not parts:
        return ""
    states = {p["state"] for p in parts}
    if "failed" in states:
        return "email failed"
    if states != {"sent"}:
        return "email queued"
    if all(saved_only(p["last_reply"]) for p in parts):
        return "saved to the outbox"
    return "emailed"


def local_time(stamp: str | None, config: Config) -> str:
    """A stored UTC timestamp as the secretariat reads it: `2026-11-25 03:00`, local time."""
    return _in_zone(stamp, config.zone) if stamp else ""


@functools.lru_cache(maxsize=4096)
def _in_zone(stamp: str, zone: ZoneInfo) -> str:
    """Many rows share a time (the run's): each is formatted once."""
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%Y-%m-%d %H:%M")
