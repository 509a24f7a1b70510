"""The sync's memory: a SQLite database with a schema version and forward-only migrations.

It records every registration seen, every factsheet version, every email queued or delivered and
every run. Callers group a side effect and its record in `transaction()`, so a crash leaves either
both or neither.

Durability. The database runs in WAL mode with `synchronous = NORMAL`: a commit is written to
the WAL file but not forced to the disk. SQLite's documentation (pragma.html#pragma_synchronous):
"WAL mode is always consistent with synchronous=NORMAL, but WAL mode does lose durability. A
transaction committed in WAL mode with synchronous=NORMAL might roll back following a power loss
or system crash. Transactions are durable across application crashes regardless of the
synchronous setting or journal mode." So a killed process loses nothing it committed; a power
loss or an operating-system crash can lose a suffix of the latest commits, never corrupt the
file. That suffix must never hold a commit that something outside the database already relies
on, so every effect outside it is preceded by a durable commit: `transaction(durable=True)`
commits with `synchronous = FULL` (the WAL is synced at that commit) or `make_durable()`, or
`durable_soon()`, which fsyncs the WAL file in a thread (what SQLite does at a FULL commit) and
returns the wait. WAL commits are appended in order, so syncing one makes every earlier one
durable too. The durable points: a message marked `sending` before its content reaches a server
or the outbox (mailpass.Delivery, overlapping the sync with MAIL and RCPT), publishing's `pending` records before an upload, and the state before the
sheet or export is written (engine.Sync._write_back: Cluster IDs, statuses), erasure and
retention before they delete files (cluster_sync/privacy/), and the end of every run
(`finish_run`). Everything else
(one commit per row, the `sent` marks) costs no disk wait: docs/operations.md says what a power
loss can do.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster_sync import generation
from cluster_sync.errors import StateError
from cluster_sync.files import SyncLater, create_private, restrict, sync_written

#: each a script (statements separated by ";") or a function run in the migration's transaction
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: the first schema
    """
    CREATE TABLE registrations (
        cluster_id TEXT PRIMARY KEY,
        natural_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid')),
        title TEXT NOT NULL DEFAULT '',
        content_hash TEXT,
        data TEXT,
        problems TEXT NOT NULL DEFAULT '[]',
        problems_hash TEXT,
        notified_problems_hash TEXT,
        version INTEGER NOT NULL DEFAULT 0,
        emailed_version INTEGER NOT NULL DEFAULT 0,
        approved INTEGER NOT NULL DEFAULT 0,
        submitter TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_changed TEXT NOT NULL
    );
    CREATE INDEX registrations_key ON registrations (natural_key);
    CREATE TABLE factsheets (
        cluster_id TEXT NOT NULL REFERENCES registrations (cluster_id),
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (cluster_id, version)
    );
    CREATE TABLE id_counters (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        cluster_id TEXT,
        subject TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_reply TEXT,
        queued_at TEXT NOT NULL,
        next_attempt_at TEXT,
        sent_at TEXT,
        run_id INTEGER
    );
    CREATE INDEX messages_state ON messages (state);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL DEFAULT 'running',
        counts TEXT NOT NULL DEFAULT '{}',
        error TEXT
    );
    CREATE TABLE reports (
        period TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_message TEXT
    );
    """,
    # 2: the delivery caps count messages sent in the last minute and day before every send;
    # without this index each count reads every sent row, message bodies included
    """
    CREATE INDEX messages_sent ON messages (state, sent_at);
    """,
    # 3: which files exist for each factsheet version (docx, pdf...), or why one could not be
    # made, so the sheet's status can say it on every later run
    """
    CREATE TABLE IF NOT EXISTS factsheet_files (
        cluster_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        format TEXT NOT NULL,
        path TEXT,
        problem TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (cluster_id, version, format)
    );
    """,
    # 4: published factsheet files: one row per (target, cluster, version, format). A row is
    # written 'pending' before the upload (with the remote file it will replace, if any) and
    # 'done' after, so a run killed in between knows to look for the file before uploading again.
    """
    CREATE TABLE IF NOT EXISTS published (
        target TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        format TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
        remote_id TEXT,
        url TEXT,
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (target, cluster_id, version, format)
    );
    """,
    # 5: the answers of each factsheet version, kept when a newer version replaces it, so an
    # update email can say what differs from the version the partner last received
    """
    CREATE TABLE version_data (
        cluster_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (cluster_id, version)
    );
    """,
    # 6: the fingerprint of the raw row a registration was last processed from, so that a
    # sync skips the rows that did not change without validating them; and the settings and
    # templates already tried with sample data, which need not be tried again
    # (cluster_sync/unchanged.py)
    """
    ALTER TABLE registrations ADD COLUMN row_fingerprint TEXT;
    CREATE TABLE template_checks (settings TEXT PRIMARY KEY, checked_at TEXT NOT NULL);
    """,
    # 7: a message's attachments are each kept once, by content hash, apart from the message,
    # and only until the messages that use them are sent (cluster_sync/mailstore.py)
    """
    CREATE TABLE attachments (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
    CREATE TABLE message_attachments (
        message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,  -- the files of one message, in order
        at INTEGER NOT NULL,  -- where its base64 goes in the stored message
        hash TEXT NOT NULL,
        PRIMARY KEY (message, position)
    );
    CREATE INDEX message_attachments_hash ON message_attachments (hash);
    """,
    # 8 (issue 13) which factsheet template made each factsheet version: a fingerprint of the
    # template and the artwork it prints (cluster_sync/fingerprint.py). Versions made before
    # this table existed have no row: their template is unknown.
    """
    CREATE TABLE IF NOT EXISTS factsheet_templates (
        cluster_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        template TEXT NOT NULL,
        PRIMARY KEY (cluster_id, version)
    );
    """,
    # 9: personal data (cluster_sync/privacy): the suppression list of erased people (salted
    # address hashes), erasure and retention events (counts, never whom), anonymised clusters
    # and emails whose bodies were pruned; clusters whose published copies are to be withdrawn
    # (consent withdrawn: kept until it is given again; erasure: until re-published without them)
    """
    CREATE TABLE privacy_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE suppressed (address_hash TEXT PRIMARY KEY, created_at TEXT NOT NULL);
    CREATE TABLE erasures (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        items INTEGER NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE anonymised (cluster_id TEXT PRIMARY KEY, at TEXT NOT NULL);
    CREATE TABLE pruned_messages (message_id INTEGER PRIMARY KEY, at TEXT NOT NULL);
    CREATE TABLE withdrawn (
        cluster_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL CHECK (reason IN ('consent', 'erasure')),
        at TEXT NOT NULL
    );
    """,
    # 10: the state's generation, for a night where nothing changed (cluster_sync/generation.py;
    # a table added after this one must be tracked there too)
    generation.migrate,
    # 11: a cluster's messages without reading the whole queue: a row whose consent is
    # withdrawn holds back its cluster's queued factsheet emails (mailqueue.withhold_factsheets),
    # which read every queued message of the run once per such row before
    """
    CREATE INDEX messages_cluster ON messages (cluster_id, state);
    """,
]


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredRegistration:
    cluster_id: str
    natural_key: str
    status: str
    title: str
    content_hash: str | None
    data: dict[str, Any] | None
    problems: list[str]
    problems_hash: str | None
    notified_problems_hash: str | None
    version: int
    emailed_version: int
    approved: bool
    submitter: str | None
    first_seen: str
    last_seen: str  # the last run that processed the row (an unchanged row is skipped)
    last_changed: str
    row_fingerprint: str | None = None  # see cluster_sync/unchanged.py

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredRegistration:
        values = dict(row)
        values["data"] = json.loads(values["data"]) if values["data"] else None
        values["problems"] = json.loads(values["problems"])
        values["approved"] = bool(values["approved"])
        return cls(**values)


class State:
    """A connection to the state database, migrated to the current schema on open."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        try:
            if self.path:
                # SQLite gives its -wal and -shm files the database file's mode: create it
                # with the configured mode first, whatever the umask
                create_private(self.path)
            self.db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.schema_version == 0:
                # pages freed (attachments dropped once sent) go back to the file system
                # (mailstore.collect); only a new database, before
                # anything else is written, can be set so
                self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self._wal = False  # SQLite keeps its old journal where WAL cannot work
            if self.path:
                (mode,) = self.db.execute("PRAGMA journal_mode = WAL").fetchone()
                self._wal = str(mode).lower() == "wal"
                for suffix in ("-wal", "-shm", "-journal"):
                    restrict(self.path.with_name(self.path.name + suffix))
            self._synchronous = "NORMAL" if self.path else "OFF"
            self.db.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._durable_wanted = False  # a durable commit asked for inside a transaction
            self._sync_later = SyncLater()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"The state database {path} could not be opened: {exc}.",
                hint="check state.database in the configuration; restore the file from a backup "
                "if it is damaged.",
            ) from None

    @classmethod
    def scratch_copy(cls, source: State) -> State:
        """An in-memory copy, for a dry run that must follow the real code path and change
        nothing on disk."""
        copy = cls(":memory:")
        source.db.backup(copy.db)
        return copy

    @classmethod
    def scratch_of(cls, path: Path, folder: Path | None = None) -> State:
        """A copy of the database at `path` (empty when there is none), read without writing
        to it (not even a migration), then brought to the current schema. In memory, or in
        `folder` when given: a dry run queues every email it would send, attachments
        included, and must not hold them all in memory."""
        copy = cls(folder / "state.sqlite3" if folder else ":memory:")
        if folder:
            copy._synchronous = "OFF"  # a scratch copy need not survive a crash
            copy.db.execute("PRAGMA synchronous = OFF")
        if not path.exists():
            return copy
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.backup(copy.db)
            source.close()
            copy._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"The state database {path} could not be read: {exc}.") from None
        return copy

    def close(self) -> None:
        self._sync_later.close()
        self.db.close()

    # -- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StateError(
                f"The state database is at schema version {current}, newer than this "
                f"cluster-sync knows ({len(MIGRATIONS)}).",
                hint="upgrade cluster-sync; never run an older version on a newer database.",
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            with self.transaction():
                step = MIGRATIONS[version - 1]
                if callable(step):
                    step(self.db)
                # executescript would commit on its own; run statement by statement instead
                for statement in [] if callable(step) else step.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception. A nested call joins the outer
        transaction under a savepoint: an exception undoes what it did, and only that.
        `durable`: the commit survives a power loss too (the module's docstring); nested, the
        outer transaction's commit is made durable."""
        if self.db.in_transaction:
            self.db.execute("SAVEPOINT nested")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK TO nested")
                self.db.execute("RELEASE nested")
                raise
            self.db.execute("RELEASE nested")
            self._durable_wanted = self._durable_wanted or durable
            return
        full = durable and self._synchronous != "OFF"
        if full:  # SQLite refuses to change it inside a transaction
            sync_written()  # what the commits so far record of the files is on the disk first
            self.db.execute("PRAGMA synchronous = FULL")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        finally:
            wanted, self._durable_wanted = self._durable_wanted, False
            if full:
                self.db.execute(f"PRAGMA synchronous = {self._synchronous}")
        if wanted and not full:
            self.make_durable()

    def make_durable(self) -> None:
        """Make every commit so far survive a power loss: one commit with the WAL synced (it
        rewrites the schema version with its own value, so that there is something to commit).
        Inside a transaction, its commit is made durable instead."""
        if self.db.in_transaction:
            self._durable_wanted = True
            return
        if self._synchronous == "OFF":
            return
        with self.transaction(durable=True) as db:
            db.execute(f"PRAGMA user_version = {self.schema_version}")

    def durable_soon(self) -> Callable[[], None]:
        """make_durable() without waiting for the disk: the WAL file's fsync (what SQLite
        itself does at a commit under synchronous = FULL in WAL mode) runs in a thread while
        the caller goes on. Returns the wait: once it has returned, every commit so far
        survives a power loss; it raises StateError when the sync failed."""
        if self.db.in_transaction or not self._wal or self._synchronous == "OFF":
            self.make_durable()  # inside a transaction: its own commit will be
            return _already
        assert self.path is not None  # only a file on disk has a WAL
        sync_written()  # the files the commits name first, as before a durable commit
        wait = self._sync_later.start(self.path.with_name(self.path.name + "-wal"))
        path = self.path

        def synced() -> None:
            try:
                wait()
            except OSError as exc:
                raise StateError(
                    f"The state database {path} could not be written to the disk: "
                    f"{exc.strerror or exc}.",
                    hint="check the disk (full, read-only, failing) and run again; a message "
                    "caught in between is sent again by the next run.",
                ) from None

        return synced

    # -- registrations ----------------------------------------------------------------------

    def registration(self, cluster_id: str) -> StoredRegistration | None:
        row = self.db.execute(
            "SELECT * FROM registrations WHERE cluster_id = ?", (cluster_id,)
        ).fetchone()
        return StoredRegistration.from_row(row) if row else None

    def find_by_key(self, natural_key: str) -> StoredRegistration | None:
        row = self.db.execute(
            "SELECT * FROM registrations WHERE natural_key = ? ORDER BY first_seen LIMIT 1",
            (natural_key,),
        ).fetchone()
        return StoredRegistration.from_row(row) if row else None

    def registrations_brief(self) -> dict[str, tuple[StoredRegistration, str | None]]:
        """Every registration, without its data, with the path of its current factsheet: one
        read for the whole sheet (the data, the bulk of a row, is left out)."""
        names = [r[1] for r in self.db.execute("PRAGMA table_info(registrations)")]
        columns = ", ".join(f"r.{n}" for n in names if n != "data")  # data is most of the bytes
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples: ten thousand rows are read here
        cursor.execute(
            f"SELECT {columns}, f.path AS factsheet_path FROM registrations r "
            "LEFT JOIN factsheets f ON f.cluster_id = r.cluster_id AND f.version = r.version"
        )
        keys = [d[0] for d in cursor.description]
        result = {}
        for row in cursor:
            values = dict(zip(keys, row, strict=True))
            path = values.pop("factsheet_path")
            values["data"] = None
            values["problems"] = (
                json.loads(values["problems"]) if values["problems"] != "[]" else []
            )
            values["approved"] = bool(values["approved"])
            result[values["cluster_id"]] = (StoredRegistration(**values), path)
        return result

    def registrations(self) -> list[StoredRegistration]:
        rows = self.db.execute("SELECT * FROM registrations ORDER BY cluster_id").fetchall()
        return [StoredRegistration.from_row(r) for r in rows]

    def next_cluster_id(self, prefix: str, year: int) -> str:
        """CL-2025-007: a per-year counter, never reused."""
        with self.transaction():
            return self._take_cluster_id(prefix, year)

    def _take_cluster_id(self, prefix: str, year: int) -> str:
        """The counter's next number, inside the caller's transaction: one statement."""
        ((number,),) = self.db.execute(
            "INSERT INTO id_counters (year, last) VALUES (?, 1) "
            "ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last",
            (year,),
        ).fetchall()
        return f"{prefix}-{year}-{number:03d}"

    def reserve_cluster_id(self, prefix: str, year: int, natural_key: str, now: str) -> str:
        """A new ID and a placeholder registration in one transaction, so a run killed before
        the registration is complete finds the same ID again next time instead of a new one."""
        with self.transaction() as db:
            cluster_id = self._take_cluster_id(prefix, year)
            db.execute(
                "INSERT INTO registrations (cluster_id, natural_key, status, first_seen, "
                "last_seen, last_changed) VALUES (?, ?, 'pending', ?, ?, ?)",
                (cluster_id, natural_key, now, now, now),
            )
        return cluster_id

    def adopt_cluster_id(self, cluster_id: str) -> None:
        """An ID found in the sheet but not here (a restored or new database): make sure the
        counter never hands it out again."""
        parts = cluster_id.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            self.db.execute(
                "INSERT INTO id_counters (year, last) VALUES (?, ?) "
                "ON CONFLICT (year) DO UPDATE SET last = max(last, excluded.last)",
                (int(parts[1]), int(parts[2])),
            )

    def save_registration(self, reg: StoredRegistration) -> None:
        values = dict(reg.__dict__)
        values["data"] = json.dumps(reg.data, ensure_ascii=False) if reg.data else None
        values["problems"] = json.dumps(reg.problems, ensure_ascii=False)
        values["approved"] = int(reg.approved)
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != "cluster_id")
        self.db.execute(
            f"INSERT INTO registrations ({columns}) VALUES ({marks}) "
            f"ON CONFLICT (cluster_id) DO UPDATE SET {updates}",
            values,
        )

    def add_factsheet(self, cluster_id: str, version: int, content_hash: str, path: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO factsheets VALUES (?, ?, ?, ?, ?)",
            (cluster_id, version, content_hash, path, now_utc()),
        )

    def keep_version_data(self, cluster_id: str, version: int, data: dict[str, Any]) -> None:
        """The answers of one version; the first record of a version is the true one."""
        self.db.execute(
            "INSERT OR IGNORE INTO version_data VALUES (?, ?, ?)",
            (cluster_id, version, json.dumps(data, ensure_ascii=False)),
        )

    def version_data(self, cluster_id: str, version: int) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT data FROM version_data WHERE cluster_id = ? AND version = ?",
            (cluster_id, version),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def factsheet_path(self, cluster_id: str, version: int) -> str | None:
        row = self.db.execute(
            "SELECT path FROM factsheets WHERE cluster_id = ? AND version = ?",
            (cluster_id, version),
        ).fetchone()
        return row[0] if row else None

    def checked(self, settings: str) -> bool:
        """Whether templates and settings with this digest passed check_templates before."""
        row = self.db.execute("SELECT 1 FROM template_checks WHERE settings = ?", (settings,))
        return row.fetchone() is not None

    def record_check(self, settings: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO template_checks VALUES (?, ?)", (settings, now_utc()))

    def record_factsheet_files(
        self, cluster_id: str, version: int, files: dict[str, tuple[str | None, str | None]]
    ) -> None:
        """format -> (path, None) when the file was made, (None, why not) when it was not."""
        self.db.executemany(
            "INSERT OR REPLACE INTO factsheet_files VALUES (?, ?, ?, ?, ?, ?)",
            [(cluster_id, version, f, p, why, now_utc()) for f, (p, why) in files.items()],
        )

    def factsheet_files(
        self, cluster_id: str, version: int
    ) -> dict[str, tuple[str | None, str | None]]:
        rows = self.db.execute(
            "SELECT format, path, problem FROM factsheet_files WHERE cluster_id = ? AND "
            "version = ? ORDER BY format",
            (cluster_id, version),
        ).fetchall()
        return {r["format"]: (r["path"], r["problem"]) for r in rows}

    def clusters_missing_files(self) -> set[str]:
        """The clusters whose current factsheet version has a format that could not be made."""
        rows = self.db.execute(
            "SELECT DISTINCT f.cluster_id FROM factsheet_files f JOIN registrations r "
            "ON r.cluster_id = f.cluster_id AND r.version = f.version WHERE f.path IS NULL"
        )
        return {r[0] for r in rows}

    # -- runs -------------------------------------------------------------------------------

    def start_run(self) -> int:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO runs (started_at) VALUES (?)", (now_utc(),))
        return int(cursor.lastrowid or 0)

    def finish_run(
        self, run_id: int, outcome: str, counts: dict[str, int], error: str | None = None
    ) -> None:
        # durable: a finished run leaves nothing that a power loss could take back
        with self.transaction(durable=True) as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (now_utc(), outcome, json.dumps(counts), error, run_id),
            )

    def last_runs(self, limit: int = 5) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()


def _already() -> None:
    """The wait for a sync that was done before it was asked for."""
