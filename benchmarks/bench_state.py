"""How the state database grows: a simulated year of nightly syncs with edits.

    python benchmarks/bench_state.py [--rows 100] [--nights 365] [--edits 1]

A first sync of N generated registrations, then one sync a night, each after `--edits`
partners corrected their response (a new factsheet version and an "Updated factsheet" email
each), to the outbox. Prints the database size (file, and pages in use) along the year.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync import write_config  # noqa: E402
from data import make_export  # noqa: E402

from cluster_sync import config as config_mod  # noqa: E402
from cluster_sync.engine import Sync  # noqa: E402
from cluster_sync.mailers import open_mailer  # noqa: E402
from cluster_sync.sources import open_source  # noqa: E402
from cluster_sync.state import State  # noqa: E402

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def edit(path: Path, night: int, count: int) -> None:
    """Partners correct `count` responses (rotating through the sheet)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    col = grid[0].index("TP results to transfer")
    for k in range(count):
        line = grid[1 + (night * count + k) % (len(grid) - 1)]
        line[col] = f"{line[col].split(' [')[0]} [corrected on night {night}]"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(grid)


def size(path: Path) -> tuple[float, float]:
    """(file MB, MB of pages in use)."""
    state = State(path)
    pages, free, page = (
        state.db.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("page_count", "freelist_count", "page_size")
    )
    state.close()
    return path.stat().st_size / 1e6, (pages - free) * page / 1e6


def measure(rows: int = 100, nights: int = 365, edits: int = 1) -> list[tuple[int, float, float]]:
    (ROOT / "var").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-state-", dir=ROOT / "var"))
    try:
        write_config(folder)
        make_export(folder / "responses.csv", rows)
        config = config_mod.load(folder / "cluster-sync.toml")
        database = config.path(config.state.database)
        found = []
        for night in range(nights + 1):
            if night:
                edit(folder / "responses.csv", night, edits)
            state = State(database)
            now = START + timedelta(days=night)
            Sync(config, state, open_source(config), open_mailer(config), now=now).run()
            state.close()
            if night in (0, 30, 90, 180, nights):
                found.append((night, *size(database)))
        return found
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--edits", type=int, default=1)
    args = parser.parse_args()
    print(f"{'night':>6} {'file':>9} {'in use':>9}")
    for night, file_mb, used_mb in measure(args.rows, args.nights, args.edits):
        print(f"{night:>6} {file_mb:>7.2f}MB {used_mb:>7.2f}MB", flush=True)


if __name__ == "__main__":
    main()
