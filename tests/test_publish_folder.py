"""Publishing to a web folder, the [publish] settings, and `attach = false`, with the real sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from publish_fixtures import (
    SAVED_V1,
    MakeConfig,
    edit_answer,
    factsheet_emails,
    responses,
    run_sync,
    sheet,
)

from cluster_sync.errors import ConfigError

BASE = "https://www.example.org/cop/fact sheets/"


def folder_section(folder: Path, attach: str = "true", base_url: str = BASE) -> str:
    return (
        f'\n[publish]\ntarget = "folder"\nattach = {attach}\n\n'
        f'[publish.folder]\npath = "{folder.as_posix()}"\nbase_url = "{base_url}"\n'
    )


@pytest.fixture
def web(project: Path) -> Path:
    folder = project / "www"
    folder.mkdir()
    return folder


def test_factsheets_are_copied_under_stable_names_and_linked(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    path = responses(project, 2)
    config = make_config(extra=folder_section(web))

    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.published == 2
    for row in sheet(path):
        cid = row["Cluster ID"]
        assert row["Factsheet"] == f"https://www.example.org/cop/fact%20sheets/{cid}.docx"
        local = next((project / "var/output/factsheets").glob(f"{cid}-*-v1.docx"))
        assert (web / f"{cid}.docx").read_bytes() == local.read_bytes()
    assert sorted(p.name for p in web.iterdir()) == sorted(
        f"{r['Cluster ID']}.docx" for r in sheet(path)
    )


def test_a_new_version_replaces_the_file_and_keeps_the_link(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    path = responses(project, 1)
    config = make_config(extra=folder_section(web))
    run_sync(config)
    (row,) = sheet(path)

    edit_answer(path, "Cluster number 1", "Acronym", "RENAMED")
    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.published == 1
    assert sheet(path)[0]["Factsheet"] == row["Factsheet"]
    v2 = next((project / "var/output/factsheets").glob("*-v2.docx"))
    assert [p.name for p in web.iterdir()] == [f"{row['Cluster ID']}.docx"]
    assert (web / f"{row['Cluster ID']}.docx").read_bytes() == v2.read_bytes()


def test_a_title_never_reaches_a_path(make_config: MakeConfig, project: Path, web: Path) -> None:
    title = "../../zqoutside 'quoted' \"double\" \\ back"
    path = responses(project, 1, title=title)
    run_sync(make_config(extra=folder_section(web)))

    assert [p.name for p in web.iterdir()] == [sheet(path)[0]["Cluster ID"] + ".docx"]
    assert not (project / "zqoutside").exists() and not list(project.parent.glob("*zqoutside*"))


def test_a_missing_web_folder_delays_the_link_not_the_email(
    make_config: MakeConfig, project: Path
) -> None:
    path = responses(project, 1)
    config = make_config(extra=folder_section(project / "not-there"))

    summary = run_sync(config)

    assert summary.publishing is not None and summary.publishing.unpublished == 1
    assert "does not exist" in summary.publishing.errors[0]
    assert len(factsheet_emails(config)) == 1
    assert sheet(path)[0]["Sync status"].startswith(SAVED_V1)
    assert "Factsheet" not in sheet(path)[0]  # the column comes with the first link

    (project / "not-there").mkdir()
    again = run_sync(config)
    assert again.publishing is not None and again.publishing.published == 1
    assert sheet(path)[0]["Factsheet"].endswith(f"/{sheet(path)[0]['Cluster ID']}.docx")


def test_attach_false_sends_the_link_instead_of_the_file(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    responses(project, 1)
    config = make_config(extra=folder_section(web, attach="false"))

    path = project / "responses.csv"
    run_sync(config)

    (message,) = factsheet_emails(config)
    assert list(message.iter_attachments()) == []
    link = f"https://www.example.org/cop/fact%20sheets/{sheet(path)[0]['Cluster ID']}.docx"
    assert link in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{link}"' in message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_attach_true_keeps_the_attachment(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    responses(project, 1)
    config = make_config(extra=folder_section(web))
    run_sync(config)

    (message,) = factsheet_emails(config)
    (attached,) = message.iter_attachments()
    assert str(attached.get_filename()).endswith("-v1.docx")


def test_a_dry_run_publishes_nothing(make_config: MakeConfig, project: Path, web: Path) -> None:
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    responses(project, 1)
    make_config(extra=folder_section(web))
    result = CliRunner().invoke(
        cli, ["--config", str(project / "cluster-sync.toml"), "sync", "--dry-run"]
    )

    assert result.exit_code == 0, result.output
    assert list(web.iterdir()) == []


def test_the_cli_says_what_was_not_published_and_exits_7(
    make_config: MakeConfig, project: Path
) -> None:
    from click.testing import CliRunner

    from cluster_sync.cli import cli

    responses(project, 1)
    make_config(extra=folder_section(project / "missing"))
    result = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "sync"])

    assert result.exit_code == 7  # EXIT_NOT_PUBLISHED: 5 is rows that could not be processed
    assert "factsheets published: 0   not published yet: 1" in result.output
    assert "Warning: not published" in result.output and "does not exist" in result.output


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            '[publish]\ntarget = "drive"\n',
            "publish: publish.target = 'drive' needs a [publish.drive] table",
        ),
        (
            '[publish]\ntarget = "ftp"\n',
            "publish.target = 'ftp': is not a known publishing target; use one of: drive, folder",
        ),
        (
            '[publish]\ntarget = "folder"\n[publish.folder]\npath = "w"\nbase_url = "ftp://x"\n',
            "publish.folder.base_url = 'ftp://x': is not a web address",
        ),
        (
            '[publish]\ntarget = "drive"\n[publish.drive]\nfolder = "my folder"\n',
            "publish.drive.folder = 'my folder': is neither a Drive folder's address",
        ),
        (
            '[publish]\ntarget = "drive"\n[publish.drive]\nfolder = "1abcdefghijkl"\n'
            'api_base_url = "http://drive.example.org"\n',
            "publish.drive.api_base_url = 'http://drive.example.org': must use https",
        ),
        (
            '[publish]\ntarget = "drive"\n[publish.drive]\nfolder = "1abcdefghijkl"\n'
            'share_with_domain = "@example"\n',
            "publish.drive.share_with_domain = '@example': is not a domain name",
        ),
    ],
)
def test_publish_settings_are_checked_in_plain_words(
    make_config: MakeConfig, section: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(extra="\n" + section)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_a_drive_folder_address_gives_its_id(make_config: MakeConfig) -> None:
    config = make_config(
        extra='\n[publish]\ntarget = "drive"\n[publish.drive]\n'
        'folder = "https://drive.google.com/drive/u/0/folders/1AbC_d-EfGhIjK?usp=sharing"\n'
    )
    assert config.publish is not None
    assert config.publish.settings_of("drive").folder == "1AbC_d-EfGhIjK"


def test_a_factsheet_waiting_for_approval_is_not_published(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    import csv

    path = responses(project, 1)
    config = make_config(approval=True, extra=folder_section(web))

    run_sync(config)
    assert list(web.iterdir()) == []
    assert sheet(path)[0].get("Factsheet", "") == ""

    with path.open(encoding="utf-8", newline="") as handle:
        grid = list(csv.reader(handle))
    grid[0].append("Approved")
    grid[1].extend([""] * (len(grid[0]) - 1 - len(grid[1])) + ["yes"])
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(grid)
    run_sync(config)

    assert [p.name for p in web.iterdir()] == [sheet(path)[0]["Cluster ID"] + ".docx"]
    assert sheet(path)[0]["Factsheet"].endswith(".docx")


def test_status_says_what_is_published_and_what_waits(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    import json

    from click.testing import CliRunner

    from cluster_sync.cli import cli

    responses(project, 2)
    config = make_config(extra=folder_section(web))
    run_sync(config)
    args = ["--config", str(project / "cluster-sync.toml"), "status"]

    shown = CliRunner().invoke(cli, args)
    assert "Published factsheet files: 2, waiting: 0" in shown.output

    web.rename(project / "gone")
    edit_answer(project / "responses.csv", "Cluster number 1", "Acronym", "NEW")
    run_sync(config)
    shown = CliRunner().invoke(cli, [*args, "--json"])
    publishing = json.loads(shown.output)["publishing"]
    assert publishing["published"] == 2 and publishing["waiting"] == 1
    assert "does not exist" in publishing["last_error"]


def test_an_xlsx_export_gets_the_plain_link_as_text(
    make_config: MakeConfig, project: Path, web: Path
) -> None:
    import openpyxl
    from google_fixtures import HEADERS, answer_row

    from cluster_sync import config as config_mod

    book = openpyxl.Workbook()
    sheet_ = book.active
    for row in (HEADERS, answer_row(1)):
        sheet_.append(row)
    book.save(project / "responses.xlsx")
    make_config(extra=folder_section(web))
    path = project / "cluster-sync.toml"
    path.write_text(path.read_text().replace('"responses.csv"', '"responses.xlsx"'))

    run_sync(config_mod.load(path))

    saved = openpyxl.load_workbook(project / "responses.xlsx").active
    header = [c.value for c in saved[1]]
    cell = saved.cell(2, header.index("Factsheet") + 1)
    cluster_id = saved.cell(2, header.index("Cluster ID") + 1).value
    assert cell.data_type == "s"
    assert cell.value == f"https://www.example.org/cop/fact%20sheets/{cluster_id}.docx"
