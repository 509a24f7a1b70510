"""Every outcome told truthfully: the exit code cron sees, the status in the sheet and the digest
in the secretariat's inbox, through the real command line against the real SMTP test server,
the Sheets fake, and real read-only or full disks (small tmpfs mounts)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result
from conftest import ROOT
from google_fixtures import HEADERS, KEY, TAB, answer_row, load_sheet
from smtp_server import PASSWORD, Received, Recorder, Server, Tls, smtp_server

from cluster_sync import config as config_mod
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.sheetstatus import ERROR_LINE
from cluster_sync.sources import open_source
from cluster_sync.state import State
from cluster_sync.testing.fake_sheets import FakeSheets

PASSWORD_ENV = "CLUSTER_SYNC_TEST_SMTP_PASSWORD"
REFUSED = "lucia.deiana@example.org"  # a participant of the first example registration


# -- set-up ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tls: Tls) -> Iterator[Server]:
    with smtp_server(tls) as running:
        yield running


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def keep_rows(project: Path, *numbers: int) -> None:
    """Keep only these sheet rows (2 is the first response) of the example export: a small
    sheet makes each run quick."""
    path = project / "responses.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([grid[0]] + [grid[n - 1] for n in numbers])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def sheet(project: Path) -> list[dict[str, str]]:
    with (project / "responses.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [{k: v or "" for k, v in row.items()} for row in csv.DictReader(handle)]


def edit_config(project: Path, *changes: tuple[str, str], extra: str = "") -> Config:
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text + extra, encoding="utf-8")
    return config_mod.load(path)


def use_smtp(
    project: Path, server: Server, port: int | None = None, ca_file: Path | None = None
) -> Config:
    return edit_config(
        project,
        ('backend = "outbox"', 'backend = "smtp"'),
        extra=f'\n[mail.smtp]\nhost = "{server.host}"\nport = {port or server.port}\n'
        f'security = "starttls"\nusername = "cop-secretariat@example.org"\n'
        f'password_env = "{PASSWORD_ENV}"\nca_file = "{ca_file or server.ca_file}"\n'
        "timeout_seconds = 5\n",
    )


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), *args])


def warnings(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Warning:")]


def read(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def digests(recorder: Recorder) -> list[EmailMessage]:
    found = [read(m.data) for m in recorder.messages]
    return [m for m in found if str(m["Subject"]).startswith("cluster-sync ")]


def outbox_digests(config: Config) -> list[EmailMessage]:
    folder = outbox_folder(config)
    return [read(p.read_bytes()) for p in sorted(folder.glob("*-digest-*.eml"))]


def plain(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@contextmanager
def tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    """A small filesystem of its own at `path`, to make read-only or fill; the test is skipped
    where mounting is not allowed (not root, or no mount(8))."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("mount(8) is not available here")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(path: Path) -> None:
    """Write until the filesystem is full."""
    with (path / "ballast").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


# -- 1. exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("disk", ["read-only", "full"])
def test_rows_that_cannot_be_processed_exit_5_with_one_line_even_when_quiet(
    make_config: Callable[..., Config], project: Path, disk: str
) -> None:
    keep_rows(project, 2, 3, 4)
    config = make_config()
    output = config.path(config.output.directory)
    with tmpfs(output, "64k"):
        read_only(output) if disk == "read-only" else fill(output)
        result = run(project, "-q", "sync")
        assert result.exit_code == 5, result.output
        assert result.stdout == ""
        (line,) = warnings(result)
        assert line.startswith("Warning: 3 rows could not be processed (sheet rows 2, 3, 4)")
        assert [r["Sync status"] for r in sheet(project)] == [ERROR_LINE] * 3
        (digest,) = outbox_digests(config)
        assert str(digest["Subject"]).endswith(": 3 rows could not be processed")
        reason = "Read-only file system" if disk == "read-only" else "No space left on device"
        assert plain(digest).count(reason) == 3 and "sheet row 3" in plain(digest)
    result = run(project, "-q", "sync")  # the disk is fixed: the rows are done, exit 0
    assert result.exit_code == 0 and result.output == ""
    assert all(r["Sync status"].startswith("OK") for r in sheet(project))


def test_when_several_outcomes_apply_the_highest_code_wins(
    make_config: Callable[..., Config], project: Path
) -> None:
    keep_rows(project, 2, 3)
    make_config()
    disk = project / "disk"
    with tmpfs(disk):
        shutil.move(project / "responses.csv", disk / "responses.csv")
        config = edit_config(
            project,
            ('path = "responses.csv"', 'path = "disk/responses.csv"'),
            ('directory = "var/output"', 'directory = "disk/output"'),
            ('outbox = "var/outbox"', 'outbox = "outbox"'),
        )
        (project / "outbox").write_text("a file where the outbox folder should be")
        read_only(disk)
        everything = run(project, "-q", "sync")  # rows fail (5), mail (4), write-back (3)
        assert everything.exit_code == 5
        codes = [line.split(":")[1].strip() for line in warnings(everything)]
        assert len(codes) == 3
        assert "2 rows could not be processed" in warnings(everything)[0]
        assert "mail delivery stopped" in warnings(everything)[1]
        assert "statuses" in warnings(everything)[2] and "responses.csv" in warnings(everything)[2]
        config = edit_config(project, ('directory = "disk/output"', 'directory = "var/output"'))
        mail_and_sheet = run(project, "-q", "sync")
        assert mail_and_sheet.exit_code == 4 and len(warnings(mail_and_sheet)) == 2
        (project / "outbox").unlink()
        sheet_only = run(project, "-q", "sync")
        assert sheet_only.exit_code == 3 and len(warnings(sheet_only)) == 1
        assert outbox_folder(config).is_dir()


def test_send_exits_4_when_the_server_is_unreachable(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2)
    make_config()
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    use_smtp(project, server, port=closed)
    result = run(project, "sync")
    assert result.exit_code == 4
    assert "2 messages stay queued" in warnings(result)[0]
    result = run(project, "-q", "send")
    assert result.exit_code == 4
    (line,) = warnings(result)
    assert "could not use the SMTP server" in line and "2 messages stay queued" in line
    assert "Unexpected" not in result.output


def test_a_421_on_the_first_connection_then_everything_delivered_is_exit_0(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2, 3, 4)
    make_config()
    config = use_smtp(project, server)
    server.recorder.busy_at_connection.add(1)
    result = run(project, "sync")
    assert result.exit_code == 0, result.output
    assert warnings(result) == []
    assert "sent: 4   failed: 0   still queued: 0" in result.stdout
    assert "the first connection to the mail server failed; a second one was used" in result.stdout
    assert server.recorder.connections == 2 and len(server.recorder.messages) == 4
    (digest,) = digests(server.recorder)
    assert "3 emails sent in this run before this digest; still queued: 0." in plain(digest)
    assert str(digest["Subject"]).endswith(": 3 new")
    status = run(project, "status").stdout
    assert status.count(" v1 emailed ") == 3 and "saved to the outbox" not in status
    assert config.state.database


def test_451s_are_retried_and_the_digest_counts_what_went(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2, 3)
    make_config()
    use_smtp(project, server)
    server.recorder.answer_451_first = 1  # greylisting: the first message is refused once
    result = run(project, "sync")
    assert result.exit_code == 0, result.output
    assert len(server.recorder.messages) == 3
    (digest,) = digests(server.recorder)
    assert "2 emails sent in this run before this digest; still queued: 0." in plain(digest)


def test_a_message_held_for_retry_is_counted_alike_everywhere(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2, 3)
    make_config()
    config = use_smtp(project, server)
    server.recorder.answer_451_subject = "milica.vukovic@example.org"  # row 3's: greylisted
    state = State(config.path(config.state.database))
    try:
        summary = Sync(
            config, state, open_source(config), open_mailer(config), sleep=lambda s: None
        ).run()
    finally:
        state.close()
    assert (summary.counts["still_queued"], summary.counts["held"]) == (1, 1)
    (digest,) = digests(server.recorder)
    assert "still queued: 1 (1 held for a retry)." in plain(digest)
    status = run(project, "status")
    assert "Mail queue: 1 queued (1 held for a retry), 0 failed" in status.stdout
    listing = run(project, "queue")
    assert re.search(r"#\d+\s+held\s+factsheet", listing.stdout)
    assert listing.stdout.rstrip().endswith("1 queued (1 held for a retry), 0 failed.")
    dry = run(project, "send", "--dry-run")
    assert "0 messages would be delivered now" in dry.stdout
    assert "1 message held for a retry" in dry.stdout
    send = run(project, "send")
    assert send.exit_code == 0
    assert "0 messages sent, 0 failed; still queued: 1 (1 held for a retry)." in send.stdout


def test_a_recipient_refused_among_others_is_reported_and_not_counted(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2, 3, 12)
    make_config()
    use_smtp(project, server)
    server.recorder.refuse_recipients.add(REFUSED)
    result = run(project, "sync")
    assert result.exit_code == 0, result.output
    assert f"refused by the mail server: {REFUSED}" in result.stdout
    (digest,) = digests(server.recorder)
    assert str(digest["Subject"]).endswith(": 1 address refused, 2 new, 1 to fix")
    # the queue number depends on the order rows are queued in, which is not the point here
    assert re.search(rf"#\d+  {re.escape(REFUSED)}: 550 5\.1\.1", plain(digest))
    assert re.search(
        r"open since [\d-]+ [\d:]+; told by email on [\d-]+ [\d:]+\r?\n", plain(digest)
    )
    first = sheet(project)[0]["Sync status"]
    (factsheet,) = [
        m for m in server.recorder.messages if m.rcpt_tos[0] == "niccolo.manca@example.org"
    ]
    people = len(factsheet.rcpt_tos)  # those the server accepted
    assert f"sent to {people} people" in first and "refused 1 address" in first
    listing = run(project, "queue")
    assert f"refused by the mail server: {REFUSED}: 550 5.1.1" in listing.stdout


def test_a_wrong_password_costs_one_login_attempt(
    make_config: Callable[..., Config],
    project: Path,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep_rows(project, 2, 3)
    make_config()
    use_smtp(project, server)
    monkeypatch.setenv(PASSWORD_ENV, "a-wrong-password")
    result = run(project, "-q", "sync")
    assert result.exit_code == 4
    assert "refused the login" in warnings(result)[0]
    assert server.recorder.auth_attempts == 1 and server.recorder.messages == []


# -- 2. words --------------------------------------------------------------------------------


def test_the_outbox_backend_says_saved_never_sent(
    make_config: Callable[..., Config], project: Path
) -> None:
    keep_rows(project, 2, 3)
    config = make_config()
    result = run(project, "sync")
    assert "saved to the outbox: 3" in result.stdout and "sent:" not in result.stdout
    for row in sheet(project):
        assert "was saved to the outbox on" in row["Sync status"]
        assert " sent to " not in row["Sync status"]
    status = run(project, "status").stdout
    assert status.count("v1 saved to the outbox") == 2 and "emailed" not in status
    assert "0 sent, 3 saved to the outbox" in status
    (digest,) = outbox_digests(config)
    assert "2 emails saved to the outbox in this run before this digest" in plain(digest)
    folder = outbox_folder(config)
    for path in folder.glob("*.eml"):
        assert path.read_bytes().startswith(b"X-Unsent: 1\r\n")
        assert read(path.read_bytes())["X-Unsent"] == "1"


# -- 4. the digest ---------------------------------------------------------------------------


def test_a_killed_run_leaves_its_digest_for_the_next_run_to_send_once(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2, 3, 4)
    make_config()
    use_smtp(project, server)
    command = [sys.executable, "-m", "cluster_sync", "--config", "cluster-sync.toml", "sync"]
    process = subprocess.Popen(
        command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ
    )

    def kill_at_the_second(received: Received) -> None:
        if len(server.recorder.messages) == 2:
            process.send_signal(signal.SIGKILL)

    server.recorder.on_accept = kill_at_the_second
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert digests(server.recorder) == []
    server.recorder.on_accept = None
    result = run(project, "sync")
    assert result.exit_code == 0, result.output
    (digest,) = digests(server.recorder)  # the killed run's, once; this run had nothing to say
    assert str(digest["Subject"]).endswith(": 3 new")
    assert "This run queued 3 emails besides this digest" in plain(digest)
    again = run(project, "send")
    assert again.exit_code == 0 and len(digests(server.recorder)) == 1


def test_a_run_killed_before_its_digest_is_told_by_the_next_one(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()  # the whole example: 16 factsheets, time to be killed among them
    factsheets = config.path(config.output.directory) / "factsheets"
    command = [sys.executable, "-m", "cluster_sync", "--config", "cluster-sync.toml", "sync"]
    process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while process.poll() is None and len(list(factsheets.glob("*.docx"))) < 2:
        time.sleep(0.01)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert outbox_digests(config) == []  # killed among the rows: no digest, no delivery yet
    result = run(project, "sync")
    assert result.exit_code == 0, result.output
    (digest,) = outbox_digests(config)
    assert ": 1 earlier run interrupted, " in str(digest["Subject"])
    body = plain(digest)
    assert re.search(
        r"run 1, started [\d-]+ [\d:]+, was stopped before it finished and before its digest "
        # what it had queued depends on where the kill landed (problem reports are queued
        # while factsheets are still being made; factsheet emails after the PDF batch)
        r"was written; it had queued (no email|\d+ [a-z ]+)",
        body,
    )
    assert "interrupted" in run(project, "status").stdout


def test_the_digest_names_bad_news_first_and_flags_untold_submitters(
    make_config: Callable[..., Config], project: Path
) -> None:
    keep_rows(project, 2, 12, 3)  # sheet rows 2-4: valid, invalid, valid
    path = project / "responses.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    grid[2][1] = "nobody at all"  # the broken response gives no usable address anywhere
    grid[2][grid[0].index("Contact email")] = "not an address"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    config = make_config()
    result = run(project, "sync")
    assert result.exit_code == 0
    assert "row 3" in result.stdout and "nobody could tell the submitter" in result.stdout
    (digest,) = outbox_digests(config)
    assert str(digest["Subject"]).endswith(": 1 submitter could not be told, 2 new, 1 to fix")
    body = plain(digest)
    assert "SUBMITTERS NOBODY COULD TELL (1)" in body
    assert body.index("SUBMITTERS NOBODY COULD TELL") < body.index("NEW CLUSTERS")
    assert re.search(r"sheet row 3 \S+ .*\n\s+open since \d{4}-\d\d-\d\d \d\d:\d\d; not told", body)
    assert "sheet row 2 " in body and "sheet row 4 " in body
    assert f"The sheet: {path}" in body
    assert "(s)" not in body and "(s)" not in result.output
    run(project, "sync")
    assert len(outbox_digests(config)) == 1  # nothing new: no second digest


def test_the_digest_of_a_google_sheet_links_to_it_and_tells_when_each_submitter_was_told(
    make_config: Callable[..., Config], project: Path
) -> None:
    with FakeSheets() as fake:
        load_sheet(fake, [HEADERS, answer_row(1), answer_row(2, end_date="01/01/2020")])
        make_config()
        config = edit_config(
            project,
            (
                'type = "file"\npath = "responses.csv"\nwrite_back = true',
                f'type = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
                f'credentials = "none"\napi_base_url = "{fake.base_url}"',
            ),
        )
        checked = run(project, "check", "--connect")
        assert checked.exit_code == 0, checked.output
        assert "source: OK (the Google Sheet" in checked.stdout
        result = run(project, "sync")
        assert result.exit_code == 0, result.output
    (digest,) = outbox_digests(config)
    body = plain(digest)
    assert f"The sheet: https://docs.google.com/spreadsheets/d/{KEY}/edit" in body
    assert re.search(
        r"open since [\d-]+ [\d:]+; problem report saved to the outbox on [\d-]+ [\d:]+, not sent",
        body,
    )
    assert "sheet row 2 " in body and "sheet row 3 " in body


# -- 5. check --------------------------------------------------------------------------------


def test_check_says_ok_only_when_sync_can_work(
    make_config: Callable[..., Config], project: Path, server: Server
) -> None:
    keep_rows(project, 2)
    config = make_config()
    output = config.path(config.output.directory)
    with tmpfs(output):
        read_only(output)
        result = run(project, "check")
        assert result.exit_code == 2
        assert f"output: PROBLEM\n  the output folder {output} is not writable" in result.stderr
        assert "Read-only file system" in result.stderr
    use_smtp(project, server, ca_file=project / "missing-ca.pem")
    result = run(project, "check")
    assert result.exit_code == 2
    assert "mail: PROBLEM" in result.stderr and "missing-ca.pem" in result.stderr
    edit_config(project, (str(project / "missing-ca.pem"), str(server.ca_file)))
    result = run(project, "check", "--connect")
    assert result.exit_code == 0, result.output
    assert f"mail server: OK (logged in to the SMTP server {server.host}:{server.port})" in (
        result.stdout
    )
    assert server.recorder.auth_attempts == 1 and server.recorder.messages == []


def test_check_connect_reports_a_refused_login(
    make_config: Callable[..., Config],
    project: Path,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep_rows(project, 2)
    make_config()
    use_smtp(project, server)
    assert run(project, "check").exit_code == 0  # without --connect nothing is tried
    monkeypatch.setenv(PASSWORD_ENV, "a-wrong-password")
    result = run(project, "check", "--connect")
    assert result.exit_code == 2
    assert "mail server: PROBLEM" in result.stderr and "refused the login" in result.stderr


# -- 6. dry run ------------------------------------------------------------------------------


def counts_line(output: str) -> tuple[str, ...]:
    found = re.search(r"new: .*", output)
    rendered = re.search(r"rendered: (\d+)", output)
    queued = re.search(r"(?:would queue|emails queued): (\d+)", output)
    assert found and rendered and queued, output
    return found.group(0), rendered.group(1), queued.group(1)


def scratch_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("cluster-sync-dry-run-*")}


def test_a_dry_run_predicts_the_real_run_and_leaves_nothing_behind(
    make_config: Callable[..., Config],
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A temporary folder of its own: other programs on the machine make scratch folders too.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    keep_rows(project, 2, 3, 12)
    config = make_config()
    before = scratch_folders()
    dry = run(project, "sync", "--dry-run")
    real = run(project, "sync")
    assert counts_line(dry.stdout) == counts_line(real.stdout)
    assert "a digest for the secretariat included" in dry.stdout
    again = run(project, "sync", "--dry-run")
    assert counts_line(again.stdout)[1:] == ("0", "0")
    assert "digest" not in again.stdout  # the real run would send none: no phantom
    assert "The scratch folder was removed" in again.stdout
    assert scratch_folders() == before
    kept = run(project, "sync", "--dry-run", "--keep")
    match = re.search(r"The scratch folder is kept: (\S+)", kept.stdout)
    assert match and Path(match.group(1)).is_dir()
    shutil.rmtree(match.group(1))
    assert config.path(config.state.database).exists()


# -- 7. the log, operator mistakes -----------------------------------------------------------


def test_the_log_tells_the_story_of_a_good_night(
    make_config: Callable[..., Config], project: Path
) -> None:
    keep_rows(project, 2, 3)
    config = make_config(extra="")
    assert run(project, "-q", "sync").exit_code == 0
    log = config.path(config.log.file or Path()).read_text(encoding="utf-8")
    assert re.search(r"INFO cluster_sync.engine: run 1 started: reading the export \S+", log)
    assert "run 1 read 2 responses from the export" in log and "2 new" in log
    assert "run 1 mail: 3 queued, 3 saved to the outbox, 0 failed, 0 still queued" in log
    assert re.search(r"run 1 finished in \d+\.\d s: ok \(everything done\)", log)


@pytest.mark.parametrize("disk", ["read-only", "full"])
def test_an_unwritable_state_folder_is_a_plain_configuration_error(
    make_config: Callable[..., Config], project: Path, disk: str
) -> None:
    keep_rows(project, 2)
    make_config()
    config = edit_config(project, ('file = "var/cluster-sync.log"', 'file = "sync.log"'))
    folder = config.path(config.state.database).parent
    with tmpfs(folder, "64k"):
        read_only(folder) if disk == "read-only" else fill(folder)
        result = run(project, "sync")
    assert result.exit_code == 2, result.output
    reason = "Read-only file system" if disk == "read-only" else "No space left on device"
    assert "Error: cannot write" in result.stderr and reason in result.stderr
    assert "state.database" in result.stderr
    assert "Unexpected" not in result.output and "Traceback" not in result.output


def test_the_cop_report_counts_agree_with_their_nouns(
    make_config: Callable[..., Config], project: Path
) -> None:
    make_config()
    assert run(project, "-q", "sync").exit_code == 0
    out = project / "report.docx"
    result = run(project, "report", "--from", "2024-01-01", "--to", "2027-12-31", "--out", str(out))
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    text = "\n".join(p.text for p in document.paragraphs)
    markdown = out.with_suffix(".md").read_text(encoding="utf-8")
    for words in (text, markdown):
        assert "(s)" not in words and "(ies)" not in words
    assert re.search(
        r"\d+ organisations from \d+ countries and \d+ Thematic Projects take part", text
    )


def test_no_counted_noun_in_the_run_reporting_says_s_in_brackets() -> None:
    modules = [
        "cli/__init__",
        "cli/base",
        "cli/report",
        "checks",
        "console",
        "digest",
        "engine",
        "mailqueue",
        "sheetstatus",
        "summary",
    ]
    paths = [ROOT / "cluster_sync" / f"{name}.py" for name in modules]
    for path in [*paths, *ROOT.glob("templates/email/digest.*")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\w\(s\)", text), path
