"""How long the nightly sync takes as the number of registrations grows.

Builds an export of N responses from the example rows (titles made unique), then times, with the
outbox backend and a fresh state: the first sync (validate, render every factsheet, queue and
write every email, write statuses back) and a second sync with nothing changed (the nightly
steady state). Run: .venv/bin/python benchmarks/bench_sync.py [N ...]
"""

from __future__ import annotations

import csv
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cluster_sync import config as config_mod
from cluster_sync.engine import Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.sources import open_source
from cluster_sync.state import State

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[source]
path = "responses.csv"
write_back = true
[state]
database = "state.sqlite3"
[output]
directory = "output"
factsheet_template = "{root}/templates/factsheet.docx"
email_templates = "{root}/templates/email"
[mail]
outbox = "outbox"
from = "CoP <cop@example.org>"
reply_to = "secretariat@example.org"
secretariat = ["secretariat@example.org"]
"""


def make_export(path: Path, count: int) -> None:
    with (ROOT / "examples" / "responses.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    title = header.index("Cluster title")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(count):
            row = list(rows[i % len(rows)])
            row[title] = f"{row[title][:100]} #{i}"
            writer.writerow(row)


def timed_sync(folder: Path) -> tuple[float, dict[str, int]]:
    config = config_mod.load(folder / "cluster-sync.toml")
    state = State(config.path(config.state.database))
    started = time.perf_counter()
    summary = Sync(
        config, state, open_source(config), open_mailer(config), now=datetime.now(UTC)
    ).run()
    elapsed = time.perf_counter() - started
    state.close()
    return elapsed, summary.counts


def main(sizes: list[int]) -> None:
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}"
    )
    print(f"{'rows':>6} {'first sync':>11} {'per row':>9} {'factsheets':>10} {'no-op sync':>11}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            (folder / "cluster-sync.toml").write_text(CONFIG.format(root=ROOT.as_posix()))
            make_export(folder / "responses.csv", size)
            first, counts = timed_sync(folder)
            again, _ = timed_sync(folder)
            print(
                f"{size:>6} {first:>10.2f}s {first / size * 1000:>7.1f}ms "
                f"{counts['factsheets']:>10} {again:>10.2f}s"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 500, 1000])
