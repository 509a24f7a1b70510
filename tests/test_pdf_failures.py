"""PDF conversion when LibreOffice is missing or misbehaves, with stand-in `soffice` programs
(real executables started as real processes): the .docx still goes out, and the sheet, the
digest and the state say why. These run everywhere; tests/test_pdf.py needs LibreOffice."""

from __future__ import annotations

import os
import re
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import CONFIG_TEMPLATE, ROOT
from pdf_support import stand_in, starts
from test_sync import NOW, VALID, outbox, read_eml, rows

from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.engine import RunSummary, Sync
from cluster_sync.errors import ConfigError
from cluster_sync.mailers import open_mailer
from cluster_sync.outputs.libreoffice import LibreOffice
from cluster_sync.sources import open_source
from cluster_sync.state import State


def pdf_config(project: Path, soffice: str, attach: str = '["pdf"]', timeout: float = 30) -> Config:
    text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
    text = (
        text.replace("[mail]\n", f'formats = ["docx", "pdf"]\n\n[mail]\nattach = {attach}\n')
        + f'\n[output.pdf]\nsoffice = "{soffice}"\ntimeout_seconds = {timeout}\n'
    )
    path = project / "cluster-sync.toml"
    path.write_text(text, encoding="utf-8")
    return config_mod.load(path)


def run(config: Config) -> tuple[RunSummary, State]:
    state = State(config.path(config.state.database))
    summary = Sync(config, state, open_source(config), open_mailer(config), now=NOW).run()
    return summary, state


def factsheet_emails(config: Config) -> list[EmailMessage]:
    found = [read_eml(p) for p in outbox(config)]
    # first factsheets, in whatever language each row asked for (test_languages.py)
    return [m for m in found if str(m["X-Cluster-Sync-Key"]).startswith("factsheet:")]


def digest(config: Config) -> str:
    (message,) = [
        read_eml(p) for p in outbox(config) if "cluster-sync" in str(read_eml(p)["Subject"])
    ]
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_without_libreoffice_the_docx_goes_out_and_everyone_is_told_why(project: Path) -> None:
    config = pdf_config(project, "/nonexistent/soffice")
    summary, state = run(config)
    assert summary.counts["new"] == VALID and summary.outputs == {}
    (problem,) = summary.output_problems
    assert problem.startswith("PDF could not be made: LibreOffice is not installed")
    mails = factsheet_emails(config)
    assert len(mails) == VALID
    for message in mails:
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename().endswith(".docx")  # the fallback
    assert "PDF could not be made: LibreOffice is not installed" in digest(config)
    assert "Word file instead" in digest(config)
    valid = [r for r in rows(project / "responses.csv") if r["Sync status"].startswith("OK")]
    assert len(valid) == VALID
    for row in valid:
        assert "PDF could not be made: LibreOffice is not installed" in row["Sync status"]
    files = state.factsheet_files(valid[0]["Cluster ID"], 1)
    assert files["docx"][0] and files["pdf"][0] is None
    assert str(files["pdf"][1]).startswith("LibreOffice is not installed")
    assert not list(config.path(config.output.directory).glob("factsheets/*.pdf"))
    state.close()


def test_a_working_converter_is_started_once_for_the_whole_run(project: Path) -> None:
    program = stand_in(project / "bin", "converts")
    config = pdf_config(project, str(program), attach='["docx", "pdf"]')
    summary, state = run(config)
    assert summary.outputs == {"pdf": VALID} and not summary.output_problems
    (command,) = starts(program)  # one start for 16 documents: batched
    assert command.count(".docx") == VALID
    assert "--norestore" in command and "-env:UserInstallation=file:///" in command
    for message in factsheet_emails(config):
        names = sorted(a.get_filename() for a in message.iter_attachments())
        assert [n.rsplit(".", 1)[1] for n in names] == ["docx", "pdf"]
        assert names[0].removesuffix(".docx") == names[1].removesuffix(".pdf")
    pdfs = sorted(config.path(config.output.directory).glob("factsheets/*.pdf"))
    assert len(pdfs) == VALID
    first = rows(project / "responses.csv")[0]
    recorded = state.factsheet_files(first["Cluster ID"], 1)
    assert recorded["pdf"] == (str(Path(str(recorded["docx"][0])).with_suffix(".pdf")), None)
    assert "PDF" not in first["Sync status"]
    state.close()
    # a second run changes nothing and starts nothing
    summary, state = run(config)
    assert summary.counts["factsheets"] == 0 and len(starts(program)) == 1
    state.close()


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("writes_nothing", "LibreOffice finished but wrote no PDF"),
        ("writes_garbage", "LibreOffice wrote an empty or damaged PDF"),
        (
            "crashes",
            "LibreOffice failed (exit code 81): soffice.bin: fatal error: profile is damaged",
        ),
    ],
)
def test_a_converter_that_makes_no_valid_pdf_is_a_failure_and_is_retried(
    tmp_path: Path, behaviour: str, reason: str
) -> None:
    program = stand_in(tmp_path / "bin", behaviour)
    documents = [tmp_path / f"doc{n}.docx" for n in range(3)]
    for doc in documents:
        doc.write_bytes(b"PK stand-in")
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    office = LibreOffice(str(program), profile, timeout_seconds=30, retries=1)
    results = office.convert(documents)
    assert results == {doc: reason for doc in documents}
    assert len(starts(program)) == 1 + len(documents)  # the batch, then each on its own
    assert not list(tmp_path.glob("*.pdf"))
    # after a crash the retry starts from a fresh profile; otherwise the profile is kept
    assert (profile / "user").exists() == (behaviour != "crashes")


def test_a_hanging_converter_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    program = stand_in(tmp_path / "bin", "hangs")
    doc = tmp_path / "doc.docx"
    doc.write_bytes(b"PK stand-in")
    # long enough for the stand-in to start its worker even on a busy machine
    office = LibreOffice(str(program), tmp_path / "profile", timeout_seconds=8, retries=0)
    assert office.convert([doc]) == {doc: "LibreOffice did not finish within 8 seconds"}
    child = int(program.with_suffix(".child").read_text())
    for _ in range(50):  # the kernel reaps the killed worker shortly after
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child), "the worker soffice started is still running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_check_says_plainly_that_pdf_cannot_be_made(project: Path) -> None:
    from cluster_sync.checks import run_checks

    config = pdf_config(project, "/nonexistent/soffice")
    results = {r.area: r for r in run_checks(config)}
    assert results["formats"].warning  # the sync still works: it sends the .docx
    assert "PDF cannot be made: LibreOffice is not installed" in results["formats"].message
    assert "libreoffice-writer-nogui" in results["formats"].message


@pytest.mark.parametrize(
    ("output", "mail", "words"),
    [
        ('formats = ["docx", "pdf"]', 'attach = ["pdf", "odt"]', "unknown format(s) 'odt'"),
        ('formats = ["pdf"]', 'attach = ["pdf"]', 'must include "docx"'),
        ('formats = ["docx"]', 'attach = ["pdf"]', "does not make; add it to output.formats"),
        ('formats = ["docx", "docx"]', 'attach = ["docx"]', "names a format twice"),
    ],
)
def test_format_settings_are_checked_in_plain_words(
    project: Path, output: str, mail: str, words: str
) -> None:
    text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
    text = text.replace("[mail]\n", f"{output}\n\n[mail]\n{mail}\n")
    path = project / "cluster-sync.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_mod.load(path)
    assert words in str(caught.value)


def test_the_commands_say_what_was_made_and_what_was_not(project: Path) -> None:
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    program = stand_in(project / "bin", "converts")
    config = pdf_config(project, str(program))
    path = str(config.base_dir / "cluster-sync.toml")
    result = CliRunner().invoke(cli, ["--config", path, "sync"])
    assert result.exit_code == 0, result.output
    assert f"PDF files made: {VALID}" in result.output
    result = CliRunner().invoke(
        cli, ["--config", path, "report", "--from", "2025-01-01", "--to", "2027-12-31"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"Report \(PDF\): .*cop-report-2025-01-01-2027-12-31\.pdf", result.output)
    # the same project without LibreOffice: still exit 0, and one line saying why
    config = pdf_config(project, str(project / "bin" / "missing"))
    result = CliRunner().invoke(
        cli, ["--config", path, "report", "--from", "2025-01-01", "--to", "2027-12-31"]
    )
    assert result.exit_code == 0, result.output
    assert "Report: PDF could not be made: LibreOffice is not installed" in result.output
