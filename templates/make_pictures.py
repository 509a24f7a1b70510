"""Render the pictures the README and docs/ show, from the demo data:

    make pictures

writes docs/images/factsheet-example.png (page 1 of a demo factsheet), report-example.png
(page 1 of the demo CoP report) and report-clusters.png (the first page of its cluster blocks).
It needs LibreOffice (`soffice`) and poppler (`pdftoppm`, `pdftotext`), and the demo state
that `make demo` makes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
DEMO = ROOT / "var" / "demo"
CLUSTERS_INTRO = "One block per cluster"  # the first words of the cluster section


def _pdf(docx: Path, work: Path) -> Path:
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(docx)],
        check=True,
        capture_output=True,
    )
    return work / f"{docx.stem}.pdf"


def _page_png(pdf: Path, page: int, out: Path, dpi: int = 80) -> Path:
    stem = out.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
         str(pdf), str(stem)],
        check=True,
    )  # fmt: skip
    print(f"wrote {out.relative_to(ROOT)} (page {page} of {pdf.name})")
    return out


def _page_with(pdf: Path, needle: str) -> int:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True)
    pages = text.stdout.decode("utf-8").split("\f")
    return next((i for i, page in enumerate(pages, start=1) if needle in page), 1)


def main() -> int:
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: install LibreOffice and poppler-utils")
    factsheets = sorted((DEMO / "output" / "factsheets").glob("*.docx"))
    if not factsheets:
        sys.exit("no demo factsheets: run `make demo` first")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = work / "cop-report.docx"
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "cluster-sync"), "--config", str(ROOT / "config" / "demo.toml"),
             "-q", "report", "--from", "2025-01-01", "--to", "2027-12-31", "--out", str(report)],
            check=True,
        )  # fmt: skip
        IMAGES.mkdir(parents=True, exist_ok=True)
        _page_png(_pdf(factsheets[0], work), 1, IMAGES / "factsheet-example.png")
        pdf = _pdf(report, work)
        _page_png(pdf, 1, IMAGES / "report-example.png")
        _page_png(pdf, _page_with(pdf, CLUSTERS_INTRO), IMAGES / "report-clusters.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
