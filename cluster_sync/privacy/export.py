"""`export-person`: everything held about one address, for an access request (GDPR art. 15):
the registrations that name them and how, the emails to or about them, and the files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cluster_sync import mailstore
from cluster_sync.config import Config
from cluster_sync.privacy import suppress
from cluster_sync.privacy.forget import plan_erasure
from cluster_sync.privacy.messages import addressees
from cluster_sync.state import State


def _roles(data: dict[str, Any], submitter: str | None, key: str) -> list[str]:
    roles = []
    if str((data.get("contact_email") or {}).get("email", "")).casefold() == key:
        roles.append("contact")
    if str((data.get("respondent_email") or {}).get("email", "")).casefold() == key:
        roles.append("respondent")
    if any(str(p.get("email", "")).casefold() == key for p in data.get("participants") or []):
        roles.append("participant")
    if (submitter or "").casefold() == key and not roles:
        roles.append("submitter")
    return roles or ["mentioned in the answers"]


def person_record(config: Config, state: State, address: str) -> dict[str, Any]:
    plan = plan_erasure(config, state, address, [])
    key = plan.address.casefold()
    registrations = []
    for cluster_id in plan.registrations:
        reg = state.registration(cluster_id)
        if reg is None:
            continue
        data = reg.data or {}
        registrations.append(
            {
                "cluster_id": reg.cluster_id,
                "title": reg.title,
                "status": reg.status,
                "roles": _roles(data, reg.submitter, key),
                "participant_entries": [
                    p
                    for p in data.get("participants") or []
                    if str(p.get("email", "")).casefold() == key
                ],
                "first_seen": reg.first_seen,
                "last_changed": reg.last_changed,
                # their own data: the other people of the cluster are left out (suppress_data
                # with "everyone but them"), as their details are not the requester's to see
                "answers": suppress.suppress_data(data, lambda a: a.casefold() != key)[0],
            }
        )
    messages = []
    for message_id in plan.messages_deleted + plan.messages_redacted:
        message = mailstore.stored_message(state, message_id)
        if message is None:
            continue
        to_them = key in {a.casefold() for a in addressees(message.raw)}
        messages.append(
            {
                "id": message.id,
                "kind": message.kind,
                "cluster_id": message.cluster_id,
                "subject": message.subject,
                "state": message.state,
                "queued_at": message.queued_at,
                "sent_at": message.sent_at,
                "role": "recipient" if to_them else "mentioned in the message",
            }
        )
    files = {
        "factsheets": _with_other_formats(
            state, plan.factsheets_rerendered + plan.factsheets_removed
        ),
        "reports": [str(p) for p in plan.reports_rerendered],
        "outbox": [str(p) for p in plan.outbox_deleted + plan.outbox_redacted],
        "other outputs": [str(p) for p in plan.files_removed],
        "log": [str(plan.log_file)] if plan.log_file else [],
    }
    return {
        "address": plan.address,
        "controller_note": "Held by cluster-sync for the programme; see docs/privacy.md.",
        "erased_before": _was_erased(state, plan.address),
        "registrations": registrations,
        "earlier_versions": _earlier_answers(state, plan.address),
        "messages": messages,
        "files": files,
        "published": [
            dict(r)
            for r in state.db.execute(
                "SELECT DISTINCT cluster_id, format, url, target FROM published "
                "WHERE state = 'done' AND url IS NOT NULL AND cluster_id IN "
                f"({', '.join('?' * len(plan.published))}) ORDER BY 1, 2",
                plan.published,
            )
        ],
    }


def _with_other_formats(state: State, documents: list[Path]) -> list[str]:
    """Each factsheet and the files made of it (its PDF)."""
    found = []
    for path in documents:
        found.append(str(path))
        for (other,) in state.db.execute(
            "SELECT f.path FROM factsheet_files f JOIN factsheets d ON d.cluster_id = "
            "f.cluster_id AND d.version = f.version WHERE d.path = ? AND f.path IS NOT NULL "
            "AND f.path != ?",
            (str(path), str(path)),
        ):
            found.append(str(other))
    return found


def _earlier_answers(state: State, address: str) -> list[dict[str, Any]]:
    """The answers kept of earlier versions that name them (for change lists), their own
    data only."""
    key = address.casefold()
    found = []
    for cluster_id, version, data in state.db.execute(
        "SELECT cluster_id, version, data FROM version_data ORDER BY 1, 2"
    ):
        if key not in str(data).casefold():
            continue
        answers = suppress.suppress_data(json.loads(data), lambda a: a.casefold() != key)[0]
        found.append({"cluster_id": cluster_id, "version": version, "answers": answers})
    return found


def _was_erased(state: State, address: str) -> bool:
    check = suppress.checker(state)
    return bool(check and check(address))


def person_text(record: dict[str, Any]) -> str:
    """The same, in words, for the letter to the person."""
    lines = [f"What cluster-sync holds about {record['address']}:", ""]
    if record["erased_before"]:
        lines.append("This address was erased on request earlier; it is on the suppression list.")
    lines.append(f"Registrations naming this address: {len(record['registrations'])}")
    for reg in record["registrations"]:
        lines.append(f"  {reg['cluster_id']} “{reg['title']}”: {', '.join(reg['roles'])}")
    lines.append(f"Emails to or about this address: {len(record['messages'])}")
    for m in record["messages"]:
        when = m["sent_at"] or m["queued_at"]
        lines.append(f"  #{m['id']} {m['kind']} ({m['state']} {when}): {m['subject']}")
    lines.append(f"Earlier versions' answers kept naming it: {len(record['earlier_versions'])}")
    lines.append(f"Published factsheet files naming it: {len(record['published'])}")
    lines += [f"  {p['cluster_id']} {p['format']}: {p['url']}" for p in record["published"]]
    lines.append("Files naming this address:")
    for label, paths in record["files"].items():
        lines.append(f"  {label}: {len(paths)}")
        lines += [f"    {p}" for p in paths]
    return "\n".join(lines) + "\n"


def write_record(record: dict[str, Any], out: Path) -> tuple[Path, Path]:
    from cluster_sync.files import atomic_write

    text_path = out.with_suffix(".txt")
    atomic_write(out, json.dumps(record, ensure_ascii=False, indent=2, default=str).encode())
    atomic_write(text_path, person_text(record).encode())
    return out, text_path
