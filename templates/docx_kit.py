"""What the factsheet and the CoP report templates share: the palette, the house styles, the
python-docx gaps filled with raw WordprocessingML, and the last step that makes Word accept it.

build_templates.py and build_report_template.py import this as a sibling module: both run as
scripts (`python templates/build_templates.py`), so their own folder is first on sys.path.
Each script keeps its own layout, sizes and wording; what is here is identical in both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx.blkcntnr import BlockItemContainer
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Length, Pt, RGBColor
from docx.styles.style import CharacterStyle, ParagraphStyle
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

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

PAGE_W, PAGE_H = Cm(21.0), Cm(29.7)  # A4, for both documents

# A run is plain text or (text, character style).
Run = str | tuple[str, str]
# What paragraphs are added to: the document body, a table cell, a header or a footer.
Container = Document | BlockItemContainer


# --------------------------------------------------------------------------- XML helpers


def set_child(parent: BaseOxmlElement, tag: str, **attrs: str) -> BaseOxmlElement:
    """Get or create child `tag` of `parent` and set its w: attributes."""
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def set_fonts(rpr: BaseOxmlElement, name: str = FONT) -> None:
    """Explicit fonts in every slot (no theme fonts, which would override the style)."""
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    rfonts = OxmlElement("w:rFonts")
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        rfonts.set(qn(f"w:{attr}"), name)
    rpr.insert(0, rfonts)


def add_border(
    ppr: BaseOxmlElement, side: str, color: str, size: int = 4, space: int = 1, val: str = "single"
) -> None:
    """A paragraph rule (python-docx has no API for paragraph borders); size in 1/8 pt."""
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    b = OxmlElement(f"w:{side}")
    b.set(qn("w:val"), val)
    b.set(qn("w:sz"), str(size))
    b.set(qn("w:space"), str(space))
    b.set(qn("w:color"), color)
    borders.append(b)


def add_field(
    paragraph: Paragraph, instruction: str, placeholder: str = "1", dirty: bool = False
) -> None:
    """A Word field (PAGE, NUMPAGES, TOC) as begin / instruction / separate / result / end
    runs; the placeholder is what shows until the field is updated. `dirty` asks Word to
    update it when the document is opened."""
    begin = _fld_char("begin")
    if dirty:
        begin.set(qn("w:dirty"), "true")
    paragraph.add_run()._r.append(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(_fld_char("separate"))
    paragraph.add_run().text = placeholder
    paragraph.add_run()._r.append(_fld_char("end"))


def _fld_char(kind: str) -> BaseOxmlElement:
    fld = OxmlElement("w:fldChar")
    fld.set(qn("w:fldCharType"), kind)
    return fld


# --------------------------------------------------------------------------- tables and cells


def shade(cell: _Cell, fill: str) -> None:
    """Solid background of one cell."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def cell_border(cell: _Cell, side: str, color: str, size: int) -> None:
    """One edge of one cell, over the table style's borders; size in 1/8 pt."""
    tcpr = cell._tc.get_or_add_tcPr()
    borders = tcpr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcpr.append(borders)
    el = OxmlElement(f"w:{side}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "0"), ("color", color)):
        el.set(qn(f"w:{key}"), value)
    borders.append(el)


def cell_margins(cell: _Cell, top: float, right: float, bottom: float, left: float) -> None:
    """Padding of one cell, in cm."""
    mar = OxmlElement("w:tcMar")
    for side, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(Cm(value).twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    cell._tc.get_or_add_tcPr().append(mar)


def set_widths(table: Table, widths_cm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour: LibreOffice reads the grid,
    Word the cell widths, and autofit would let either one resize the columns."""
    table.autofit = False
    tblpr = table._tbl.tblPr
    set_child(tblpr, "w:tblW", w=str(int(sum(Cm(w).twips for w in widths_cm))), type="dxa")
    set_child(tblpr, "w:tblLayout", type="fixed")
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for idx, cell in enumerate(row.cells):
            cell.width = Cm(widths_cm[idx])


def row_flags(row: _Row, header: bool = False) -> None:
    """Rows never split across pages; a header row repeats on the next page."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def loop_table(
    doc: Document,
    style: str,
    headers: list[str],
    widths: list[float],
    loop: str,
    cells: list[list[Run]],
    *,
    alignment: WD_TABLE_ALIGNMENT,
    align_right: tuple[int, ...] = (),
    top_aligned: bool = False,
) -> Table:
    """Header row, then the `{%tr for loop %}` row, the item row and `{%tr endfor %}`: docxtpl
    drops the two marker rows and repeats the item row once per item."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = style
    table.alignment = alignment
    set_widths(table, widths)
    head, start, item, end = table.rows
    row_flags(head, header=True)
    row_flags(item)
    for index, (cell, text) in enumerate(zip(head.cells, headers, strict=True)):
        par = fill(cell, "Table Header", text)
        if index in align_right:
            par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    fill(start.cells[0], "Marker", f"{{%tr for {loop} %}}")
    fill(end.cells[0], "Marker", "{%tr endfor %}")
    for index, (cell, runs) in enumerate(zip(item.cells, cells, strict=True)):
        if top_aligned:
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
        par = fill(cell, "Table Text", *runs)
        if index in align_right:
            par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return table


# --------------------------------------------------------------------------- paragraphs


def _add_runs(par: Paragraph, runs: tuple[Run, ...]) -> Paragraph:
    # Each jinja marker must sit whole inside one run: that is what keeps it parseable.
    for run in runs:
        if isinstance(run, tuple):
            par.add_run(run[0], style=run[1])
        else:
            par.add_run(run)
    return par


def para(container: Container, style: str, *runs: Run) -> Paragraph:
    """A new paragraph in a document, cell, header or footer."""
    return _add_runs(container.add_paragraph(style=style), runs)


def fill(cell: _Cell, style: str, *runs: Run) -> Paragraph:
    """Style and fill the empty paragraph a new cell comes with, so no blank line is left."""
    par = cell.paragraphs[0]
    par.style = style
    return _add_runs(par, runs)


def marker(container: Container, text: str) -> Paragraph:
    """A `{%p ... %}` line: the whole paragraph disappears when rendered."""
    return para(container, "Marker", text)


# --------------------------------------------------------------------------- styles


def apply_style(
    style: CharacterStyle,
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
    """Set what is given on a paragraph or character style; None leaves it as inherited."""
    rpr = style.element.get_or_add_rPr()
    if font:
        set_fonts(rpr, font)
    # drop theme colours inherited from the python-docx default template
    if color:
        for el in rpr.findall(qn("w:color")):
            rpr.remove(el)
    f = style.font
    if size is not None:
        f.size = Pt(size)
        # the complex-script size (Arabic, Hebrew, ...) follows, or it keeps the default
        set_child(rpr, "w:szCs", val=str(int(size * 2)))
    if color:
        f.color.rgb = RGBColor.from_string(color)
    if bold is not None:
        f.bold = bold
    if italic is not None:
        f.italic = italic
    if caps is not None:
        f.all_caps = caps
    if spacing_pt is not None:
        set_child(rpr, "w:spacing", val=str(int(spacing_pt * 20)))
    if not isinstance(style, ParagraphStyle):  # a character style has no paragraph format
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


def style(
    doc: Document,
    name: str,
    base: str = "Normal",
    kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH,
    quick: bool = True,
    **opts: Any,
) -> CharacterStyle:
    """Get or add a named style and apply `opts` (see apply_style). `quick` puts it in Word's
    style gallery, where the secretariat finds it when restyling. (In python-docx a
    ParagraphStyle is a CharacterStyle too.)"""
    try:
        found = doc.styles[name]
    except KeyError:
        found = doc.styles.add_style(name, kind)
        if kind == WD_STYLE_TYPE.PARAGRAPH:
            found.base_style = doc.styles[base]
        if quick:
            found.quick_style = True
    apply_style(found, **opts)
    return found


def reset_paragraph_props(style: ParagraphStyle, *also: str) -> None:
    """Remove borders and indents the default template gives Title and headings, and any
    other pPr children named in `also`."""
    ppr = style.element.get_or_add_pPr()
    for tag in ("w:pBdr", "w:ind", "w:contextualSpacing", *also):
        for el in ppr.findall(qn(tag)):
            ppr.remove(el)


def document_defaults(doc: Document) -> None:
    """Calibri in every font slot (Latin, complex, East Asian) and British English, under
    every style."""
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    set_fonts(rpr)
    set_child(rpr, "w:lang", val="en-GB", eastAsia="en-GB", bidi="ar-SA")


def header_footer_styles(doc: Document) -> None:
    """Small muted Header and Footer, without the default template's Letter-size tab stops
    (each document sets its own right tab at its text width)."""
    for name in ("Header", "Footer"):
        found = doc.styles[name]
        apply_style(found, size=7.5, color=MUTED, after=0, before=0, line=1.0)
        for tabs in found.element.get_or_add_pPr().findall(qn("w:tabs")):
            tabs.getparent().remove(tabs)


def table_style(doc: Document, name: str, xml_body: str) -> None:
    """Add (or replace) a table style; python-docx can only use table styles, not define them."""
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


def _cell_margins_xml(pad_v: int, pad_h: int) -> str:
    """Default cell padding of a table style, in twips."""
    return (
        f'<w:tblCellMar><w:top w:w="{pad_v}" w:type="dxa"/><w:left w:w="{pad_h}" w:type="dxa"/>'
        f'<w:bottom w:w="{pad_v}" w:type="dxa"/><w:right w:w="{pad_h}" w:type="dxa"/>'
        "</w:tblCellMar>"
    )


def ruled_table_style(
    doc: Document, name: str, pad_v: int, pad_h: int, header_spacing: int | None = None
) -> None:
    """The data-table look: hairline rules between rows, a blue rule at the bottom and a blue
    header row in white capitals (`header_spacing`: its letter spacing, in 1/20 pt)."""
    spacing = "" if header_spacing is None else f'<w:spacing w:val="{header_spacing}"/>'
    table_style(
        doc,
        name,
        "<w:pPr><w:spacing w:before='0' w:after='0'/></w:pPr>"
        "<w:tblPr><w:tblBorders>"
        f'<w:top w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f'<w:bottom w:val="single" w:sz="8" w:space="0" w:color="{BLUE}"/>'
        f'<w:insideH w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f"</w:tblBorders>{_cell_margins_xml(pad_v, pad_h)}</w:tblPr>"
        '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:caps/>'
        f'<w:color w:val="{WHITE}"/>{spacing}<w:sz w:val="15"/></w:rPr>'
        f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{BLUE}"/></w:tcPr>'
        "</w:tblStylePr>",
    )


def layout_table_style(doc: Document, name: str, pad_v: int, pad_h: int) -> None:
    """A borderless table style for placing blocks (bands, tiles, fact grids) side by side."""
    table_style(
        doc,
        name,
        "<w:tblPr><w:tblBorders>"
        '<w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/>'
        '<w:right w:val="nil"/><w:insideH w:val="nil"/><w:insideV w:val="nil"/>'
        f"</w:tblBorders>{_cell_margins_xml(pad_v, pad_h)}</w:tblPr>",
    )


# --------------------------------------------------------------------------- logos


def logo_styles(doc: Document) -> None:
    """Logo Slot: the paragraph a logo picture sits in (its text is the placeholder shown when
    no artwork is configured); Co-funded: the statement beside the EU emblem, in Reflex Blue
    and Calibri, neither italic nor underlined, as the EU rules for the emblem ask."""
    style(doc, "Logo Slot", size=7.5, color=MUTED, after=0, before=0, line=1.0)
    style(doc, "Co-funded", size=9, color=BLUE, bold=True, after=0, before=0, line=1.0)


def logo_row(doc: Document, width: int, layout: str, statement_cm: float = 3.3) -> Table:
    """The programme logo on the left; the EU emblem with "Co-funded by the European Union" on
    the right, the statement beside the emblem, never over it. `layout`: the borderless
    table style of the document."""
    emblem_cm = 1.9  # a 1.1 cm high 3:2 emblem and a little room
    widths = [Length(width).cm - emblem_cm - statement_cm, emblem_cm, statement_cm]
    table = doc.add_table(rows=1, cols=3)
    table.style = layout
    set_widths(table, widths)
    row_flags(table.rows[0])
    logo, emblem, statement = table.rows[0].cells
    for cell in (logo, emblem, statement):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    fill(logo, "Logo Slot", "{{ programme_logo }}")
    fill(emblem, "Logo Slot", "{{ eu_emblem }}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    # clear space between the emblem and its statement
    fill(statement, "Co-funded", "{{ co_funded }}").paragraph_format.left_indent = Cm(0.15)
    return table


# --------------------------------------------------------------------------- page and document


def a4_section(
    section: Section, margin_x: Length, margin_top: Length, margin_bottom: Length, hf: Length
) -> None:
    """A4 pages whose first page has its own header and footer (`hf`: their distance from the
    page edge)."""
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.left_margin = section.right_margin = margin_x
    section.top_margin, section.bottom_margin = margin_top, margin_bottom
    section.header_distance, section.footer_distance = hf, hf
    section.different_first_page_header_footer = True


def funding_footer(par: Paragraph, text_width: Length) -> None:
    """The EU emblem and the co-funding statement on the left, "Page N of M" on the right,
    under a teal rule."""
    par.style = "Footer"
    add_border(par._p.get_or_add_pPr(), "top", TEAL, size=6, space=4)
    par.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT)
    par.add_run("{{ eu_emblem_small }}")
    par.add_run("  ")
    par.add_run("{{ co_funding }}").bold = True
    par.add_run("\tPage ")
    add_field(par, "PAGE")
    par.add_run(" of ")
    add_field(par, "NUMPAGES")


def set_properties(
    doc: Document, *, title: str, subject: str, comments: str, keywords: str
) -> None:
    """File properties: what differs per template is given, the publisher is the same."""
    props = doc.core_properties
    props.title = title
    props.subject = subject
    props.author = "Interreg Euro-MED Natural Heritage mission"
    props.comments = comments
    props.keywords = keywords
    props.language = "en-GB"
    props.last_modified_by = "cluster-sync"
    props.revision = 1


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
    "tcBorders": "top start left bottom end right insideH insideV tl2br tr2bl",
    "trPr": "cnfStyle divId gridBefore gridAfter wBefore wAfter cantSplit trHeight tblHeader "
    "tblCellSpacing jc hidden",
    "pBdr": "top left bottom right between bar",
}
_RANKS = {
    qn(f"w:{parent}"): {qn(f"w:{name}"): i for i, name in enumerate(order.split())}
    for parent, order in _SCHEMA_ORDER.items()
}


def schema_order(root: BaseOxmlElement) -> None:
    """Sort the children of every property block below `root`; unknown ones go last."""
    for el in root.iter(*_RANKS):
        ranks = _RANKS[el.tag]
        el[:] = sorted(el, key=lambda child: ranks.get(child.tag, len(ranks)))


class WouldOverwrite(SystemExit):
    """The output exists: it may hold edits made in Word, which a rebuild would destroy."""


def save(doc: Document, out: Path, force: bool = False) -> Path:
    """Put every part in schema order and write the .docx; never over an existing file unless
    `force` (the shipped templates are the secretariat's, edited in Word)."""
    if out.exists() and not force:
        raise WouldOverwrite(
            f"{out} exists and was not changed: it may hold edits made in Word. "
            "Write elsewhere with --out, or replace it with --force."
        )
    for root in (doc.element, doc.styles.element, doc.part.numbering_part.element):
        schema_order(root)
    for section in doc.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
        ):
            # a linked part has no XML of its own, and reading its element would add one
            if not part.is_linked_to_previous:
                schema_order(part._element)
    out.parent.mkdir(parents=True, exist_ok=True)
    # "x" also refuses a file that appeared since the check above
    with out.open("wb" if force else "xb") as handle:
        doc.save(handle)
    return out
