"""Build templates/factsheet.docx, the Word template of the one-page cluster factsheet.

The .docx is what the secretariat edits in Word; this script is how it was first made, so the
design can be rebuilt from scratch (or compared with an edited copy) at any time:

    python templates/build_templates.py --out /tmp/f.docx    # a fresh copy to compare
    python templates/build_templates.py --force              # replaces templates/factsheet.docx
    python templates/build_templates.py --out /tmp/p.docx --preview docs/images/factsheet-example.png

It never writes over an existing file without --force: the shipped template may hold edits
made in Word since.

`--preview` renders the template with sample data through cluster_sync's own renderer and turns
page 1 into a PNG; it needs LibreOffice (`soffice`) and poppler (`pdftoppm`).

Every jinja marker is written as one whole run, so Word never splits it and docxtpl always reads
it back intact. The look lives in named styles (Title, Subtitle, Heading 2, Fact label,
Table Text, Factsheet Table, ...) so the template can be restyled in Word without touching a tag.
The tags themselves are documented in docs/templates.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import _Footer, _Header
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx_kit import (
    BLUE,
    FONT,
    INK,
    MUTED,
    PAGE_W,
    RULE,
    TEAL,
    TEAL_DARK,
    TEAL_LIGHT,
    TINT,
    WHITE,
    Run,
    a4_section,
    add_border,
    apply_style,
    cell_margins,
    document_defaults,
    fill,
    funding_footer,
    header_footer_styles,
    layout_table_style,
    logo_row,
    logo_styles,
    loop_table,
    marker,
    para,
    reset_paragraph_props,
    row_flags,
    ruled_table_style,
    save,
    set_child,
    set_properties,
    set_widths,
    shade,
    style,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "factsheet.docx"

BODY_PT = 9.5
FACT_INDENT_CM = 4.2

# Margins that leave room for a full page of content on one A4 sheet.
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = Cm(1.6), Cm(1.3), Cm(1.6)
TEXT_W = PAGE_W - 2 * MARGIN_X  # 17.8 cm


# --------------------------------------------------------------------------- styles


def build_styles(doc: DocumentObject) -> None:
    document_defaults(doc)

    normal = doc.styles["Normal"]
    apply_style(normal, size=BODY_PT, color=INK, after=3, before=0, line=1.08)
    normal.paragraph_format.widow_control = True

    # the factsheet's own outline: only Heading 2 shows in the navigation pane
    title = doc.styles["Title"]
    reset_paragraph_props(title, "w:outlineLvl")
    apply_style(title, size=19, color=WHITE, bold=True, before=2, after=2, line=1.0, spacing_pt=0)
    title.font.italic = False

    subtitle = doc.styles["Subtitle"]
    reset_paragraph_props(subtitle, "w:outlineLvl")
    apply_style(subtitle, size=10.5, color=TEAL_LIGHT, bold=True, italic=False, before=0, after=0)

    h2 = doc.styles["Heading 2"]
    reset_paragraph_props(h2, "w:outlineLvl")
    apply_style(
        h2,
        size=10,
        color=BLUE,
        bold=True,
        caps=True,
        spacing_pt=0.6,
        before=7,
        after=3,
        line=1.0,
        keep_next=True,
    )
    add_border(h2.element.get_or_add_pPr(), "bottom", TEAL, size=8, space=1)
    set_child(h2.element.get_or_add_pPr(), "w:outlineLvl", val="1")

    style(
        doc, "Band Label", size=7, color=TEAL_LIGHT, bold=True, caps=True, spacing_pt=1.2, after=1
    )
    style(doc, "Band ID", size=15, color=WHITE, bold=True, after=0, line=1.0)
    style(doc, "Band Note", size=8.5, color=WHITE, after=0)
    style(doc, "Table Text", size=8.5, after=0, before=0, line=1.0)
    style(
        doc,
        "Table Header",
        base="Table Text",
        size=7.5,
        color=WHITE,
        bold=True,
        caps=True,
        spacing_pt=0.5,
    )
    style(doc, "Table Note", size=7.5, color=MUTED, italic=True, after=0, before=2)
    who = style(doc, "Fact Line", after=1.5, line=1.0)
    # wide enough for the longest label (PARTICIPANT CATEGORIES), so every value starts at
    # the same tab stop
    who.paragraph_format.left_indent = Cm(FACT_INDENT_CM)
    who.paragraph_format.first_line_indent = Cm(-FACT_INDENT_CM)
    who.paragraph_format.tab_stops.add_tab_stop(Cm(FACT_INDENT_CM))
    style(doc, "Outcomes", size=9.5, color=TEAL_DARK, bold=True, after=0)
    style(doc, "Marker", size=7, color=MUTED, after=0, line=1.0)

    apply_style(doc.styles["List Bullet"], after=1.5, line=1.05)
    header_footer_styles(doc)
    logo_styles(doc)

    style(
        doc,
        "Fact label",
        kind=WD_STYLE_TYPE.CHARACTER,
        size=7.5,
        color=BLUE,
        bold=True,
        caps=True,
        spacing_pt=0.4,
    )
    # kept out of Word's style gallery: it only ever marks the roadmap's ✓
    style(
        doc,
        "Done mark",
        kind=WD_STYLE_TYPE.CHARACTER,
        quick=False,
        color=TEAL_DARK,
        bold=True,
        font=None,
    )

    ruled_table_style(doc, "Factsheet Table", pad_v=40, pad_h=102, header_spacing=8)
    layout_table_style(doc, "Factsheet Layout", pad_v=40, pad_h=102)

    _bullet_numbering(doc)


def _bullet_numbering(doc: DocumentObject) -> None:
    """List Bullet: a small teal square, hanging 0.45 cm, instead of the default indent."""
    numbering = doc.part.numbering_part.element
    num_id = doc.styles["List Bullet"].element.pPr.numPr.numId.val
    num = next(n for n in numbering.findall(qn("w:num")) if n.get(qn("w:numId")) == str(num_id))
    abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    abstract = next(
        a
        for a in numbering.findall(qn("w:abstractNum"))
        if a.get(qn("w:abstractNumId")) == abstract_id
    )
    for lvl in abstract.findall(qn("w:lvl")):
        abstract.remove(lvl)
    abstract.append(
        parse_xml(
            f'<w:lvl {nsdecls("w")} w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/>'
            '<w:pStyle w:val="ListBullet"/><w:lvlText w:val="■"/><w:lvlJc w:val="left"/>'
            '<w:pPr><w:tabs><w:tab w:val="num" w:pos="255"/></w:tabs>'
            '<w:ind w:left="255" w:hanging="255"/></w:pPr>'
            f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:cs="{FONT}"/>'
            f'<w:color w:val="{TEAL}"/><w:position w:val="2"/><w:sz w:val="12"/></w:rPr></w:lvl>'
        )
    )


# --------------------------------------------------------------------------- content


def _band(doc: DocumentObject) -> None:
    """The coloured title band: title and acronym on blue, the cluster id on teal."""
    table = doc.add_table(rows=1, cols=2)
    table.style = "Factsheet Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, [13.4, 4.4])
    row_flags(table.rows[0])
    left, right = table.rows[0].cells
    shade(left, BLUE)
    shade(right, TEAL)
    cell_margins(left, 0.3, 0.4, 0.32, 0.45)
    cell_margins(right, 0.3, 0.4, 0.32, 0.4)
    left.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    fill(left, "Band Label", "Cluster factsheet  ·  Natural Heritage mission  ·  Interreg Euro-MED")
    para(left, "Title", "{{ title }}")
    for text, name in (
        ("{%p if acronym %}", "Marker"),
        ("{{ acronym }}", "Subtitle"),
        ("{%p endif %}", "Marker"),
    ):
        par = para(left, name, text)
        if name == "Marker":  # readable on blue while editing; gone once rendered
            par.runs[0].font.color.rgb = RGBColor.from_string(TEAL_LIGHT)

    fill(right, "Band Label", "Cluster ID")
    right.paragraphs[0].runs[0].font.color.rgb = RGBColor.from_string(WHITE)
    para(right, "Band ID", "{{ cluster_id }}")
    para(right, "Band Note", "version {{ version }}")


def _key_facts(doc: DocumentObject) -> None:
    """Label/value pairs on a light tint, two pairs per row."""
    rows = [
        ("Working groups", ["{{ working_groups|join(', ') }}"], None, None),
        ("Cluster type", ["{{ cluster_type }}"], "Dates", ["{{ start_date }} – {{ end_date }}"]),
        (
            "Lead organisation",
            ["{{ lead_organisation }} ({{ lead_country }})", "{{ lead_role }}"],
            "Contact person",
            ["{{ contact_person }}", "{{ contact_email }}"],
        ),
        (
            "Transfer levels",
            ["{{ transfer_levels|join(', ') }}"],
            "Partnership",
            ["{{ partnership }}"],
        ),
    ]
    table = doc.add_table(rows=len(rows), cols=4)
    table.style = "Factsheet Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, [3.0, 5.9, 2.6, 6.3])
    for row, (label1, values1, label2, values2) in zip(table.rows, rows, strict=True):
        row_flags(row)
        cells = row.cells
        for cell in cells:
            shade(cell, TINT)
        if label2 is None:
            merged = cells[1].merge(cells[3])
            pairs = [(cells[0], label1, values1, merged)]
        else:
            pairs = [(cells[0], label1, values1, cells[1]), (cells[2], label2, values2, cells[3])]
        for label_cell, label, values, value_cell in pairs:
            # the smaller label starts a point lower, so it sits on the value's baseline
            fill(
                label_cell, "Table Text", (label, "Fact label")
            ).paragraph_format.space_before = Pt(1.2)
            fill(value_cell, "Table Text", values[0])
            for extra in values[1:]:
                para(value_cell, "Table Text", extra)
    # a white hairline between rows keeps the block light
    tblpr = table._tbl.tblPr
    tblpr.append(
        parse_xml(
            f"<w:tblBorders {nsdecls('w')}>"
            f'<w:insideH w:val="single" w:sz="8" w:space="0" w:color="{WHITE}"/>'
            "</w:tblBorders>"
        )
    )


def _data_table(
    doc: DocumentObject, headers: list[str], widths: list[float], loop: str, cells: list[list[Run]]
) -> Table:
    """A Factsheet Table, centred on the page."""
    return loop_table(
        doc, "Factsheet Table", headers, widths, loop, cells, alignment=WD_TABLE_ALIGNMENT.CENTER
    )


def _body(doc: DocumentObject) -> None:
    para(doc, "Heading 2", "Question or need addressed")
    para(doc, "Normal", "{{ question }}")

    para(doc, "Heading 2", "Objectives")
    marker(doc, "{%p for objective in objectives %}")
    para(doc, "List Bullet", "{{ objective }}")
    marker(doc, "{%p endfor %}")

    para(doc, "Heading 2", "Who is involved")
    para(doc, "Fact Line", ("Countries", "Fact label"), "\t{{ countries|join(', ') }}")
    para(
        doc,
        "Fact Line",
        ("Participant categories", "Fact label"),
        "\t{{ participant_categories|join(', ') }}",
    )
    last = para(
        doc,
        "Fact Line",
        ("Thematic Projects", "Fact label"),
        "\t{{ thematic_projects|join(', ') if thematic_projects else '–' }}",
    )
    last.paragraph_format.space_after = Pt(5)
    # each organisation once: the lead first, then the participants' organisations
    _data_table(
        doc,
        ["Organisation", "Country", "People"],
        [7.6, 3.2, 7.0],
        "org in partners",
        [
            ["{{ org.organisation }}", ("{{ ' · lead' if org.lead else '' }}", "Done mark")],
            ["{{ org.country }}"],
            ["{{ org.people or '–' }}"],
        ],
    )

    para(doc, "Heading 2", "Results to transfer")
    para(doc, "Normal", "{{ results }}")

    para(doc, "Heading 2", "Roadmap")
    _data_table(
        doc,
        ["Date", "Activity"],
        [3.9, 13.9],
        "item in roadmap",
        [
            [("{{ '✓ ' if item.done else '' }}", "Done mark"), "{{ item.date }}"],
            ["{{ item.activity }}"],
        ],
    )
    marker(doc, "{%p if any_done %}")
    para(doc, "Table Note", "✓ marks dates already past on {{ generated_on }}")
    marker(doc, "{%p endif %}")

    para(doc, "Heading 2", "Expected outcomes")
    para(doc, "Outcomes", "{{ outcomes|join('   ·   ') }}")

    marker(doc, "{%p if expertise %}")
    para(doc, "Heading 2", "Expertise needed")
    para(doc, "Normal", "{{ expertise }}")
    marker(doc, "{%p endif %}")


def _footer(footer: _Footer) -> None:
    funding_footer(footer.paragraphs[0], TEXT_W)
    para(footer, "Footer", "Generated on {{ generated_on }} from the cluster registration form")


def _running_header(header: _Header) -> None:
    """Pages after the first carry a slim reminder of whose factsheet it is."""
    par = header.paragraphs[0]
    par.style = "Header"
    par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    par.add_run("{{ cluster_id }}").bold = True
    par.add_run("  ·  {{ title }}")
    add_border(par._p.get_or_add_pPr(), "bottom", RULE, size=4, space=3)


def _gap(table: Table, twips: int) -> None:
    """An empty paragraph of exactly `twips` height after `table`."""
    gap = table._tbl.makeelement(qn("w:p"), {})
    table._tbl.addnext(gap)
    gap_ppr = OxmlElement("w:pPr")
    set_child(gap_ppr, "w:pStyle", val="Marker")
    set_child(gap_ppr, "w:spacing", before="0", after="0", line=str(twips), lineRule="exact")
    gap.append(gap_ppr)


def build(out: Path, force: bool = False) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    a4_section(section, MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM, hf=Cm(0.7))

    build_styles(doc)
    # the default document starts with no paragraph; the logos are the first block
    logo_row(doc, TEXT_W, "Factsheet Layout")
    _band(doc)
    _key_facts(doc)
    # small gaps keep the three blocks apart (and two tables that touch would be merged by Word)
    _gap(doc.tables[0], 160)
    _gap(doc.tables[1], 100)
    _body(doc)

    _running_header(section.header)
    _footer(section.footer)
    _footer(section.first_page_footer)
    section.first_page_header.is_linked_to_previous = False

    set_properties(
        doc,
        title="Cluster factsheet",
        subject="Interreg Euro-MED Natural Heritage mission: cluster factsheet template",
        comments="Tags: see docs/templates.md. Rebuild: python templates/build_templates.py",
        keywords="cluster, factsheet, template",
    )
    return save(doc, out, force)


# --------------------------------------------------------------------------- preview


def preview(png: Path, template: Path, today: date | None = None, dpi: int = 100) -> Path:
    """Render the sample through cluster_sync and save page 1 as a PNG."""
    from cluster_sync.render.factsheet import factsheet_context, render_docx
    from cluster_sync.sample import PREVIEW_DAY, sample_registration

    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        sys.exit("--preview needs LibreOffice (soffice) and poppler (pdftoppm) on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docx_path = work / "factsheet.docx"
        context = factsheet_context(sample_registration(), "CL-2025-007", 2, today or PREVIEW_DAY)
        render_docx(template, context, docx_path)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(docx_path)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *("pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile"),
                *(str(work / "factsheet.pdf"), str(work / "page")),
            ],
            check=True,
        )
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "page.png", png)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .docx")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace --out when it exists (edits made in it are lost)",
    )
    parser.add_argument(
        "--preview", type=Path, metavar="PNG", help="also render sample data to this PNG"
    )
    args = parser.parse_args(argv)
    out = build(args.out, args.force)
    print(f"wrote {out}")
    if args.preview:
        print(f"wrote {preview(args.preview, out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
