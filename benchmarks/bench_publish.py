"""Drive API calls per sync when publishing factsheets, as the number of new ones grows.

Runs the real sync on an export of N responses (built as bench_sync.py builds it) with
`[publish] target = "drive"` against the local fake of the Drive API, sharing each file with a
domain, and counts the requests the fake receives, by kind: on the first sync (every valid
registration is new), on a night with nothing changed, and on a night where a tenth of the
registrations were edited (new versions replace the content of the same files).
Run: .venv/bin/python benchmarks/bench_publish.py [N ...]
"""

from __future__ import annotations

import csv
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench_sync import CONFIG, ROOT, make_export

from cluster_sync import config as config_mod
from cluster_sync.engine import Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.sources import open_source
from cluster_sync.state import State
from cluster_sync.testing.fake_drive import FakeDrive

FOLDER = "1BenchmarkFactsheetsFolder000000"
PUBLISH = """
[publish]
target = "drive"
[publish.drive]
folder = "{folder}"
credentials = "none"
api_base_url = "{base_url}"
share_with_domain = "example.org"
"""


def sync(folder: Path, drive: FakeDrive) -> tuple[float, Counter[str], int]:
    drive.calls.clear()
    config = config_mod.load(folder / "cluster-sync.toml")
    state = State(config.path(config.state.database))
    started = time.perf_counter()
    summary = Sync(config, state, open_source(config), open_mailer(config), now=datetime.now(UTC))
    report = summary.run().publishing
    elapsed = time.perf_counter() - started
    state.close()
    assert report is not None and not report.errors, report
    return elapsed, Counter(drive.calls), report.published


def edit_tenth(path: Path) -> None:
    """A tenth of the partners edit their answer (the acronym)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    column = grid[0].index("Acronym")
    for row in grid[1::10]:
        row[column] = (row[column] + " edited")[:30]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(grid)


def line(name: str, seconds: float, calls: Counter[str], published: int) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(calls.items())) or "none"
    total = sum(calls.values())
    return f"  {name:<16} {published:>5} published {total:>6} calls ({kinds}); sync {seconds:.2f} s"


def main(sizes: list[int]) -> None:
    print(f"python {platform.python_version()} on {platform.machine()}")
    with FakeDrive() as drive:
        drive.add_folder(FOLDER)
        for size in sizes:
            drive.files.clear()
            with tempfile.TemporaryDirectory() as scratch:
                folder = Path(scratch)
                text = CONFIG.format(root=ROOT.as_posix())
                text += PUBLISH.format(folder=FOLDER, base_url=drive.base_url)
                (folder / "cluster-sync.toml").write_text(text)
                make_export(folder / "responses.csv", size)
                print(f"{size} responses:")
                print(line("first sync", *sync(folder, drive)))
                print(line("no change", *sync(folder, drive)))
                edit_tenth(folder / "responses.csv")
                print(line("a tenth edited", *sync(folder, drive)))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
