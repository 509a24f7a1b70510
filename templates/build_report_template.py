"""Build templates/cop-report.docx, the Word template of the CoP clusters report.

The .docx is what the secretariat edits in Word; this script is how it was first made, so the
design can be rebuilt from scratch (or compared with an edited copy) at any time:

    python templates/build_report_template.py --out /tmp/r.docx  # a fresh copy to compare
    python templates/build_report_template.py --force            # replaces templates/cop-report.docx

It never writes over an existing file without --force: the shipped template may hold edits
made in Word since.

Every jinja marker is written as one whole run, so Word never splits it and docxtpl reads it back
intact. The look lives in named styles (Title, Heading 1-3, Table Text, Report Table, ...) so the
report can be restyled in Word without touching a tag. docs/report.md lists every tag.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx_kit import (
    BLUE,
    INK,
    MUTED,
    RULE,
    TEAL,
    TEAL_DARK,
    TEAL_LIGHT,
    TINT,
    WHITE,
    Container,
    Run,
    a4_section,
    add_border,
    add_field,
    apply_style,
    cell_border,
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
    set_properties,
    set_widths,
    shade,
    style,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "cop-report.docx"

# The boxes the secretariat writes into stand out in amber from the report's blue and teal.
PLACEHOLDER_FILL = "FFF6DC"
PLACEHOLDER_EDGE = "E3A21A"

# What the contents show until Word or LibreOffice fills them (docs/report.md says how).
TOC_PLACEHOLDER = "Update this field to list the sections (Word: right-click › Update Field)."

MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = Cm(1.8), Cm(1.6), Cm(1.7)
TEXT_W_CM = 21.0 - 2 * 1.8  # 17.4 cm


# --------------------------------------------------------------------------- styles


def build_styles(doc: DocumentObject) -> None:
    document_defaults(doc)
    apply_style(doc.styles["Normal"], size=10, color=INK, after=4, before=0, line=1.1)

    title = doc.styles["Title"]
    reset_paragraph_props(title)
    apply_style(title, size=27, color=WHITE, bold=True, before=6, after=8, line=1.0, spacing_pt=0)
    subtitle = doc.styles["Subtitle"]
    reset_paragraph_props(subtitle)
    apply_style(subtitle, size=14, color=TEAL_LIGHT, bold=True, italic=False, before=0, after=2)

    h1 = doc.styles["Heading 1"]
    reset_paragraph_props(h1)
    apply_style(h1, size=15, color=BLUE, bold=True, before=14, after=5, line=1.0, keep_next=True)
    add_border(h1.element.get_or_add_pPr(), "bottom", TEAL, size=12, space=3)
    h2 = doc.styles["Heading 2"]
    reset_paragraph_props(h2)
    apply_style(h2, size=11.5, color=BLUE, bold=True, before=12, after=4, line=1.0, keep_next=True)
    h3 = doc.styles["Heading 3"]
    reset_paragraph_props(h3)
    apply_style(h3, size=8.5, color=TEAL_DARK, bold=True, caps=True, spacing_pt=0.6, before=7,
                after=2, line=1.0, keep_next=True)  # fmt: skip

    style(
        doc, "Cover Label", size=9, color=TEAL_LIGHT, bold=True, caps=True, spacing_pt=1.5, after=4
    )
    style(doc, "Cover Note", size=10, color=WHITE, after=0)
    style(doc, "Cover Text", size=9.5, color=MUTED, after=3)
    style(doc, "Summary", size=12.5, color=TEAL_DARK, bold=True, before=4, after=8, line=1.15)
    style(doc, "Figure Value", size=22, color=BLUE, bold=True, after=0, line=1.0)
    style(doc, "Figure Label", size=7.5, color=MUTED, bold=True, caps=True, spacing_pt=0.5, after=0)
    style(doc, "Table Text", size=8.5, after=0, before=0, line=1.0)
    style(doc, "Table Header", base="Table Text", size=7.5, color=WHITE, bold=True, caps=True,
          spacing_pt=0.4)  # fmt: skip
    style(doc, "Table Note", size=8, color=MUTED, italic=True, after=4, before=3)
    style(
        doc, "Chart", after=2, before=4, line=1.0, keep_next=True
    ).paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    style(doc, "Empty Note", size=9.5, color=MUTED, italic=True, after=4)
    style(doc, "Placeholder", size=10, color="8A5A00", bold=True, after=2)
    style(doc, "Placeholder Hint", size=9, color=MUTED, italic=True, after=0)
    style(doc, "Outcomes", size=9.5, color=TEAL_DARK, bold=True, after=2)
    style(doc, "Marker", size=6, color=MUTED, after=0, line=1.0)
    apply_style(doc.styles["List Bullet"], size=9.5, after=1, line=1.0)
    header_footer_styles(doc)
    logo_styles(doc)
    style(doc, "Fact Text", size=8.5, after=0, before=0, line=1.0, keep_next=True)
    style(doc, "Contents Heading", size=9, color=BLUE, bold=True, caps=True, spacing_pt=0.6,
          before=10, after=3, keep_next=True)  # fmt: skip
    # the entries Word and LibreOffice write when they fill the table of contents
    style(doc, "TOC 1", size=10, bold=True, before=3, after=0)
    style(doc, "TOC 2", size=9, before=0, after=0).paragraph_format.left_indent = Cm(0.5)
    style(doc, "Fact label", kind=WD_STYLE_TYPE.CHARACTER, size=7.5, color=BLUE, bold=True,
          caps=True, spacing_pt=0.4)  # fmt: skip
    style(doc, "Done mark", kind=WD_STYLE_TYPE.CHARACTER, color=TEAL_DARK, bold=True, font=None)
    ruled_table_style(doc, "Report Table", pad_v=45, pad_h=100)
    layout_table_style(doc, "Report Layout", pad_v=45, pad_h=100)


# --------------------------------------------------------------------------- building blocks


def _heading(doc: DocumentObject, text: str, level: int = 1, new_page: bool = False) -> Paragraph:
    par = para(doc, f"Heading {level}", text)
    par.paragraph_format.page_break_before = new_page
    return par


def _data_table(
    doc: Container,
    headers: list[str],
    widths: list[float],
    loop: str,
    cells: list[list[Run]],
    align_right: tuple[int, ...] = (),
) -> Table:
    """A Report Table at the left margin, cells aligned to the top (a long title wraps)."""
    return loop_table(doc, "Report Table", headers, widths, loop, cells,
                      alignment=WD_TABLE_ALIGNMENT.LEFT, align_right=align_right,
                      top_aligned=True)  # fmt: skip


def _tally(
    doc: DocumentObject, header: str, loop_var: str, items: str, width: float = 11.0
) -> None:
    """A two-column table `name | clusters`, or a note when the list is empty."""
    marker(doc, f"{{%p if {items} %}}")
    _data_table(doc, [header, "Clusters"], [width - 2.4, 2.4], f"{loop_var} in {items}",
                [[f"{{{{ {loop_var}.name }}}}"], [f"{{{{ {loop_var}.count }}}}"]],
                align_right=(1,))  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", f"{header}: none.")
    marker(doc, "{%p endif %}")


def _spacer(doc: DocumentObject, points: float = 4) -> None:
    par = para(doc, "Marker")
    par.paragraph_format.space_after = Pt(points)


def _tiles(doc: DocumentObject, tiles: list[tuple[str, str]]) -> None:
    """Key figures as a row of tiles: a big number over a small label."""
    table = doc.add_table(rows=1, cols=len(tiles))
    table.style = "Report Layout"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    width = TEXT_W_CM / len(tiles)
    set_widths(table, [width] * len(tiles))
    row_flags(table.rows[0])
    for cell, (value, label) in zip(table.rows[0].cells, tiles, strict=True):
        shade(cell, TINT)
        cell_border(cell, "top", TEAL, 18)
        cell_border(cell, "left", WHITE, 24)
        cell_border(cell, "right", WHITE, 24)
        cell_margins(cell, 0.18, 0.25, 0.22, 0.3)
        fill(cell, "Figure Value", value)
        para(cell, "Figure Label", label)


def _box(
    doc: Container, title: str, hint: str, bottom_cm: float = 1.2, width_cm: float = TEXT_W_CM
) -> None:
    """A shaded box the secretariat writes into before the report is shared; `bottom_cm` of
    room to write in below the hint."""
    table = doc.add_table(rows=1, cols=1)
    table.style = "Report Layout"
    set_widths(table, [width_cm])
    cell = table.rows[0].cells[0]
    shade(cell, PLACEHOLDER_FILL)
    cell_border(cell, "left", PLACEHOLDER_EDGE, 36)
    row_flags(table.rows[0])
    cell_margins(cell, 0.2, 0.4, bottom_cm, 0.45)
    fill(cell, "Placeholder", title)
    para(cell, "Placeholder Hint", hint)


# --------------------------------------------------------------------------- content


def _cover(doc: DocumentObject) -> None:
    """Page 1: logos, title band, summary, key figures, what the report is, and the contents."""
    logo_row(doc, Cm(TEXT_W_CM), "Report Layout")
    _spacer(doc, 6)
    band = doc.add_table(rows=1, cols=1)
    band.style = "Report Layout"
    set_widths(band, [TEXT_W_CM])
    cell = band.rows[0].cells[0]
    shade(cell, BLUE)
    cell_margins(cell, 0.6, 0.9, 0.7, 0.9)
    fill(cell, "Cover Label", "Interreg Euro-MED  ·  Natural Heritage mission")
    para(cell, "Title", "{{ report_title }}")
    para(cell, "Subtitle", "{{ period_label }}")
    strip = doc.add_table(rows=1, cols=2)
    strip.style = "Report Layout"
    set_widths(strip, [TEXT_W_CM / 2, TEXT_W_CM / 2])
    left, right = strip.rows[0].cells
    for c in (left, right):
        shade(c, TEAL)
        cell_margins(c, 0.2, 0.9, 0.2, 0.9)
    fill(left, "Cover Note", ("Draft {{ draft }}", "Strong"))
    fill(right, "Cover Note", "Made on {{ generated_on }}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _spacer(doc, 6)
    para(doc, "Summary", "{{ summary }}")
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
    _spacer(doc, 6)
    para(doc, "Cover Text", ("About this report  ", "Fact label"), "The clusters of the Natural "
         "Heritage Community of Practice whose dates overlap the period, as registered through "
         "the cluster registration form. Statuses are those of {{ generated_on }}. Sections "
         "marked “{{ to_complete }}” are written by the secretariat before the report is "
         "shared.")  # fmt: skip
    para(doc, "Contents Heading", "Contents")
    toc = para(doc, "Normal")
    add_field(toc, 'TOC \\o "1-1" \\h \\z \\u', TOC_PLACEHOLDER, dirty=True)


def _key_figures(doc: DocumentObject) -> None:
    _heading(doc, "Key figures", new_page=True)
    marker(doc, "{%p if has_clusters %}")
    _heading(doc, "Clusters by working group and status", 2)
    para(doc, "Chart", "{{ status_chart }}")
    _data_table(
        doc, ["Working group", "Planned", "Active", "Completed", "Total"],
        [9.4, 2.0, 2.0, 2.0, 2.0], "w in working_groups",
        [[("{{ w.code }}", "Strong"), " {{ w.name }}"], ["{{ w.planned }}"], ["{{ w.active }}"],
         ["{{ w.completed }}"], [("{{ w.total }}", "Strong")]],
        align_right=(1, 2, 3, 4),
    )  # fmt: skip
    para(doc, "Table Note", "A cluster in several working groups counts once in each, so the rows "
         "can add up to more than {{ clusters_counted }}.")  # fmt: skip
    marker(doc, "{%p if timeline_chart %}")
    _heading(doc, "Timeline", 2)
    para(doc, "Chart", "{{ timeline_chart }}")
    para(doc, "Table Note", "{{ timeline_note }}")
    marker(doc, "{%p endif %}")
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "No clusters ran during this period ({{ period_label }}).")
    marker(doc, "{%p endif %}")


def _unnamed_note(doc: DocumentObject) -> None:
    marker(doc, "{%p if unnamed_clusters %}")
    para(doc, "Table Note", "{{ unnamed_clusters_note }}")
    marker(doc, "{%p endif %}")


def _portfolio(doc: DocumentObject) -> None:
    _heading(doc, "Portfolio", new_page=True)
    marker(doc, "{%p if portfolio %}")
    _data_table(
        doc, ["ID", "Cluster", "WG", "Status", "Dates", "Next activity"],
        [2.1, 5.0, 1.4, 1.7, 3.4, 3.8], "p in portfolio",
        [[("{{ p.cluster_id }}", "Strong")], ["{{ p.title }}"], ["{{ p.working_groups }}"],
         ["{{ p.status }}"], ["{{ p.dates }}"], ["{{ p.next }}"]],
    )  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "No clusters to list for this period.")
    marker(doc, "{%p endif %}")
    _unnamed_note(doc)


def _small_tally(cell: _Cell, title: str, header: str, loop_var: str, items: str,
                 width: float) -> None:  # fmt: skip
    """A titled two-column table `name | clusters` inside a layout cell, or "None."."""
    fill(cell, "Heading 3", title)
    marker(cell, f"{{%p if {items} %}}")
    loop_table(cell, "Report Table", [header, "Clusters"], [width - 1.9, 1.9],
               f"{loop_var} in {items}",
               [[f"{{{{ {loop_var}.name }}}}"], [f"{{{{ {loop_var}.count }}}}"]],
               alignment=WD_TABLE_ALIGNMENT.LEFT, align_right=(1,), top_aligned=True)  # fmt: skip
    marker(cell, "{%p else %}")
    para(cell, "Empty Note", "None.")
    marker(cell, "{%p endif %}")


def _involved(doc: DocumentObject) -> None:
    """The short tallies side by side, two to a row, instead of one half-empty table each."""
    _heading(doc, "Who is involved, and what they transfer")
    intro = para(doc, "Normal", "{{ involved_sentence }} The annex lists the organisations.")
    intro.paragraph_format.keep_with_next = True
    half = (TEXT_W_CM - 0.6) / 2
    # three separate two-cell rows, so a page can break between them
    (countries, projects), (categories, types), (levels, outcomes) = (
        _pair(doc, half) for _ in range(3)
    )
    fill(countries, "Heading 3", "Countries")
    marker(countries, "{%p if countries %}")
    loop_table(countries, "Report Table", ["Country", "Orgs", "Clusters"],
               [half - 3.4, 1.5, 1.9], "x in countries",
               [["{{ x.name }}"], ["{{ x.organisations }}"], ["{{ x.clusters }}"]],
               alignment=WD_TABLE_ALIGNMENT.LEFT, align_right=(1, 2), top_aligned=True)  # fmt: skip
    marker(countries, "{%p else %}")
    para(countries, "Empty Note", "None.")
    marker(countries, "{%p endif %}")
    _small_tally(projects, "Thematic Projects", "Thematic Project", "x", "thematic_projects", half)
    _small_tally(categories, "Participant categories", "Category", "x", "categories", half)
    _small_tally(types, "Cluster types", "Type", "x", "types", half)
    _small_tally(levels, "Transfer levels", "Level", "x", "transfer_levels", half)
    _small_tally(outcomes, "Expected outcomes", "Outcome", "x", "outcomes", half)


def _pair(doc: DocumentObject, half: float) -> tuple[_Cell, _Cell]:
    """Two cells side by side for two short tables, then a small gap (Word merges tables that
    touch)."""
    grid = doc.add_table(rows=1, cols=2)
    grid.style = "Report Layout"
    set_widths(grid, [half + 0.3, half + 0.3])
    for cell in grid.rows[0].cells:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
        cell_margins(cell, 0.0, 0.3, 0.15, 0.0)
    _spacer(doc, 2)
    left, right = grid.rows[0].cells
    return left, right


def _calendar(doc: DocumentObject) -> None:
    _heading(doc, "Calendar")
    _heading(doc, "Activities in the next {{ upcoming_weeks }} weeks", 2)
    marker(doc, "{%p if upcoming %}")
    _data_table(doc, ["Date", "Cluster", "Activity"], [2.6, 4.6, 10.2], "u in upcoming",
                [[("{{ u.date }}", "Strong")], ["{{ u.cluster_id }} · {{ u.cluster }}"],
                 ["{{ u.activity }}"]])  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "No roadmap activity in this window.")
    marker(doc, "{%p endif %}")
    _heading(doc, "Clusters ending in the next {{ ending_days }} days", 2)
    marker(doc, "{%p if ending_soon %}")
    _data_table(doc, ["ID", "Cluster", "Lead", "Ends", "Days left"], [2.2, 6.6, 4.4, 2.4, 1.8],
                "e in ending_soon",
                [[("{{ e.cluster_id }}", "Strong")], ["{{ e.title }}"], ["{{ e.lead }}"],
                 ["{{ e.end }}"], ["{{ e.days_left }}"]], align_right=(4,))  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "None.")
    marker(doc, "{%p endif %}")


def _follow_up(doc: DocumentObject) -> None:
    _heading(doc, "To follow up")
    marker(doc, "{%p if approval_required %}")
    _heading(doc, "Awaiting approval", 2)
    marker(doc, "{%p if awaiting_approval %}")
    _data_table(doc, ["ID", "Cluster", "Lead", "Dates"], [2.2, 7.2, 4.8, 3.2], "a in awaiting_approval",
                [[("{{ a.cluster_id }}", "Strong")], ["{{ a.title }}"], ["{{ a.lead }}"],
                 ["{{ a.dates }}"]])  # fmt: skip
    para(doc, "Table Note", "Tick “Approved” in the responses sheet to send their factsheets.")
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "None: every cluster is approved.")
    marker(doc, "{%p endif %}")
    marker(doc, "{%p endif %}")
    _heading(doc, "Registrations that need fixing", 2)
    marker(doc, "{%p if open_problems %}")
    table = _data_table(doc, ["ID", "Cluster", "Problems"], [2.2, 5.0, 10.2], "o in open_problems",
                        [[("{{ o.cluster_id }}", "Strong")], ["{{ o.title }}"],
                         ["{%p for problem in o.problems %}"]])  # fmt: skip
    cell = table.rows[2].cells[2]
    cell.paragraphs[0].style = "Marker"
    para(cell, "Table Text", "– {{ problem }}")
    para(cell, "Marker", "{%p endfor %}")
    para(doc, "Table Note", "Each submitter was emailed these problems; the registration counts "
         "once it is fixed through the form’s edit link.")  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "None.")
    marker(doc, "{%p endif %}")
    marker(doc, "{%p if unnamed_problems %}")
    para(doc, "Table Note", "{{ unnamed_problems_note }}")
    marker(doc, "{%p endif %}")


def _cluster_facts(doc: Container) -> Table:
    rows = [
        ("Working groups", "{{ c.working_groups }}", "Status",
         "{{ c.status }} · {{ c.dates }}"),
        ("Lead", "{{ c.lead }}", "Contact", "{{ c.contact_person }}"),
        ("Projects", "{{ c.thematic_projects }}", "Partnership", "{{ c.partnership }}"),
        ("Type · transfer", "{{ c.cluster_type }} · {{ c.transfer_levels }}", "Factsheet",
         "{{ c.factsheet }}"),
    ]  # fmt: skip
    table = doc.add_table(rows=len(rows), cols=4)
    table.style = "Report Layout"
    set_widths(table, [2.8, 6.4, 2.2, 6.0])
    for row, (l1, v1, l2, v2) in zip(table.rows, rows, strict=True):
        row_flags(row)
        for cell in row.cells:
            shade(cell, TINT)
        cells = row.cells
        fill(cells[0], "Fact Text", (l1, "Fact label"))
        fill(cells[1], "Fact Text", v1)
        fill(cells[2], "Fact Text", (l2, "Fact label"))
        fill(cells[3], "Fact Text", v2)
    return table


def _clusters(doc: DocumentObject) -> None:
    """One block per cluster: what it is in four lines, its objectives and roadmap, and a box
    for the progress the secretariat records since the last report. The block is the one row
    of a table that may not break across pages, so it moves to the next page whole rather than
    leaving its heading or two roadmap rows at a page foot; a block longer than a page still
    breaks, as Word and LibreOffice split a row that cannot fit on any page."""
    _heading(doc, "Clusters: roadmap and progress")
    intro = para(doc, "Normal", "One block per cluster; its factsheet holds the full "
                 "registration (question, results to transfer, people).")  # fmt: skip
    intro.paragraph_format.keep_with_next = True
    marker(doc, "{%p for c in clusters %}")
    block = doc.add_table(rows=1, cols=1)
    block.style = "Report Layout"
    set_widths(block, [TEXT_W_CM])
    row_flags(block.rows[0])
    cell = block.rows[0].cells[0]
    cell_margins(cell, 0, 0, 0, 0)
    fill(
        cell, "Heading 2", "{{ c.cluster_id }} · {{ c.title }}"
    ).paragraph_format.space_before = Pt(4)
    _cluster_facts(cell)
    # objectives and roadmap side by side: the block is as tall as the longer of the two
    halves = cell.add_table(rows=1, cols=2)
    halves.style = "Report Layout"
    set_widths(halves, [7.6, 9.8])

    left, right = halves.rows[0].cells
    for half in (left, right):
        half.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
        cell_margins(half, 0, 0.25, 0, 0)
    fill(left, "Heading 3", "Objectives")
    marker(left, "{%p for objective in c.objectives %}")
    para(left, "List Bullet", "{{ objective }}")
    marker(left, "{%p endfor %}")
    fill(right, "Heading 3", "Roadmap")
    _data_table(right, ["Date", "Activity"], [2.3, 7.3], "r in c.roadmap",
                [[("{{ '✓ ' if r.done else '' }}", "Done mark"), "{{ r.date }}"],
                 ["{{ r.activity }}"]])  # fmt: skip
    para(right, "Table Note", "{{ c.roadmap_note }}")
    # the progress box under the objectives, beside the roadmap it reports against
    _box(left, "Progress since the last report", "{{ to_complete }}", bottom_cm=0.45,
         width_cm=7.35)  # fmt: skip
    _tidy_cell(left)
    _tidy_cell(right)
    _tidy_cell(cell)
    _spacer(doc, 8)  # keeps the blocks apart (Word would merge two touching tables)
    marker(doc, "{%p endfor %}")
    marker(doc, "{%p if not clusters %}")
    para(doc, "Empty Note", "No clusters to describe for this period.")
    marker(doc, "{%p endif %}")
    _unnamed_note(doc)


def _tidy_cell(cell: _Cell) -> None:
    """python-docx puts an empty paragraph after every table it adds to a cell: drop those
    that another paragraph follows, and make the others (between two tables, which Word would
    merge if they touched, and the one a cell must end with) a hairline."""
    children = list(cell._tc.iterchildren())
    for el, nxt in zip(children, [*children[1:], None], strict=True):
        prev = el.getprevious()
        if el.tag != qn("w:p") or el.xpath(".//w:t") or prev is None or prev.tag != qn("w:tbl"):
            continue
        if nxt is not None and nxt.tag == qn("w:p"):
            cell._tc.remove(el)
        else:
            _hairline(Paragraph(el, cell))


def _hairline(par: Paragraph) -> None:
    par.style = "Marker"
    par.paragraph_format.line_spacing = Pt(3)
    par.paragraph_format.space_after = Pt(0)


def _secretariat(doc: DocumentObject) -> None:
    _heading(doc, "Lessons learned")
    _box(doc, "{{ to_complete }}", "What worked, what did not, and what other clusters and "
         "territories can reuse. Replace this box with the text.")  # fmt: skip
    _heading(doc, "Policy messages")
    _box(doc, "{{ to_complete }}", "Messages for the Working Groups’ policy statements and the "
         "Institutional Dialogues, drawn from the clusters’ experience.")  # fmt: skip


def _annexes(doc: DocumentObject) -> None:
    _heading(doc, "Annex · Organisations involved")
    marker(doc, "{%p if organisations %}")
    para(doc, "Table Note", "By country; in brackets, the number of clusters an organisation "
         "takes part in when it is more than one.")  # fmt: skip
    _data_table(doc, ["Country", "Organisations"], [3.4, 14.0], "g in organisations_by_country",
                [[("{{ g.country }}", "Strong")], ["{{ g.organisations }}"]])  # fmt: skip
    marker(doc, "{%p else %}")
    para(doc, "Empty Note", "None.")
    marker(doc, "{%p endif %}")
    marker(doc, "{%p if unnamed_organisations %}")
    para(doc, "Table Note", "{{ unnamed_organisations_note }}")
    marker(doc, "{%p endif %}")


def _footer(section: Section) -> None:
    for footer in (section.footer, section.first_page_footer):
        funding_footer(footer.paragraphs[0], Cm(TEXT_W_CM))
    header = section.header.paragraphs[0]
    header.style = "Header"
    header.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_W_CM), WD_TAB_ALIGNMENT.RIGHT)
    header.add_run("Natural Heritage CoP · Clusters report").bold = True
    header.add_run("\t{{ period_label }} · Draft {{ draft }}")
    add_border(header._p.get_or_add_pPr(), "bottom", RULE, size=4, space=3)
    section.first_page_header.is_linked_to_previous = False


def _update_fields_on_open(doc: DocumentObject) -> None:
    """Word fills the table of contents (and page numbers) when it opens the report."""
    settings = doc.settings.element
    el = settings.find(qn("w:updateFields"))
    if el is None:
        el = OxmlElement("w:updateFields")
        settings.append(el)
    el.set(qn("w:val"), "true")


def build(out: Path, force: bool = False) -> Path:
    doc = Document()
    section = doc.sections[0]
    a4_section(section, MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM, hf=Cm(0.8))
    build_styles(doc)
    for part in (_cover, _key_figures, _portfolio, _involved, _calendar, _follow_up, _clusters,
                 _secretariat, _annexes):  # fmt: skip
        part(doc)
    _footer(section)
    _update_fields_on_open(doc)
    set_properties(
        doc,
        title="Natural Heritage Community of Practice — Clusters report",
        subject="Interreg Euro-MED Natural Heritage mission: CoP clusters report template",
        comments="Tags: see docs/report.md. Rebuild: python templates/build_report_template.py",
        keywords="clusters, community of practice, report, template",
    )
    return save(doc, out, force)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .docx")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace --out when it exists (edits made in it are lost)",
    )
    args = parser.parse_args()
    print(build(args.out, args.force))


if __name__ == "__main__":
    main()
