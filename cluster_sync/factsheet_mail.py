"""What the sync and the commands acting on one cluster (`resend`, `rerender`, `preview`) share:
the stored registration behind a typed Cluster ID, its people, the factsheet email's context,
link and message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cluster_sync import keys, recovery
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.messages import Message
from cluster_sync.model import Address, Registration
from cluster_sync.outputs import Made, attachments
from cluster_sync.render.email import Composer, Outgoing
from cluster_sync.render.languages import choose_language
from cluster_sync.render.messages import edit_link, factsheet_message
from cluster_sync.sources.base import normalise_cluster_id
from cluster_sync.state import State, StoredRegistration
from cluster_sync.validate import parse_addresses

log = logging.getLogger(__name__)


def with_factsheet(state: State, typed: str) -> tuple[StoredRegistration, Registration]:
    """The registration `typed` names and its answers, when it has a factsheet; else a
    ClusterSyncError saying what to do."""
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
    return stored, Registration.from_data(stored.data)


def people(config: Config, reg: Registration) -> list[Address]:
    """Who gets the factsheet email: the contact first, then the participants, unless
    `[mail] factsheet_to = "contact"`."""
    everyone = reg.recipients()
    return everyone[:1] if config.mail.factsheet_to == "contact" else everyone


def factsheet_link(
    config: Config, state: State, path: Path, cluster_id: str, version: int, files: dict[str, Made]
) -> str | None:
    """`[publish] attach = false`: the link the factsheet email carries instead of the file, when
    it is known now (cluster_sync/publish/service.py); None: attach the file."""
    if config.publish is None or config.publish.attach:
        return None  # without loading the publishing code
    from cluster_sync.publish.service import email_link

    others = {n: (str(m.path) if m.path else None, m.problem) for n, m in files.items()}
    return email_link(config, state, path, cluster_id, version, others)


def compose_factsheet(
    composer: Composer,
    config: Config,
    reg: Registration,
    cluster_id: str,
    version: int,
    *,
    kind: str,
    context: dict[str, Any],
    natural_key: str,
    path: Path,
    files: dict[str, Made],
    now: datetime,
    language: str,
    content_hash: str | None = None,
) -> list[Outgoing]:
    """The factsheet email of a version to its people, under the one key a version's email has
    (so the sync and `rerender --notify` never send it twice), with the headers recovery reads;
    the files attached unless the context carries the link instead. `content_hash`: the
    registration's, when the caller has it already."""
    everyone = people(config, reg)
    return composer.compose(
        dedupe_key=keys.factsheet(cluster_id, version),
        kind=kind,
        cluster_id=cluster_id,
        template="factsheet",
        context=context,
        to=everyone[:1],
        cc=everyone[1:],
        attachments=[] if context["factsheet_link"] else attachments(config, path, files),
        headers={
            recovery.REF_HEADER: recovery.ref(natural_key),
            recovery.CONTENT_HEADER: content_hash or reg.content_hash(),
        },
        now=now,
        language=language,
    )


def email_context(
    config: Config,
    reg: Registration,
    cluster_id: str,
    version: int,
    today: date,
    *,
    updated: bool = False,
    changes: Sequence[Message | str] = (),
    rerendered: bool = False,
    factsheet_link: str | None = None,
) -> dict[str, Any]:
    """The factsheet email's tags (docs/templates.md), built as the sync builds them, with the
    form's link: the stored answers do not keep the row's personal edit link."""
    return factsheet_message(
        reg,
        cluster_id,
        version,
        today,
        updated=updated,
        changes=changes,
        link=edit_link(None, config.form.url),
        factsheet_link=factsheet_link,
        rerendered=rerendered,
    )


def email_language(config: Config, composer: Composer, cluster_id: str, reg: Registration) -> str:
    """The language of this registration's emails (docs/languages.md), from the answer stored
    with its last version; a note when that answer names no language there are emails in."""
    choice = choose_language(composer.languages, config.mail, cluster_id, reg.language)
    if choice.note:
        log.warning("%s: %s", cluster_id, choice.note)
    return choice.code


def emailed_data(state: State, stored: StoredRegistration) -> dict[str, Any] | None:
    """The answers of the version the partner last received (None: none received, or received
    before versions were kept)."""
    if stored.emailed_version == 0:
        return None
    if stored.emailed_version == stored.version:
        return stored.data
    return state.version_data(stored.cluster_id, stored.emailed_version)


def one_address(value: str, option: str) -> Address:
    """The one address an option (`--to`, `--send-to`) gives, or an error saying so."""
    found = parse_addresses(value)
    address, error = found[0]
    if address is None or len(found) != 1:
        raise ClusterSyncError(
            f"{option} {value!r} is not one email address{': ' + error if error else ''}.",
            hint=f"give one address, such as {option} ana@example.org.",
        )
    return address
