"""Build templates/factsheet.docx, the Word template of the one-page cluster factsheet.

The .docx is what the secretariat edits in Word; this script is how it was first made, so the
design can be rebuilt from scratch (or compared with an edited copy) at any time:

    python templates/build_templates.py                      # writes templates/factsheet.docx
    python templates/build_templates.py --out /tmp/f.docx    # somewhere else
    python templates/build_templates.py --preview docs/images/factsheet-example.png

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
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "factsheet.docx"

# Palette: Interreg blue with the sea-green accent of the Natural Heritage mission.
BLUE = "003399"
BLUE_DARK = "002270"
TEAL = "00A19A"
TEAL_DARK = "00756F"
TEAL_LIGHT = "8FE0DA"
INK = "1F2A3C"
MUTED = "5E6B7E"
TINT = "EEF2FA"
RULE = "C8D2E4"
WHITE = "FFFFFF"

FONT = "Calibri"  # LibreOffice substitutes the metric-compatible Carlito
BODY_PT = 9.5

# A4, with margins that leave room for a full page of content.
PAGE_W, PAGE_H = Cm(21.0), Cm(29.7)
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = Cm(1.6), Cm(1.3), Cm(1.6)
TEXT_W = PAGE_W - 2 * MARGIN_X  # 17.8 cm


# --------------------------------------------------------------------------- XML helpers


def _set(parent, tag: str, **attrs: str):
    """Get or create child `tag` of `parent` and set its w: attributes."""
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def _fonts(rpr, name: str = FONT) -> None:
    """Explicit fonts for every script (no theme fonts, which would override the style)."""
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    rfonts = OxmlElement("w:rFonts")
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        rfonts.set(qn(f"w:{attr}"), name)
    rpr.insert(0, rfonts)


def _border(el, side: str, color: str, size: int = 4, space: int = 1, val: str = "single"):
    borders = el.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        el.append(borders)
    b = OxmlElement(f"w:{side}")
    b.set(qn("w:val"), val)
    b.set(qn("w:sz"), str(size))
    b.set(qn("w:space"), str(space))
    b.set(qn("w:color"), color)
    borders.append(b)


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _cell_margins(cell, top: float, right: float, bottom: float, left: float) -> None:
    """Padding of one cell, in cm."""
    tcpr = cell._tc.get_or_add_tcPr()
    mar = OxmlElement("w:tcMar")
    for side, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(Cm(value).twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tcpr.append(mar)


def _widths(table, widths_cm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour."""
    table.autofit = False
    tblpr = table._tbl.tblPr
    _set(tblpr, "w:tblW", w=str(int(sum(Cm(w).twips for w in widths_cm))), type="dxa")
    _set(tblpr, "w:tblLayout", type="fixed")
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for idx, cell in enumerate(row.cells):
            cell.width = Cm(widths_cm[idx])


def _row_flags(row, header: bool = False) -> None:
    """Rows never split across pages; a header row repeats on the next page."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def _field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """A Word field (PAGE, NUMPAGES) as begin / instruction / separate / result / end runs."""
    for kind, text in (
        ("begin", None),
        ("instr", f" {instruction} "),
        ("separate", None),
        ("text", placeholder),
        ("end", None),
    ):
        run = paragraph.add_run()
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind == "text":
            run.text = text
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)


# --------------------------------------------------------------------------- styles


def _paragraph_style(doc, name: str, base: str = "Normal", **opts):
    styles = doc.styles
    try:
        style = styles[name]
    except KeyError:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles[base]
        style.quick_style = True
    _apply(style, **opts)
    return style


def _apply(
    style,
    size: float | None = None,
    color: str | None = None,
    bold: bool | None = None,
    italic: bool | None = None,
    caps: bool | None = None,
    spacing_pt: float | None = None,
    before: float | None = None,
    after: float | None = None,
    line: float | None = None,
    keep_next: bool | None = None,
    font: str | None = FONT,
) -> None:
    rpr = style.element.get_or_add_rPr()
    if font:
        _fonts(rpr, font)
    # drop theme colours inherited from the python-docx default template
    if color:
        for el in rpr.findall(qn("w:color")):
            rpr.remove(el)
    f = style.font
    if size is not None:
        f.size = Pt(size)
        _set(rpr, "w:szCs", val=str(int(size * 2)))
    if color:
        f.color.rgb = RGBColor.from_string(color)
    if bold is not None:
        f.bold = bold
    if italic is not None:
        f.italic = italic
    if caps is not None:
        f.all_caps = caps
    if spacing_pt is not None:
        _set(rpr, "w:spacing", val=str(int(spacing_pt * 20)))
    if style.type != WD_STYLE_TYPE.PARAGRAPH:
        return
    pf = style.paragraph_format
    if before is not None:
        pf.space_before = Pt(before)
    if after is not None:
        pf.space_after = Pt(after)
    if line is not None:
        pf.line_spacing = line
    if keep_next is not None:
        pf.keep_with_next = keep_next


def _reset_paragraph_props(style) -> None:
    """Remove borders and indents the default template gives Title and headings."""
    ppr = style.element.get_or_add_pPr()
    for tag in ("w:pBdr", "w:ind", "w:contextualSpacing", "w:outlineLvl"):
        for el in ppr.findall(qn(tag)):
            ppr.remove(el)


def _table_style(doc, name: str, xml_body: str) -> None:
    style_id = name.replace(" ", "")
    styles_el = doc.styles.element
    for el in styles_el.findall(qn("w:style")):
        if el.get(qn("w:styleId")) == style_id:
            styles_el.remove(el)
    styles_el.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="table" w:customStyle="1" w:styleId="{style_id}">'
            f'<w:name w:val="{name}"/><w:basedOn w:val="TableNormal"/>'
            f'<w:uiPriority w:val="59"/><w:qFormat/>{xml_body}</w:style>'
        )
    )


def build_styles(doc) -> None:
    # Document defaults: Calibri everywhere, British English, ink colour.
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    _fonts(rpr)
    _set(rpr, "w:lang", val="en-GB", eastAsia="en-GB", bidi="ar-SA")

    normal = doc.styles["Normal"]
    _apply(normal, size=BODY_PT, color=INK, after=3, before=0, line=1.08)
    normal.paragraph_format.widow_control = True

    title = doc.styles["Title"]
    _reset_paragraph_props(title)
    _apply(title, size=19, color=WHITE, bold=True, before=2, after=2, line=1.0, spacing_pt=0)
    title.font.italic = False

    subtitle = doc.styles["Subtitle"]
    _reset_paragraph_props(subtitle)
    _apply(subtitle, size=10.5, color=TEAL_LIGHT, bold=True, italic=False, before=0, after=0)

    h2 = doc.styles["Heading 2"]
    _reset_paragraph_props(h2)
    _apply(
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
    _border(h2.element.get_or_add_pPr(), "bottom", TEAL, size=8, space=1)
    _set(h2.element.get_or_add_pPr(), "w:outlineLvl", val="1")

    _paragraph_style(
        doc, "Band Label", size=7, color=TEAL_LIGHT, bold=True, caps=True, spacing_pt=1.2, after=1
    )
    _paragraph_style(doc, "Band ID", size=15, color=WHITE, bold=True, after=0, line=1.0)
    _paragraph_style(doc, "Band Note", size=8.5, color=WHITE, after=0)
    _paragraph_style(doc, "Table Text", size=8.5, after=0, before=0, line=1.0)
    _paragraph_style(
        doc,
        "Table Header",
        base="Table Text",
        size=7.5,
        color=WHITE,
        bold=True,
        caps=True,
        spacing_pt=0.5,
    )
    _paragraph_style(doc, "Table Note", size=7.5, color=MUTED, italic=True, after=0, before=2)
    who = _paragraph_style(doc, "Fact Line", after=1.5, line=1.0)
    who.paragraph_format.left_indent = Cm(3.4)
    who.paragraph_format.first_line_indent = Cm(-3.4)
    who.paragraph_format.tab_stops.add_tab_stop(Cm(3.4))
    _paragraph_style(doc, "Outcomes", size=9.5, color=TEAL_DARK, bold=True, after=0)
    _paragraph_style(doc, "Empty Note", size=8.5, color=MUTED, italic=True, after=0)
    _paragraph_style(doc, "Marker", size=7, color=MUTED, after=0, line=1.0)

    bullets = doc.styles["List Bullet"]
    _apply(bullets, after=1.5, line=1.05)

    footer = doc.styles["Footer"]
    _apply(footer, size=7.5, color=MUTED, after=0, before=0, line=1.0)
    header = doc.styles["Header"]
    _apply(header, size=7.5, color=MUTED, after=0, before=0, line=1.0)
    for style in (footer, header):  # the default template's Letter-size tab stops
        for tabs in style.element.get_or_add_pPr().findall(qn("w:tabs")):
            tabs.getparent().remove(tabs)

    try:
        label = doc.styles["Fact label"]
    except KeyError:
        label = doc.styles.add_style("Fact label", WD_STYLE_TYPE.CHARACTER)
        label.quick_style = True
    _apply(label, size=7.5, color=BLUE, bold=True, caps=True, spacing_pt=0.4)

    try:
        mark = doc.styles["Done mark"]
    except KeyError:
        mark = doc.styles.add_style("Done mark", WD_STYLE_TYPE.CHARACTER)
    _apply(mark, color=TEAL_DARK, bold=True, font=None)

    cell_mar = (
        '<w:tblCellMar><w:top w:w="40" w:type="dxa"/><w:left w:w="102" w:type="dxa"/>'
        '<w:bottom w:w="40" w:type="dxa"/><w:right w:w="102" w:type="dxa"/></w:tblCellMar>'
    )
    _table_style(
        doc,
        "Factsheet Table",
        "<w:pPr><w:spacing w:before='0' w:after='0'/></w:pPr>"
        f"<w:tblPr><w:tblBorders>"
        f'<w:top w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f'<w:bottom w:val="single" w:sz="8" w:space="0" w:color="{BLUE}"/>'
        f'<w:insideH w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f"</w:tblBorders>{cell_mar}</w:tblPr>"
        '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:caps/>'
        f'<w:color w:val="{WHITE}"/><w:spacing w:val="8"/><w:sz w:val="15"/></w:rPr>'
        f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{BLUE}"/></w:tcPr>'
        "</w:tblStylePr>",
    )
    _table_style(
        doc,
        "Factsheet Layout",
        f"<w:tblPr><w:tblBorders>"
        '<w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/>'
        '<w:right w:val="nil"/><w:insideH w:val="nil"/><w:insideV w:val="nil"/>'
        f"</w:tblBorders>{cell_mar}</w:tblPr>",
    )

    _bullet_numbering(doc)


def _bullet_numbering(doc) -> None:
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


def _p(container, style: str, *runs: str | tuple[str, str]):
    """A paragraph whose runs are plain text or (text, character style) pairs.
    Each jinja marker must sit whole inside one run: that is what keeps it parseable."""
    par = container.add_paragraph(style=style)
    for run in runs:
        if isinstance(run, tuple):
            par.add_run(run[0], style=run[1])
        else:
            par.add_run(run)
    return par


def _fill(cell, style: str, *runs: str | tuple[str, str]) -> None:
    """Replace the empty paragraph a new cell comes with by one styled paragraph."""
    par = cell.paragraphs[0]
    par.style = style
    for run in runs:
        if isinstance(run, tuple):
            par.add_run(run[0], style=run[1])
        else:
            par.add_run(run)


def _marker(container, text: str):
    """A `{%p ... %}` line: the whole paragraph disappears when rendered."""
    return _p(container, "Marker", text)


def _band(doc) -> None:
    """The coloured title band: title and acronym on blue, the cluster id on teal."""
    table = doc.add_table(rows=1, cols=2)
    table.style = "Factsheet Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [13.4, 4.4])
    _row_flags(table.rows[0])
    left, right = table.rows[0].cells
    _shade(left, BLUE)
    _shade(right, TEAL)
    _cell_margins(left, 0.3, 0.4, 0.32, 0.45)
    _cell_margins(right, 0.3, 0.4, 0.32, 0.4)
    left.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    _fill(
        left, "Band Label", "Cluster factsheet  ·  Natural Heritage mission  ·  Interreg Euro-MED"
    )
    _p(left, "Title", "{{ title }}")
    for text, style in (
        ("{%p if acronym %}", "Marker"),
        ("{{ acronym }}", "Subtitle"),
        ("{%p endif %}", "Marker"),
    ):
        par = _p(left, style, text)
        if style == "Marker":  # readable on blue while editing; gone once rendered
            par.runs[0].font.color.rgb = RGBColor.from_string(TEAL_LIGHT)

    _fill(right, "Band Label", "Cluster ID")
    right.paragraphs[0].runs[0].font.color.rgb = RGBColor.from_string(WHITE)
    _p(right, "Band ID", "{{ cluster_id }}")
    _p(right, "Band Note", "version {{ version }}")


def _key_facts(doc) -> None:
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
            [
                "{{ organisations|length }} organisations · {{ countries|length }} countries"
                " · {{ participants|length }} participants"
            ],
        ),
    ]
    table = doc.add_table(rows=len(rows), cols=4)
    table.style = "Factsheet Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [3.0, 5.9, 2.6, 6.3])
    for row, (label1, values1, label2, values2) in zip(table.rows, rows, strict=True):
        _row_flags(row)
        cells = row.cells
        for cell in cells:
            _shade(cell, TINT)
        if label2 is None:
            merged = cells[1].merge(cells[3])
            pairs = [(cells[0], label1, values1, merged)]
        else:
            pairs = [(cells[0], label1, values1, cells[1]), (cells[2], label2, values2, cells[3])]
        for label_cell, label, values, value_cell in pairs:
            _fill(label_cell, "Table Text", (label, "Fact label"))
            _fill(value_cell, "Table Text", values[0])
            for extra in values[1:]:
                _p(value_cell, "Table Text", extra)
    # a white hairline between rows keeps the block light
    tblpr = table._tbl.tblPr
    tblpr.append(
        parse_xml(
            f"<w:tblBorders {nsdecls('w')}>"
            f'<w:insideH w:val="single" w:sz="8" w:space="0" w:color="{WHITE}"/>'
            "</w:tblBorders>"
        )
    )
    first = table.rows[0].cells[0]
    first.paragraphs[0].paragraph_format.space_before = Pt(0)


def _data_table(doc, headers: list[str], widths: list[float], loop: str, cells: list[list]):
    """A Factsheet Table: header row, then the `{%tr for %}` row, the item row, `{%tr endfor %}`."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Factsheet Table"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths)
    head, start, item, end = table.rows
    _row_flags(head, header=True)
    _row_flags(item)
    for cell, text in zip(head.cells, headers, strict=True):
        _fill(cell, "Table Header", text)
    _fill(start.cells[0], "Marker", f"{{%tr for {loop} %}}")
    _fill(end.cells[0], "Marker", "{%tr endfor %}")
    for cell, runs in zip(item.cells, cells, strict=True):
        _fill(cell, "Table Text", *runs)
    return table


def _body(doc) -> None:
    _p(doc, "Heading 2", "Question or need addressed")
    _p(doc, "Normal", "{{ question }}")

    _p(doc, "Heading 2", "Objectives")
    _marker(doc, "{%p for objective in objectives %}")
    _p(doc, "List Bullet", "{{ objective }}")
    _marker(doc, "{%p endfor %}")

    _p(doc, "Heading 2", "Who is involved")
    _p(doc, "Fact Line", ("Organisations", "Fact label"), "\t{{ organisations|join(' · ') }}")
    _p(doc, "Fact Line", ("Countries", "Fact label"), "\t{{ countries|join(', ') }}")
    _p(
        doc,
        "Fact Line",
        ("Participant categories", "Fact label"),
        "\t{{ participant_categories|join(', ') }}",
    )
    last = _p(
        doc,
        "Fact Line",
        ("Thematic Projects", "Fact label"),
        "\t{{ thematic_projects|join(', ') if thematic_projects else '–' }}",
    )
    last.paragraph_format.space_after = Pt(5)
    spacer = _marker(doc, "{%p if participants %}")
    spacer.paragraph_format.space_after = Pt(3)
    _data_table(
        doc,
        ["Participant", "Organisation", "Country"],
        [5.4, 8.6, 3.8],
        "person in participants",
        [["{{ person.name }}"], ["{{ person.organisation }}"], ["{{ person.country }}"]],
    )
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "No participants listed yet.")
    _marker(doc, "{%p endif %}")

    _p(doc, "Heading 2", "Results to transfer")
    _p(doc, "Normal", "{{ results }}")

    _p(doc, "Heading 2", "Roadmap")
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
    _p(doc, "Table Note", "✓ marks dates already past on {{ generated_on }}")

    _p(doc, "Heading 2", "Expected outcomes")
    _p(doc, "Outcomes", "{{ outcomes|join('   ·   ') }}")

    _marker(doc, "{%p if expertise %}")
    _p(doc, "Heading 2", "Expertise needed")
    _p(doc, "Normal", "{{ expertise }}")
    _marker(doc, "{%p endif %}")


def _footer(footer) -> None:
    par = footer.paragraphs[0]
    par.style = "Footer"
    _border(par._p.get_or_add_pPr(), "top", TEAL, size=6, space=4)
    par.paragraph_format.tab_stops.add_tab_stop(TEXT_W, WD_TAB_ALIGNMENT.RIGHT)
    par.add_run("{{ co_funding }}").bold = True
    par.add_run("\tPage ")
    _field(par, "PAGE")
    par.add_run(" of ")
    _field(par, "NUMPAGES")
    _p(footer, "Footer", "Generated on {{ generated_on }} from the cluster registration form")


def _running_header(header) -> None:
    """Pages after the first carry a slim reminder of whose factsheet it is."""
    par = header.paragraphs[0]
    par.style = "Header"
    par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    par.add_run("{{ cluster_id }}").bold = True
    par.add_run("  ·  {{ title }}")
    _border(par._p.get_or_add_pPr(), "bottom", RULE, size=4, space=3)


# Word refuses a file whose property elements are out of schema order; the helpers above append
# freely, so every property block is put back in the order of the WordprocessingML schema.
_SCHEMA_ORDER = {
    "rPr": "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint "
    "noProof snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u effect "
    "bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath",
    "pPr": "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
    "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct "
    "topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd snapToGrid spacing ind "
    "contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
    "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange",
    "tblPr": "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize "
    "tblW jc tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption "
    "tblDescription",
    "tcPr": "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection "
    "tcFitText vAlign hideMark",
    "pBdr": "top left bottom right between bar",
}
_RANKS = {
    qn(f"w:{parent}"): {qn(f"w:{name}"): i for i, name in enumerate(order.split())}
    for parent, order in _SCHEMA_ORDER.items()
}


def _schema_order(root) -> None:
    for el in root.iter(*_RANKS):
        ranks = _RANKS[el.tag]
        children = list(el)
        children.sort(key=lambda child: ranks.get(child.tag, len(ranks)))
        el[:] = children


def build(out: Path) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.left_margin = section.right_margin = MARGIN_X
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.header_distance, section.footer_distance = Cm(0.7), Cm(0.7)
    section.different_first_page_header_footer = True

    build_styles(doc)
    # the default document starts with no paragraph; the band is the first block
    _band(doc)
    _key_facts(doc)
    # move the key facts a little away from the band
    gap = doc.element.body.makeelement(qn("w:p"), {})
    doc.tables[0]._tbl.addnext(gap)
    gap_ppr = OxmlElement("w:pPr")
    _set(gap_ppr, "w:pStyle", val="Marker")
    _set(gap_ppr, "w:spacing", before="0", after="0", line="100", lineRule="exact")
    gap.append(gap_ppr)
    _body(doc)

    _running_header(section.header)
    _footer(section.footer)
    _footer(section.first_page_footer)
    section.first_page_header.is_linked_to_previous = False

    props = doc.core_properties
    props.title = "Cluster factsheet"
    props.subject = "Interreg Euro-MED Natural Heritage mission: cluster factsheet template"
    props.author = "Interreg Euro-MED Natural Heritage mission"
    props.comments = "Tags: see docs/templates.md. Rebuild: python templates/build_templates.py"
    props.keywords = "cluster, factsheet, template"
    props.language = "en-GB"
    props.last_modified_by = "cluster-sync"
    props.revision = 1

    for root in (doc.element, doc.styles.element, doc.part.numbering_part.element):
        _schema_order(root)
    for part in (section.header, section.footer, section.first_page_header):
        _schema_order(part._element)
    _schema_order(section.first_page_footer._element)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out


# --------------------------------------------------------------------------- preview


def sample_registration():
    """A realistic registration in several scripts, for previews."""
    from cluster_sync.model import Address, Participant, Registration, RoadmapItem

    return Registration(
        title='Posidonia meadows: R&D <pilot> & "quotes" for restoring seagrass 🌊',
        acronym="POSEIDON-R",
        question=(
            "Regions restoring Posidonia oceanica meadows lack a shared, tested protocol to choose "
            "sites, grow and transplant cuttings and monitor survival. How can the MPA4Change and "
            "COASTRUST restoration results be adopted by coastal authorities in Crete, Malta and "
            "Bulgaria within one planting season?"
        ),
        objectives=(
            "Adapt the MPA4Change site-selection protocol to three new coastal territories",
            "Train regional technicians in cutting collection, nursery and transplanting",
            "Agree a common survival-monitoring sheet shared by all pilot sites",
            "Feed a joint policy statement to WG4 on seagrass restoration funding",
        ),
        working_groups=(
            "WG1 Connectivity of ecosystems",
            "WG4 Ecosystem restoration and Nature-based Solutions",
        ),
        cluster_type="Territorial",
        lead_organisation="Περιφέρεια Κρήτης",
        lead_country="Greece",
        lead_role="Thematic Project consortium",
        contact_person="Γιώργος Παπαδόπουλος",
        contact_email=Address("g.papadopoulos@example.org", "Γιώργος Παπαδόπουλος"),
        participant_categories=("TPs", "TPs' APs", "Mission APs", "External partners"),
        thematic_projects=("MPA4Change", "COASTRUST", "GreenList4MMPAs"),
        participants=(
            Participant("María José Núñez", "mj.nunez@example.org", "Junta de Andalucía", "Spain"),
            Participant("Ġorġ Borġ", "gorg.borg@example.com", "ERA Malta", "Malta"),
            Participant(
                "Ana Đurđević",
                "ana.durdevic@example.org",
                "Ministarstvo ekologije, prostornog planiranja i urbanizma",
                "Montenegro",
            ),
            Participant(
                "Joëlle Lefèvre",
                "joelle.lefevre@example.org",
                "Office français de la biodiversité",
                "France",
            ),
            Participant("Стефан Димитров", "s.dimitrov@example.com", "Община Бургас", "Bulgaria"),
        ),
        results=(
            "The MPA4Change seagrass site-suitability model and field protocol, the COASTRUST "
            "nursery guidelines for Posidonia cuttings, and the GreenList4MMPAs monitoring "
            "indicators, packaged as a step-by-step transfer kit."
        ),
        transfer_levels=("Regional", "National", "International"),
        outcomes=("Transference", "Adoption", "Networking", "Input to policy statements"),
        start_date=date(2025, 3, 1),
        end_date=date(2025, 11, 30),
        roadmap=(
            RoadmapItem(date(2025, 3, 15), "Kick-off webinar and choice of pilot sites"),
            RoadmapItem(date(2025, 4, 10), "Field visit to the Crete nursery (Chania)"),
            RoadmapItem(date(2025, 5, 20), "Technician training in Malta, hands-on transplanting"),
            RoadmapItem(date(2025, 7, 1), "First transplanting at the three pilot sites"),
            RoadmapItem(date(2025, 9, 30), "Survival monitoring, shared results sheet"),
            RoadmapItem(date(2025, 11, 20), "Policy input to WG4 at the Institutional Dialogue"),
        ),
        expertise=(
            "A marine ecologist who has led a Posidonia transplanting programme, and an expert "
            "in EU funding for nature restoration."
        ),
        consent=True,
    )


def preview(png: Path, template: Path, today: date = date(2025, 6, 12), dpi: int = 100) -> Path:
    """Render the sample through cluster_sync and save page 1 as a PNG."""
    from cluster_sync.render.factsheet import factsheet_context, render_docx

    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        sys.exit("--preview needs LibreOffice (soffice) and poppler (pdftoppm) on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docx_path = work / "factsheet.docx"
        context = factsheet_context(sample_registration(), "CL-2025-007", 2, today)
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
        "--preview", type=Path, metavar="PNG", help="also render sample data to this PNG"
    )
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"wrote {out}")
    if args.preview:
        print(f"wrote {preview(args.preview, out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
