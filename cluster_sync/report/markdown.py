"""The Markdown version of the report: the same context as the Word file, rendered through
report.md.j2 (beside this module) as text with Markdown tables, the charts linked as the PNG
files saved beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def esc(value: object) -> str:
    """Inline text: on one line, Markdown and HTML characters escaped (a title such as
    `R&D <pilot>` stays text)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _extract(key: str, item: Mapping[str, Any]) -> Any:
    return item[key]


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # Markdown, not HTML: `esc` escapes what needs it, value by value
)
_ENV.filters.update(esc=esc, extract=_extract)


def render_markdown(c: dict[str, Any], charts: dict[str, str]) -> str:
    """The whole report from report.md.j2; `charts` maps chart tags to file names relative to
    the .md file."""
    return _ENV.get_template("report.md.j2").render({**c, "charts": charts})
