"""The nightly sync end to end on the embedded default: a CSV export, real SQLite, real .docx
files and .eml files read back."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from conftest import EXAMPLES, ROOT

from cluster_sync.config import Config
from cluster_sync.engine import RunSummary, Sync
from cluster_sync.errors import TemplateError
from cluster_sync.mailers import open_mailer
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.sheetstatus import ERROR_LINE
from cluster_sync.sources import open_source
from cluster_sync.state import State

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
VALID, INVALID, DUPLICATES = 16, 7, 1  # examples/README.md lists them row by row


def sync(config: Config, now: datetime = NOW, retention: bool = True) -> RunSummary:
    state = State(config.path(config.state.database))
    try:
        return Sync(
            config, state, open_source(config), open_mailer(config), now=now, retention=retention
        ).run()
    finally:
        state.close()


def outbox(config: Config) -> list[Path]:
    folder = outbox_folder(config)
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def read_eml(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: v or "" for k, v in r.items()} for r in csv.DictReader(handle)]


def row_by_title(path: Path, title_start: str) -> dict[str, str]:
    return next(r for r in rows(path) if r["Cluster title"].startswith(title_start))


def edit_cell(path: Path, cluster_id: str, header: str, value: str) -> None:
    """Change one answer of one response in the export, as the partner's edit would."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    col, id_col = grid[0].index(header), grid[0].index("Cluster ID")
    for line in grid[1:]:
        if len(line) > id_col and line[id_col] == cluster_id:
            line[col] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")


# -- first run ------------------------------------------------------------------------------


def test_first_run_renders_and_emails_every_valid_registration(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    summary = sync(config)
    c = summary.counts
    assert (c["new"], c["invalid"], c["duplicate"], c["blank"]) == (VALID, INVALID, DUPLICATES, 1)
    factsheets = sorted(config.path(config.output.directory).glob("factsheets/*.docx"))
    assert len(factsheets) == VALID
    # by what each message is, whatever the language its people asked for (test_languages.py)
    kinds = [str(read_eml(p)["X-Cluster-Sync-Key"]).split(":")[0] for p in outbox(config)]
    assert len(outbox(config)) == VALID + INVALID + 1  # factsheets, problem reports, the digest
    assert kinds.count("factsheet") == VALID
    assert kinds.count("problems") == INVALID


def test_factsheet_docx_holds_the_registration(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    cluster_id = row["Cluster ID"]
    (path,) = config.path(config.output.directory).glob(f"factsheets/{cluster_id}-*-v1.docx")
    document = docx.Document(str(path))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    everything = body + "\n" + cells
    assert row["Cluster title"] in everything
    assert cluster_id in everything
    assert "Regione Autonoma della Sardegna" in everything
    assert path.name.startswith(f"{cluster_id}-governance-toolkit")


def test_escaped_and_multilingual_text_survives(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    for row in rows(project / "responses.csv"):
        if "<pilot>" in row["Cluster title"] or any(ord(ch) > 0x370 for ch in row["Cluster title"]):
            if not row["Sync status"].startswith("OK"):
                continue
            (path,) = config.path(config.output.directory).glob(
                f"factsheets/{row['Cluster ID']}-*.docx"
            )
            document = docx.Document(str(path))
            text = "\n".join(p.text for p in document.paragraphs)
            text += "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
            assert row["Cluster title"].strip() in text, row["Cluster title"]


def test_factsheet_email_has_attachment_recipients_and_reply_to(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    message = next(
        read_eml(p) for p in outbox(config) if row["Cluster ID"] in str(read_eml(p)["Subject"])
    )
    assert "secretariat@example.org" in str(message["Reply-To"])
    assert row["Email address"] in str(message["To"]) + str(message.get("Cc", ""))
    participants = [
        line.split(";")[1].strip() for line in row["Participants"].splitlines() if ";" in line
    ]
    for address in participants:
        assert address in str(message["To"]) + str(message.get("Cc", ""))
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().startswith(row["Cluster ID"])
    assert attachment.get_content_type().endswith("wordprocessingml.document")
    assert docx.Document(io.BytesIO(attachment.get_content())).paragraphs  # a real Word file
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert row["Cluster ID"] in plain and row["Cluster ID"] in html


def test_problem_report_lists_every_problem_in_the_forms_words(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Eco-moorings")
    assert row["Sync status"].startswith("Needs fixing")
    message = next(
        read_eml(p)
        for p in outbox(config)
        if "-problems-" in p.name and "Eco-moorings" in str(read_eml(p)["Subject"])
    )
    # the row asked for Spanish ("Preferred language"); the question names stay the form's
    assert row["Preferred language"] == "Español" and message["Content-Language"] == "es"
    assert str(message["Subject"]) == (
        f"Su registro de clúster necesita una corrección: {row['Cluster title'].strip()}"
    )
    plain = message.get_body(("plain",)).get_content()
    assert plain.startswith("Hola")
    assert "End date (30 de noviembre de 2025) es anterior a Start date" in plain
    assert row["Email address"] in str(message["To"])


def test_message_ids_are_stable_and_unique(make_config: Callable[..., Config]) -> None:
    config = make_config()
    sync(config)
    ids = [str(read_eml(p)["Message-ID"]) for p in outbox(config)]
    assert len(set(ids)) == len(ids)
    assert all(i.endswith("@test.example.org>") for i in ids)


# -- incremental behaviour ------------------------------------------------------------------


def test_second_run_renders_and_sends_nothing(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    before_csv = (project / "responses.csv").read_bytes()
    before_mail = outbox(config)
    summary = sync(config, NOW.replace(day=26))
    assert summary.counts["unchanged"] == VALID
    assert summary.counts["factsheets"] == 0
    assert summary.counts["queued"] == 0
    assert outbox(config) == before_mail
    assert (project / "responses.csv").read_bytes() == before_csv  # no needless rewrite


def test_edited_row_gets_new_version_and_updated_email(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(
        project / "responses.csv", row["Cluster ID"], "Objectives", "A single, reworded objective"
    )
    summary = sync(config, NOW.replace(day=26))
    assert [r.cluster_id for r in summary.of("updated")] == [row["Cluster ID"]]
    assert summary.counts["factsheets"] == 1
    v2 = list(
        config.path(config.output.directory).glob(f"factsheets/{row['Cluster ID']}-*-v2.docx")
    )
    assert len(v2) == 1
    updates = [read_eml(p) for p in outbox(config) if "factsheet-update" in p.name]
    assert len(updates) == 1 and str(updates[0]["Subject"]).startswith("Updated factsheet")
    assert "v2" in row_by_title(project / "responses.csv", "Governance toolkit")["Sync status"]


def test_export_without_ids_recognises_edits_by_title(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=False)
    sync(config)
    (project / "responses.csv").write_bytes((EXAMPLES / "responses-edited.csv").read_bytes())
    summary = sync(config, NOW.replace(day=26))
    updated = [r.title for r in summary.of("updated")]
    new = [r.title for r in summary.of("new")]
    assert len(updated) == 1 and "Neretva" in updated[0]
    assert len(new) == 1 and new[0].startswith("Eco-moorings")  # the fixed row, first factsheet


def test_resorted_sheet_keeps_ids_and_does_nothing(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    path = project / "responses.csv"
    ids_before = {r["Cluster ID"]: r["Cluster title"] for r in rows(path) if r["Cluster ID"]}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    grid[1:] = sorted(grid[1:], key=lambda line: line[2], reverse=True)  # sort by title, Z→A
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    summary = sync(config, NOW.replace(day=26))
    assert summary.counts["new"] == 0 and summary.counts["updated"] == 0
    assert summary.counts["queued"] == 0
    ids_after = {r["Cluster ID"]: r["Cluster title"] for r in rows(path) if r["Cluster ID"]}
    assert ids_after == ids_before


def test_duplicate_is_reported_not_processed(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    summary = sync(config)
    (duplicate,) = summary.of("duplicate")
    lines = rows(project / "responses.csv")
    marked = [r for r in lines if r["Sync status"].startswith("Duplicate of")]
    assert len(marked) == 1 and marked[0]["Cluster ID"] == ""
    original = [
        r for r in lines if r["Cluster title"] == marked[0]["Cluster title"] and r["Cluster ID"]
    ]
    assert len(original) == 1 and original[0]["Cluster ID"] in marked[0]["Sync status"]
    factsheets = list(
        config.path(config.output.directory).glob(f"factsheets/{original[0]['Cluster ID']}-*")
    )
    assert len(factsheets) == 1
    assert duplicate.note.startswith(f"duplicate of {original[0]['Cluster ID']}")


def test_still_invalid_is_told_once_per_distinct_problems(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    problem_mails = lambda: [p for p in outbox(config) if "-problems-" in p.name]  # noqa: E731
    first = len(problem_mails())
    sync(config, NOW.replace(day=26))
    assert len(problem_mails()) == first  # same problems: not told again
    row = row_by_title(project / "responses.csv", "Eco-moorings")
    edit_cell(project / "responses.csv", row["Cluster ID"], "End date", "not a date")
    sync(config, NOW.replace(day=27))
    assert len(problem_mails()) == first + 1  # a different problem: told once more
    sync(config, NOW.replace(day=28))
    assert len(problem_mails()) == first + 1


def test_fixed_row_becomes_valid(make_config: Callable[..., Config], project: Path) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Eco-moorings")
    edit_cell(project / "responses.csv", row["Cluster ID"], "End date", "30/11/2027")
    summary = sync(config, NOW.replace(day=26))
    assert [r.cluster_id for r in summary.of("new")] == [row["Cluster ID"]]
    assert row_by_title(project / "responses.csv", "Eco-moorings")["Sync status"].startswith("OK")


# -- approval, failures, safety -------------------------------------------------------------


def test_approval_holds_factsheet_emails_until_ticked(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(approval=True)
    summary = sync(config)
    approved = sum(
        1
        for r in rows(project / "responses.csv")
        if r["Approved"].strip().upper() == "TRUE" and r["Sync status"].startswith("OK")
    )
    assert len(summary.awaiting_approval) == VALID - approved
    held = next(
        r for r in rows(project / "responses.csv") if "waiting for approval" in r["Sync status"]
    )
    edit_cell(project / "responses.csv", held["Cluster ID"], "Approved", "TRUE")
    later = sync(config, NOW.replace(day=26))
    assert later.counts["factsheets"] == 0  # the factsheet existed; only its email was held
    sent = [p for p in outbox(config) if held["Cluster ID"] in p.name and "factsheet" in p.name]
    assert len(sent) == 1


def test_failed_delivery_never_stops_the_run(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    (project / "var").mkdir()
    (project / "var" / "outbox").write_text("a file where the outbox folder should be")
    summary = sync(config)
    assert summary.counts["new"] == VALID  # every row processed and recorded
    assert summary.delivery.sent == 0 and summary.delivery.deferred > 0
    (project / "var" / "outbox").unlink()
    later = sync(config, NOW.replace(day=26))
    assert later.delivery.sent == VALID + INVALID + 1  # nothing lost: delivered on the next run


def test_form_text_cannot_add_an_email_header(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    evil = "Toolkit\r\nBcc: victim@example.com\r\nX-Injected: yes"
    edit_cell(project / "responses.csv", row["Cluster ID"], "Cluster title", evil)
    sync(config, NOW.replace(day=26))
    update = next(read_eml(p) for p in outbox(config) if "factsheet-update" in p.name)
    assert update["Bcc"] is None and update["X-Injected"] is None
    assert "\n" not in str(update["Subject"])


def test_formula_like_answers_are_never_evaluated_or_changed(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Acronym", '=HYPERLINK("http://x")')
    sync(config, NOW.replace(day=26))
    assert (
        row_by_title(project / "responses.csv", "Governance toolkit")["Acronym"]
        == '=HYPERLINK("http://x")'
    )


def test_monthly_report_goes_out_with_the_sync_once_a_month(
    make_config: Callable[..., Config],
) -> None:
    config = make_config(extra="\n[report]\nmonthly_on_day = 1\n")
    first = sync(config, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    assert first.report is not None and first.report.exists() and first.report_error is None
    reports = [p for p in outbox(config) if "-report-" in p.name]
    assert len(reports) == 1
    message = read_eml(reports[0])
    assert "secretariat@example.org" in str(message["To"])
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".docx")
    again = sync(config, datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    assert again.report is None
    assert len([p for p in outbox(config) if "-report-" in p.name]) == 1


def test_form_text_is_data_never_a_template(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    sneaky = "Toolkit {{ 7*7 }} {% if true %}yes{% endif %} {{ config }}"
    edit_cell(project / "responses.csv", row["Cluster ID"], "Cluster title", sneaky)
    summary = sync(config, NOW.replace(day=26))
    assert [r.cluster_id for r in summary.of("updated")] == [row["Cluster ID"]]
    (path,) = config.path(config.output.directory).glob(f"factsheets/{row['Cluster ID']}-*-v2.docx")
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    text += "\n".join(
        c.text for t in docx.Document(str(path)).tables for r in t.rows for c in r.cells
    )
    assert sneaky in text and "49" not in text
    update = next(read_eml(p) for p in outbox(config) if "factsheet-update" in p.name)
    assert sneaky in update.get_body(("plain",)).get_content()


def test_a_row_that_breaks_the_template_never_stops_the_others(
    make_config: Callable[..., Config], project: Path
) -> None:
    # A secretariat's template whose expression fails for one row's data only.
    template = project / "fragile.docx"
    document = docx.Document()
    document.add_paragraph("{{ title }} {{ 100 // (title | length - 5) }}")
    document.save(str(template))
    config = make_config().model_copy(
        update={"output": make_config().output.model_copy(update={"factsheet_template": template})}
    )
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(project / "responses.csv", row["Cluster ID"], "Cluster title", "Short")
    summary = sync(config, NOW.replace(day=26))
    (error,) = summary.of("error")
    assert error.cluster_id == row["Cluster ID"] and "ZeroDivisionError" in error.note
    status = row_by_title(project / "responses.csv", "Short")["Sync status"]
    assert status == ERROR_LINE  # a plain sentence: the details are for the secretariat
    assert "ZeroDivisionError" not in status and "Error" not in status
    edit_cell(
        project / "responses.csv",
        row_by_title(project / "responses.csv", "Green List")["Cluster ID"],
        "Acronym",
        "NEW",
    )
    later = sync(config, NOW.replace(day=27))
    assert [r.title for r in later.of("updated")] == ["Green List standards for small Maltese MPAs"]
    assert len(later.of("error")) == 1  # still failing, still reported, nothing else held back


# -- found in review ------------------------------------------------------------------------


def test_status_counts_every_part_of_a_split_factsheet_email(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(extra="\n[mail.limits]\nmax_recipients = 2\n")
    sync(config)
    row = row_by_title(project / "responses.csv", "Soil carbon")  # contact + 5 participants
    emails = {row["Contact email"].split("<")[-1].strip(" >").casefold()}
    emails |= {
        line.split(";")[1].strip().casefold()
        for line in row["Participants"].splitlines()
        if ";" in line
    }
    people = len(emails)  # the contact, then each participant, every address once
    assert f"its email to {people} people was saved to the outbox" in row["Sync status"]
    parts = [p for p in outbox(config) if row["Cluster ID"] in p.name and "-factsheet-" in p.name]
    assert len(parts) == -(-people // 2)


def test_first_email_after_approval_is_not_called_an_update(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(approval=True)
    sync(config)
    held = next(
        r for r in rows(project / "responses.csv") if "waiting for approval" in r["Sync status"]
    )
    edit_cell(project / "responses.csv", held["Cluster ID"], "Acronym", "EDITED")  # v2, still held
    sync(config, NOW.replace(day=26))
    edit_cell(project / "responses.csv", held["Cluster ID"], "Approved", "TRUE")
    sync(config, NOW.replace(day=27))
    (sent,) = [read_eml(p) for p in outbox(config) if held["Cluster ID"] in p.name]
    assert str(sent["Subject"]).startswith("Factsheet for your cluster")


def test_a_cluster_id_retyped_by_hand_is_still_that_registration(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    prefix, year, number = row["Cluster ID"].split("-")
    edit_cell(
        project / "responses.csv",
        row["Cluster ID"],
        "Cluster ID",
        f"{prefix.lower()}-{year}-{int(number)}",
    )
    summary = sync(config, NOW.replace(day=26))
    assert summary.counts["new"] == 0 and summary.counts["queued"] == 0
    assert summary.counts["unchanged"] == VALID


def test_a_stray_value_in_the_id_column_stops_nothing(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    edit_cell(
        project / "responses.csv", row["Cluster ID"], "Cluster ID", "CL-2025-12345678901234567890"
    )
    summary = sync(config, NOW.replace(day=26))
    assert summary.counts["new"] == 0 and summary.counts["error"] == 0
    assert (
        row_by_title(project / "responses.csv", "Governance toolkit")["Cluster ID"]
        == row["Cluster ID"]
    )


def test_problems_that_change_back_are_told_again(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    problem_mails = lambda: [p for p in outbox(config) if "-problems-" in p.name]  # noqa: E731
    first = len(problem_mails())
    row = row_by_title(project / "responses.csv", "Eco-moorings")
    original = row["End date"]
    edit_cell(project / "responses.csv", row["Cluster ID"], "End date", "not a date")
    sync(config, NOW.replace(day=26))
    edit_cell(project / "responses.csv", row["Cluster ID"], "End date", original)
    summary = sync(config, NOW.replace(day=27))
    assert len(problem_mails()) == first + 2
    assert [r.note for r in summary.of("invalid") if r.cluster_id == row["Cluster ID"]] == [
        "problems sent"
    ]


def test_a_broken_email_template_stops_the_run_before_anything_is_sent(
    make_config: Callable[..., Config], project: Path
) -> None:
    templates = project / "email"
    shutil.copytree(ROOT / "templates" / "email", templates)
    (templates / "digest.txt.j2").write_text("Subject: {{ headline }\nbroken\n", encoding="utf-8")
    config = make_config()
    config = config.model_copy(
        update={"output": config.output.model_copy(update={"email_templates": templates})}
    )
    with pytest.raises(TemplateError, match=r"digest\.txt\.j2"):
        sync(config)
    assert outbox(config) == []
    assert not config.path(config.output.directory).exists()


def test_a_damaged_word_template_is_named(
    make_config: Callable[..., Config], project: Path
) -> None:
    broken = project / "factsheet.docx"
    broken.write_bytes(b"not a zip file at all")
    config = make_config()
    config = config.model_copy(
        update={"output": config.output.model_copy(update={"factsheet_template": broken})}
    )
    with pytest.raises(TemplateError, match="cannot be opened as a Word document") as caught:
        sync(config)
    assert caught.value.exit_code == 2
    assert outbox(config) == []
