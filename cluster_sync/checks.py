"""`cluster-sync check`: everything that can be verified without side effects, all at once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.model import Address, Participant, Registration, RoadmapItem
from cluster_sync.render.branding import logo_images, missing
from cluster_sync.render.email import Composer
from cluster_sync.render.factsheet import factsheet_context, render_docx
from cluster_sync.sources import open_source


@dataclass
class Check:
    area: str
    ok: bool
    message: str
    #: works, but something is missing that the secretariat should know about
    warning: bool = False


class CheckWarning(Exception):
    """Raised by a check whose area works but is incomplete; `check` still exits 0."""


def sample_registration() -> Registration:
    """A complete registration with awkward characters, to try templates with."""
    return Registration(
        title="Sample cluster: R&D <pilot> for Posidonia meadows",
        acronym="SAMPLE",
        question="Which question?",
        objectives=("First objective", "Second objective"),
        working_groups=("WG1 Connectivity of ecosystems",),
        cluster_type="Thematic",
        lead_organisation="Περιφέρεια Κρήτης",
        lead_country="Greece",
        lead_role="C4N partner",
        contact_person="Ana Đurđević",
        contact_email=Address("ana@example.org", "Ana Đurđević"),
        participant_categories=("C4N",),
        thematic_projects=("MPA4Change",),
        participants=(Participant("Ġorġ Borġ", "gorg@example.org", "Example", "Malta"),),
        results="Results",
        transfer_levels=("Regional",),
        outcomes=("Networking",),
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
        roadmap=(RoadmapItem(date(2025, 3, 15), "Kick-off webinar"),),
        expertise="",
        consent=True,
    )


def check_templates(config: Config) -> str:
    reg = sample_registration()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "check.docx"
        render_docx(
            config.path(config.output.factsheet_template),
            factsheet_context(reg, "CL-2000-001", 1, date.today()),
            out,
            extras=logo_images(config.branding),
        )
    mail = config.mail
    composer = Composer(
        config.path(config.output.email_templates),
        mail.sender,
        mail.reply_to,
        mail.message_id_domain,
    )
    context = factsheet_context(reg, "CL-2000-001", 1, date.today())
    context.update(updated=False, short_name=reg.short_name)
    composer.render("factsheet", context)
    composer.render(
        "problems",
        {
            "name": "",
            "title": "t",
            "cluster_id": "CL-2000-001",
            "submitted": "now",
            "problems": ["p"],
        },
    )
    composer.render(
        "digest",
        {
            "run_date": "today",
            "source": "s",
            "headline": "h",
            "new": [],
            "updated": [],
            "invalid": [],
            "duplicates": [],
            "errors": [],
            "awaiting": [],
            "failed": [],
            "sent": 0,
            "deferred": 0,
            "erased_rows": [7],
            "pruned": {"email bodies": 2},
        },
    )
    return "factsheet and email templates render"


def _report(config: Config) -> str:
    """Render the CoP report and its email from an empty scratch state, into a temp folder."""
    from cluster_sync.report.gather import Period
    from cluster_sync.report.service import make_report, report_composer, report_email_context
    from cluster_sync.state import State

    state = State(":memory:")
    today = date.today()
    with tempfile.TemporaryDirectory() as scratch:
        period = Period(date(today.year, 1, 1), today)
        report = make_report(config, state, period, today, Path(scratch) / "check.docx")
        report_composer(config).render("report", report_email_context(report))
    state.close()
    return "CoP report template and its email render"


def _source(config: Config) -> str:
    snapshot = open_source(config).read()
    return f"{snapshot.description}: headers found, {len(snapshot.rows)} row(s)"


def _state(config: Config) -> str:
    path = config.path(config.state.database)
    if path.exists():
        return f"state database {path} exists"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    import os

    if not os.access(parent, os.W_OK):
        raise ClusterSyncError(
            f"the state database {path} cannot be created: {parent} is not writable"
        )
    return f"state database {path} will be created on the first sync"


def _mail(config: Config) -> str:
    from cluster_sync.mailers import PermanentFailure, open_mailer

    mailer = open_mailer(config)
    try:
        mailer.check_settings()  # settings and secrets only: nothing is connected or sent
    except PermanentFailure as exc:
        raise ClusterSyncError(f"{mailer.description}: {exc.reply}") from None
    return f"mail goes to {mailer.description}"


_ARTWORK = {"programme_logo": "programme logo", "eu_emblem": "EU emblem"}


def _branding(config: Config) -> str:
    absent = missing(config.branding)
    if absent:
        raise CheckWarning(
            f"no {' and no '.join(_ARTWORK[k] for k in absent)} configured: factsheets "
            "and reports show a placeholder instead. Set [branding] programme_logo and "
            "eu_emblem to PNG files (docs/templates.md says where to get the artwork)."
        )
    return "programme logo and EU emblem configured"


CHECKS: list[tuple[str, Callable[[Config], str]]] = [
    ("templates", check_templates),
    ("branding", _branding),
    ("report", _report),
    ("source", _source),
    ("state", _state),
    ("mail", _mail),
]


def run_checks(config: Config) -> list[Check]:
    results = []
    for area, check in CHECKS:
        try:
            results.append(Check(area, True, check(config)))
        except CheckWarning as exc:
            results.append(Check(area, True, str(exc), warning=True))
        except ClusterSyncError as exc:
            results.append(Check(area, False, str(exc)))
        except Exception as exc:  # check must list every problem, even an unforeseen one
            results.append(Check(area, False, f"{type(exc).__name__}: {exc}"))
    return results
