"""Writing the report files: the Word document from templates/cop-report.docx (charts placed
with docxtpl's InlineImage) and the Markdown version beside it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cluster_sync.config import BrandingConfig
from cluster_sync.files import atomic_write
from cluster_sync.render.branding import logo_images
from cluster_sync.render.factsheet import render_docx
from cluster_sync.report.contents import fill_contents

#: chart tag -> width on the page, in cm (the text width of the A4 template is 17.8 cm)
CHART_WIDTHS_CM = {"timeline_chart": 17.0, "status_chart": 12.5}
_DRAFT = re.compile(r"Draft (\d+)")


def render_report_docx(
    template: Path,
    context: dict[str, Any],
    charts: dict[str, Path],
    out: Path,
    draft: int,
    branding: BrandingConfig,
) -> None:
    """The factsheet's render_docx, plus the charts and the logos as inline images and the
    draft number in the file's properties."""
    from docx.shared import Cm
    from docxtpl import InlineImage

    logos = logo_images(branding)

    def images(doc: Any) -> dict[str, Any]:
        return logos(doc) | {
            tag: InlineImage(doc, str(charts[tag]), width=Cm(width)) if charts.get(tag) else ""
            for tag, width in CHART_WIDTHS_CM.items()
        }

    def stamp(doc: Any) -> None:
        doc.docx.core_properties.version = f"Draft {draft}"
        fill_contents(doc.docx)

    render_docx(template, context, out, extras=images, finish=stamp, tags_doc="docs/report.md")


def draft_of(path: Path) -> int:
    """The draft number a rendered report carries in its properties; 0 when unreadable."""
    if not path.is_file():
        return 0
    from docx import Document

    try:
        version = Document(str(path)).core_properties.version or ""
    except Exception:  # a damaged or foreign file just starts the count again
        return 0
    match = _DRAFT.fullmatch(version.strip())
    return int(match.group(1)) if match else 0


def write_markdown(path: Path, content: str) -> None:
    atomic_write(path, content.encode("utf-8"))
