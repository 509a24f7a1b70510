"""PDF with the real LibreOffice: every factsheet and the CoP report read back and compared
with its Word document, the emails carrying what the configuration says, and `check`. Skipped,
with the reason shown, where LibreOffice is not installed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pdf_support import compare_with_docx, needs_libreoffice, starts
from test_pdf_failures import factsheet_emails, pdf_config, run
from test_sync import NOW, VALID

from cluster_sync.checks import run_checks
from cluster_sync.report.gather import Period
from cluster_sync.report.service import make_report, send_report

pytestmark = needs_libreoffice


def test_every_factsheet_gets_a_pdf_whose_text_matches_the_docx(project: Path) -> None:
    from pdf_support import SOFFICE

    # a real LibreOffice behind a logging wrapper: how many times it started, and on what
    wrapper = project / "bin" / "soffice"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" >> "{wrapper.with_suffix(".log")}"\nexec "{SOFFICE}" "$@"\n'
    )
    wrapper.chmod(0o755)
    config = pdf_config(project, str(wrapper), timeout=120)
    summary, state = run(config)
    assert summary.outputs == {"pdf": VALID} and not summary.output_problems
    assert len(starts(wrapper)) == 1  # one LibreOffice start for the run
    documents = sorted(config.path(config.output.directory).glob("factsheets/*.docx"))
    assert len(documents) == VALID
    for document in documents:
        compare_with_docx(document, document.with_suffix(".pdf"))
    for message in factsheet_emails(config):
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        pdf = config.path(config.output.directory) / "factsheets" / attachment.get_filename()
        assert attachment.get_content() == pdf.read_bytes()
    state.close()


def test_the_report_draft_gets_a_pdf_and_its_email_attaches_both(project: Path) -> None:
    config = pdf_config(project, "soffice", attach='["docx", "pdf"]', timeout=120)
    _summary, state = run(config)
    report = make_report(config, state, Period(date(2025, 1, 1), date(2027, 12, 31)), NOW.date())
    pdf = report.files["pdf"].path
    assert pdf == report.docx.with_suffix(".pdf")
    compare_with_docx(report.docx, pdf)
    assert send_report(config, state, report, NOW)
    raw = state.db.execute("SELECT raw FROM messages WHERE kind = 'report'").fetchone()[0]
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    types = sorted(a.get_content_type() for a in message.iter_attachments())  # type: ignore[attr-defined]
    assert types == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    state.close()


def test_check_converts_a_sample_and_names_the_version(project: Path) -> None:
    config = pdf_config(project, "soffice", timeout=120)
    results = {r.area: r for r in run_checks(config)}
    assert results["formats"].ok, results["formats"].message
    assert "LibreOffice" in results["formats"].message
    assert "a sample factsheet converted to PDF" in results["formats"].message
    assert not config.path(config.state.database).parent.exists()  # no profile left behind
