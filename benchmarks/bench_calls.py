"""Sheets API calls per sync, by sheet size, counted by the local fake of the Sheets API
(cluster_sync/testing/) through the real gspread client.

    python benchmarks/bench_calls.py [N ...]

A sync talks to the sheet twice: it reads the responses (`Source.read`) and writes back the
statuses that changed (`Source.write_back`, not called when none did). This script makes
exactly those calls on a sheet of N responses, for the three kinds of night: the first sync
(every row gets a Cluster ID and a status), a night with one edited row (one status changes),
and a night where nothing changed (nothing to write).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from google_fixtures import HEADERS, answer_row, load_sheet, settings  # noqa: E402

from cluster_sync.config import FormConfig  # noqa: E402
from cluster_sync.sources.base import RowStatus  # noqa: E402
from cluster_sync.sources.google import GoogleSource  # noqa: E402
from cluster_sync.testing.fake_sheets import FakeSheets  # noqa: E402


def calls(fake: FakeSheets, action: object) -> int:
    before = fake.api_calls
    action()  # type: ignore[operator]
    return fake.api_calls - before


def measure(size: int) -> dict[str, int]:
    with FakeSheets() as fake:
        load_sheet(fake, [HEADERS, *(answer_row(n) for n in range(size))])
        source = GoogleSource(settings(fake), FormConfig(), sleep=lambda s: None)
        first = source.read()
        # IDs as cluster-sync writes them: write-back reads them back normalised to check
        statuses = [
            RowStatus(row, f"CL-2025-{i + 1:03d}", "OK: factsheet v1 made.", "2025-01-31 02:00")
            for i, row in enumerate(first.rows)
        ]
        result = {"first": calls(fake, lambda: source.write_back(statuses))}
        result["first"] += calls(fake, source.read)  # and the read it starts with
        snapshot = source.read()
        edited = [RowStatus(snapshot.rows[0], snapshot.rows[0].cluster_id, "edited", "")]
        result["one edit"] = calls(fake, source.read) + calls(
            fake, lambda: source.write_back(edited)
        )
        result["no change"] = calls(fake, source.read)
        return result


def main(sizes: list[int]) -> None:
    print(f"{'rows':>6} {'first sync':>11} {'one edit':>9} {'no change':>10}")
    for size in sizes:
        r = measure(size)
        print(f"{size:>6} {r['first']:>11} {r['one edit']:>9} {r['no change']:>10}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 1000, 10000])
