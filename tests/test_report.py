"""The CoP clusters report: figures checked against the data by reading the .docx back with
python-docx, the Markdown twin, status boundaries, the consent rule, sending and the schedule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from test_sync import read_eml

from cluster_sync import config as config_mod
from cluster_sync.cli import cli
from cluster_sync.cli.report import report
from cluster_sync.config import Config
from cluster_sync.errors import TemplateError
from cluster_sync.model import Address, Participant, Registration, RoadmapItem
from cluster_sync.report.context import status_label
from cluster_sync.report.gather import Period, cluster_from, status_on
from cluster_sync.report.service import make_report, scheduled_report, send_report
from cluster_sync.state import State, StoredRegistration

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 25)
YEAR_2026 = Period(date(2026, 1, 1), date(2026, 12, 31))
WG1 = "WG1 Connectivity of ecosystems"
WG2 = "WG2 Climate change mitigation and adaptation"
WG4 = "WG4 Ecosystem restoration and Nature-based Solutions"

CONFIG = """
base_dir = "{tmp}"
[source]
path = "responses.csv"
[state]
database = "state.sqlite3"
[output]
directory = "output"
report_template = "{root}/templates/cop-report.docx"
email_templates = "{root}/templates/email"
[mail]
outbox = "outbox"
from = "Natural Heritage CoP <cop@example.org>"
reply_to = "Secretariat <secretariat@example.org>"
secretariat = ["Natural Heritage secretariat <secretariat@example.org>"]
message_id_domain = "test.example.org"
[approval]
required = {approval}
[report]
monthly_on_day = 3
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "cluster-sync.toml"
    path.write_text(CONFIG.format(tmp=tmp_path, root=ROOT, approval="true"), encoding="utf-8")
    return config_mod.load(path)


@pytest.fixture
def state(config: Config) -> Any:
    opened = State(config.path(config.state.database))
    yield opened
    opened.close()


def registration(title: str, acronym: str, start: str, end: str, **changes: Any) -> Registration:
    people = (
        Participant("María José Núñez", "mj.nunez@example.org", "Generalitat Valenciana", "Spain"),
        Participant("Ana Đurđević", "ana@example.org", "Opština Kotor", "Montenegro"),
    )
    reg = Registration(
        title=title,
        acronym=acronym,
        question="Which tested tools can a small administration adopt?",
        objectives=("Select three tools", "Test them with two municipalities"),
        working_groups=(WG2,),
        cluster_type="Territorial",
        lead_organisation="Regione Autonoma della Sardegna",
        lead_country="Italy",
        lead_role="D4N partner",
        contact_person="Joëlle Lefèvre",
        contact_email=Address("joelle@example.org"),
        participant_categories=("D4N", "TPs"),
        thematic_projects=("MPA4Change",),
        participants=people,
        results="MPA4Change monitoring protocol.",
        transfer_levels=("Regional",),
        outcomes=("Transference", "Adoption"),
        start_date=date.fromisoformat(start),
        end_date=date.fromisoformat(end),
        roadmap=(
            RoadmapItem(date.fromisoformat(start), "Kick-off webinar"),
            RoadmapItem(date(2026, 12, 10), "Field visit in Kotor"),
        ),
        expertise="",
        consent=True,
    )
    return replace(reg, **changes)


def save(state: State, cluster_id: str, reg: Registration | None, **fields: Any) -> None:
    values: dict[str, Any] = {
        "cluster_id": cluster_id,
        "natural_key": cluster_id.lower(),
        "status": "valid",
        "title": reg.title if reg else fields.pop("title", ""),
        "content_hash": reg.content_hash() if reg else None,
        "data": json.loads(reg.to_json()) if reg else None,
        "problems": [],
        "problems_hash": None,
        "notified_problems_hash": None,
        "version": 1,
        "emailed_version": 1,
        "approved": True,
        "submitter": "joelle@example.org",
        "first_seen": "2026-01-05T10:00:00+00:00",
        "last_seen": "2026-11-25T02:00:00+00:00",
        "last_changed": "2026-01-05T10:00:00+00:00",
    }
    values.update(fields)
    state.save_registration(StoredRegistration(**values))


def portfolio(state: State) -> None:
    """Four clusters on 25 November 2026: completed, active, active (starts today), planned."""
    save(state, "CL-2025-001", registration(
        "Adapting coastal plans to sea-level rise in the Boka Kotorska bay", "BOKA-ADAPT",
        "2025-03-17", "2026-03-20", working_groups=(WG2,)))  # fmt: skip
    save(state, "CL-2026-001", registration(
        "R&D <pilot> on flood buffers 🌊 in the Valencian huerta", "R&D-HUERTA",
        "2026-01-12", "2026-12-18", working_groups=(WG2, WG4)))  # fmt: skip
    save(state, "CL-2026-002", registration(
        "Λιβάδια Ποσειδωνίας στην Κρήτη", "ΠΟΣΕΙΔΩΝΙΑ", "2026-11-25", "2027-03-31",
        working_groups=(WG1, WG2), cluster_type="Thematic",
        lead_organisation="Περιφέρεια Κρήτης", lead_country="Greece"), approved=False)  # fmt: skip
    save(state, "CL-2026-003", registration(
        "Горски пожари в Родопите", "РОДОПИ", "2026-12-01", "2027-11-30",
        lead_organisation="Регионална дирекция по горите", lead_country="Bulgaria"))  # fmt: skip


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def table_after(path: Path, first_header: str) -> list[list[str]]:
    for table in Document(str(path)).tables:
        rows = [[c.text.strip() for c in row.cells] for row in table.rows]
        if rows and rows[0][0] == first_header:
            return rows
    raise AssertionError(f"no table starting with {first_header}")


def test_figures_tables_and_charts_match_the_data(config: Config, state: State) -> None:
    portfolio(state)
    made = make_report(config, state, YEAR_2026, TODAY)

    summary = (
        "4 clusters, 3 new, 1 planned, 2 active, 1 completed; 5 organisations from 5 countries."
    )
    assert made.summary == summary
    text = docx_text(made.docx)
    assert summary in text
    assert "Natural Heritage Community of Practice — Clusters report" in text
    assert "1 January 2026 – 31 December 2026" in text and "Draft 1" in text

    wg = {r[0]: r[1:] for r in table_after(made.docx, "Working group")[1:]}
    # planned, active, completed, total; CL-2026-001 counts in WG2 and in WG4
    assert wg["WG1 Connectivity of ecosystems"] == ["0", "1", "0", "1"]
    assert wg["WG2 Climate change mitigation and adaptation"] == ["1", "2", "1", "4"]
    assert wg["WG3 Socio-economic value of biodiversity"] == ["0", "0", "0", "0"]
    assert wg["WG4 Ecosystem restoration and Nature-based Solutions"] == ["0", "1", "0", "1"]

    rows = table_after(made.docx, "ID")[1:]
    assert [r[0] for r in rows] == ["CL-2025-001", "CL-2026-001", "CL-2026-002", "CL-2026-003"]
    assert rows[1][1] == "R&D <pilot> on flood buffers 🌊 in the Valencian huerta"
    assert rows[1][2:5] == ["WG2, WG4", "Active", "12 Jan 2026 – 18 Dec 2026"]
    assert rows[2][3] == "Active"  # starts today
    assert rows[1][5] == "10 Dec 2026: Field visit in Kotor"

    doc = Document(str(made.docx))
    assert len(doc.inline_shapes) == 2
    images = [p for p in doc.part.package.iter_parts() if p.content_type == "image/png"]
    assert len(images) == 2
    assert set(made.charts) == {"status_chart", "timeline_chart"}
    assert all(p.is_file() and p.read_bytes()[:4] == b"\x89PNG" for p in made.charts.values())
    assert "[To be completed by the secretariat]" in text
    assert "CL-2026-002 · Λιβάδια Ποσειδωνίας στην Κρήτη" in text  # per-cluster section


def test_markdown_has_the_same_figures(config: Config, state: State) -> None:
    portfolio(state)
    made = make_report(config, state, YEAR_2026, TODAY)
    md = made.markdown.read_text(encoding="utf-8")
    assert made.markdown == made.docx.with_suffix(".md")
    assert made.summary in md
    assert "| WG2 Climate change mitigation and adaptation | 1 | 2 | 1 | 4 |" in md
    assert "R&D \\<pilot\\> on flood buffers 🌊 in the Valencian huerta" in md
    for chart in made.charts.values():
        assert f"]({chart.name})" in md
    assert md.count("[To be completed by the secretariat]") == 2


def test_an_empty_period_is_a_clear_report(config: Config, state: State) -> None:
    portfolio(state)
    made = make_report(config, state, Period(date(2010, 1, 1), date(2010, 12, 31)), TODAY)
    text = docx_text(made.docx)
    assert made.summary == "No clusters in this period."
    assert "No clusters ran during this period" in text
    assert "No clusters to list for this period." in text
    assert len(Document(str(made.docx)).inline_shapes) == 0
    assert made.charts == {}
    assert "No clusters in this period." in made.markdown.read_text(encoding="utf-8")


def test_an_empty_state_is_a_clear_report(config: Config, state: State) -> None:
    made = make_report(config, state, YEAR_2026, TODAY)
    assert made.summary == "No clusters in this period."


def test_a_period_with_a_single_cluster(config: Config, state: State) -> None:
    portfolio(state)
    made = make_report(config, state, Period(date(2027, 4, 1), date(2027, 6, 30)), TODAY)
    assert made.summary == ("1 cluster, 0 new, 1 planned; 3 organisations from 3 countries.")
    rows = table_after(made.docx, "ID")[1:]
    assert [r[0] for r in rows] == ["CL-2026-003"]
    assert len(Document(str(made.docx)).inline_shapes) == 2


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-25", "2027-01-31", "active"),  # starts today
        ("2026-11-26", "2027-01-31", "planned"),
        ("2026-01-01", "2026-11-24", "completed"),  # ended yesterday
        ("2026-01-01", "2026-11-25", "active"),  # ends today
        ("2026-01-01", None, "active"),  # no end date
    ],
)
def test_status_by_date_boundaries(start: str, end: str | None, expected: str) -> None:
    stop = date.fromisoformat(end) if end else None
    assert status_on(date.fromisoformat(start), stop, TODAY) == expected


@pytest.mark.parametrize("missing", [None, "", "not a date"])
def test_a_stored_registration_without_end_date_is_active(
    config: Config, state: State, missing: str | None
) -> None:
    save(state, "CL-2026-009", registration("Soil carbon", "SOIL-C", "2026-02-01", "2026-12-31"))
    stored = state.registration("CL-2026-009")
    assert stored is not None and stored.data is not None
    data = dict(stored.data)
    if missing is None:
        del data["end_date"]
    else:
        data["end_date"] = missing
    state.save_registration(replace(stored, data=data))
    cluster = cluster_from(state.registration("CL-2026-009"))  # type: ignore[arg-type]
    assert cluster.end is None
    assert status_label(cluster, TODAY) == "Active (no end date)"
    made = make_report(config, state, YEAR_2026, TODAY)
    assert table_after(made.docx, "ID")[1][3] == "Active (no end date)"


def test_without_consent_a_registration_is_counted_but_never_named(
    config: Config, state: State
) -> None:
    portfolio(state)
    secret = registration("Secret monk seal sightings", "SEAL", "2026-02-01", "2026-10-31",
                          lead_organisation="Hidden Trust", consent=False)  # fmt: skip
    save(state, "CL-2026-004", secret)
    save(state, "CL-2026-005", None, status="invalid", title="Unnamed citizen science cluster",
         problems=["Consent was not given: tick “I agree …” so the factsheet can be shared."])  # fmt: skip
    save(state, "CL-2026-006", None, status="invalid", title="Ocean literacy in the Adriatic",
         problems=["Working groups: “WG5 Oceans” is not one of the options."])  # fmt: skip
    made = make_report(config, state, YEAR_2026, TODAY)
    for path in (made.docx, made.markdown):
        text = docx_text(path) if path.suffix == ".docx" else path.read_text(encoding="utf-8")
        for hidden in (
            "Secret monk seal",
            "SEAL",
            "Hidden Trust",
            "Unnamed citizen",
            "CL-2026-005",
        ):
            assert hidden not in text, (path.name, hidden)
        assert "Ocean literacy in the Adriatic" in text
        assert "WG5 Oceans" in text
        assert "1 cluster without consent to publication is counted" in text
        assert "1 more registration needs fixing but gave no consent" in text
    assert made.summary.startswith("5 clusters, 4 new")


def test_awaiting_approval_lists_unapproved_clusters(config: Config, state: State) -> None:
    portfolio(state)
    made = make_report(config, state, YEAR_2026, TODAY)
    tables = [
        [[c.text.strip() for c in r.cells] for r in t.rows] for t in Document(str(made.docx)).tables
    ]
    awaiting = [t for t in tables if t[0] == ["ID", "Cluster", "Lead", "Dates"]]
    assert len(awaiting) == 1
    assert [row[0] for row in awaiting[0][1:]] == ["CL-2026-002"]


def test_rendering_again_raises_the_draft_number(config: Config, state: State) -> None:
    portfolio(state)
    assert make_report(config, state, YEAR_2026, TODAY).draft == 1
    again = make_report(config, state, YEAR_2026, TODAY)
    assert again.draft == 2
    assert "Draft 2" in docx_text(again.docx)
    (count,) = state.db.execute("SELECT count(*) FROM reports").fetchone()
    assert count == 1


def test_a_missing_template_is_a_clear_error(config: Config, state: State, tmp_path: Path) -> None:
    broken = config.model_copy(
        update={"output": config.output.model_copy(update={"report_template": tmp_path / "x.docx"})}
    )
    with pytest.raises(TemplateError, match="does not exist"):
        make_report(broken, state, YEAR_2026, TODAY)


def test_send_queues_one_message_per_period(config: Config, state: State) -> None:
    portfolio(state)
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    made = make_report(config, state, YEAR_2026, TODAY)
    assert send_report(config, state, made, now) is True
    assert send_report(config, state, make_report(config, state, YEAR_2026, TODAY), now) is False
    rows = state.db.execute("SELECT dedupe_key, subject, raw FROM messages").fetchall()
    assert [r["dedupe_key"] for r in rows] == ["report:2026-01-01:2026-12-31"]
    assert "CoP clusters report, 1 January 2026 – 31 December 2026" in rows[0]["subject"]
    assert b"cop-report-2026-01-01-2026-12-31.docx" in rows[0]["raw"]
    (sent,) = state.db.execute("SELECT sent_message FROM reports").fetchone()
    assert sent and sent.startswith("<") and sent.endswith("@test.example.org>")


def test_the_command_with_send_twice_delivers_once(config: Config, state: State) -> None:
    portfolio(state)
    cli.add_command(report)
    runner = CliRunner()
    args = ["--config", str(config.base_dir / "cluster-sync.toml"), "report",
            "--from", "2026-01-01", "--to", "2026-12-31", "--send"]  # fmt: skip
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "cop-report-2026-01-01-2026-12-31.docx" in first.output
    assert "cop-report-2026-01-01-2026-12-31.md" in first.output
    assert "Queued to the secretariat" in first.output and "Sent 1," in first.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "already sent" in second.output and "Sent 0," in second.output
    assert len(list((config.base_dir / "outbox").rglob("*.eml"))) == 1
    (count,) = state.db.execute("SELECT count(*) FROM messages WHERE kind = 'report'").fetchone()
    assert count == 1


def test_a_corrected_draft_is_sent_on_purpose_only(config: Config, state: State) -> None:
    portfolio(state)
    cli.add_command(report)
    runner = CliRunner()
    args = ["--config", str(config.base_dir / "cluster-sync.toml"), "report",
            "--from", "2026-01-01", "--to", "2026-12-31", "--send"]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "already sent" in again.output
    assert "To send this corrected draft 2, run the same command with --correction." in again.output

    corrected = runner.invoke(cli, [*args, "--correction"])
    assert corrected.exit_code == 0, corrected.output
    assert "Queued to the secretariat (corrected draft 3)" in corrected.output
    assert "Sent 1," in corrected.output
    rows = state.db.execute(
        "SELECT dedupe_key, kind, subject, state, message_id FROM messages ORDER BY id"
    ).fetchall()
    assert [(r["dedupe_key"], r["kind"], r["state"]) for r in rows] == [
        ("report:2026-01-01:2026-12-31", "report", "sent"),
        ("report:2026-01-01:2026-12-31:draft3", "report_correction", "sent"),
    ]
    assert rows[0]["subject"].endswith("(draft 1)")
    assert rows[1]["subject"].endswith("(draft 3, correction)")
    emls = sorted((config.base_dir / "outbox").rglob("*.eml"))
    assert len(emls) == 2
    plain = read_eml(emls[1]).get_body(("plain",))
    assert plain is not None
    body = str(plain.get_content())
    assert "This is a corrected draft: it replaces the report of this period sent before." in body
    (sent,) = state.db.execute("SELECT sent_message FROM reports").fetchone()
    assert sent == rows[1]["message_id"]  # "already sent" names the latest

    alone = runner.invoke(cli, [*args[:-1], "--correction"])
    assert alone.exit_code == 1 and "--correction goes with --send" in alone.output


def test_a_correction_of_a_period_never_sent_is_its_report(config: Config, state: State) -> None:
    portfolio(state)
    cli.add_command(report)
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), "report",
              "--from", "2026-01-01", "--to", "2026-06-30", "--send", "--correction"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Nothing was sent for this period before" in result.output
    (key,) = state.db.execute("SELECT dedupe_key FROM messages").fetchone()
    assert key == "report:2026-01-01:2026-06-30"


def test_the_command_refuses_a_reversed_period(config: Config) -> None:
    cli.add_command(report)
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), "report",
              "--from", "2026-05-01", "--to", "2026-04-01"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "is after --to" in result.output


def test_the_monthly_report_is_made_once_on_or_after_its_day(config: Config, state: State) -> None:
    portfolio(state)
    assert scheduled_report(config, state, datetime(2026, 12, 2, 12, tzinfo=UTC)) is None
    path = scheduled_report(config, state, datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert path is not None and path.name == "cop-report-2026-11-01-2026-11-30.docx"
    assert path.is_file() and path.with_suffix(".md").is_file()
    assert scheduled_report(config, state, datetime(2026, 12, 20, 12, tzinfo=UTC)) is None
    keys = [r[0] for r in state.db.execute("SELECT dedupe_key FROM messages")]
    assert keys == ["report:2026-11-01:2026-11-30"]


def test_the_monthly_report_can_go_to_a_scratch_folder(
    config: Config, state: State, tmp_path: Path
) -> None:
    path = scheduled_report(config, state, datetime(2026, 12, 3, 12, tzinfo=UTC), tmp_path / "dry")
    assert path == tmp_path / "dry" / "reports" / "cop-report-2026-11-01-2026-11-30.docx"
    assert path.is_file()


def test_no_schedule_means_no_monthly_report(config: Config, state: State) -> None:
    unscheduled = config.model_copy(update={"report": config.report.model_copy(
        update={"monthly_on_day": None})})  # fmt: skip
    assert scheduled_report(unscheduled, state, datetime(2026, 12, 5, tzinfo=UTC)) is None
