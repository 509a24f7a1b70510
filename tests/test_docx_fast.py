"""The prepared-template renderer against docxtpl's own rendering: the same document, part by
part, for the demo data and for every template feature; a template saved again is picked up."""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docxtpl import RichText
from lxml import etree

from cluster_sync.config import FormConfig
from cluster_sync.render import docx_fast
from cluster_sync.render.factsheet import factsheet_context, render_docx, render_with_docxtpl
from cluster_sync.sources.base import HeaderMap
from cluster_sync.validate import validate_row

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "factsheet.docx"
TODAY = date(2025, 6, 12)


def _demo_contexts() -> list[dict[str, Any]]:
    """A factsheet context for every valid row of the demo data (examples/responses.csv)."""
    with (ROOT / "examples" / "responses.csv").open(encoding="utf-8-sig", newline="") as handle:
        headers, *rows = list(csv.reader(handle))
    columns = HeaderMap.build(headers, FormConfig(), "the demo data")
    contexts = []
    for number, cells in enumerate(rows, start=2):
        outcome = validate_row(columns.row(cells, number).values)
        if outcome.registration is not None:
            cluster_id = f"CL-2025-{number:03d}"
            contexts.append(factsheet_context(outcome.registration, cluster_id, 1, TODAY))
    return contexts


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def _text(data: bytes) -> str:
    """Everything a reader sees: paragraphs, table cells, headers and footers."""
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    for section in doc.sections:
        for hf in (section.header, section.footer, section.first_page_header):
            parts += [p.text for p in hf.paragraphs]
        parts += [p.text for p in section.first_page_footer.paragraphs]
    return "\n".join(parts)


def _fast(template: Path, context: dict[str, Any], tmp_path: Path) -> bytes:
    out = tmp_path / "fast.docx"
    render_docx(template, context, out)
    return out.read_bytes()


def _assert_same_document(fast: bytes, slow: bytes) -> None:
    assert _text(fast) == _text(slow)
    fast_parts, slow_parts = _parts(fast), _parts(slow)
    assert list(fast_parts) == list(slow_parts)
    for name in ("word/document.xml", *(n for n in fast_parts if "/header" in n or "/footer" in n)):
        # the same XML as docxtpl writes, up to where namespaces are declared
        assert _canonical(fast_parts[name]) == _canonical(slow_parts[name]), name


def _canonical(xml: bytes) -> bytes:
    return bytes(etree.tostring(etree.fromstring(xml), method="c14n"))


def test_demo_data_renders_as_docxtpl_does(tmp_path: Path) -> None:
    contexts = _demo_contexts()
    assert len(contexts) >= 5
    assert docx_fast.prepare(TEMPLATE) is not None  # the shipped template takes the fast path
    for context in contexts:
        fast = _fast(TEMPLATE, context, tmp_path)
        _assert_same_document(fast, render_with_docxtpl(TEMPLATE, context))
        assert context["title"] in _text(fast)


def test_unchanged_parts_are_the_templates_own_bytes(tmp_path: Path) -> None:
    fast = _parts(_fast(TEMPLATE, _demo_contexts()[0], tmp_path))
    original = _parts(TEMPLATE.read_bytes())
    assert fast["word/styles.xml"] == original["word/styles.xml"]
    assert fast["word/document.xml"] != original["word/document.xml"]


def _template(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph().add_run(text)
    if table:
        grid = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).paragraphs[0].add_run(text)
    doc.sections[0].footer.paragraphs[0].add_run("Footer {{ title }}")
    doc.save(str(path))
    return path


FEATURES = {
    "escaping": (["Title: {{ title }}"], None, {"title": 'R&D <pilot> & "quotes" 🌊'}),
    "conditional paragraph": (
        ["{%p if show %}", "Shown only with show", "{%p endif %}", "After"],
        None,
        {"show": False, "title": "t"},
    ),
    "row loop": (
        ["Table:"],
        [
            ["Name", "Country"],
            ["{%tr for p in people %}", ""],
            ["{{ p.name }}", "{{ p.country }}"],
            ["{%tr endfor %}", ""],
        ],
        {
            "people": [
                {"name": "Ana Đurđević", "country": "Croatia"},
                {"name": "Стефан", "country": "Bulgaria"},
            ],
            "title": "t",
        },
    ),
    "cell loop (grid repaired)": (
        ["Cells:"],
        [["{%tc for x in xs %}", "{{ x }}", "{%tc endfor %}"]],
        {"xs": ["a", "b", "c", "d", "e"], "title": "t"},
    ),
    "line breaks and tabs": (["{{ results }}"], None, {"results": "one\ntwo\tthree", "title": "t"}),
    "rich text": (["{{r rich }}"], None, {"rich": RichText("bold & big", bold=True), "title": "t"}),
    "paragraph and page breaks": (["{{ results }}"], None, {"results": "a\ab\fc", "title": "t"}),
    "literal braces": (["Shown as {_{ x }_} and {_% y %_}: {{ title }}"], None, {"title": "t"}),
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_template_features_match_docxtpl(tmp_path: Path, feature: str) -> None:
    paragraphs, table, context = FEATURES[feature]
    template = _template(tmp_path / "feature.docx", paragraphs, table)
    assert docx_fast.prepare(template) is not None
    fast = _fast(template, context, tmp_path)
    _assert_same_document(fast, render_with_docxtpl(template, context))


def test_template_saved_again_is_prepared_again(tmp_path: Path) -> None:
    template = _template(tmp_path / "edited.docx", ["First wording {{ title }}"])
    first = _text(_fast(template, {"title": "X"}, tmp_path))
    stat = template.stat()
    _template(template, ["Second wording, longer {{ title }}"])
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = _text(_fast(template, {"title": "X"}, tmp_path))
    assert "First wording X" in first
    assert "Second wording, longer X" in second and "First wording" not in second


def test_tags_in_core_properties_take_docxtpl_path(tmp_path: Path) -> None:
    template = _template(tmp_path / "props.docx", ["Body {{ title }}"])
    doc = Document(str(template))
    doc.core_properties.title = "{{ title }}"
    doc.save(str(template))
    assert docx_fast.prepare(template) is None
    out = tmp_path / "out.docx"
    render_docx(template, {"title": "Seagrass"}, out)
    assert Document(str(out)).core_properties.title == "Seagrass"


def _logos(logo: Path, emblem: Path) -> Any:
    from cluster_sync.config import BrandingConfig
    from cluster_sync.render.branding import logo_images

    return logo_images(BrandingConfig(programme_logo=logo, eu_emblem=emblem))


def _pictures(data: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sorted(archive.read(n) for n in archive.namelist() if n.startswith("word/media/"))


def test_logos_are_placed_as_docxtpl_places_them(tmp_path: Path) -> None:
    branding = ROOT / "examples" / "branding"
    logo, emblem = tmp_path / "logo.png", tmp_path / "emblem.png"
    logo.write_bytes((branding / "programme-logo-placeholder.png").read_bytes())
    emblem.write_bytes((branding / "eu-emblem.png").read_bytes())
    extras = _logos(logo, emblem)
    context = _demo_contexts()[0]
    assert docx_fast.prepare(TEMPLATE, extras=extras) is not None  # not docxtpl's path
    out = tmp_path / "fast.docx"
    render_docx(TEMPLATE, context, out, extras=extras)
    fast, slow = out.read_bytes(), render_with_docxtpl(TEMPLATE, context, extras)
    assert _text(fast) == _text(slow)
    assert "[programme logo]" not in _text(fast) and "[EU emblem]" not in _text(fast)
    assert _pictures(fast) == _pictures(slow) and logo.read_bytes() in _pictures(fast)
    drawings = [
        len(re.findall(rb"<w:drawing>", data))
        for data in (_parts(fast)["word/document.xml"], _parts(slow)["word/document.xml"])
    ]
    assert drawings[0] == drawings[1] > 0
    Document(io.BytesIO(fast))  # opens

    # a new logo file (same name) is picked up by the next render
    logo.write_bytes(emblem.read_bytes())
    os.utime(logo, ns=(logo.stat().st_atime_ns, logo.stat().st_mtime_ns + 1_000_000))
    render_docx(TEMPLATE, context, out, extras=extras)
    assert (branding / "programme-logo-placeholder.png").read_bytes() not in _pictures(
        out.read_bytes()
    )


def test_a_part_rendered_as_before_is_taken_finished_and_only_then(tmp_path: Path) -> None:
    template = _template(tmp_path / "footer.docx", ["Body {{ text }}"])  # footer: {{ title }}
    prepared = docx_fast.prepare(template)
    assert prepared is not None
    [(footer, part)] = prepared.parts.items()
    contexts = [{"title": "Same", "text": f"document {n}"} for n in range(3)]
    contexts.append({"title": "Other & new", "text": "document 3"})
    rendered = [prepared.render(context) for context in contexts]
    # the first three footers are one rendering, made once; the fourth is made anew
    assert len(part.finished) == 2
    # each document is byte for byte what a preparation that has rendered nothing yet gives
    for context, data in zip(contexts, rendered, strict=True):
        assert data == docx_fast.PreparedDocx(template.read_bytes(), template).render(context)
    assert b"Other &amp; new" in _parts(rendered[3])[footer]
    _assert_same_document(rendered[3], render_with_docxtpl(template, contexts[3]))
    for n in range(docx_fast._FINISHED_KEPT + 3):
        prepared.render({"title": f"title {n}", "text": "x"})
    assert 0 < len(part.finished) <= docx_fast._FINISHED_KEPT


def _grid_table(rows: str, columns: int = 2) -> str:
    grid = '<w:gridCol w:w="2000"/>' * columns
    return f"<w:tbl><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{rows}</w:tbl>"


def _grid_row(*spans: int) -> str:
    cells = "".join(
        "<w:tc>"
        + (f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span > 1 else "")
        + "<w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>"
        for span in spans
    )
    return f"<w:tr>{cells}</w:tr>"


GRIDS = {
    "rows as wide as the grid": (_grid_table(_grid_row(1, 1) * 3), False),
    "a spanning cell, then two cells": (_grid_table(_grid_row(2) + _grid_row(1, 1)), False),
    "a narrow row before the wide one": (_grid_table(_grid_row(1) + _grid_row(1, 1)), False),
    "a later row wider than the grid": (_grid_table(_grid_row(1, 1) + _grid_row(3)), False),
    "more cells than columns (cell loop)": (
        _grid_table(_grid_row(1, 1) + _grid_row(1, 1, 1)),
        True,
    ),
    "fewer cells than columns (cells dropped)": (_grid_table(_grid_row(1) * 2), True),
    "no rows left": (_grid_table(""), True),
    "a nested table's row counts for the outer table": (
        _grid_table(f"<w:tr><w:tc>{_grid_table(_grid_row(1, 1, 1), 3)}<w:p/></w:tc></w:tr>", 1),
        True,
    ),
}


@pytest.mark.parametrize("case", list(GRIDS))
def test_grid_repair_is_skipped_only_when_it_changes_nothing(case: str) -> None:
    from docxtpl import DocxTemplate

    table, needed = GRIDS[case]
    body = f'<w:body xmlns:w="{docx_fast._W}">{table}<w:sectPr/></w:body>'
    tree = etree.fromstring(body)
    repaired = etree.tostring(DocxTemplate.fix_tables(None, body))
    assert (repaired != etree.tostring(tree)) is needed  # what docxtpl's repair does
    assert docx_fast._grid_mismatch(tree) is needed  # the check agrees, both ways
