"""A whole sync from exports as people really have them: the command line, its exit code and its
words, and the export after write-back."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from conftest import EXAMPLES

from cluster_sync import config as config_mod
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder

VALID, INVALID, DUPLICATES = 16, 7, 1  # examples/README.md lists them row by row


def run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), *args]
    )
    return result.exit_code, result.output


def use_xlsx(make_config: Callable[..., Config], project: Path) -> Config:
    make_config(write_back=True)
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8").replace("responses.csv", "responses.xlsx")
    path.write_text(text, encoding="utf-8")
    return config_mod.load(path)


def test_a_missing_export_is_a_configuration_problem(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    (project / "responses.csv").unlink()
    code, output = run(config, "sync")
    assert code == 2, output
    assert "responses.csv does not exist" in output and "source.path" in output
    assert "Traceback" not in output and "Unexpected" not in output


def test_a_truncated_workbook_says_download_it_again(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = use_xlsx(make_config, project)
    data = (EXAMPLES / "responses.xlsx").read_bytes()
    (project / "responses.xlsx").write_bytes(data[: len(data) * 2 // 3])
    code, output = run(config, "sync")
    assert code == 2, output
    assert "is damaged or not a complete .xlsx workbook" in output
    assert "download it again" in output and "Traceback" not in output


def test_a_read_only_export_is_synced_but_not_written(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=True)
    path = project / "responses.csv"
    before = path.read_bytes()
    path.chmod(0o444)
    code, output = run(config, "sync")
    assert code == 3, output
    assert f"The statuses were not written into {path}: it is read-only" in output
    assert path.read_bytes() == before
    assert f"new: {VALID}   updated: 0" in output  # the sync itself did its work


def test_a_semicolon_export_with_a_bom_syncs_like_the_comma_one(
    make_config: Callable[..., Config], project: Path
) -> None:
    path = project / "responses.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        grid = list(csv.reader(handle))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(grid)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    config = make_config(write_back=True)
    code, output = run(config, "sync")
    assert code == 0, output
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfTimestamp;")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        after = list(csv.reader(handle, delimiter=";"))
    assert after[0][-3:] == ["Cluster ID", "Sync status", "Last synced"]
    ids = [row[-3] for row in after[1:] if len(row) > len(grid[0]) and row[-3]]
    assert len(ids) == VALID + INVALID  # every processed row got its ID; the duplicate has none
    assert [row[: len(grid[0])] for row in after] == grid
    code, output = run(config, "sync")
    assert code == 0, output
    assert f"new: 0   updated: 0   unchanged: {VALID}" in output


def test_an_xlsx_with_formulas_syncs_twice_without_losing_their_values(
    make_config: Callable[..., Config], project: Path
) -> None:
    """The second run reads what the first wrote: formula values included, nothing changes."""
    path = project / "responses.xlsx"
    shutil.copy(EXAMPLES / "responses.xlsx", path)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    consent = next(c.column for c in sheet[1] if c.value == "Consent")
    with zipfile.ZipFile(path) as original:
        parts = {n: original.read(n) for n in original.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    # The consent column becomes a formula whose saved value is the consent text, as when a
    # secretariat fills a column from another tab.
    letter = openpyxl.utils.get_column_letter(consent)
    start = xml.index(f'<c r="{letter}2"')
    end = xml.index("</c>", start) + 4
    cell = xml[start:end]
    text = cell[cell.index("<t>") + 3 : cell.index("</t>")]
    xml = xml[:start] + f'<c r="{letter}2" t="str"><f>Terms!A1</f><v>{text}</v></c>' + xml[end:]
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book_zip:
        for name, data in parts.items():
            book_zip.writestr(name, data)
    config = use_xlsx(make_config, project)
    code, output = run(config, "sync")
    assert code == 0, output
    assert f"new: {VALID}   updated: 0   unchanged: 0   need fixing: {INVALID}" in output
    with zipfile.ZipFile(path) as written:
        assert f"<f>Terms!A1</f><v>{text}</v>" in written.read("xl/worksheets/sheet1.xml").decode()
    code, output = run(config, "sync")
    assert code == 0, output
    assert f"new: 0   updated: 0   unchanged: {VALID}   need fixing: {INVALID}" in output
    assert "emails queued: 0" in output
    values = openpyxl.load_workbook(path, data_only=True).active
    assert values.cell(2, consent).value == text.replace("&amp;", "&")


def test_a_row_with_an_oversized_cell_is_named_and_the_others_go_through(
    make_config: Callable[..., Config], project: Path
) -> None:
    path = project / "responses.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        grid = list(csv.reader(handle))
    grid[1][grid[0].index("Objectives")] = "pasted twice " * 20_000
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    config = make_config(write_back=True)
    code, output = run(config, "sync")
    assert code == 5, output  # a row that could not be read is a row not processed
    assert "row 2: not read: line 2: a cell holds 260,000 characters" in output
    assert f"new: {VALID - 1}   updated: 0" in output
    digest = next(
        m
        for m in (
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in outbox_folder(config).glob("*.eml")
        )
        if "Secretariat" in str(m["To"])
    )
    body = digest.get_body(("plain",))
    assert body is not None
    assert "sheet row 2: not read: line 2: a cell holds 260,000 characters" in body.get_content()
    limit = csv.field_size_limit(1_000_000)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            after = list(csv.reader(handle))
    finally:
        csv.field_size_limit(limit)
    assert after[1] == grid[1]  # the row that was not read is not written either
    assert after[2][-3] == "CL-2025-001" and after[2][-2]  # the next row has its status
