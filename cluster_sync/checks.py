"""`cluster-sync check`: everything that can be verified without side effects, all at once."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError, TemplateError
from cluster_sync.render.branding import logo_images, missing
from cluster_sync.render.email import Composer
from cluster_sync.render.factsheet import factsheet_context, render_docx
from cluster_sync.render.languages import ENGLISH_CODE
from cluster_sync.sample import (
    CLUSTER_ID,
    PARTNER_TEMPLATES,
    VERSION,
    sample_emails,
    sample_registration,
    seed_state,
)
from cluster_sync.sources import open_source
from cluster_sync.text import counted


@dataclass
class Check:
    area: str
    ok: bool
    message: str
    #: works, but something is missing that the secretariat should know about
    warning: bool = False


class CheckWarning(Exception):
    """Raised by a check whose area works but is incomplete; `check` still exits 0."""


def check_templates(config: Config) -> str:
    """The factsheet and every email template, rendered through the builders the sync uses
    with the sample registration and run (cluster_sync/sample.py), every list filled; the
    emails to partners in every language there are emails in."""
    from cluster_sync.report.service import report_composer  # the composer the sync uses

    today = date.today()
    with tempfile.TemporaryDirectory() as scratch:
        render_docx(
            config.path(config.output.factsheet_template),
            factsheet_context(sample_registration(), CLUSTER_ID, VERSION, today),
            Path(scratch) / "check.docx",
            extras=logo_images(config.branding),
        )
    composer = report_composer(config)
    _check_languages(composer, config)
    for template, context in sample_emails(today, config.form.url):
        if template in PARTNER_TEMPLATES:
            for language in composer.languages.codes:  # every language folder
                composer.render(template, context, language)
        else:
            composer.render(template, context)
    others = [code for code in composer.languages.codes if code != ENGLISH_CODE]
    return "factsheet and email templates render" + (
        f" (emails to partners also in {', '.join(others)})" if others else ""
    )


def partner_renders() -> list[tuple[str, dict[str, Any]]]:
    """Each email to a partner with each of its branches, every optional part on (an edit
    link, a published link): a first factsheet, an update, a new layout (`rerender
    --notify`), the problems."""
    samples = sample_emails(date.today())
    return [
        (name, context)
        for name, context in samples
        if name in PARTNER_TEMPLATES and context["edit_link"] and context.get("factsheet_link", 1)
    ]


def partner_samples() -> dict[str, dict[str, Any]]:
    """Sample tags of each email to a partner, every list non-empty, every optional part on
    (the update with its changes and published link)."""
    renders = partner_renders()
    factsheet = next(c for n, c in renders if n == "factsheet" and c["factsheet_link"])
    problems = next(c for n, c in renders if n == "problems")
    return {"factsheet": factsheet, "problems": problems}


def _check_languages(composer: Composer, config: Config) -> None:
    """`[mail] language` and each `[mail.cluster_languages]` name a language there are emails in."""
    settings = {"mail.language": config.mail.language}
    settings.update(
        {f"mail.cluster_languages.{k}": v for k, v in config.mail.cluster_languages.items()}
    )
    unknown = [
        f"{key} = {value!r}"
        for key, value in settings.items()
        if composer.languages.find(value) is None
    ]
    if unknown:
        raise TemplateError(
            f"{'; '.join(unknown)}: no emails are written in that language "
            f"(there are: {', '.join(composer.languages.codes)}).",
            hint="give one of those codes, or add a folder for the language (docs/languages.md).",
        )


def _report(config: Config) -> str:
    """Render the CoP report and its email from a scratch state holding the sample
    registrations (one running, one to fix), into a temp folder."""
    from cluster_sync.report.gather import Period
    from cluster_sync.report.service import make_report, report_composer, report_email_context
    from cluster_sync.state import State

    state = State(":memory:")
    today = date.today()
    seed_state(state, today, datetime.now(UTC).isoformat(timespec="seconds"))
    with tempfile.TemporaryDirectory() as scratch:
        period = Period(today - timedelta(days=90), today)
        out = Path(scratch) / "check.docx"
        report = make_report(config, state, period, today, out, convert=False)
        composer = report_composer(config)
        for correction in (False, True):  # the first draft of a period, and a correction
            composer.render("report", report_email_context(report, correction))
    state.close()
    return "CoP report template and its email render"


def _source(config: Config) -> str:
    """The source is read as the sync reads it: a file source from disk, a Google Sheet over
    the network (its header row and rows)."""
    snapshot = open_source(config).read()
    return f"{snapshot.description}: headers found, {counted(len(snapshot.rows), 'row')}"


def writable(folder: Path, what: str) -> str:
    """Whether the sync can write into `folder` (or create it): a real write of a small file,
    removed at once. Permission bits alone do not tell (root ignores them; a read-only mount
    or a full disk does not show in them)."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ClusterSyncError(f"{what} {folder} cannot be created: {existing} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".cluster-sync-check-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise ClusterSyncError(
            f"{what} {folder} is not writable: {exc.strerror or exc} (in {existing})"
        ) from None
    return f"{what} {folder} is writable" + ("" if existing == folder else " (will be created)")


def _state(config: Config) -> str:
    path = config.path(config.state.database)
    if path.exists():
        writable(path.parent, "the folder of the state database")
        return f"state database {path} exists; its folder is writable"
    writable(path.parent, "the folder of the state database")
    return f"state database {path} will be created on the first sync"


def _output(config: Config) -> str:
    return writable(config.path(config.output.directory), "the output folder")


def _mail(config: Config) -> str:
    from cluster_sync.mailers import PermanentFailure, open_mailer
    from cluster_sync.mailers.outbox_settings import outbox_folder

    folder = outbox_folder(config)
    if config.mail.backend == "outbox" and folder:
        writable(folder, "the outbox folder")
    mailer = open_mailer(config)
    try:
        mailer.check_settings()  # settings, secrets, the CA bundle: nothing is connected
    except PermanentFailure as exc:
        raise ClusterSyncError(f"{mailer.description}: {exc.reply}") from None
    return f"mail goes to {mailer.description}"


def _publish(config: Config) -> str:
    if config.publish is None:
        return "not set up: factsheets are not published (see docs/publishing.md)"
    from cluster_sync.publish import open_target

    return open_target(config).check()


def _mail_login(config: Config) -> str:
    """`check --connect`: connect, secure and log in as delivery would; send nothing."""
    from cluster_sync.mailers import PermanentFailure, TemporaryFailure, open_mailer

    mailer = open_mailer(config)
    try:
        mailer.open()
    except (PermanentFailure, TemporaryFailure) as exc:
        raise ClusterSyncError(f"{mailer.description}: {exc.reply}") from None
    finally:
        mailer.close()
    return f"logged in to {mailer.description}" if not mailer.saves_only else mailer.description


def _formats(config: Config) -> str:
    """Every output format the configuration asks for can be made here (PDF: LibreOffice
    found, its version, one real conversion). A warning, not a problem: without a PDF the
    sync sends the .docx and says why."""
    from cluster_sync.outputs import formats

    try:
        return "; ".join(f"{fmt.label}: {fmt.check()}" for fmt in formats(config))
    except ClusterSyncError as exc:
        raise CheckWarning(f"{exc}\n  Until then the emails carry the .docx instead.") from None


def _fonts(config: Config) -> str:
    """The fonts the Word templates ask for, and Greek/Cyrillic/Maltese text, for the PDF."""
    from cluster_sync.outputs.fonts import FONT_PACKAGES, check_fonts, fontconfig_available

    if "pdf" not in config.output.formats:
        return "not checked: no PDF is asked for (output.formats)"
    if not fontconfig_available():
        raise CheckWarning(
            "the fonts cannot be checked: fontconfig's fc-match and fc-list are not installed; "
            "install fontconfig (Debian/Ubuntu: sudo apt-get install fontconfig)."
        )
    templates = [config.output.factsheet_template, config.output.report_template]
    report = check_fonts([config.path(t) for t in templates if config.path(t).is_file()])
    gaps = [f"{name} (drawn with {instead} instead)" for name, instead in report.missing.items()]
    gaps += [f"no font for {script} text" for script in report.scripts_missing]
    if gaps:
        raise CheckWarning(
            "the PDF will not look like the Word file: missing " + "; ".join(gaps) + ". "
            f"Install the fonts (Debian/Ubuntu: sudo apt-get install {FONT_PACKAGES}), "
            "or use installed fonts in the templates."
        )
    return f"templates use {', '.join(report.asked)}: all installed or replaced by fonts of the same size"


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
    ("output", _output),
    ("mail", _mail),
    ("formats", _formats),
    ("fonts", _fonts),
    ("publish", _publish),
]
#: what `check --connect` adds: talking to the mail server
CONNECT_CHECKS: list[tuple[str, Callable[[Config], str]]] = [("mail server", _mail_login)]


def run_checks(config: Config, connect: bool = False) -> list[Check]:
    results = []
    for area, check in CHECKS + (CONNECT_CHECKS if connect else []):
        try:
            results.append(Check(area, True, check(config)))
        except CheckWarning as exc:
            results.append(Check(area, True, str(exc), warning=True))
        except ClusterSyncError as exc:
            results.append(Check(area, False, str(exc)))
        except Exception as exc:  # check must list every problem, even an unforeseen one
            results.append(Check(area, False, f"{type(exc).__name__}: {exc}"))
    return results
