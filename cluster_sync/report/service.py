"""Making, recording and sending a CoP report: the library calls behind `cluster-sync report`
and the monthly schedule.

A report is recorded in the `reports` table under its period (`2026-01-01:2026-01-31`), with the
path of the .docx; rendering the same period again overwrites the files, raises the draft number
and keeps the record. Sending queues one message to the secretariat with the dedupe key
`report:<from>:<to>`, so a period is never sent twice, and stores its Message-ID in
`reports.sent_message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cluster_sync import keys
from cluster_sync.config import Config
from cluster_sync.mailqueue import enqueue, message_id_header
from cluster_sync.outputs import Made, attachments, make_outputs
from cluster_sync.render.email import Composer
from cluster_sync.report import charts, records
from cluster_sync.report.context import Horizons, build_context, short_date
from cluster_sync.report.document import draft_of, render_report_docx, write_markdown
from cluster_sync.report.figures import compute
from cluster_sync.report.gather import Gathered, Period, gather, previous_month
from cluster_sync.report.markdown import render_markdown
from cluster_sync.state import State


@dataclass(frozen=True)
class Report:
    period: Period
    docx: Path
    markdown: Path
    charts: dict[str, Path]
    draft: int
    summary: str
    context: dict[str, Any] = field(repr=False)
    #: format -> the file made beside the .docx (PDF), or why it could not be
    files: dict[str, Made] = field(default_factory=dict)


def default_out(config: Config, period: Period) -> Path:
    name = f"cop-report-{period.start.isoformat()}-{period.end.isoformat()}.docx"
    return config.path(config.output.directory) / "reports" / name


def dedupe_key(period: Period) -> str:
    return keys.report(period.start.isoformat(), period.end.isoformat())


def _factsheets(state: State, gathered: Gathered, config: Config) -> dict[str, str]:
    """`version 2 of 3 Mar 2025` per cluster whose current factsheet was made: what a reader
    can match with the factsheet they received, rather than a file name."""
    found = {}
    for cluster in gathered.clusters:
        row = state.db.execute(
            "SELECT created_at FROM factsheets WHERE cluster_id = ? AND version = ?",
            (cluster.cluster_id, cluster.version),
        ).fetchone()
        if row:
            made = datetime.fromisoformat(str(row[0])).astimezone(config.zone).date()
            found[cluster.cluster_id] = f"version {cluster.version} of {short_date(made)}"
    return found


def _draw(gathered: Gathered, figures_rows: Any, out: Path) -> dict[str, Path]:
    drawn: dict[str, Path] = {}
    status_png = out.with_name(f"{out.stem}-status.png")
    timeline_png = out.with_name(f"{out.stem}-timeline.png")
    # A chart of an earlier draft must not linger beside this one (it may name a cluster
    # whose consent has since gone).
    status_png.unlink(missing_ok=True)
    timeline_png.unlink(missing_ok=True)
    if not gathered.clusters:
        return drawn
    drawn["status_chart"] = charts.status_by_wg(figures_rows, status_png)
    named = [c for c in gathered.clusters if c.consent]
    if named:
        drawn["timeline_chart"] = charts.timeline(
            named, gathered.period, gathered.today, timeline_png
        )
    return drawn


def _previous_draft(state: State, period: Period, out: Path) -> int:
    path = records.recorded_path(state, period)
    recorded = draft_of(path) if path else 0
    return max(recorded, draft_of(out))


def make_report(
    config: Config,
    state: State,
    period: Period,
    today: date,
    out: Path | None = None,
    horizons: Horizons | None = None,
    convert: bool = True,
) -> Report:
    """Gather, compute, draw, render the .docx and the .md, make the other formats (PDF) unless
    `convert` is False, and record the report."""
    out = out or default_out(config, period)
    gathered = gather(state, period, today, config.approval.required)
    figures = compute(gathered)
    drawn = _draw(gathered, figures.working_groups, out)
    draft = _previous_draft(state, period, out) + 1
    context = build_context(
        gathered,
        figures,
        draft=draft,
        horizons=horizons or Horizons(),
        factsheets=_factsheets(state, gathered, config),
    )
    template = config.path(config.output.report_template)
    render_report_docx(template, context, drawn, out, draft, config.branding)
    markdown = out.with_suffix(".md")
    write_markdown(markdown, render_markdown(context, {k: p.name for k, p in drawn.items()}))
    files = make_outputs(config, [out], fresh=[out])[out] if convert else {}
    records.record_made(state, period, out)
    return Report(period, out, markdown, drawn, draft, str(context["summary"]), context, files)


def sent_message(state: State, period: Period) -> str | None:
    """The Message-ID the period's report went out with, if it was queued already."""
    return records.sent_message(state, period) or message_id_header(state, dedupe_key(period))


def report_composer(config: Config) -> Composer:
    mail = config.mail
    return Composer(
        config.path(config.output.email_templates),
        mail.sender,
        mail.reply_to,
        mail.message_id_domain,
        mail.limits.max_recipients,
    )


def report_email_context(report: Report, correction: bool = False) -> dict[str, Any]:
    """The tags of report.*.j2; `correction` for a corrected draft of a period sent before."""
    c = report.context
    shared = ("report_title", "period_label", "generated_on", "draft", "summary", "figures")
    return {
        **{k: c[k] for k in shared},
        "correction": correction,
        "filename": report.docx.name,
        "open_problems": len(c["open_problems"]) + c["unnamed_problems"],
        "awaiting_approval": len(c["awaiting_approval"]),
        "ending_soon": len(c["ending_soon"]),
        "upcoming": len(c["upcoming"]),
        "upcoming_weeks": c["upcoming_weeks"],
        "ending_days": c["ending_days"],
    }


def send_report(config: Config, state: State, report: Report, now: datetime) -> bool:
    """Queue the draft to the secretariat; False when this period was queued before."""
    if sent_message(state, report.period):
        return False
    return _queue_report(config, state, report, now, dedupe_key(report.period), correction=False)


def send_correction(config: Config, state: State, report: Report, now: datetime) -> bool:
    """Queue this draft as the correction of a period sent before (`report --send
    --correction`), under a key of its own (`report:<from>:<to>:draft<N>`): on purpose, each
    corrected draft is sent once. The period's first report when none was sent yet."""
    if not sent_message(state, report.period):
        return send_report(config, state, report, now)
    key = keys.correction(dedupe_key(report.period), report.draft)
    return _queue_report(config, state, report, now, key, correction=True)


def _queue_report(
    config: Config, state: State, report: Report, now: datetime, key: str, correction: bool
) -> bool:
    from cluster_sync.addresses import secretariat

    to = secretariat(config)
    messages = report_composer(config).compose(
        dedupe_key=key,
        kind="report_correction" if correction else "report",
        cluster_id=None,
        template="report",
        context=report_email_context(report, correction),
        to=to,
        attachments=attachments(config, report.docx, report.files),
        now=now,
    )
    with state.transaction():
        queued = [m for m in messages if enqueue(state, m, None, now)]
        if queued:
            records.record_sent(state, report.period, queued[0].message_id)
    return bool(queued)


def scheduled_report(
    config: Config, state: State, now: datetime, output_dir: Path | None = None
) -> Path | None:
    """On or after `report.monthly_on_day`, once a month: the previous calendar month's report,
    rendered and queued to the secretariat. None when nothing is due. `output_dir` replaces
    output.directory (the sync's scratch folder in a dry run)."""
    day = config.report.monthly_on_day
    today = now.astimezone(config.zone).date()
    if day is None or today.day < day:
        return None
    period = previous_month(today)
    if sent_message(state, period):
        return None
    out = default_out(config, period)
    if output_dir is not None:
        out = output_dir / "reports" / out.name
    report = make_report(config, state, period, today, out)
    send_report(config, state, report, now)
    return report.docx
