"""What reading an export and writing the statuses back into it cost, in time and memory.

Builds a CSV and an XLSX of N responses from the example rows, then times, for each: reading it
(FileSource.read) and writing a status into every row (FileSource.write_back), then the peak of
Python's own allocations (tracemalloc) for each step, on a copy (tracemalloc slows what it
watches, so the times are taken without it). Also reads a 7 KB workbook whose one stray
cell sits at A1048576. Run: .venv/bin/python benchmarks/bench_exports.py [N ...]
"""

from __future__ import annotations

import csv
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

from cluster_sync.config import FormConfig
from cluster_sync.sources.base import RowStatus
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig

ROOT = Path(__file__).resolve().parent.parent


def example_rows(count: int) -> tuple[list[str], list[list[str]]]:
    with (ROOT / "examples" / "responses.csv").open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    title = header.index("Cluster title")
    out = []
    for i in range(count):
        row = list(rows[i % len(rows)])
        row[title] = f"{row[title][:100]} #{i}"
        out.append(row)
    return header, out


def make_csv(path: Path, count: int) -> None:
    header, rows = example_rows(count)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows([header, *rows])


def make_xlsx(path: Path, count: int) -> None:
    header, rows = example_rows(count)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Form responses 1")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = step()
    return result, time.perf_counter() - start


def traced(step: Callable[[], Any]) -> tuple[Any, int]:
    """The peak of Python's allocations during `step` (tracemalloc slows it: not timed)."""
    tracemalloc.start()
    try:
        result = step()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def statuses_for(snapshot: Any) -> list[RowStatus]:
    return [
        RowStatus(r, f"CL-2025-{i:05d}", "Factsheet v1 sent to 2 people", "2025-01-31 02:00")
        for i, r in enumerate(snapshot.rows, start=1)
    ]


def run(path: Path) -> tuple[float, int, float, int]:
    """Read and write back `path` timed, then a copy of it again under tracemalloc."""
    copy = path.with_name(f"traced-{path.name}")
    shutil.copy(path, copy)
    results = []
    for target, measure in ((path, timed), (copy, traced)):
        source = FileSource(target, FileSourceConfig(path=target, write_back=True), FormConfig())
        snapshot, read = measure(source.read)
        statuses = statuses_for(snapshot)
        written, write = measure(lambda s=source, st=statuses: s.write_back(st))
        assert written == len(snapshot.rows), (written, len(snapshot.rows))
        results += [read, write]
    return results[0], results[2], results[1], results[3]


def main(counts: list[int]) -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print("| export | rows | size | read | read peak | write-back | write-back peak |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for count in counts:
            for suffix, make in ((".csv", make_csv), (".xlsx", make_xlsx)):
                path = folder / f"responses-{count}{suffix}"
                make(path, count)
                size = path.stat().st_size
                read_time, read_peak, write_time, write_peak = run(path)
                print(
                    f"| {suffix[1:]} | {count} | {size / 1e6:.1f} MB | {read_time:.2f} s | "
                    f"{read_peak / 1e6:.1f} MB | {write_time:.2f} s | {write_peak / 1e6:.1f} MB |"
                )
        stray = folder / "stray.xlsx"
        book = openpyxl.Workbook()
        header, rows = example_rows(1)
        book.active.append(header)
        book.active.append(rows[0])
        book.active["A1048576"] = datetime(2025, 1, 1)
        book.save(stray)
        source = FileSource(stray, FileSourceConfig(path=stray), FormConfig())
        snapshot, elapsed = timed(source.read)
        _, peak = traced(source.read)
        print(
            f"\nstray cell at A1048576 ({stray.stat().st_size / 1e3:.0f} KB): "
            f"{len(snapshot.rows)} rows read in {elapsed:.3f} s, peak {peak / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
