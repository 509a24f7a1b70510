"""Shared by the PDF tests: reading a PDF's text back and comparing it with its .docx, and
stand-in `soffice` programs (real executables on disk) for the failure paths."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader

SOFFICE = shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed, so the PDF conversion tests are skipped; "
    ".ci/run installs it (apt-get install libreoffice-writer-nogui)",
)

#: glyphs drawn from a symbol font (list bullets, the roadmap's tick) that a PDF's text layer
#: places elsewhere or spells differently; they carry no words
_SYMBOLS = {ord(c): None for c in "✓■▪•\uf0b7\uf0a7"}
_PAGE_FIELD = re.compile(r"page\d+of\d+")


def _norm(text: str) -> str:
    """Case, line breaks and letter spacing differ between Word's text and a PDF's (a style in
    capitals, a word broken at a hyphen): compare the characters only."""
    flat = re.sub(r"\s+", "", text).casefold().translate(_SYMBOLS)
    return _PAGE_FIELD.sub("", flat)


def _texts(container: Any) -> list[str]:
    found = [p.text for p in container.paragraphs]
    for table in container.tables:
        for row in table.rows:
            seen: set[int] = set()
            for cell in row.cells:
                if id(cell._tc) not in seen:  # a merged cell appears once per column it spans
                    seen.add(id(cell._tc))
                    found += _texts(cell)
    return [t for t in found if _norm(t)]


def pdf_text(path: Path) -> tuple[str, int]:
    reader = PdfReader(str(path))
    return "".join(page.extract_text() for page in reader.pages), len(reader.pages)


def compare_with_docx(document: Path, pdf: Path) -> None:
    """Every paragraph and table cell of the Word file is in the PDF, and the PDF holds no text
    beyond them (headers and footers counted once per page)."""
    text, pages = pdf_text(pdf)
    flat = _norm(text)
    word = docx.Document(str(document))
    body = _texts(word)
    section = word.sections[0]
    if section.different_first_page_header_footer:
        first = _texts(section.first_page_header) + _texts(section.first_page_footer)
    else:
        first = _texts(section.header) + _texts(section.footer)
    later = _texts(section.header) + _texts(section.footer) if pages > 1 else []
    missing = [t for t in body + first + later if _norm(t) not in flat]
    assert not missing, f"{pdf.name} lacks: {missing[:3]}"
    expected = Counter(_norm("".join(body + first)))
    for char, count in Counter(_norm("".join(later))).items():
        expected[char] += count * (pages - 1)
    assert not Counter(flat) - expected, f"{pdf.name} has text the Word file does not"
    assert not expected - Counter(flat), f"{pdf.name} lacks some of the Word file's text"


# -- stand-in soffice programs ----------------------------------------------------------------

_PREAMBLE = f"""#!{sys.executable}
import os, sys, pathlib
args = sys.argv[1:]
log = pathlib.Path(__file__).with_suffix(".log")
with log.open("a") as handle:
    handle.write(" ".join(args) + "\\n")
out = pathlib.Path(args[args.index("--outdir") + 1]) if "--outdir" in args else None
inputs = [pathlib.Path(a) for a in args if a.endswith(".docx")]
"""

BEHAVIOURS = {
    # writes a small valid PDF per input, as LibreOffice does
    "converts": """
out.mkdir(parents=True, exist_ok=True)
for doc in inputs:
    (out / (doc.stem + ".pdf")).write_bytes(b"%PDF-1.4\\n1 0 obj<<>>endobj\\ntrailer<<>>\\n%%EOF\\n")
""",
    # the famous one: exit 0, nothing written
    "writes_nothing": "sys.exit(0)\n",
    "writes_garbage": """
out.mkdir(parents=True, exist_ok=True)
for doc in inputs:
    (out / (doc.stem + ".pdf")).write_bytes(b"")
""",
    "crashes": "print('soffice.bin: fatal error: profile is damaged'); sys.exit(81)\n",
    # starts a worker in its process group and hangs: both must be killed
    "hangs": """
import subprocess, time
child = subprocess.Popen(["sleep", "600"])
log.with_suffix(".child").write_text(str(child.pid))
time.sleep(600)
""",
}


def stand_in(folder: Path, behaviour: str) -> Path:
    """An executable `soffice` in `folder` that behaves as named; it logs each start."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "soffice"
    program.write_text(_PREAMBLE + BEHAVIOURS[behaviour], encoding="utf-8")
    program.chmod(0o755)
    return program


def starts(program: Path) -> list[str]:
    """The command lines the stand-in was started with."""
    log = program.with_suffix(".log")
    return log.read_text().splitlines() if log.exists() else []
