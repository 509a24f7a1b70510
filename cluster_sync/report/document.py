"""Writing the report files: the Word document from templates/cop-report.docx (charts placed
with docxtpl's InlineImage) and the Markdown version beside it."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import jinja2

from cluster_sync.errors import TemplateError
from cluster_sync.files import atomic_write

#: chart tag -> width on the page, in cm (the text width of the A4 template is 17.8 cm)
CHART_WIDTHS_CM = {"timeline_chart": 17.0, "status_chart": 16.0}
_DRAFT = re.compile(r"Draft (\d+)")


def render_report_docx(
    template: Path, context: dict[str, Any], charts: dict[str, Path], out: Path, draft: int
) -> None:
    """Like render_factsheet's render_docx, plus the charts as inline images (which need the
    template object itself) and the draft number in the file's properties."""
    from docx.shared import Cm
    from docxtpl import DocxTemplate, InlineImage

    if not template.is_file():
        raise TemplateError(
            f"The Word template {template} does not exist.",
            hint="check output.report_template in the configuration; "
            "python templates/build_report_template.py rebuilds the default one.",
        )
    doc = DocxTemplate(str(template))
    full = dict(context)
    for tag in CHART_WIDTHS_CM:
        path = charts.get(tag)
        full[tag] = InlineImage(doc, str(path), width=Cm(CHART_WIDTHS_CM[tag])) if path else ""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    try:
        doc.render(full, jinja_env=env, autoescape=True)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"The Word template {template} has a broken tag: {exc.message} (line {exc.lineno}).",
            hint="open the template in Word and fix the tag; docs/report.md lists the tags.",
        ) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"The Word template {template} uses a tag that does not exist: {exc.message}.",
            hint="docs/report.md lists the tags the report template can use.",
        ) from None
    doc.docx.core_properties.version = f"Draft {draft}"
    buffer = io.BytesIO()
    doc.save(buffer)
    atomic_write(out, buffer.getvalue())


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
