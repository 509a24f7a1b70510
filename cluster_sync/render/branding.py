"""The programme logo and the EU emblem in factsheets and reports.

Both templates hold the tags `{{ programme_logo }}` (header band), `{{ eu_emblem }}` (beside
"Co-funded by the European Union" in the band) and `{{ eu_emblem_small }}` (the footer). With
the artwork named in `[branding]` they become pictures; without it, a short bracketed text that
shows in every preview, so a document is never published without its logos by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the render worker (render/pool.py) unpickles Logos without the config
    from cluster_sync.config import BrandingConfig

PROGRAMME_LOGO_PLACEHOLDER = "[programme logo]"
EU_EMBLEM_PLACEHOLDER = "[EU emblem]"
CO_FUNDED = "Co-funded by the European Union"

#: tag -> (setting, height on the page in cm). The emblem is as tall as the programme logo:
#: the EU rules want it at least as high as the largest other logo beside it.
SLOTS: dict[str, tuple[str, float]] = {
    "programme_logo": ("programme_logo", 1.1),
    "eu_emblem": ("eu_emblem", 1.1),
    "eu_emblem_small": ("eu_emblem", 0.55),
}
_PLACEHOLDERS = {"programme_logo": PROGRAMME_LOGO_PLACEHOLDER, "eu_emblem": EU_EMBLEM_PLACEHOLDER}


def placeholders() -> dict[str, str]:
    """The logo tags as placeholder text: what a template shows without configured artwork."""
    return {tag: _PLACEHOLDERS[setting] for tag, (setting, _) in SLOTS.items()}


def missing(branding: BrandingConfig) -> list[str]:
    """The settings of `[branding]` left empty, in words for a warning."""
    return [key for key in ("programme_logo", "eu_emblem") if getattr(branding, key) is None]


def logo_images(branding: BrandingConfig) -> Logos:
    """`extras` for render_docx: the configured artwork as inline pictures of the document being
    rendered (a docxtpl picture belongs to one document, so it is made per render)."""
    found = []
    for tag, (setting, height) in SLOTS.items():
        path: Path | None = getattr(branding, setting)
        if path is not None:
            found.append((tag, str(path), height))
    return Logos(tuple(found))


@dataclass(frozen=True)
class Logos:
    """The pictures of the logo tags: (tag, file, height in cm). Plain data, so that a render
    worker is given the same pictures (render/pool.py)."""

    slots: tuple[tuple[str, str, float], ...]

    def __call__(self, doc: Any) -> dict[str, Any]:
        from docx.shared import Cm
        from docxtpl import InlineImage

        return {tag: InlineImage(doc, path, height=Cm(height)) for tag, path, height in self.slots}
