"""Word factsheets, rendered with docxtpl from a template the secretariat edits in Word.

The template sees only plain data (the tags listed in docs/templates.md). Every value is escaped
by docxtpl's autoescape, so `R&D <pilot>` is text, never markup; form text is data, never a
template (jinja only ever compiles the template file itself).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from slugify import slugify

from cluster_sync import text
from cluster_sync.dates import format_date
from cluster_sync.errors import TemplateError
from cluster_sync.files import atomic_write
from cluster_sync.model import Registration
from cluster_sync.render import branding
from cluster_sync.render.docx_fast import new_environment, open_template, prepare, template_errors

CO_FUNDING = "Co-funded by the European Union · Interreg Euro-MED · Natural Heritage mission"


def factsheet_context(
    reg: Registration, cluster_id: str, version: int, today: date
) -> dict[str, Any]:
    """Everything a factsheet template may use; documented tag by tag in docs/templates.md."""
    partners = partner_rows(reg)
    countries = list(dict.fromkeys([reg.lead_country, *(p.country for p in reg.participants)]))
    roadmap = [
        {"date": format_date(item.date), "activity": item.activity, "done": item.date < today}
        for item in reg.roadmap
    ]
    return {
        "cluster_id": cluster_id,
        "version": version,
        "title": reg.title,
        "acronym": reg.acronym,
        "question": reg.question,
        "objectives": list(reg.objectives),
        "working_groups": list(reg.working_groups),
        "cluster_type": reg.cluster_type,
        "lead_organisation": reg.lead_organisation,
        "lead_country": reg.lead_country,
        "lead_role": reg.lead_role,
        "contact_person": reg.contact_person,
        "contact_email": reg.contact_email.email,
        "participant_categories": list(reg.participant_categories),
        "thematic_projects": list(reg.thematic_projects),
        "participants": [
            {"name": p.name, "email": p.email, "organisation": p.organisation, "country": p.country}
            for p in reg.participants
        ],
        "partners": partners,
        "organisations": [row["organisation"] for row in partners],
        "countries": countries,
        "partnership": " · ".join(
            [
                text.counted(len(partners), "organisation"),
                text.counted(len(countries), "country", "countries"),
                text.counted(len(reg.participants), "participant"),
            ]
        ),
        "results": reg.results,
        "transfer_levels": list(reg.transfer_levels),
        "outcomes": list(reg.outcomes),
        "start_date": format_date(reg.start_date),
        "end_date": format_date(reg.end_date),
        "roadmap": roadmap,
        "any_done": any(item["done"] for item in roadmap),
        "expertise": reg.expertise,
        "generated_on": format_date(today),
        "co_funding": CO_FUNDING,
        "co_funded": branding.CO_FUNDED,
        **branding.placeholders(),
    }


def partner_rows(reg: Registration) -> list[dict[str, Any]]:
    """One row per organisation, the lead first: its country and its people (the lead's
    contact person first in its row). Spellings that
    differ only in capitals or spacing are one organisation, shown as first written."""
    rows: dict[str, dict[str, Any]] = {}

    def row(organisation: str, country: str) -> dict[str, Any]:
        key = text.fold(organisation)
        found = {"organisation": organisation, "country": country, "people": [], "lead": False}
        return rows.setdefault(key, found)

    lead = row(reg.lead_organisation, reg.lead_country)
    lead["lead"] = True
    if reg.contact_person:
        lead["people"].append(reg.contact_person)
    for person in reg.participants:
        people = row(person.organisation, person.country)["people"]
        if person.name not in people:
            people.append(person.name)
    return [{**r, "people": ", ".join(r["people"])} for r in rows.values()]


def factsheet_filename(cluster_id: str, title: str, version: int) -> str:
    """Stable, safe on every file system: CL-2025-007-restoring-posidonia-meadows-v2.docx.
    Greek and Cyrillic titles are transliterated rather than dropped."""
    slug = slugify(title, max_length=50, word_boundary=True) or "factsheet"
    return f"{cluster_id}-{slug}-v{version}.docx"


def render_docx(
    template: Path,
    context: dict[str, Any],
    out_path: Path,
    *,
    extras: Callable[[Any], dict[str, Any]] | None = None,
    finish: Callable[[Any], None] | None = None,
    tags_doc: str = "docs/templates.md",
    synced: bool = True,
) -> None:
    """Render a docxtpl template into out_path atomically; a broken template raises a
    TemplateError that names the template and the tag. `extras(doc)` adds context values that
    need the template object (inline images); `finish(doc)` edits the result before saving.
    `synced=False`: the file's fsync waits for the state's next durable commit
    (files.atomic_write).
    The template is prepared once per file content (and pictures) and rendered from that
    (render/docx_fast.py); with `finish`, extras other than pictures, or a template that needs
    it, docxtpl renders it."""
    if not template.is_file():
        raise TemplateError(
            f"The Word template {template} does not exist.",
            hint="check output.factsheet_template / output.report_template in the configuration; "
            "templates/build_templates.py and templates/build_report_template.py rebuild the "
            "default ones.",
        )
    prepared = prepare(template, tags_doc, extras) if finish is None else None
    if prepared is not None:
        with template_errors(template, tags_doc):
            data = prepared.render(context)
    else:
        data = render_with_docxtpl(template, context, extras, finish, tags_doc)
    atomic_write(out_path, data, synced=synced)


def render_with_docxtpl(
    template: Path,
    context: dict[str, Any],
    extras: Callable[[Any], dict[str, Any]] | None = None,
    finish: Callable[[Any], None] | None = None,
    tags_doc: str = "docs/templates.md",
) -> bytes:
    """docxtpl's own rendering, from the file: `DocxTemplate`, `render`, `save`."""
    doc = open_template(template, template)
    full = {**context, **(extras(doc) if extras else {})}
    with template_errors(template, tags_doc):
        doc.render(full, jinja_env=new_environment(), autoescape=True)
    if finish:
        finish(doc)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
