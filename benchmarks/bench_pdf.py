"""PDF conversion cost per document: one LibreOffice start for a whole batch against one start
per document, with the production converter (cluster_sync/outputs/libreoffice.py).

    python benchmarks/bench_pdf.py [--documents 16] [--repeats 3]

Renders N factsheets from the example responses (real data: Greek, Cyrillic and Maltese text
included), makes the private LibreOffice profile once (its one-time cost is printed apart), then
converts the N documents R times each way and prints the median cost per document.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from cluster_sync.config import FormConfig  # noqa: E402
from cluster_sync.outputs.libreoffice import LibreOffice  # noqa: E402
from cluster_sync.render.factsheet import factsheet_context, render_docx  # noqa: E402
from cluster_sync.sources.file import FileSource  # noqa: E402
from cluster_sync.sources.file_settings import FileSourceConfig  # noqa: E402
from cluster_sync.validate import validate_row  # noqa: E402


def factsheets(folder: Path, count: int) -> list[Path]:
    """`count` factsheets rendered from the valid example responses (repeated if needed)."""
    from zoneinfo import ZoneInfo

    path = ROOT / "examples" / "responses.csv"
    snapshot = FileSource(path, FileSourceConfig(path=path), FormConfig()).read()
    registrations = []
    for row in snapshot.rows:
        outcome = validate_row(row.values, "DMY", ZoneInfo("Europe/Brussels"))
        if outcome.registration is not None:
            registrations.append(outcome.registration)
    made = []
    for number in range(count):
        reg = registrations[number % len(registrations)]
        out = folder / f"factsheet-{number:03d}.docx"
        context = factsheet_context(reg, f"CL-2026-{number + 1:03d}", 1, date.today())
        render_docx(ROOT / "templates" / "factsheet.docx", context, out)
        made.append(out)
    return made


def clear(documents: list[Path]) -> None:
    for doc in documents:
        doc.with_suffix(".pdf").unlink(missing_ok=True)


def timed(office: LibreOffice, batches: list[list[Path]]) -> float:
    """Seconds for converting every batch, one LibreOffice start per batch."""
    started = time.perf_counter()
    for batch in batches:
        results = office.convert(batch)
        failed = {d.name: r for d, r in results.items() if not isinstance(r, Path)}
        if failed:
            raise SystemExit(f"conversion failed: {failed}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("soffice") is None:
        raise SystemExit("LibreOffice (soffice) is not installed: nothing to measure.")
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as scratch:
        work = Path(scratch)
        documents = factsheets(work / "docs", args.documents)
        profile = work / "profile"
        office = LibreOffice("soffice", profile, timeout_seconds=300, retries=0)
        office.batch_size = len(documents)
        print(f"{office.version()}; Python {platform.python_version()}; {os.cpu_count()} CPUs")
        first = timed(office, [documents[:1]])
        print(f"first start, making the profile, 1 document: {first:.2f} s")
        batched, single = [], []
        for _ in range(args.repeats):
            clear(documents)
            batched.append(timed(office, [documents]) / len(documents))
            clear(documents)
            single.append(timed(office, [[doc] for doc in documents]) / len(documents))
        b, s = statistics.median(batched), statistics.median(single)
        n = len(documents)
        print(f"{n} factsheets, {args.repeats} repeats, median cost per document:")
        print(f"  batched (one start for {n}):  {b:.3f} s  (runs: {_list(batched)})")
        print(f"  one by one ({n} starts):       {s:.3f} s  (runs: {_list(single)})")
        print(f"  batching is {s / b:.1f}x cheaper per document")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
