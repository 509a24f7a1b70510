"""Retention: what is kept no longer than needed, pruned by the nightly sync.

- sent emails: after `sent_body_days` only the headers stay (recipients, Message-ID, date);
- clusters that ended: `anonymise_after_months` after 31 December of the end year, the names
  and addresses go; the cluster's facts (organisations, countries, dates, texts) stay for
  reports, and the current factsheet is rendered again without the people;
- factsheets: only the newest `keep_factsheet_versions` files of each cluster are kept (with
  their other formats), and the answers kept of older versions go too (`version_data`, except
  the version its people last received, which an update's change list is made from);
- an anonymised cluster's earlier factsheet versions are deleted, its kept answers anonymised,
  and its published copies withdrawn; the publishing pass puts the anonymised version in place.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cluster_sync import mailqueue, mailstore
from cluster_sync.config import Config
from cluster_sync.privacy.messages import pruned_message
from cluster_sync.privacy.search import REMOVED
from cluster_sync.privacy.suppress import scrub_addresses
from cluster_sync.publish.service import mark_withdrawn
from cluster_sync.state import State


@dataclass
class RetentionPlan:
    bodies: list[int] = field(default_factory=list)  # message ids
    anonymise: list[str] = field(default_factory=list)  # cluster ids
    old_factsheets: list[Path] = field(default_factory=list)
    #: (cluster id, version): answers kept of earlier versions for change lists
    old_answers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "email bodies": len(self.bodies),
            "clusters anonymised": len(self.anonymise),
            "old factsheet versions": len(self.old_factsheets),
            "old answers": len(self.old_answers),
        }

    @property
    def items(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        parts = [f"{n} {what}" for what, n in self.counts.items() if n]
        return ", ".join(parts) if parts else "nothing"


def add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def plan_retention(config: Config, state: State, now: datetime) -> RetentionPlan:
    rules = config.privacy
    plan = RetentionPlan()
    if rules.sent_body_days is not None:
        cutoff = now - timedelta(days=rules.sent_body_days)
        pruned = {int(r[0]) for r in state.db.execute("SELECT message_id FROM pruned_messages")}
        plan.bodies = [m for m in mailqueue.sent_before(state, _iso(cutoff)) if m not in pruned]
    if rules.anonymise_after_months is not None:
        today = now.astimezone(config.zone).date()
        # only the end dates are read (not every registration's answers): a nightly run
        # costs what changed, not what exists
        ends = state.db.execute(
            "SELECT cluster_id, json_extract(data, '$.end_date') FROM registrations "
            "WHERE data IS NOT NULL AND cluster_id NOT IN (SELECT cluster_id FROM anonymised) "
            "ORDER BY cluster_id"
        )
        for cluster_id, end in ends:
            ended = _end(end)
            if ended and add_months(date(ended.year, 12, 31), rules.anonymise_after_months) < today:
                plan.anonymise.append(cluster_id)
    if rules.keep_factsheet_versions is not None:
        rows = state.db.execute(
            "SELECT path FROM (SELECT path, row_number() OVER (PARTITION BY cluster_id "
            "ORDER BY version DESC) AS n FROM factsheets) WHERE n > ?",
            (rules.keep_factsheet_versions,),
        )
        plan.old_factsheets = [Path(r[0]) for r in rows]
        plan.old_answers = _old_answers(state, rules.keep_factsheet_versions)
    # an anonymised cluster keeps no earlier version naming its people
    for cluster_id in plan.anonymise:
        plan.old_factsheets += [
            p for p in _earlier(state, cluster_id) if p not in plan.old_factsheets
        ]
    return plan


def _old_answers(state: State, keep: int) -> list[tuple[str, int]]:
    """The answers kept of versions older than the `keep` newest, except those of the version
    its people last received (an update email's change list is made from it)."""
    rows = state.db.execute(
        "SELECT v.cluster_id, v.version FROM version_data v JOIN registrations r "
        "ON r.cluster_id = v.cluster_id WHERE v.version <= r.version - ? "
        "AND v.version != r.emailed_version ORDER BY v.cluster_id, v.version",
        (keep,),
    )
    return [(str(c), int(v)) for c, v in rows]


def _earlier(state: State, cluster_id: str) -> list[Path]:
    rows = state.db.execute(
        "SELECT f.path FROM factsheets f JOIN registrations r ON r.cluster_id = f.cluster_id "
        "WHERE f.cluster_id = ? AND f.version < r.version ORDER BY f.version",
        (cluster_id,),
    )
    return [Path(r[0]) for r in rows]


def _end(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def apply_retention(config: Config, state: State, plan: RetentionPlan, now: datetime) -> None:
    from cluster_sync.privacy.outputs import drop_other_formats

    stamp = _iso(now)
    state.db.execute("PRAGMA secure_delete = ON")
    with state.transaction():
        for message_id in plan.bodies:
            message = mailstore.stored_message(state, message_id)
            if message is not None:
                mailstore.replace_bytes(state, message_id, pruned_message(message.raw))
            state.db.execute(
                "INSERT OR IGNORE INTO pruned_messages (message_id, at) VALUES (?, ?)",
                (message_id, stamp),
            )
        for cluster_id in plan.anonymise:
            _anonymise(state, cluster_id, stamp)
        state.db.executemany(
            "DELETE FROM version_data WHERE cluster_id = ? AND version = ?", plan.old_answers
        )
        for path in plan.old_factsheets:
            drop_other_formats(state, path)
            state.db.execute("DELETE FROM factsheets WHERE path = ?", (str(path),))
        if plan.items:
            state.db.execute(
                "INSERT INTO erasures (at, kind, items, counts) VALUES (?, 'retention', ?, ?)",
                (stamp, plan.items, json.dumps(plan.counts)),
            )
    # the attachments of pruned and anonymised emails, once no unsent message needs them
    mailstore.collect(state)
    state.make_durable()  # before any file is deleted (cluster_sync/state.py)
    for path in plan.old_factsheets:
        path.unlink(missing_ok=True)
    today = now.astimezone(config.zone).date()
    for cluster_id in plan.anonymise:
        _rerender_current(config, state, cluster_id, today)


def anonymised_data(data: dict[str, Any]) -> dict[str, Any]:
    """The cluster's facts without its people: organisations and countries stay."""

    data = dict(data)
    data["participants"] = [{**p, "name": "", "email": ""} for p in data.get("participants") or []]
    data["contact_email"] = {"email": "", "name": ""}
    data["contact_person"] = ""
    data["respondent_email"] = None
    return dict(scrub_addresses(data, _everyone))


def _anonymise(state: State, cluster_id: str, stamp: str) -> None:
    reg = state.registration(cluster_id)
    if reg is None:
        return
    anonymous = replace(
        reg,
        data=anonymised_data(reg.data) if reg.data else None,
        submitter=None,
        problems=scrub_addresses(reg.problems, _everyone),
    )
    state.save_registration(anonymous)
    for message in mailstore.stored_messages(state, cluster_id):
        mailstore.replace_bytes(state, message.id, _anonymous_message(message.raw))
        mailstore.replace_recipients(state, message.id, [REMOVED] * len(message.recipients))
    for version, data in state.db.execute(
        "SELECT version, data FROM version_data WHERE cluster_id = ?", (cluster_id,)
    ).fetchall():
        state.db.execute(
            "UPDATE version_data SET data = ? WHERE cluster_id = ? AND version = ?",
            (
                json.dumps(anonymised_data(json.loads(data)), ensure_ascii=False),
                cluster_id,
                version,
            ),
        )
    if state.db.execute("SELECT 1 FROM published WHERE cluster_id = ?", (cluster_id,)).fetchone():
        # the published copies name its people: withdrawn, the anonymised version put in place
        mark_withdrawn(state, cluster_id, "erasure")
    state.db.execute(
        "INSERT OR IGNORE INTO anonymised (cluster_id, at) VALUES (?, ?)", (cluster_id, stamp)
    )


def _everyone(address: str) -> bool:
    return True


def _anonymous_message(raw: bytes) -> bytes:
    from cluster_sync.privacy.search import parse_message

    pruned = parse_message(pruned_message(raw))
    for key in ("To", "Cc"):
        del pruned[key]
    pruned["To"] = "undisclosed-recipients:;"
    return pruned.as_bytes()


def _rerender_current(config: Config, state: State, cluster_id: str, today: date) -> None:
    from cluster_sync.privacy.outputs import rerender_factsheet

    reg = state.registration(cluster_id)
    path = state.factsheet_path(cluster_id, reg.version) if reg else None
    if path:
        rerender_factsheet(config, state, Path(path), today)


def is_anonymised(state: State, cluster_id: str) -> bool:
    row = state.db.execute("SELECT 1 FROM anonymised WHERE cluster_id = ?", (cluster_id,))
    return row.fetchone() is not None
