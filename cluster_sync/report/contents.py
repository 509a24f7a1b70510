"""The report's contents: the Word TOC field of the template, filled with the section headings.

Word and LibreOffice number the pages only when they lay the document out, so cluster-sync
writes the entries (each a link to its heading) without page numbers. Word fills in the numbers
when it opens the report (the template asks it to update its fields); LibreOffice does on
Tools › Update › Update All. A template without a TOC field is left as it is.
"""

from __future__ import annotations

from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

HEADING_STYLE = "Heading1"  # the style ID of Heading 1: the TOC field lists level 1 (\o "1-1")
ENTRY_STYLE = "TOC1"
BOOKMARK = "_TocSection{}"


def _is_toc(p: Any) -> bool:
    return any((i.text or "").strip().startswith("TOC") for i in p.iter(qn("w:instrText")))


def _style_of(p: Any) -> str:
    style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    return "" if style is None else str(style.get(qn("w:val")))


def _text(p: Any) -> str:
    return "".join(t.text or "" for t in p.iter(qn("w:t")))


def _entry(title: str, anchor: str) -> Any:
    p = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    style = OxmlElement("w:pStyle")
    style.set(qn("w:val"), ENTRY_STYLE)
    ppr.append(style)
    p.append(ppr)
    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), anchor)
    link.set(qn("w:history"), "1")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.set(qn("xml:space"), "preserve")
    text.text = title
    run.append(text)
    link.append(run)
    p.append(link)
    return p


def _bookmark(p: Any, name: str, number: int) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(9000 + number))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(9000 + number))
    ppr = p.find(qn("w:pPr"))
    if ppr is None:
        p.insert(0, start)
    else:
        ppr.addnext(start)
    p.append(end)


def fill_contents(document: Any) -> int:
    """Put one linked entry per Heading 1 into the TOC field's result; the number of entries."""
    body = document.element.body
    toc = next((p for p in body.iter(qn("w:p")) if _is_toc(p)), None)
    if toc is None:
        return 0
    headings = [p for p in body.iter(qn("w:p")) if _style_of(p) == HEADING_STYLE and _text(p)]
    runs = list(toc.iter(qn("w:r")))
    kinds = [
        next((f.get(qn("w:fldCharType")) for f in r.iter(qn("w:fldChar"))), None) for r in runs
    ]
    if not headings or "separate" not in kinds or kinds[-1] != "end":
        return 0
    for run in runs[kinds.index("separate") + 1 :]:  # the placeholder and the field's end
        run.getparent().remove(run)
    previous = toc
    for number, heading in enumerate(headings, start=1):
        anchor = BOOKMARK.format(number)
        _bookmark(heading, anchor, number)
        entry = _entry(_text(heading), anchor)
        previous.addnext(entry)
        previous = entry
    end = runs[-1]
    previous.append(end)
    return len(headings)
