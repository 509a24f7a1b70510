"""Files holding personal data are created readable by their owner only, whatever the umask;
`[privacy] file_mode` widens that for a group; write-back keeps an export's own mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from test_sync import sync

from cluster_sync import files, logs
from cluster_sync.config import Config
from cluster_sync.errors import ConfigError
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.report.gather import Period
from cluster_sync.report.service import make_report
from cluster_sync.state import State


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    old = os.umask(0o002)  # the most permissive umask a shared machine commonly has
    yield
    os.umask(old)
    files.configure(files.DEFAULT_FILE_MODE)
    logs.setup(None, "INFO")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def everything(config: Config) -> tuple[list[Path], list[Path]]:
    var = config.path(config.state.database).parent
    found = [p for p in var.rglob("*") if not p.name.endswith(".lock")]
    return [p for p in found if p.is_file()], [var, *(p for p in found if p.is_dir())]


def run_everything(config: Config) -> None:
    files.configure(config.privacy.mode)  # as the command line does on loading the config
    logs.setup(config.path(config.log.file or Path()), "INFO")
    sync(config)
    state = State(config.path(config.state.database))
    make_report(config, state, Period(date(2025, 1, 1), date(2026, 12, 31)), date(2026, 11, 25))
    wal = config.path(config.state.database).with_name("state.sqlite3-wal")
    assert wal.exists() and mode(wal) == files.file_mode()  # while the database is open
    state.close()


def test_state_log_outbox_and_outputs_are_owner_only_by_default(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    run_everything(config)
    found, folders = everything(config)
    kinds = {p.suffix for p in found}
    assert {".sqlite3", ".log", ".eml", ".docx", ".md", ".png"} <= kinds
    assert {str(p): oct(mode(p)) for p in found if mode(p) != 0o600} == {}
    assert {str(p): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}


def test_a_group_mode_for_a_shared_folder(make_config: Callable[..., Config]) -> None:
    config = make_config(extra='\n[privacy]\nfile_mode = "0640"\n')
    run_everything(config)
    found, folders = everything(config)
    assert found and {str(p): oct(mode(p)) for p in found if mode(p) != 0o640} == {}
    assert {str(p): oct(mode(p)) for p in folders if mode(p) != 0o750} == {}


def test_an_existing_world_readable_database_and_log_are_restricted(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    database = config.path(config.state.database)
    log_file = config.path(config.log.file or Path())
    State(database).close()
    os.chmod(database, 0o644)
    log_file.write_text("old\n")
    os.chmod(log_file, 0o644)
    run_everything(config)
    assert (mode(database), mode(log_file)) == (0o600, 0o600)


def test_write_back_keeps_the_exports_own_mode(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(write_back=True)
    export = project / "responses.csv"
    os.chmod(export, 0o664)
    before = export.read_bytes()
    sync(config)
    assert export.read_bytes() != before  # statuses were written
    assert mode(export) == 0o664


@pytest.mark.parametrize(("setting", "expected"), [("", 0o640), ('file_mode = "0644"\n', 0o644)])
def test_the_published_web_folder_gets_its_own_mode(
    make_config: Callable[..., Config], project: Path, setting: str, expected: int
) -> None:
    """The web server reads the published copies through the folder's group by default; the
    state and outputs stay owner-only all the same."""
    web = project / "www"
    web.mkdir()
    extra = (
        f'\n[publish]\ntarget = "folder"\n\n[publish.folder]\npath = "{web.as_posix()}"\n'
        f'base_url = "https://www.example.org/f/"\n{setting}'
    )
    config = make_config(extra=extra)
    files.configure(config.privacy.mode)
    sync(config)
    published = list(web.iterdir())
    assert published and {p.name: oct(mode(p)) for p in published if mode(p) != expected} == {}
    found, _ = everything(config)
    assert {str(p): oct(mode(p)) for p in found if mode(p) != 0o600} == {}


@pytest.mark.parametrize("value", ["0666", "0750", "0444"])
def test_a_web_folder_mode_others_could_write_is_refused(
    make_config: Callable[..., Config], project: Path, value: str
) -> None:
    extra = (
        f'\n[publish]\ntarget = "folder"\n\n[publish.folder]\npath = "{project.as_posix()}"\n'
        f'base_url = "https://www.example.org/f/"\nfile_mode = "{value}"\n'
    )
    with pytest.raises(ConfigError) as error:
        make_config(extra=extra)
    assert [p for p in error.value.problems if p.startswith("publish.folder.file_mode")]


@pytest.mark.parametrize("value", ["0644", "0600x", "0700", "0400"])
def test_a_mode_others_could_read_or_the_owner_cannot_write_is_refused(
    make_config: Callable[..., Config], value: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_config(extra=f'\n[privacy]\nfile_mode = "{value}"\n')
    assert [p for p in error.value.problems if p.startswith("privacy.file_mode")]


def test_emails_carry_no_tracking(make_config: Callable[..., Config]) -> None:
    """No images (pixels), no read receipts, and every link exactly an address the input holds
    (the row's own edit link, the form's address): nothing rewritten through a redirect."""
    import email
    import email.policy
    import html
    import re

    config = make_config()
    sync(config)
    given = config.path(config.source.path).read_text(encoding="utf-8")  # type: ignore[union-attr]
    outbox = sorted(outbox_folder(config).glob("*.eml"))
    assert outbox
    links = 0
    for path in outbox:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert "Disposition-Notification-To" not in message
        assert "Return-Receipt-To" not in message
        for part in message.walk():
            if part.get_content_type() == "text/html":
                body = str(part.get_content())
                assert "<img" not in body.casefold(), path.name
                for href in re.findall(r'href="([^"]*)"', body):
                    links += 1
                    address = html.unescape(href)
                    assert address in given or address == config.form.url, (path.name, address)
    assert links  # the edit links are there, untouched
