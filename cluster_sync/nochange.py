"""A night where nothing changed: the export is not even read.

cluster_sync/unchanged.py skips each unchanged row after reading the export; at 10,000 rows the
read itself (parsing the file, keeping each cell's position for write-back) is most of what is
left. A run skips reading and every row, and reports again what the last run reported, when
all of these hold:

1. the last run was a **repeat**: it changed nothing in the state (the state's generation,
   cluster_sync/generation.py, was the same at its start and its end), wrote nothing into the
   export, made no file, queued no message, found no row it could not read or process, and its
   export gave no warning. The results it reported are kept with the digests below;
2. the export is byte for byte what that run read (sha256 of the file);
3. the settings digest (the configuration, templates, logos, program version:
   unchanged.settings_digest) is the same;
4. the state's generation is the one that run ended with: nothing was written since, by a
   command (`resend`, `forget`, `approve`...), another run, or a restored copy of the state;
5. the factsheet folder lists the same file names (a deleted factsheet is made again);
6. nothing the run's later steps do could change a row's status: no message to deliver (queued,
   waiting for a retry, or left `sending`), nothing for retention to remove, nothing to publish
   or withdraw;
7. this is a real run of the whole sheet from an export file: not `--dry-run`, not `--only`,
   not without write-back. A Google sheet is always read (its values would have to be fetched
   to be hashed, which is most of its read).

Then the run still does everything that does not depend on the rows: the monthly report when it
is due, retention, publishing, delivery and the digest, exactly as a full run would; its counts
and exit code are the last run's, which a full run would repeat (the same rows, the same state).
Anything else reads the export as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cluster_sync import generation
from cluster_sync.config import Config
from cluster_sync.mailqueue import queue_counts
from cluster_sync.privacy.retention import plan_retention
from cluster_sync.sources.base import Digested, Source
from cluster_sync.state import State
from cluster_sync.summary import RowResult, RunSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repeat:
    """What a repeat run reported of its rows, to report again."""

    rows: int
    blank: int
    results: list[RowResult] = field(default_factory=list)
    awaiting_approval: list[RowResult] = field(default_factory=list)
    #: what retention has to do now (nothing), found while deciding, so as not to ask twice
    pruned: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, summary: RunSummary) -> Repeat:
        return cls(summary.rows, summary.blank, summary.results, summary.awaiting_approval)

    def fill(self, summary: RunSummary) -> None:
        summary.rows, summary.blank = self.rows, self.blank
        summary.results = list(self.results)
        summary.awaiting_approval = list(self.awaiting_approval)

    def dumps(self) -> str:
        return json.dumps(
            {
                "rows": self.rows,
                "blank": self.blank,
                "results": [_plain(r) for r in self.results],
                "awaiting_approval": [_plain(r) for r in self.awaiting_approval],
            }
        )

    @classmethod
    def loads(cls, text: str) -> Repeat:
        data = json.loads(text)
        return cls(
            int(data["rows"]),
            int(data["blank"]),
            [RowResult(**r) for r in data["results"]],
            [RowResult(**r) for r in data["awaiting_approval"]],
        )


def _plain(result: RowResult) -> dict[str, Any]:
    data = asdict(result)
    del data["changes"]  # a repeat has none: only an updated factsheet has
    data["told"] = ""  # the digest says it afresh, from the queue
    return data


def folder_digest(folder: Path) -> str:
    """The names in the factsheet folder, hashed (what unchanged._settled looks at)."""
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def digested(source: Source) -> Digested | None:
    return source if isinstance(source, Digested) else None


def is_repeat(summary: RunSummary, source: Digested, start: int, now: int) -> str | None:
    """The export digest to remember when the run that made `summary` was a repeat (condition
    1 of the module's docstring), else None."""
    left = source.left_digest()
    if left is None or start != now or summary.write_back_error or summary.mass_change:
        return None
    counts = summary.counts
    busy = ("factsheets", "queued", "error", "written_back", "new", "updated", "sent", "saved")
    if any(counts[k] for k in busy) or summary.erased_rows or summary.output_problems:
        return None
    if any(r.changes or r.news for r in summary.results) or summary.outputs:
        return None
    return left


def remember(state: State, export: str, settings: str, folder: str, summary: RunSummary) -> None:
    with state.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO quiet_run (id, export, settings, folder, generation, summary) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (export, settings, folder, generation.current(db), Repeat.of(summary).dumps()),
        )


def forget(state: State) -> None:
    with state.transaction() as db:
        db.execute("DELETE FROM quiet_run")


def recall(
    state: State,
    source: Digested,
    settings: str,
    folder: Path,
    config: Config,
    now: datetime,
    retention: bool,
) -> Repeat | None:
    """The last run's report when this run may repeat it (the module's docstring), else None.
    `retention`: the run applies the retention rules."""
    row = state.db.execute(
        "SELECT export, settings, folder, generation, summary FROM quiet_run"
    ).fetchone()
    if row is None or row[1] != settings or row[3] != generation.current(state.db):
        return None
    if queue_counts(state, now).queued:
        return None
    if config.publish is not None and _publishing_due(state, config):
        return None
    if row[2] != folder_digest(folder) or source.content_digest() != row[0]:
        return None
    plan = plan_retention(config, state, now) if retention else None
    if plan is not None and plan.items:
        return None
    repeat = Repeat.loads(row[4])
    return replace(repeat, pruned=plan.counts) if plan is not None else repeat


def _publishing_due(state: State, config: Config) -> bool:
    from cluster_sync.publish.service import has_work, target_key

    return has_work(state, target_key(config))
