"""Rows a sync can leave alone, found before anything is validated.

A night where nothing changed must cost what changed, not what exists. A registration is
**unchanged**, and its row skipped (not validated, not identified again, nothing written), when
all of these hold:

1. its row carries a Cluster ID that no other row of the sheet carries, and the state knows it;
2. the row's fingerprint equals the one stored when the registration was last processed. The
   fingerprint covers every cell cluster-sync reads from the row (the answers, the Cluster ID,
   the Approved tick) and everything else that decides what a row becomes: the configuration
   (all of it: `[output] formats`, `[mail] attach`, `[branding]` and `[safety]` included),
   the spreadsheet's time zone, the factsheet and email templates, the logos, and this
   program's version.
   A new template or setting therefore makes one full run, like before;
3. nothing is left to do for it: a valid registration's current version was emailed (or it
   waits for an Approved tick that is still missing), and its factsheet file is in the output
   folder, with a file of every configured format (a PDF that could not be made is tried
   again); an invalid one's submitter was told of exactly its current problems;
4. no changed row has the same natural key (cluster title), which could make one of them a
   duplicate of the other.

What an unchanged row still gets: its place in the run's counts and digest (as the full path
would report it), and its Sync status cell, recomputed with everyone's (messages delivered since
may change it) and written only when it differs from what the sheet shows.

This still reads and parses the whole export, which is most of what such a night costs at
thousands of rows. When the export file is byte for byte what the last run read and nothing
else changed, cluster_sync/nochange.py skips the read and every row as well.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cluster_sync import __version__
from cluster_sync.config import Config
from cluster_sync.fingerprint import template_fingerprint
from cluster_sync.sources.base import SourceRow
from cluster_sync.state import State, StoredRegistration
from cluster_sync.summary import RowResult

#: bump when what a fingerprint covers changes
SCHEME = "1"


def settings_digest(config: Config) -> str:
    """What besides the rows decides what a row becomes: this program's version, the
    configuration, the factsheet and email templates and the logos; as one digest."""
    digest = hashlib.sha256(f"{SCHEME}\0{__version__}\0".encode())
    digest.update(config.model_dump_json().encode())
    digest.update(template_fingerprint(config).encode())  # the factsheet template and logos
    emails = config.path(config.output.email_templates)
    # the English templates and each language folder's (templates and messages.toml)
    found = [*emails.glob("*.j2"), *emails.glob("*/*.j2"), *emails.glob("*/messages.toml")]
    for path in sorted(found) if emails.is_dir() else []:
        relative = path.relative_to(emails).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run_salt(settings: str, timezone: ZoneInfo | None) -> str:
    """The settings digest and the spreadsheet's time zone (which dates depend on)."""
    return hashlib.sha256(f"{settings}\0{timezone}".encode()).hexdigest()[:16]


def row_fingerprint(row: SourceRow, salt: str, cluster_id: str | None) -> str:
    """The row's raw cells (as read, their types too) and the run's salt, hashed. The Cluster
    ID is the one the row carries once its ID is written back, so the run that assigns an ID
    stores the fingerprint the next run reads."""
    values = row.values.values()
    head = f"{salt}\0{cluster_id}\0{row.approved}\0{'|'.join(row.values)}\0"
    kinds = "|".join(type(v).__name__ for v in values)
    cells = "\0".join(map(str, values))
    return hashlib.blake2b(f"{head}{kinds}\0{cells}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Quiet:
    """An unchanged row and what the state knows of it."""

    row: SourceRow
    stored: StoredRegistration

    def result(self) -> RowResult:
        """What the full path reports for the same row (engine.Sync._valid / _invalid)."""
        s = self.stored
        if s.status == "invalid":
            return RowResult(self.row.row_number, s.cluster_id, s.title, "invalid", problems=s.problems)  # fmt: skip
        return RowResult(self.row.row_number, s.cluster_id, s.title, "unchanged", f"factsheet v{s.version}")  # fmt: skip

    def held(self) -> bool:
        return self.stored.status == "valid" and self.stored.emailed_version < self.stored.version


def split(
    state: State, rows: Sequence[SourceRow], salt: str, factsheets: Path, config: Config
) -> tuple[list[Quiet], list[SourceRow]]:
    """(unchanged rows, rows to process): conditions 1-3 above, from one read of the state."""
    known = state.registrations_brief()
    ids = Counter(r.cluster_id for r in rows if r.cluster_id)
    files = {p.name for p in factsheets.iterdir()} if factsheets.is_dir() else set()
    done = _Done(files, _suffixes(config), state.clusters_missing_files(), config.approval.required)
    quiet: list[Quiet] = []
    rest: list[SourceRow] = []
    for row in rows:
        found = known.get(row.cluster_id) if row.cluster_id and ids[row.cluster_id] == 1 else None
        if found and _settled(row, found[0], found[1], salt, done):
            quiet.append(Quiet(row, found[0]))
        else:
            rest.append(row)
    return quiet, rest


def _suffixes(config: Config) -> list[str]:
    """The file endings of the configured formats beside the Word file (".pdf")."""
    from cluster_sync.outputs import formats

    return [s for f in formats(config) if (s := f.target(Path("x.docx")).suffix) != ".docx"]


@dataclass(frozen=True)
class _Done:
    """What the output folder and the state say has been made."""

    files: set[str]  # the names in the factsheet folder
    suffixes: list[str]  # every configured format's file must be there too
    missing: set[str]  # clusters whose current version has a file that could not be made
    approval: bool


def _settled(
    row: SourceRow, stored: StoredRegistration, factsheet: str | None, salt: str, done: _Done
) -> bool:
    if stored.row_fingerprint is None or stored.row_fingerprint != row_fingerprint(
        row, salt, row.cluster_id
    ):
        return False
    if stored.status == "invalid":
        return stored.notified_problems_hash == stored.problems_hash
    if stored.status != "valid" or factsheet is None or stored.cluster_id in done.missing:
        return False
    name = os.path.basename(factsheet)
    # a file that went missing, or a PDF LibreOffice could not make, is tried again
    if any(
        n not in done.files
        for n in [name, *(str(Path(name).with_suffix(s)) for s in done.suffixes)]
    ):
        return False
    return stored.emailed_version >= stored.version or (done.approval and not row.approved)


def apart_from(quiet: list[Quiet], keys: set[str]) -> tuple[list[Quiet], list[SourceRow]]:
    """Condition 4: unchanged rows whose natural key no processed row (nor another unchanged
    row) has; the others go back to be processed."""
    counts = Counter(q.stored.natural_key for q in quiet)
    kept = [q for q in quiet if q.stored.natural_key not in keys and counts[q.stored.natural_key] == 1]  # fmt: skip
    back = [q.row for q in quiet if q.stored.natural_key in keys or counts[q.stored.natural_key] > 1]  # fmt: skip
    return kept, back
