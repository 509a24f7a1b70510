"""What a lost, deleted or restored state database can get back from the sheet, the outputs
and the outbox, so that it never renumbers clusters or mails anyone twice.

Found at the start of every run, before any ID is handed out:

- every Cluster ID seen anywhere (the sheet's ID column, factsheet file names, outbox file names
  and headers, the state's own messages) raises the per-year counter past it: an ID is never
  handed out twice, even when the database starts empty;
- every message the outbox folder holds (each carries its queue key in `X-Cluster-Sync-Key`) is
  recorded as delivered: the same factsheet version or problem report is never queued again, and
  a message a restored backup still calls "queued" is not sent a second time;
- a registration the state does not know is recognised by its factsheet file name (the title's
  slug) or by the `X-Cluster-Sync-Ref` of the messages sent about it (a hash of its title), and
  gets back its Cluster ID, its factsheet version, what was emailed and which problems its
  submitter was told of.

What cannot be recovered is listed in docs/operations.md with its exact consequence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

from cluster_sync import keys, mailqueue, text
from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.mailqueue import SAVED_REPLY
from cluster_sync.render.email import KEY_HEADER
from cluster_sync.sources.base import SourceRow
from cluster_sync.state import State, StoredRegistration

REF_HEADER = "X-Cluster-Sync-Ref"
CONTENT_HEADER = "X-Cluster-Sync-Content"
_ID = keys.CLUSTER_ID
_FACTSHEET = re.compile(rf"^(?P<id>{_ID})-(?P<slug>.*)-v(?P<version>\d+)\.docx$")
_ANY_ID = re.compile(rf"(?<![A-Z]){_ID}(?!\d)")
# What the queue says of a message found in the outbox folder: saved there (mailqueue.py's
# words, so `status` and the sheet say "saved to the outbox", as for any outbox message).
_FOUND = f"{SAVED_REPLY} (found there when the state database was rebuilt)"


def ref(natural_key: str) -> str:
    """What messages say about the registration they concern, without any of its text."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:20]


def slug(title: str) -> str:
    from cluster_sync.render.factsheet import factsheet_filename

    name = factsheet_filename("X-0000-000", title, 1)
    return name.removeprefix("X-0000-000-").removesuffix("-v1.docx")


@dataclass
class Delivered:
    """One message found in the outbox folder."""

    key: str
    message_id: str
    cluster_id: str | None
    ref: str | None
    content: str | None
    order: float  # when it was written
    recipients: list[str] = field(default_factory=list)

    @property
    def sent_at(self) -> str:
        return datetime.fromtimestamp(self.order, UTC).isoformat(timespec="seconds")


@dataclass
class Evidence:
    ids: set[str] = field(default_factory=set)
    slugs: dict[str, set[str]] = field(default_factory=dict)  # slug -> cluster ids
    versions: dict[str, int] = field(default_factory=dict)  # cluster id -> newest file version
    delivered: dict[str, Delivered] = field(default_factory=dict)  # queue key -> message
    #: whether the outbox folder tells what was delivered (False with SMTP)
    outbox: bool = False

    def cluster_for(self, natural_key: str, title: str) -> str | None:
        """The one ID messages or factsheet files give this registration, else None."""
        mine = ref(natural_key)
        found = {d.cluster_id for d in self.delivered.values() if d.ref == mine and d.cluster_id}
        if not found and title and self.slugs:  # no factsheet file: no title to transliterate
            found = set(self.slugs.get(slug(title), set()))
        return next(iter(found)) if len(found) == 1 else None  # ambiguous: none


def gather(state: State, config: Config, rows: list[SourceRow]) -> Evidence:
    evidence = Evidence()
    evidence.ids.update(r.cluster_id for r in rows if r.cluster_id)
    evidence.ids.update(mailqueue.cluster_ids(state))
    _factsheets(config.path(config.output.directory) / "factsheets", evidence)
    folder = outbox_folder(config)
    if config.mail.backend == "outbox" and folder:
        # An empty folder (its files moved away) tells nothing: taken as with SMTP.
        evidence.outbox = folder.is_dir() and any(folder.glob("*.eml"))
        _outbox(folder, state, evidence)
    return evidence


def _factsheets(folder: Path, evidence: Evidence) -> None:
    if not folder.is_dir():
        return
    for path in folder.glob("*.docx"):
        m = _FACTSHEET.match(path.name)
        if m:
            evidence.ids.add(m["id"])
            evidence.slugs.setdefault(m["slug"], set()).add(m["id"])
            version = int(m["version"])
            evidence.versions[m["id"]] = max(evidence.versions.get(m["id"], 0), version)


def _outbox(folder: Path, state: State, evidence: Evidence) -> None:
    """Read the headers of the .eml files the state does not already know as sent (the file
    name carries a token of the Message-ID; see mailers/outbox.py)."""
    if not folder.is_dir():
        return
    known = {hashlib.sha256(m.encode()).hexdigest()[:8] for m in mailqueue.sent_message_ids(state)}
    parser = BytesHeaderParser(policy=default)
    for path in folder.glob("*.eml"):
        evidence.ids.update(_ANY_ID.findall(path.stem))
        if path.stem.rsplit("-", 1)[-1] in known:
            continue
        try:
            with path.open("rb") as handle:
                headers = parser.parse(handle)
        except OSError:
            continue
        key = str(headers.get(KEY_HEADER) or "").strip()
        if not key:
            continue
        evidence.ids.update(_ANY_ID.findall(key))
        match = keys.FACTSHEET.match(key) or keys.PROBLEMS.match(key)
        evidence.delivered[key] = Delivered(
            key=key,
            message_id=str(headers.get("Message-ID") or "").strip() or f"<recovered:{key}>",
            cluster_id=match["id"] if match else None,
            ref=str(headers.get(REF_HEADER) or "").strip() or None,
            content=str(headers.get(CONTENT_HEADER) or "").strip() or None,
            order=path.stat().st_mtime,
            recipients=_recipients(headers),
        )


def _recipients(headers: Message) -> list[str]:
    found = []
    for name in ("To", "Cc"):
        header = headers.get(name)
        found += [a.addr_spec for a in getattr(header, "addresses", ())]
    return found


def apply(state: State, evidence: Evidence) -> int:
    """The counters and the delivered messages; returns how many messages were recovered."""
    recovered = 0
    with state.transaction():
        for cluster_id in evidence.ids:
            state.adopt_cluster_id(cluster_id)
        for d in evidence.delivered.values():
            if not keys.run_scoped(d.key):
                recovered += mailqueue.record_delivered(
                    state, d.key, d.message_id, d.cluster_id, d.recipients, d.sent_at, _FOUND
                )
    return recovered


def _found(evidence: Evidence, cluster_id: str) -> tuple[list[tuple[int, Delivered]], list[str]]:
    """The factsheet emails (version, message) and the problem reports (their hashes, oldest
    first) the outbox holds for one registration."""
    sent, told = [], []
    for d in evidence.delivered.values():
        if (m := keys.FACTSHEET.match(d.key)) and m["id"] == cluster_id:
            sent.append((int(m["version"]), d))
        elif (m := keys.PROBLEMS.match(d.key)) and m["id"] == cluster_id:
            told.append((d.order, m["hash"]))
    return sent, [h for _, h in sorted(told)]


def catch_up(state: State, evidence: Evidence, stored: StoredRegistration) -> None:
    """A registration an older backup knows at an earlier version than the outbox shows was
    emailed since: it continues from the newest delivered version, so that version number is
    never made again with other answers (and its update never taken for already sent)."""
    sent, _ = _found(evidence, stored.cluster_id)
    emailed = max((v for v, _ in sent), default=0)
    if emailed <= stored.emailed_version:
        return
    made_from = next((d.content for v, d in sent if v == emailed and d.content), None)
    state.save_registration(
        replace(
            stored,
            status="valid",
            version=max(stored.version, emailed),
            emailed_version=emailed,
            content_hash=made_from or stored.content_hash,
        )
    )


def seed(
    state: State,
    evidence: Evidence,
    cluster_id: str,
    natural_key: str,
    title: str,
    content: str | None,
    now: str,
) -> None:
    """A registration the state has lost, as far as the outputs and the outbox tell it.
    `content` is the hash of the row's answers now (None for an invalid row)."""
    state.adopt_cluster_id(cluster_id)
    sent, told = _found(evidence, cluster_id)
    emailed = max((v for v, _ in sent), default=0)
    version = max(evidence.versions.get(cluster_id, 0), emailed)
    if not version and not told:
        return
    if not evidence.outbox:
        # Nothing tells what was delivered: assume what was rendered was sent, rather than
        # mail every registration again (docs/operations.md says what this can miss).
        emailed = version
    # The answers the newest delivered version was made from, when its message says so; an
    # edit since then is then a new version. Otherwise the file on disk is taken as current.
    made_from = next((d.content for v, d in sent if v == version and d.content), None)
    state.save_registration(
        StoredRegistration(
            cluster_id=cluster_id,
            natural_key=natural_key,
            status="valid" if version else "invalid",
            title=text.one_line(title, 300),
            content_hash=(made_from or content) if version else None,
            data=None,
            problems=[],
            problems_hash=None,
            notified_problems_hash=told[-1] if told else None,
            version=version,
            emailed_version=emailed,
            approved=False,
            submitter=None,
            first_seen=now,
            last_seen=now,
            last_changed=now,
        )
    )
