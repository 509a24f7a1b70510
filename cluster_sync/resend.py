"""`cluster-sync resend`: the current factsheet of one cluster again, through the mail queue.

Each request queues under a dedupe key of its own (`resend:CL-…:vN:<request>`), so asking twice
sends twice, as asked, while a crash during delivery still never sends one request twice. The
message is recorded like every email (`cluster-sync outbox --all` lists it) and is never taken
for the factsheet's first delivery in the sheet's status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.links import registration_link
from cluster_sync.mailqueue import enqueue
from cluster_sync.model import Address, Registration
from cluster_sync.outputs import Made, attachments
from cluster_sync.render.factsheet import factsheet_context
from cluster_sync.render.languages import choose_language
from cluster_sync.report.service import report_composer
from cluster_sync.sources.base import normalise_cluster_id
from cluster_sync.state import State, StoredRegistration
from cluster_sync.validate import parse_addresses


@dataclass(frozen=True)
class Resent:
    cluster_id: str
    version: int
    recipients: tuple[str, ...]
    queued: int


def resend(config: Config, state: State, cluster_id: str, to: str | None, now: datetime) -> Resent:
    """Queue the factsheet last made for `cluster_id` to its people, or to the one address
    `to`; raises ClusterSyncError saying what to do when there is nothing to send."""
    stored = _registration(state, cluster_id)
    path = _factsheet_file(state, stored)
    assert stored.data is not None  # _registration checked it
    reg = Registration.from_data(stored.data)
    people = [_one_address(to)] if to else reg.recipients()
    if not to and config.mail.factsheet_to == "contact":
        people = people[:1]
    link, personal = registration_link(None, config.form.url)
    context = factsheet_context(reg, stored.cluster_id, stored.version, now.date())
    context.update(updated=False, short_name=reg.short_name, changes=[])
    context.update(edit_link=link, edit_link_personal=personal)
    context.update(start_date=reg.start_date, end_date=reg.end_date)  # in the email's words
    composer = report_composer(config)
    # the language the registration asked for when it was last stored (or the settings')
    language = choose_language(composer.languages, config.mail, stored.cluster_id, reg.language)
    messages = composer.compose(
        dedupe_key=f"resend:{stored.cluster_id}:v{stored.version}:{uuid.uuid4().hex}",
        kind="factsheet_resend",
        cluster_id=stored.cluster_id,
        template="factsheet",
        context=context,
        to=people[:1],
        cc=people[1:],
        attachments=attachments(config, path, _files(state, stored)),
        now=now,
        language=language.code,
    )
    with state.transaction():
        queued = sum(enqueue(state, m, None, now) for m in messages)
    return Resent(stored.cluster_id, stored.version, tuple(a.email for a in people), queued)


def _registration(state: State, typed: str) -> StoredRegistration:
    cluster_id = normalise_cluster_id(typed)
    stored = state.registration(cluster_id) if cluster_id else None
    if stored is None:
        raise ClusterSyncError(
            f"There is no registration {typed!r}.",
            hint="give a Cluster ID as `cluster-sync status` or the sheet shows it (CL-2025-007).",
        )
    if stored.version == 0 or not stored.data:
        raise ClusterSyncError(
            f"{stored.cluster_id} has no factsheet yet (its registration is {stored.status}).",
            hint="its factsheet is made and sent by the sync once the registration is valid.",
        )
    return stored


def _factsheet_file(state: State, stored: StoredRegistration) -> Path:
    where = state.factsheet_path(stored.cluster_id, stored.version)
    if where is None or not Path(where).is_file():
        raise ClusterSyncError(
            f"The factsheet v{stored.version} of {stored.cluster_id} is not on disk "
            f"({where or 'never recorded'}).",
            hint="run `cluster-sync sync`: it renders a missing factsheet again; then resend.",
        )
    return Path(where)


def _files(state: State, stored: StoredRegistration) -> dict[str, Made]:
    """The other formats made for this version (PDF…), attached as `[mail] attach` says."""
    recorded = state.factsheet_files(stored.cluster_id, stored.version)
    return {name: Made(Path(p) if p else None, why) for name, (p, why) in recorded.items()}


def _one_address(value: str) -> Address:
    found = parse_addresses(value)
    address, error = found[0]
    if address is None or len(found) != 1:
        raise ClusterSyncError(
            f"--to {value!r} is not one email address{': ' + error if error else ''}.",
            hint="give one address, such as --to ana@example.org.",
        )
    return address
