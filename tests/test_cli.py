"""The command line as cron and the secretariat use it: exit codes, messages, no side effects
where none are promised."""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cluster_sync.cli import cli
from cluster_sync.config import Config

ROOT = Path(__file__).resolve().parent.parent


def run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), *args]
    )
    return result.exit_code, result.output


def test_check_passes_on_a_good_setup(make_config: Callable[..., Config]) -> None:
    config = make_config()
    code, output = run(config, "check")
    assert code == 0, output
    assert "source: OK" in output and "templates: OK" in output and "report: OK" in output
    assert not config.path(config.state.database).exists()  # check has no side effects


def test_check_lists_a_missing_column(make_config: Callable[..., Config], project: Path) -> None:
    config = make_config()
    csv_path = project / "responses.csv"
    csv_path.write_text(
        csv_path.read_text(encoding="utf-8").replace("Contact email", "Contact e-mail", 1),
        encoding="utf-8",
    )
    code, output = run(config, "check")
    assert code == 2
    assert "“Contact email”" in output
    assert "Traceback" not in output


def test_bad_config_is_one_clear_error_without_traceback(project: Path) -> None:
    path = project / "cluster-sync.toml"
    path.write_text('[source]\npath = "x.csv"\nwrite_bak = true\n[mail]\nbackend = "pigeon"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2
    assert "source.write_bak: unknown setting" in result.output
    assert "state: missing" in result.output
    assert "mail.backend = 'pigeon'" in result.output
    assert "Traceback" not in result.output


def test_dry_run_changes_nothing(make_config: Callable[..., Config], project: Path) -> None:
    config = make_config()
    before = (project / "responses.csv").read_bytes()
    code, output = run(config, "sync", "--dry-run")
    assert code == 0, output
    assert "Dry run" in output
    assert not config.path(config.state.database).exists()
    assert not config.path(config.output.directory).exists()
    assert (project / "responses.csv").read_bytes() == before
    code, output = run(config, "sync", "--dry-run", "--keep")
    scratch = Path(re.search(r"Factsheets: (\S+)", output).group(1))  # type: ignore[union-attr]
    try:
        assert len(list(scratch.glob("*.docx"))) == 16
        assert f"The scratch folder is kept: {scratch.parent}" in output
    finally:
        shutil.rmtree(scratch.parent)


def test_sync_then_status_and_queue(make_config: Callable[..., Config]) -> None:
    config = make_config()
    code, output = run(config, "sync")
    assert code == 0, output
    assert "new: 16" in output and "Emails:" in output
    code, output = run(config, "status")
    assert code == 0 and "23 registrations:" in output
    assert "needs fixing" in output
    code, output = run(config, "queue")
    assert code == 0 and "Nothing queued or failed." in output


def test_outbox_is_the_old_name_of_queue_and_says_so(make_config: Callable[..., Config]) -> None:
    config = make_config()
    run(config, "sync")
    runner = CliRunner()
    args = ["--config", str(config.base_dir / "cluster-sync.toml")]
    new = runner.invoke(cli, [*args, "queue", "--all"])
    old = runner.invoke(cli, [*args, "outbox", "--all"])
    assert new.exit_code == old.exit_code == 0, old.output
    assert "Note: `cluster-sync outbox` is now `cluster-sync queue`." in old.stderr
    assert "outbox" not in new.stderr
    assert old.stdout == new.stdout and "#1 " in new.stdout
    assert "outbox" not in runner.invoke(cli, ["--help"]).stdout.split("Commands:")[1]


def test_invalid_rows_alone_are_not_a_failure(make_config: Callable[..., Config]) -> None:
    config = make_config()
    code, _ = run(config, "sync")
    assert code == 0


def test_retry_of_unknown_message_says_what_to_do(make_config: Callable[..., Config]) -> None:
    config = make_config()
    run(config, "sync")
    code, output = run(config, "retry", "999")
    assert code == 1
    assert "There is no failed message #999" in output and "cluster-sync queue" in output


def test_second_sync_at_once_exits_with_a_clear_message(make_config: Callable[..., Config]) -> None:
    config = make_config()
    db = config.path(config.state.database)
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cluster_sync",
                "--config",
                str(config.base_dir / "cluster-sync.toml"),
                "sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 75
    assert "Another cluster-sync run is in progress" in result.stderr
    assert not db.exists()


def test_quiet_sync_prints_nothing_on_success(make_config: Callable[..., Config]) -> None:
    config = make_config()
    result = CliRunner().invoke(
        cli, ["--config", str(config.base_dir / "cluster-sync.toml"), "-q", "sync"]
    )
    assert result.exit_code == 0
    assert result.output.strip() == ""


@pytest.mark.parametrize("command", ["sync", "check", "status", "send", "queue", "retry", "report"])
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and len(result.output) > 80
    assert f"cluster-sync {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_status_before_any_sync_says_so_and_creates_nothing(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    code, output = run(config, "status")
    assert code == 1
    assert "no sync has run with this configuration yet" in output
    assert not config.path(config.state.database).exists()


def test_mail_that_cannot_be_delivered_is_exit_4_even_when_quiet(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    (project / "var").mkdir()
    (project / "var" / "outbox").write_text("a file where the outbox folder should be")
    result = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "-q", "sync"])
    assert result.exit_code == 4
    assert "mail delivery stopped" in result.output and "24 messages stay queued" in result.output
    assert len(list(config.path(config.output.directory).glob("factsheets/*.docx"))) == 16


def test_an_unset_smtp_password_variable_stops_the_sync_before_anything(
    make_config: Callable[..., Config], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLUSTER_SYNC_TEST_PASSWORD", raising=False)
    config = make_config()
    text = (project / "cluster-sync.toml").read_text(encoding="utf-8")
    text = text.replace('backend = "outbox"', 'backend = "smtp"')
    text += '\n[mail.smtp]\nhost = "127.0.0.1"\nport = 2525\nusername = "cop"\npassword_env = "CLUSTER_SYNC_TEST_PASSWORD"\n'
    (project / "cluster-sync.toml").write_text(text, encoding="utf-8")
    code, output = run(config, "sync")
    assert code == 2
    assert "CLUSTER_SYNC_TEST_PASSWORD" in output
    assert not config.path(config.output.directory).exists()
    code, output = run(config, "check")
    assert code == 2 and "mail: PROBLEM" in output
