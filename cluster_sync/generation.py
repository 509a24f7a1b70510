"""The state's generation: a number that moves whenever anything the sync's results or the
sheet's statuses could depend on is written.

Every table but the run log counts: a trigger per table adds one on an insert, a delete, or an
update that changes a value (rewriting a row with the same values does not count). Left out:
`runs` (every run writes it), a registration's `last_seen` (the last run that processed it,
which no result or status reads), and the two tables below. A table added by a later migration
must call `track` for itself; `tests/test_nochange.py` checks that every table is tracked.
cluster_sync/nochange.py uses the generation to know that nothing changed between two runs;
the same triggers delete the report it keeps (`quiet_run`), which quotes rows' problems, so
nothing an erasure or retention removes stays there.
"""

from __future__ import annotations

import sqlite3

#: tables whose writes do not count
UNTRACKED = frozenset({"runs", "state_generation", "quiet_run"})
#: columns whose changes do not count
IGNORED = {"registrations": frozenset({"last_seen"})}

SCHEMA = """
CREATE TABLE state_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO state_generation VALUES (1, 0);
CREATE TABLE quiet_run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    export TEXT NOT NULL,
    settings TEXT NOT NULL,
    folder TEXT NOT NULL,
    generation INTEGER NOT NULL,
    summary TEXT NOT NULL
)
"""


def migrate(db: sqlite3.Connection) -> None:
    """The migration that starts counting: the tables above, and triggers on every table."""
    for statement in SCHEMA.split(";"):
        db.execute(statement)
    tables = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for (table,) in tables:
        if table not in UNTRACKED:
            track(db, table)


def track(db: sqlite3.Connection, table: str) -> None:
    columns = [str(r[1]) for r in db.execute(f'PRAGMA table_info("{table}")')]
    counted = [c for c in columns if c not in IGNORED.get(table, frozenset())]
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in counted)
    # the remembered report goes with the change: it may quote what an erasure removes
    bump = "BEGIN UPDATE state_generation SET n = n + 1; DELETE FROM quiet_run; END"
    db.execute(f'CREATE TRIGGER "generation_{table}_insert" AFTER INSERT ON "{table}" {bump}')
    db.execute(f'CREATE TRIGGER "generation_{table}_delete" AFTER DELETE ON "{table}" {bump}')
    db.execute(
        f'CREATE TRIGGER "generation_{table}_update" AFTER UPDATE ON "{table}" '
        f"WHEN {changed} {bump}"
    )


def tracked(db: sqlite3.Connection) -> set[str]:
    """The tables with a generation trigger."""
    rows = db.execute(
        "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'generation_%'"
    )
    return {str(r[0]) for r in rows}


def current(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT n FROM state_generation").fetchone()[0])
