"""`cluster-sync resend`: the current factsheet of one cluster again, through the mail queue.

Each request queues under a dedupe key of its own (`resend:CL-…:vN:<request>`), so asking twice
sends twice, as asked, while a crash during delivery still never sends one request twice. The
message is recorded like every email (`cluster-sync queue --all` lists it) and is never taken
for the factsheet's first delivery in the sheet's status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cluster_sync import keys
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.factsheet_mail import (
    email_context,
    email_language,
    one_address,
    people,
    with_factsheet,
)
from cluster_sync.mailqueue import enqueue
from cluster_sync.outputs import Made, attachments
from cluster_sync.publish.service import refuse_without_consent
from cluster_sync.report.service import report_composer
from cluster_sync.state import State, StoredRegistration


@dataclass(frozen=True)
class Resent:
    cluster_id: str
    version: int
    recipients: tuple[str, ...]
    queued: int


def resend(config: Config, state: State, cluster_id: str, to: str | None, now: datetime) -> Resent:
    """Queue the factsheet last made for `cluster_id` to its people, or to the one address
    `to`; raises ClusterSyncError saying what to do when there is nothing to send."""
    stored, reg = with_factsheet(state, cluster_id)
    refuse_without_consent(state, stored.cluster_id)
    path = _factsheet_file(state, stored)
    recipients = [one_address(to, "--to")] if to else people(config, reg)
    today = now.astimezone(config.zone).date()
    composer = report_composer(config)
    messages = composer.compose(
        dedupe_key=keys.resend(stored.cluster_id, stored.version, uuid.uuid4().hex),
        kind="factsheet_resend",
        cluster_id=stored.cluster_id,
        template="factsheet",
        context=email_context(config, reg, stored.cluster_id, stored.version, today),
        to=recipients[:1],
        cc=recipients[1:],
        attachments=attachments(config, path, _files(state, stored)),
        now=now,
        language=email_language(config, composer, stored.cluster_id, reg),
    )
    with state.transaction():
        queued = sum(enqueue(state, m, None, now) for m in messages)
    return Resent(stored.cluster_id, stored.version, tuple(a.email for a in recipients), queued)


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
