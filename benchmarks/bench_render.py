"""Factsheet rendering: cluster-sync's renderer against the obvious docxtpl loop, in the same run.

    python benchmarks/bench_render.py [--documents 2000] [--baseline-every 20]

The baseline is what anyone would write: per document `DocxTemplate(path)`,
`render(context, autoescape=True)`, `save(path)`. cluster-sync's prepared template renders all N
documents, each written as the loop writes it (the renderers compared alone), and a quarter of
them again through `render_docx` as the sync writes a factsheet (atomically, fsynced); the
baseline renders every k-th of the same contexts
(it is slow), interleaved in rounds so that both see the same machine load. Each of the
baseline's documents is compared with cluster-sync's for the same context: the same text.
Medians of the per-round rates are reported.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from data import make_export  # noqa: E402

from cluster_sync.config import FormConfig  # noqa: E402
from cluster_sync.render.docx_fast import prepare  # noqa: E402
from cluster_sync.render.factsheet import factsheet_context, render_docx  # noqa: E402
from cluster_sync.sources.base import HeaderMap  # noqa: E402
from cluster_sync.validate import validate_row  # noqa: E402

TEMPLATE = ROOT / "templates" / "factsheet.docx"


def contexts(count: int, scratch: Path) -> list[dict[str, Any]]:
    """Factsheet contexts of `count` valid generated registrations."""
    import csv

    export = scratch / "responses.csv"
    make_export(export, int(count * 1.15) + 20)
    with export.open(encoding="utf-8", newline="") as handle:
        headers, *rows = list(csv.reader(handle))
    columns = HeaderMap.build(headers, FormConfig(), "export")
    found = []
    for number, cells in enumerate(rows, start=2):
        reg = validate_row(columns.row(cells, number).values).registration
        if reg is not None:
            found.append(factsheet_context(reg, f"CL-2025-{number:05d}", 1, date(2025, 6, 12)))
        if len(found) == count:
            break
    return found


def docxtpl_loop(context: dict[str, Any], out: Path) -> None:
    import jinja2
    from docxtpl import DocxTemplate

    doc = DocxTemplate(str(TEMPLATE))
    doc.render(context, jinja_env=jinja2.Environment(autoescape=True), autoescape=True)
    doc.save(str(out))


def document_text(path: Path) -> str:
    from docx import Document

    doc = Document(io.BytesIO(path.read_bytes()))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
        parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def measure(documents: int = 2000, baseline_every: int = 20, rounds: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as folder:
        scratch = Path(folder)
        every = contexts(documents, scratch)
        ours_rates, theirs_rates, durable_rates = [], [], []
        ours_cpu, theirs_cpu = [], []  # CPU seconds per document: what other load cannot blur
        prepared = prepare(TEMPLATE)
        assert prepared is not None
        per_round = len(every) // rounds
        mismatches = 0
        for r in range(rounds):
            chunk = every[r * per_round : (r + 1) * per_round]
            started, cpu = time.perf_counter(), time.process_time()
            for i, context in enumerate(chunk):
                # written as the loop writes (no fsync): the renderers compared alone
                (scratch / f"ours-{r}-{i}.docx").write_bytes(prepared.render(context))
            ours_rates.append(len(chunk) / (time.perf_counter() - started))
            ours_cpu.append((time.process_time() - cpu) / len(chunk))
            started = time.perf_counter()
            for i, context in enumerate(chunk[: len(chunk) // 4]):
                # as the sync writes a factsheet: atomically, fsynced before it is recorded
                render_docx(TEMPLATE, context, scratch / f"durable-{r}-{i}.docx")
            durable_rates.append(len(chunk) // 4 / (time.perf_counter() - started))
            sample = list(range(0, len(chunk), baseline_every))
            started, cpu = time.perf_counter(), time.process_time()
            for i in sample:
                docxtpl_loop(chunk[i], scratch / f"theirs-{r}-{i}.docx")
            theirs_rates.append(len(sample) / (time.perf_counter() - started))
            theirs_cpu.append((time.process_time() - cpu) / len(sample))
            for i in sample:
                ours = document_text(scratch / f"ours-{r}-{i}.docx")
                mismatches += ours != document_text(scratch / f"theirs-{r}-{i}.docx")
            for path in scratch.glob("*.docx"):
                path.unlink()
        ours, theirs = statistics.median(ours_rates), statistics.median(theirs_rates)
        return {
            "documents": float(per_round * rounds),
            "compared": float(rounds * len(range(0, per_round, baseline_every))),
            "mismatches": float(mismatches),
            "ours_per_s": ours,
            "durable_per_s": statistics.median(durable_rates),
            "docxtpl_per_s": theirs,
            "ratio": ours / theirs,
            "cpu_ratio": statistics.median(theirs_cpu) / statistics.median(ours_cpu),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--baseline-every", type=int, default=20)
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    result = measure(args.documents, args.baseline_every)
    print(
        f"cluster-sync {result['ours_per_s']:.1f} documents/s, docxtpl loop "
        f"{result['docxtpl_per_s']:.1f} documents/s: {result['ratio']:.1f}x "
        f"({result['compared']:.0f} documents compared, {result['mismatches']:.0f} differ); "
        f"written atomically with fsync, as the sync does: {result['durable_per_s']:.1f}/s; "
        f"CPU time ratio {result['cpu_ratio']:.1f}x"
    )


if __name__ == "__main__":
    main()
