"""What each email template is given: one builder per message, used by the sync and by `check`.

The sync calls these with a row's data; `check` calls the very same functions with the sample
registration and run of cluster_sync/sample.py, so a tag a template uses but its builder does not
give fails `check`, not the night. The digest's tags are built by summary.digest_context and the
CoP report email's by report.service.report_email_context, beside the data they read.
cluster_sync/sample.py lists every email template with its builder (`sample_emails`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cluster_sync.links import registration_link
from cluster_sync.messages import Message, msg
from cluster_sync.model import Problem, Registration
from cluster_sync.render.factsheet import factsheet_context


def edit_link(cell: object, form_url: str | None) -> dict[str, Any]:
    """The row's own edit link for the email, else the form's address (see links.py)."""
    link, personal = registration_link(cell, form_url)
    return {"edit_link": link, "edit_link_personal": personal}


def factsheet_message(
    reg: Registration,
    cluster_id: str,
    version: int,
    today: date,
    *,
    updated: bool,
    changes: Sequence[Message | str],
    link: dict[str, Any],
    factsheet_link: str | None,
    rerendered: bool = False,
) -> dict[str, Any]:
    """The tags of factsheet.*.j2: the factsheet's own, and whether this is an update (with
    what changed) or the same answers made again with a new template (`rerender`), where to
    edit the registration, and where the published file is."""
    context = factsheet_context(reg, cluster_id, version, today)
    context.update(updated=updated, short_name=reg.short_name, changes=list(changes))
    context["rerendered"] = rerendered
    # dates as dates: the email writes them in its own language (3 mars 2025)
    context.update(start_date=reg.start_date, end_date=reg.end_date)
    context.update(link)
    context["factsheet_link"] = factsheet_link
    return context


def problems_message(
    *,
    name: str,
    title: str,
    cluster_id: str | None,
    submitted: datetime | None,
    typed_stamp: object,
    problems: Sequence[Problem | str],
    link: dict[str, Any],
) -> dict[str, Any]:
    """The tags of problems.*.j2. The moment is given as a moment and each problem with its
    words in any language: the email writes them in its own."""
    return {
        "name": name,
        "title": title,
        "cluster_id": cluster_id,
        # never the sheet's 03/04/2025: a day and a month a reader could swap
        "submitted": submitted or (str(typed_stamp) if typed_stamp else msg("recently")),
        "problems": list(problems),
        **link,
    }
