"""`forget`: one person erased from the state, the outbox, the outputs and the log.

`plan_erasure` only looks; `erase` changes. The state is cleaned in one transaction, then the
files (a crash in between leaves files that a second `forget` finds and cleans). The person is
added to the suppression list so the next sync does not bring them back from the sheet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from cluster_sync import mailstore
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.files import atomic_write, current_mode
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.model import Registration
from cluster_sync.privacy import suppress
from cluster_sync.privacy.messages import addressees, redact_message
from cluster_sync.privacy.outputs import drop_other_formats, rerender_factsheet
from cluster_sync.privacy.published import plan_published, withdraw_published
from cluster_sync.privacy.search import (
    document_text,
    file_mentions,
    mentions,
    message_text,
    redact_text,
)
from cluster_sync.publish.service import mark_withdrawn
from cluster_sync.report.records import made_reports
from cluster_sync.state import State, StoredRegistration, now_utc


@dataclass
class ErasurePlan:
    address: str
    names: list[str] = field(default_factory=list)
    registrations: list[str] = field(default_factory=list)
    messages_deleted: list[int] = field(default_factory=list)
    messages_redacted: list[int] = field(default_factory=list)
    outbox_deleted: list[Path] = field(default_factory=list)
    outbox_redacted: list[Path] = field(default_factory=list)
    factsheets_rerendered: list[Path] = field(default_factory=list)
    factsheets_removed: list[Path] = field(default_factory=list)
    reports_rerendered: list[Path] = field(default_factory=list)
    files_removed: list[Path] = field(default_factory=list)
    log_file: Path | None = None
    other_records: int = 0  # other rows of the state naming them (runs, problems...)
    #: clusters with factsheet files published (Drive, web folder) whose versions name them
    published: list[str] = field(default_factory=list)
    published_files: int = 0  # distinct published files of those clusters
    old_answers: int = 0  # kept answers of earlier versions (version_data) naming them

    @property
    def counts(self) -> dict[str, int]:
        """How many of each (no names: this is what the erasure record keeps)."""
        return {
            "registrations": len(self.registrations),
            "messages deleted": len(self.messages_deleted),
            "messages redacted": len(self.messages_redacted),
            "outbox files deleted": len(self.outbox_deleted),
            "outbox files redacted": len(self.outbox_redacted),
            "factsheets re-rendered": len(self.factsheets_rerendered),
            "old factsheets removed": len(self.factsheets_removed),
            "reports re-rendered": len(self.reports_rerendered),
            "other files removed": len(self.files_removed),
            "log file redacted": int(self.log_file is not None),
            "old answers kept for change lists": self.old_answers,
            "published files withdrawn": self.published_files,
            "other state records": self.other_records,
        }

    @property
    def items(self) -> int:
        return sum(self.counts.values())

    @property
    def files(self) -> list[Path]:
        return [
            *self.outbox_deleted,
            *self.outbox_redacted,
            *self.factsheets_rerendered,
            *self.factsheets_removed,
            *self.reports_rerendered,
            *self.files_removed,
            *([self.log_file] if self.log_file else []),
        ]


@dataclass
class ErasureResult:
    plan: ErasurePlan
    #: places that still name the person afterwards (empty when the erasure is complete)
    remaining: list[str]


def _needles(plan: ErasurePlan) -> list[str]:
    return [plan.address, *(n for n in plan.names if len(n.strip()) >= 3)]


def _names_in(data: dict[str, Any], address: str) -> set[str]:
    key = address.casefold()
    names = {
        str(p.get("name", ""))
        for p in data.get("participants") or []
        if str(p.get("email", "")).casefold() == key
    }
    for field_name in ("contact_email", "respondent_email"):
        person = data.get(field_name) or {}
        if str(person.get("email", "")).casefold() == key:
            names.add(str(person.get("name", "")))
            if field_name == "contact_email":
                names.add(str(data.get("contact_person", "")))
    return {n for n in names if n.strip()}


def _registration_text(reg: StoredRegistration) -> str:
    return json.dumps([reg.data, reg.submitter, reg.title, reg.problems], ensure_ascii=False)


def _outbox(config: Config) -> Path | None:
    return outbox_folder(config)


def plan_erasure(config: Config, state: State, address: str, names: list[str]) -> ErasurePlan:
    address = address.strip()
    if "@" not in address:
        raise ClusterSyncError(
            f"“{address}” is not an email address.", hint="give the address the person used."
        )
    plan = ErasurePlan(address, names=list(names))
    current: dict[str, int] = {}
    for reg in state.registrations():
        if mentions(_registration_text(reg), [address]):
            plan.registrations.append(reg.cluster_id)
            plan.names += sorted(_names_in(reg.data or {}, address) - set(plan.names))
            current[reg.cluster_id] = reg.version
    _plan_messages(state, plan)
    touched = _plan_files(config, state, plan, current)
    plan.published, plan.published_files = plan_published(state, touched | set(plan.registrations))
    plan.old_answers = sum(
        1
        for cluster_id, data in state.db.execute("SELECT cluster_id, data FROM version_data")
        if mentions(str(data), [address])
        or (cluster_id in current and mentions(str(data), _needles(plan)))
    )
    skip = {"registrations", "messages", "version_data"}
    plan.other_records = len(_text_hits(state, [address], skip=skip))
    return plan


def _plan_messages(state: State, plan: ErasurePlan) -> None:
    """Messages to or about them, attachments included; names only in their clusters' ones
    (elsewhere a name may be someone else's)."""
    key = plan.address.casefold()
    for message in mailstore.stored_messages(state):
        recipients = [r.casefold() for r in message.recipients]
        ours = message.cluster_id in plan.registrations
        if key not in recipients:
            raw = mailstore.complete(state, message)
            if not mentions(message_text(raw), _needles(plan) if ours else [key]):
                continue
        only_them = bool(recipients) and all(r == key for r in recipients)
        if message.state != "sent" and only_them:
            plan.messages_deleted.append(message.id)
        else:
            plan.messages_redacted.append(message.id)


def _plan_files(
    config: Config, state: State, plan: ErasurePlan, current: dict[str, int]
) -> set[str]:
    """The files naming them; returns the clusters whose factsheets do."""
    touched: set[str] = set()
    needles = [plan.address]
    # names only where the address was found too: elsewhere a name may be someone else's
    named = _needles(plan)
    seen: set[Path] = set()
    for row in state.db.execute("SELECT cluster_id, version, path FROM factsheets"):
        path = Path(row["path"])
        seen.add(path)
        ours = row["cluster_id"] in current
        if not path.exists() or not file_mentions(path, named if ours else needles):
            continue
        touched.add(row["cluster_id"])
        if current.get(row["cluster_id"]) == row["version"]:
            plan.factsheets_rerendered.append(path)
        else:
            plan.factsheets_removed.append(path)
    for _, docx in made_reports(state):
        seen |= {docx, docx.with_suffix(".md")}
        if file_mentions(docx, named) or file_mentions(docx.with_suffix(".md"), named):
            plan.reports_rerendered.append(docx)
    outbox = _outbox(config)
    for path in sorted(outbox.glob("*.eml")) if outbox and outbox.is_dir() else []:
        seen.add(path)
        if file_mentions(path, needles):
            people = {a.casefold() for a in addressees(path.read_bytes())}
            only_them = people <= {plan.address.casefold()}
            (plan.outbox_deleted if only_them else plan.outbox_redacted).append(path)
    output = config.path(config.output.directory)
    for path in sorted(p for p in output.rglob("*") if p.is_file()) if output.is_dir() else []:
        if path not in seen and file_mentions(path, needles):
            plan.files_removed.append(path)
    log_file = config.path(config.log.file) if config.log.file else None
    if log_file and file_mentions(log_file, needles):
        plan.log_file = log_file
    return touched


def _text_hits(state: State, needles: list[str], skip: set[str]) -> list[str]:
    """Every table and column of the state that still names them, as "table.column"."""
    hits = []
    tables = [r[0] for r in state.db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        if table in skip:
            continue
        columns = [c[1] for c in state.db.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            for (value,) in state.db.execute(f'SELECT "{column}" FROM "{table}"'):
                text = message_text(value) if isinstance(value, bytes) else str(value or "")
                if mentions(text, needles):
                    hits.append(f"{table}.{column}")
    return hits


# -- doing it -------------------------------------------------------------------------------


def erase(config: Config, state: State, plan: ErasurePlan, today: date) -> ErasureResult:
    needles = _needles(plan)
    state.db.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed, not left behind
    with state.transaction():
        _erase_registrations(state, plan, needles)
        _erase_old_answers(state, plan, needles)
        _erase_messages(state, plan, needles)
        _sweep_text(state, needles)
        for cluster_id in plan.published:
            mark_withdrawn(state, cluster_id, "erasure")
        suppress.add(state, plan.address)
        state.db.execute(
            "INSERT INTO erasures (at, kind, items, counts) VALUES (?, 'forget', ?, ?)",
            (now_utc(), plan.items, json.dumps(plan.counts)),
        )
    mailstore.collect(state)  # attachments no message needs any more (theirs among them)
    _erase_files(config, state, plan, needles, today)
    unpublished = withdraw_published(config, state, plan.published)
    state.db.execute("VACUUM")
    state.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    again = plan_erasure(config, state, plan.address, [])
    # messages were searched (decoded) by the plan; everything else column by column
    remaining = _text_hits(state, [plan.address], skip={"messages"})
    remaining += [f"message #{n}" for n in again.messages_deleted + again.messages_redacted]
    remaining += [
        f"a stored attachment ({digest[:12]})"
        for digest, data in state.db.execute("SELECT hash, data FROM attachments")
        if mentions(document_text(bytes(data)), needles)
    ]
    remaining += [str(p) for p in again.files]
    # what was changed must not name them either (a name is checked only there)
    remaining += [str(p) for p in plan.files if p.exists() and file_mentions(p, needles)]
    return ErasureResult(plan, remaining + unpublished)


def _erase_registrations(state: State, plan: ErasurePlan, needles: list[str]) -> None:
    key = plan.address.casefold()
    for cluster_id in plan.registrations:
        reg = state.registration(cluster_id)
        if reg is None:
            continue
        data, content_hash = reg.data, reg.content_hash
        if reg.data:
            # the hash the sync computes for the same row, suppressed: the sheet's old
            # response then reads as unchanged, not as a new version
            cleaned, _ = suppress.suppress_data(reg.data, lambda a: a.casefold() == key)
            if reg.status == "valid":
                content_hash = Registration.from_data(cleaned).content_hash()
            data = json.loads(redact_text(json.dumps(cleaned, ensure_ascii=False), needles))
        submitter = None if reg.submitter and reg.submitter.casefold() == key else reg.submitter
        erased = replace(
            reg,
            data=data,
            content_hash=content_hash,
            submitter=submitter,
            title=redact_text(reg.title, needles),
            problems=[redact_text(p, needles) for p in reg.problems],
        )
        state.save_registration(erased)


def _erase_old_answers(state: State, plan: ErasurePlan, needles: list[str]) -> None:
    """The answers kept of earlier versions (for the change lists of update emails): the person
    leaves them as they leave the registration, so a later change list does not name them."""
    key = plan.address.casefold()
    rows = state.db.execute("SELECT cluster_id, version, data FROM version_data").fetchall()
    for cluster_id, version, data in rows:
        ours = cluster_id in plan.registrations
        if not mentions(str(data), needles if ours else [plan.address]):
            continue
        cleaned, _ = suppress.suppress_data(json.loads(data), lambda a: a.casefold() == key)
        text = redact_text(json.dumps(cleaned, ensure_ascii=False), needles)
        state.db.execute(
            "UPDATE version_data SET data = ? WHERE cluster_id = ? AND version = ?",
            (text, cluster_id, version),
        )


def _erase_messages(state: State, plan: ErasurePlan, needles: list[str]) -> None:
    key = plan.address.casefold()
    for message_id in plan.messages_deleted:
        mailstore.delete_message(state, message_id)
    for message_id in plan.messages_redacted:
        message = mailstore.stored_message(state, message_id)
        if message is None:
            continue
        sent = message.state == "sent"
        people = message.recipients
        # a sent message keeps its recipients count for the audit trail; one still to be
        # delivered simply loses this recipient
        people = (
            ["[erased]" if p.casefold() == key else p for p in people]
            if sent
            else [p for p in people if p.casefold() != key]
        )
        whole = mailstore.complete(state, message)
        redacted = redact_message(whole, plan.address, needles, keep_body=not sent)
        mailstore.replace_bytes(state, message_id, redacted)
        mailstore.replace_recipients(
            state, message_id, people, redact_text(message.subject, needles)
        )


def _sweep_text(state: State, needles: list[str]) -> None:
    """Whatever text is left anywhere (a run's error, a status): the address becomes
    "[removed]"."""
    tables = [r[0] for r in state.db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for column in [c[1] for c in state.db.execute(f'PRAGMA table_info("{table}")')]:
            rows = state.db.execute(
                f'SELECT rowid, "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''
            ).fetchall()
            for rowid, value in rows:
                if mentions(value, needles):
                    state.db.execute(
                        f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?',
                        (redact_text(value, needles), rowid),
                    )


def _erase_files(
    config: Config, state: State, plan: ErasurePlan, needles: list[str], today: date
) -> None:
    # durable before any file is deleted or rewritten: a power loss must not bring the
    # erased data back into the state (cluster_sync/state.py)
    state.make_durable()
    for path in plan.factsheets_removed + plan.factsheets_rerendered:
        drop_other_formats(state, path)
    for path in plan.outbox_deleted + plan.factsheets_removed + plan.files_removed:
        path.unlink(missing_ok=True)
    if plan.factsheets_removed:
        state.db.executemany(
            "DELETE FROM factsheets WHERE path = ?", [(str(p),) for p in plan.factsheets_removed]
        )
    for path in plan.outbox_redacted:
        data = redact_message(path.read_bytes(), plan.address, needles, keep_body=False)
        atomic_write(path, data, mode=current_mode(path))
    for path in plan.factsheets_rerendered:
        rerender_factsheet(config, state, path, today)
    _rerender_reports(config, state, plan, today)
    if plan.log_file:
        # rewritten in place: the open log handler keeps appending to the same file
        with plan.log_file.open("r+", encoding="utf-8", errors="replace") as handle:
            text = redact_text(handle.read(), needles)
            handle.seek(0)
            handle.write(text)
            handle.truncate()


def _rerender_reports(config: Config, state: State, plan: ErasurePlan, today: date) -> None:
    from cluster_sync.report.service import make_report

    periods = {docx: period for period, docx in made_reports(state)}
    for docx in plan.reports_rerendered:
        make_report(config, state, periods[docx], today, out=docx)
