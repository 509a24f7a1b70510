"""The state database: schema version, migrations, transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cluster_sync.errors import StateError
from cluster_sync.state import MIGRATIONS, State


def test_new_database_is_at_the_current_schema(tmp_path: Path) -> None:
    state = State(tmp_path / "s.db")
    assert state.schema_version == len(MIGRATIONS)
    tables = {r[0] for r in state.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"registrations", "factsheets", "messages", "runs", "reports", "id_counters"} <= tables
    state.close()


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    State(tmp_path / "s.db").close()
    state = State(tmp_path / "s.db")
    assert state.schema_version == len(MIGRATIONS)
    state.close()


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StateError, match="newer than this cluster-sync knows"):
        State(tmp_path / "s.db")


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="could not be opened"):
        State(tmp_path / "s.db")


def test_transaction_rolls_back_everything_on_error(tmp_path: Path) -> None:
    state = State(tmp_path / "s.db")
    with pytest.raises(RuntimeError), state.transaction() as db:
        db.execute("INSERT INTO runs (started_at) VALUES ('x')")
        raise RuntimeError("crash between the side effect and its record")
    assert state.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    state.close()


def test_cluster_ids_count_per_year_and_never_reuse_adopted_ones(tmp_path: Path) -> None:
    state = State(tmp_path / "s.db")
    assert state.next_cluster_id("CL", 2025) == "CL-2025-001"
    assert state.next_cluster_id("CL", 2025) == "CL-2025-002"
    assert state.next_cluster_id("CL", 2026) == "CL-2026-001"
    state.adopt_cluster_id("CL-2025-041")  # found in the sheet, unknown here
    assert state.next_cluster_id("CL", 2025) == "CL-2025-042"
    state.close()


def test_scratch_copy_leaves_the_real_database_alone(tmp_path: Path) -> None:
    real = State(tmp_path / "s.db")
    real.next_cluster_id("CL", 2025)
    copy = State.scratch_copy(real)
    copy.next_cluster_id("CL", 2025)
    assert copy.next_cluster_id("CL", 2025) == "CL-2025-003"
    assert real.next_cluster_id("CL", 2025) == "CL-2025-002"
    real.close()
    copy.close()


def test_scratch_of_reads_an_older_database_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    old = sqlite3.connect(path)  # a database as migration 1 left it
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO id_counters VALUES (2025, 1)")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    before = path.read_bytes()
    copy = State.scratch_of(path)
    assert copy.schema_version == len(MIGRATIONS)
    assert copy.next_cluster_id("CL", 2025) == "CL-2025-002"
    copy.close()
    assert path.read_bytes() == before
    reopened = sqlite3.connect(path)
    assert reopened.execute("PRAGMA user_version").fetchone()[0] == 1
    reopened.close()
