"""Build templates/cop-report.docx, the Word template of the CoP clusters report.

The .docx is what the secretariat edits in Word; this script is how it was first made, so the
design can be rebuilt from scratch (or compared with an edited copy) at any time:

    python templates/build_report_template.py                    # writes templates/cop-report.docx
    python templates/build_report_template.py --out /tmp/r.docx  # somewhere else

Every jinja marker is written as one whole run, so Word never splits it and docxtpl reads it back
intact. The look lives in named styles (Title, Heading 1-3, Table Text, Report Table, ...) so the
report can be restyled in Word without touching a tag. docs/report.md lists every tag.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "cop-report.docx"

# The factsheet's palette: Interreg blue with the sea-green accent of the Natural Heritage mission.
BLUE, BLUE_DARK = "003399", "002270"
TEAL, TEAL_DARK, TEAL_LIGHT = "00A19A", "00756F", "8FE0DA"
INK, MUTED, TINT, RULE, WHITE = "1F2A3C", "5E6B7E", "EEF2FA", "C8D2E4", "FFFFFF"
PLACEHOLDER_FILL = "FFF6DC"
PLACEHOLDER_EDGE = "E3A21A"
FONT = "Calibri"  # LibreOffice substitutes the metric-compatible Carlito

PAGE_W, PAGE_H = Cm(21.0), Cm(29.7)
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = Cm(1.8), Cm(1.6), Cm(1.7)
TEXT_W_CM = 21.0 - 2 * 1.8  # 17.4 cm


# --------------------------------------------------------------------------- XML helpers


def _set(parent, tag: str, **attrs: str):
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def _fonts(rpr, name: str = FONT) -> None:
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    rfonts = OxmlElement("w:rFonts")
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        rfonts.set(qn(f"w:{attr}"), name)
    rpr.insert(0, rfonts)


def _border(ppr, side: str, color: str, size: int = 4, space: int = 1) -> None:
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    b = OxmlElement(f"w:{side}")
    for key, value in (
        ("val", "single"),
        ("sz", str(size)),
        ("space", str(space)),
        ("color", color),
    ):
        b.set(qn(f"w:{key}"), value)
    borders.append(b)


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    for key, value in (("val", "clear"), ("color", "auto"), ("fill", fill)):
        shd.set(qn(f"w:{key}"), value)
    cell._tc.get_or_add_tcPr().append(shd)


def _cell_border(cell, side: str, color: str, size: int) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = tcpr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcpr.append(borders)
    el = OxmlElement(f"w:{side}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "0"), ("color", color)):
        el.set(qn(f"w:{key}"), value)
    borders.append(el)


def _cell_margins(cell, top: float, right: float, bottom: float, left: float) -> None:
    mar = OxmlElement("w:tcMar")
    for side, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(Cm(value).twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    cell._tc.get_or_add_tcPr().append(mar)


def _widths(table, widths_cm: list[float]) -> None:
    table.autofit = False
    tblpr = table._tbl.tblPr
    _set(tblpr, "w:tblW", w=str(int(sum(Cm(w).twips for w in widths_cm))), type="dxa")
    _set(tblpr, "w:tblLayout", type="fixed")
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for idx, cell in enumerate(row.cells):
            cell.width = Cm(widths_cm[idx])


def _row_flags(row, header: bool = False) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def _field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """A Word field (PAGE, NUMPAGES) as begin / instruction / separate / result / end runs."""
    for kind, text in (("begin", None), ("instr", f" {instruction} "), ("separate", None),
                       ("text", placeholder), ("end", None)):  # fmt: skip
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


def _style(doc, name: str, base: str = "Normal", kind=WD_STYLE_TYPE.PARAGRAPH, **opts):
    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, kind)
        if kind == WD_STYLE_TYPE.PARAGRAPH:
            style.base_style = doc.styles[base]
        style.quick_style = True
    _apply(style, **opts)
    return style


def _apply(style, size=None, color=None, bold=None, italic=None, caps=None, spacing_pt=None,
           before=None, after=None, line=None, keep_next=None, font=FONT) -> None:  # fmt: skip
    rpr = style.element.get_or_add_rPr()
    if font:
        _fonts(rpr, font)
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


def _reset(style) -> None:
    ppr = style.element.get_or_add_pPr()
    for tag in ("w:pBdr", "w:ind", "w:contextualSpacing"):
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
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr)
    _set(rpr, "w:lang", val="en-GB", eastAsia="en-GB", bidi="ar-SA")
    _apply(doc.styles["Normal"], size=10, color=INK, after=4, before=0, line=1.1)

    title = doc.styles["Title"]
    _reset(title)
    _apply(title, size=27, color=WHITE, bold=True, before=6, after=8, line=1.0, spacing_pt=0)
    subtitle = doc.styles["Subtitle"]
    _reset(subtitle)
    _apply(subtitle, size=14, color=TEAL_LIGHT, bold=True, italic=False, before=0, after=2)

    h1 = doc.styles["Heading 1"]
    _reset(h1)
    _apply(h1, size=16, color=BLUE, bold=True, before=16, after=6, line=1.0, keep_next=True)
    _border(h1.element.get_or_add_pPr(), "bottom", TEAL, size=12, space=3)
    h2 = doc.styles["Heading 2"]
    _reset(h2)
    _apply(h2, size=12, color=BLUE, bold=True, before=12, after=4, line=1.0, keep_next=True)
    h3 = doc.styles["Heading 3"]
    _reset(h3)
    _apply(h3, size=8.5, color=TEAL_DARK, bold=True, caps=True, spacing_pt=0.6, before=7,
           after=2, line=1.0, keep_next=True)  # fmt: skip

    _style(
        doc, "Cover Label", size=9, color=TEAL_LIGHT, bold=True, caps=True, spacing_pt=1.5, after=4
    )
    _style(doc, "Cover Note", size=10, color=WHITE, after=0)
    _style(doc, "Cover Text", size=9.5, color=MUTED, after=3)
    _style(doc, "Summary", size=12.5, color=TEAL_DARK, bold=True, before=4, after=8, line=1.15)
    _style(doc, "Figure Value", size=22, color=BLUE, bold=True, after=0, line=1.0)
    _style(
        doc, "Figure Label", size=7.5, color=MUTED, bold=True, caps=True, spacing_pt=0.5, after=0
    )
    _style(doc, "Table Text", size=8.5, after=0, before=0, line=1.0)
    _style(doc, "Table Header", base="Table Text", size=7.5, color=WHITE, bold=True, caps=True,
           spacing_pt=0.4)  # fmt: skip
    _style(doc, "Table Note", size=8, color=MUTED, italic=True, after=4, before=3)
    _style(
        doc, "Chart", after=2, before=4, line=1.0
    ).paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _style(doc, "Empty Note", size=9.5, color=MUTED, italic=True, after=4)
    _style(doc, "Placeholder", size=10, color="8A5A00", bold=True, after=2)
    _style(doc, "Placeholder Hint", size=9, color=MUTED, italic=True, after=0)
    _style(doc, "Outcomes", size=9.5, color=TEAL_DARK, bold=True, after=2)
    _style(doc, "Marker", size=6, color=MUTED, after=0, line=1.0)
    _apply(doc.styles["List Bullet"], after=1.5, line=1.05)
    for name in ("Header", "Footer"):
        style = doc.styles[name]
        _apply(style, size=7.5, color=MUTED, after=0, before=0, line=1.0)
        for tabs in style.element.get_or_add_pPr().findall(qn("w:tabs")):
            tabs.getparent().remove(tabs)
    _style(doc, "Fact label", kind=WD_STYLE_TYPE.CHARACTER, size=7.5, color=BLUE, bold=True,
           caps=True, spacing_pt=0.4)  # fmt: skip
    _style(doc, "Done mark", kind=WD_STYLE_TYPE.CHARACTER, color=TEAL_DARK, bold=True, font=None)
    _table_styles(doc)


def _table_styles(doc) -> None:
    cell_mar = (
        '<w:tblCellMar><w:top w:w="45" w:type="dxa"/><w:left w:w="100" w:type="dxa"/>'
        '<w:bottom w:w="45" w:type="dxa"/><w:right w:w="100" w:type="dxa"/></w:tblCellMar>'
    )
    _table_style(
        doc,
        "Report Table",
        "<w:pPr><w:spacing w:before='0' w:after='0'/></w:pPr>"
        f"<w:tblPr><w:tblBorders>"
        f'<w:top w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f'<w:bottom w:val="single" w:sz="8" w:space="0" w:color="{BLUE}"/>'
        f'<w:insideH w:val="single" w:sz="4" w:space="0" w:color="{RULE}"/>'
        f"</w:tblBorders>{cell_mar}</w:tblPr>"
        '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:caps/>'
        f'<w:color w:val="{WHITE}"/><w:sz w:val="15"/></w:rPr>'
        f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{BLUE}"/></w:tcPr>'
        "</w:tblStylePr>",
    )
    _table_style(
        doc,
        "Report Layout",
        "<w:tblPr><w:tblBorders>"
        '<w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/>'
        '<w:right w:val="nil"/><w:insideH w:val="nil"/><w:insideV w:val="nil"/>'
        f"</w:tblBorders>{cell_mar}</w:tblPr>",
    )


# --------------------------------------------------------------------------- building blocks


def _p(container, style: str, *runs: str | tuple[str, str]):
    """A paragraph whose runs are plain text or (text, character style) pairs; each jinja
    marker sits whole in one run."""
    par = container.add_paragraph(style=style)
    for run in runs:
        if isinstance(run, tuple):
            par.add_run(run[0], style=run[1])
        else:
            par.add_run(run)
    return par


def _fill(cell, style: str, *runs: str | tuple[str, str]):
    par = cell.paragraphs[0]
    par.style = style
    for run in runs:
        if isinstance(run, tuple):
            par.add_run(run[0], style=run[1])
        else:
            par.add_run(run)
    return par


def _marker(container, text: str):
    """A `{%p ... %}` line: the whole paragraph disappears when rendered."""
    return _p(container, "Marker", text)


def _heading(doc, text: str, level: int = 1, new_page: bool = False):
    par = _p(doc, f"Heading {level}", text)
    par.paragraph_format.page_break_before = new_page
    return par


def _data_table(doc, headers, widths, loop, cells, align_right=()):
    """A Report Table: header row, the `{%tr for %}` row, the item row, `{%tr endfor %}`."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Report Table"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _widths(table, widths)
    head, start, item, end = table.rows
    _row_flags(head, header=True)
    _row_flags(item)
    for index, (cell, text) in enumerate(zip(head.cells, headers, strict=True)):
        par = _fill(cell, "Table Header", text)
        if index in align_right:
            par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _fill(start.cells[0], "Marker", f"{{%tr for {loop} %}}")
    _fill(end.cells[0], "Marker", "{%tr endfor %}")
    for index, (cell, runs) in enumerate(zip(item.cells, cells, strict=True)):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
        par = _fill(cell, "Table Text", *runs)
        if index in align_right:
            par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return table


def _tally(doc, header: str, loop_var: str, items: str, width: float = 11.0) -> None:
    """A two-column table `name | clusters`, or a note when the list is empty."""
    _marker(doc, f"{{%p if {items} %}}")
    _data_table(doc, [header, "Clusters"], [width - 2.4, 2.4], f"{loop_var} in {items}",
                [[f"{{{{ {loop_var}.name }}}}"], [f"{{{{ {loop_var}.count }}}}"]],
                align_right=(1,))  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", f"{header}: none.")
    _marker(doc, "{%p endif %}")


def _spacer(doc, points: float = 4) -> None:
    par = _p(doc, "Marker")
    par.paragraph_format.space_after = Pt(points)


def _tiles(doc, tiles: list[tuple[str, str]], fill: str = TINT) -> None:
    """Key figures as a row of tiles: a big number over a small label."""
    table = doc.add_table(rows=1, cols=len(tiles))
    table.style = "Report Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    width = TEXT_W_CM / len(tiles)
    _widths(table, [width] * len(tiles))
    _row_flags(table.rows[0])
    for cell, (value, label) in zip(table.rows[0].cells, tiles, strict=True):
        _shade(cell, fill)
        _cell_border(cell, "top", TEAL, 18)
        _cell_border(cell, "left", WHITE, 24)
        _cell_border(cell, "right", WHITE, 24)
        _cell_margins(cell, 0.18, 0.25, 0.22, 0.3)
        _fill(cell, "Figure Value", value)
        _p(cell, "Figure Label", label)


def _box(doc, title: str, hint: str) -> None:
    """A shaded box the secretariat writes into before the report is shared."""
    table = doc.add_table(rows=1, cols=1)
    table.style = "Report Layout"
    _widths(table, [TEXT_W_CM])
    cell = table.rows[0].cells[0]
    _shade(cell, PLACEHOLDER_FILL)
    _cell_border(cell, "left", PLACEHOLDER_EDGE, 36)
    _cell_margins(cell, 0.3, 0.4, 1.6, 0.45)
    _fill(cell, "Placeholder", title)
    _p(cell, "Placeholder Hint", hint)


# --------------------------------------------------------------------------- content


def _cover(doc) -> None:
    band = doc.add_table(rows=1, cols=1)
    band.style = "Report Layout"
    _widths(band, [TEXT_W_CM])
    cell = band.rows[0].cells[0]
    _shade(cell, BLUE)
    _cell_margins(cell, 0.9, 0.9, 1.0, 0.9)
    _fill(cell, "Cover Label", "Interreg Euro-MED  ·  Natural Heritage mission")
    _p(cell, "Title", "{{ report_title }}")
    _p(cell, "Subtitle", "{{ period_label }}")
    strip = doc.add_table(rows=1, cols=2)
    strip.style = "Report Layout"
    _widths(strip, [TEXT_W_CM / 2, TEXT_W_CM / 2])
    left, right = strip.rows[0].cells
    for c in (left, right):
        _shade(c, TEAL)
        _cell_margins(c, 0.25, 0.9, 0.25, 0.9)
    _fill(left, "Cover Note", ("Draft {{ draft }}", "Strong"))
    _fill(right, "Cover Note", "Made on {{ generated_on }}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _spacer(doc, 30)
    _p(doc, "Summary", "{{ summary }}")
    _spacer(doc, 8)
    _tiles(doc, [
        ("{{ figures.clusters }}", "Clusters"),
        ("{{ figures.active }}", "Active today"),
        ("{{ figures.organisations }}", "Organisations"),
        ("{{ figures.countries }}", "Countries"),
    ])  # fmt: skip
    _spacer(doc, 150)
    _p(doc, "Cover Text", ("About this report", "Fact label"))
    _p(doc, "Cover Text", "The clusters of the Natural Heritage Community of Practice whose dates "
       "overlap the period, as registered through the cluster registration form. Statuses are "
       "those of {{ generated_on }}. Sections marked “{{ to_complete }}” are written by the "
       "secretariat before the report is shared.")  # fmt: skip
    _p(doc, "Cover Text", ("{{ co_funding }}", "Strong"))


def _key_figures(doc) -> None:
    _heading(doc, "Key figures", new_page=True)
    _p(doc, "Summary", "{{ summary }}")
    _tiles(doc, [
        ("{{ figures.clusters }}", "Clusters"),
        ("{{ figures.new }}", "Started in the period"),
        ("{{ figures.planned }}", "Planned"),
        ("{{ figures.active }}", "Active"),
        ("{{ figures.completed }}", "Completed"),
    ])  # fmt: skip
    _spacer(doc, 3)
    _tiles(doc, [
        ("{{ figures.organisations }}", "Organisations"),
        ("{{ figures.countries }}", "Countries"),
        ("{{ figures.thematic_projects }}", "Thematic Projects"),
        ("{{ figures.participants }}", "Named participants"),
    ])  # fmt: skip
    _marker(doc, "{%p if has_clusters %}")
    _heading(doc, "Clusters by working group and status", 2)
    _p(doc, "Chart", "{{ status_chart }}")
    _data_table(
        doc, ["Working group", "Planned", "Active", "Completed", "Total"],
        [9.4, 2.0, 2.0, 2.0, 2.0], "w in working_groups",
        [[("{{ w.code }}", "Strong"), " {{ w.name }}"], ["{{ w.planned }}"], ["{{ w.active }}"],
         ["{{ w.completed }}"], [("{{ w.total }}", "Strong")]],
        align_right=(1, 2, 3, 4),
    )  # fmt: skip
    _p(doc, "Table Note", "A cluster in several working groups counts once in each, so the rows "
       "can add up to more than {{ figures.clusters }}.")  # fmt: skip
    _heading(doc, "Clusters by type", 2)
    _tally(doc, "Cluster type", "t", "types", width=9.0)
    _marker(doc, "{%p if timeline_chart %}")
    _heading(doc, "Timeline", 2)
    _p(doc, "Chart", "{{ timeline_chart }}")
    _p(doc, "Table Note", "Each bar runs from the start to the end date, coloured by the "
       "cluster’s first working group; the shaded band is the report period.")  # fmt: skip
    _marker(doc, "{%p endif %}")
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "No clusters ran during this period ({{ period_label }}).")
    _marker(doc, "{%p endif %}")


def _unnamed_note(doc) -> None:
    _marker(doc, "{%p if unnamed_clusters %}")
    _p(doc, "Table Note", "{{ unnamed_clusters }} cluster(s) without consent to publication are "
       "counted in the figures but not named.")  # fmt: skip
    _marker(doc, "{%p endif %}")


def _portfolio(doc) -> None:
    _heading(doc, "Portfolio", new_page=True)
    _marker(doc, "{%p if portfolio %}")
    _data_table(
        doc, ["ID", "Cluster", "WG", "Lead", "Status", "Dates", "Next activity"],
        [2.1, 3.9, 1.3, 3.0, 1.7, 2.3, 3.1], "p in portfolio",
        [[("{{ p.cluster_id }}", "Strong")], ["{{ p.title }}"], ["{{ p.working_groups }}"],
         ["{{ p.lead }}"], ["{{ p.status }}"], ["{{ p.dates }}"], ["{{ p.next }}"]],
    )  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "No clusters to list for this period.")
    _marker(doc, "{%p endif %}")
    _unnamed_note(doc)


def _involved(doc) -> None:
    _heading(doc, "Who is involved")
    _p(doc, "Normal", "{{ figures.organisations }} organisation(s) from {{ figures.countries }} "
       "country(ies) and {{ figures.thematic_projects }} Thematic Project(s) take part; "
       "{{ figures.participants }} participant(s) are named in the registrations. Annex A lists "
       "the organisations.")  # fmt: skip
    _heading(doc, "Countries", 2)
    _marker(doc, "{%p if countries %}")
    _data_table(doc, ["Country", "Organisations", "Clusters"], [7.0, 2.6, 2.4],
                "x in countries", [["{{ x.name }}"], ["{{ x.organisations }}"], ["{{ x.clusters }}"]],
                align_right=(1, 2))  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None.")
    _marker(doc, "{%p endif %}")
    _heading(doc, "Thematic Projects", 2)
    _tally(doc, "Thematic Project", "x", "thematic_projects")
    _heading(doc, "Participant categories", 2)
    _tally(doc, "Participant category", "x", "categories")
    _heading(doc, "Transfer and expected outcomes")
    _heading(doc, "Transfer levels", 2)
    _tally(doc, "Transfer level", "x", "transfer_levels")
    _heading(doc, "Expected outcomes", 2)
    _tally(doc, "Expected outcome", "x", "outcomes")


def _calendar(doc) -> None:
    _heading(doc, "Calendar", new_page=True)
    _heading(doc, "Activities in the next {{ upcoming_weeks }} weeks", 2)
    _marker(doc, "{%p if upcoming %}")
    _data_table(doc, ["Date", "Cluster", "Activity"], [2.6, 4.6, 10.2], "u in upcoming",
                [[("{{ u.date }}", "Strong")], ["{{ u.cluster_id }} · {{ u.cluster }}"],
                 ["{{ u.activity }}"]])  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "No roadmap activity in this window.")
    _marker(doc, "{%p endif %}")
    _heading(doc, "Clusters ending in the next {{ ending_days }} days", 2)
    _marker(doc, "{%p if ending_soon %}")
    _data_table(doc, ["ID", "Cluster", "Lead", "Ends", "Days left"], [2.2, 6.6, 4.4, 2.4, 1.8],
                "e in ending_soon",
                [[("{{ e.cluster_id }}", "Strong")], ["{{ e.title }}"], ["{{ e.lead }}"],
                 ["{{ e.end }}"], ["{{ e.days_left }}"]], align_right=(4,))  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None.")
    _marker(doc, "{%p endif %}")


def _follow_up(doc) -> None:
    _heading(doc, "To follow up")
    _marker(doc, "{%p if approval_required %}")
    _heading(doc, "Awaiting approval", 2)
    _marker(doc, "{%p if awaiting_approval %}")
    _data_table(doc, ["ID", "Cluster", "Lead", "Dates"], [2.2, 7.2, 4.8, 3.2], "a in awaiting_approval",
                [[("{{ a.cluster_id }}", "Strong")], ["{{ a.title }}"], ["{{ a.lead }}"],
                 ["{{ a.dates }}"]])  # fmt: skip
    _p(doc, "Table Note", "Tick “Approved” in the responses sheet to send their factsheets.")
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None: every cluster is approved.")
    _marker(doc, "{%p endif %}")
    _marker(doc, "{%p endif %}")
    _heading(doc, "Registrations that need fixing", 2)
    _marker(doc, "{%p if open_problems %}")
    table = _data_table(doc, ["ID", "Cluster", "Problems"], [2.2, 5.0, 10.2], "o in open_problems",
                        [[("{{ o.cluster_id }}", "Strong")], ["{{ o.title }}"],
                         ["{%p for problem in o.problems %}"]])  # fmt: skip
    cell = table.rows[2].cells[2]
    cell.paragraphs[0].style = "Marker"
    _p(cell, "Table Text", "– {{ problem }}")
    _p(cell, "Marker", "{%p endfor %}")
    _p(doc, "Table Note", "Each submitter was emailed these problems; the registration counts "
       "once it is fixed through the form’s edit link.")  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None.")
    _marker(doc, "{%p endif %}")
    _marker(doc, "{%p if unnamed_problems %}")
    _p(doc, "Table Note", "{{ unnamed_problems }} more registration(s) need fixing but gave no "
       "consent to publication; they are not named.")  # fmt: skip
    _marker(doc, "{%p endif %}")


def _cluster_facts(doc) -> None:
    rows = [
        ("Working groups", "{{ c.working_groups_full|join(', ') }}", "Status",
         "{{ c.status }} · {{ c.dates }}"),
        ("Lead", "{{ c.lead }}", "Contact", "{{ c.contact_person }}"),
        ("Cluster type", "{{ c.cluster_type }}", "Transfer", "{{ c.transfer_levels }}"),
        ("Thematic Projects", "{{ c.thematic_projects }}", "Factsheet", "{{ c.factsheet or '—' }}"),
    ]  # fmt: skip
    table = doc.add_table(rows=len(rows), cols=4)
    table.style = "Report Layout"
    _widths(table, [2.8, 6.2, 2.2, 6.2])
    for row, (l1, v1, l2, v2) in zip(table.rows, rows, strict=True):
        _row_flags(row)
        for cell in row.cells:
            _shade(cell, TINT)
        cells = row.cells
        _fill(cells[0], "Table Text", (l1, "Fact label"))
        _fill(cells[1], "Table Text", v1)
        _fill(cells[2], "Table Text", (l2, "Fact label"))
        _fill(cells[3], "Table Text", v2)


def _clusters(doc) -> None:
    _heading(doc, "Progress per cluster", new_page=True)
    _marker(doc, "{%p for c in clusters %}")
    _heading(doc, "{{ c.cluster_id }} · {{ c.title }}", 2)
    _cluster_facts(doc)
    _heading(doc, "Question or need addressed", 3)
    _p(doc, "Normal", "{{ c.question }}")
    _heading(doc, "Objectives", 3)
    _marker(doc, "{%p for objective in c.objectives %}")
    _p(doc, "List Bullet", "{{ objective }}")
    _marker(doc, "{%p endfor %}")
    _heading(doc, "Results to transfer", 3)
    _p(doc, "Normal", "{{ c.results }}")
    _heading(doc, "Roadmap", 3)
    _data_table(doc, ["Date", "Activity"], [3.4, 14.0], "r in c.roadmap",
                [[("{{ '✓ ' if r.done else '' }}", "Done mark"), "{{ r.date }}"],
                 ["{{ r.activity }}"]])  # fmt: skip
    _p(doc, "Table Note", "✓ done (dated before {{ generated_on }}).  Next: {{ c.next }}")
    _heading(doc, "Expected outcomes", 3)
    _p(doc, "Outcomes", "{{ c.outcomes|join('   ·   ') }}")
    _heading(doc, "People involved", 3)
    _p(doc, "Normal", "{{ c.people }}")
    _marker(doc, "{%p endfor %}")
    _marker(doc, "{%p if not clusters %}")
    _p(doc, "Empty Note", "No clusters to describe for this period.")
    _marker(doc, "{%p endif %}")
    _unnamed_note(doc)


def _secretariat(doc) -> None:
    _heading(doc, "Lessons learned", new_page=True)
    _box(doc, "{{ to_complete }}", "What worked, what did not, and what other clusters and "
         "territories can reuse. Replace this box with the text.")  # fmt: skip
    _heading(doc, "Policy messages")
    _box(doc, "{{ to_complete }}", "Messages for the Working Groups’ policy statements and the "
         "Institutional Dialogues, drawn from the clusters’ experience.")  # fmt: skip


def _annexes(doc) -> None:
    _heading(doc, "Annex A · Organisations involved", new_page=True)
    _marker(doc, "{%p if organisations %}")
    _data_table(doc, ["Organisation", "Country", "Clusters"], [10.6, 4.4, 2.4],
                "o in organisations", [["{{ o.name }}"], ["{{ o.country }}"], ["{{ o.clusters }}"]],
                align_right=(2,))  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None.")
    _marker(doc, "{%p endif %}")
    _marker(doc, "{%p if unnamed_organisations %}")
    _p(
        doc,
        "Table Note",
        "{{ unnamed_organisations }} more organisation(s) are counted but not named.",
    )
    _marker(doc, "{%p endif %}")
    _heading(doc, "Annex B · Factsheets")
    _marker(doc, "{%p if clusters %}")
    intro = _p(
        doc,
        "Normal",
        "The latest factsheet of each cluster, in the factsheets folder of cluster-sync’s output.",
    )
    intro.paragraph_format.keep_with_next = True
    _data_table(doc, ["ID", "Cluster", "Factsheet file"], [2.2, 7.6, 7.6], "c in clusters",
                [[("{{ c.cluster_id }}", "Strong")], ["{{ c.title }}"], ["{{ c.factsheet or '—' }}"]])  # fmt: skip
    _marker(doc, "{%p else %}")
    _p(doc, "Empty Note", "None.")
    _marker(doc, "{%p endif %}")


def _footer(section) -> None:
    for footer in (section.footer, section.first_page_footer):
        par = footer.paragraphs[0]
        par.style = "Footer"
        _border(par._p.get_or_add_pPr(), "top", TEAL, size=6, space=4)
        par.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_W_CM), WD_TAB_ALIGNMENT.RIGHT)
        par.add_run("{{ co_funding }}").bold = True
        par.add_run("\tPage ")
        _field(par, "PAGE")
        par.add_run(" of ")
        _field(par, "NUMPAGES")
    header = section.header.paragraphs[0]
    header.style = "Header"
    header.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_W_CM), WD_TAB_ALIGNMENT.RIGHT)
    header.add_run("Natural Heritage CoP · Clusters report").bold = True
    header.add_run("\t{{ period_label }} · Draft {{ draft }}")
    _border(header._p.get_or_add_pPr(), "bottom", RULE, size=4, space=3)
    section.first_page_header.is_linked_to_previous = False


# Word refuses property elements out of schema order; the helpers append freely, so every
# property block is put back in the order of the WordprocessingML schema.
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


def _schema_order(root) -> None:
    for el in root.iter(*_RANKS):
        ranks = _RANKS[el.tag]
        el[:] = sorted(el, key=lambda child: ranks.get(child.tag, len(ranks)))


def build(out: Path) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.left_margin = section.right_margin = MARGIN_X
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.header_distance, section.footer_distance = Cm(0.8), Cm(0.8)
    section.different_first_page_header_footer = True
    build_styles(doc)
    for part in (_cover, _key_figures, _portfolio, _involved, _calendar, _follow_up, _clusters,
                 _secretariat, _annexes):  # fmt: skip
        part(doc)
    _footer(section)
    props = doc.core_properties
    props.title = "Natural Heritage Community of Practice — Clusters report"
    props.subject = "Interreg Euro-MED Natural Heritage mission: CoP clusters report template"
    props.author = "Interreg Euro-MED Natural Heritage mission"
    props.comments = "Tags: see docs/report.md. Rebuild: python templates/build_report_template.py"
    props.keywords = "clusters, community of practice, report, template"
    props.language = "en-GB"
    props.last_modified_by = "cluster-sync"
    props.revision = 1
    for root in (doc.element, doc.styles.element):
        _schema_order(root)
    for hf in (
        section.header,
        section.footer,
        section.first_page_footer,
        section.first_page_header,
    ):
        _schema_order(hf._element)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .docx")
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
