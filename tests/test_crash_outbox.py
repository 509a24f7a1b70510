"""A sync killed at any moment (kill -9) loses no message and sends none twice: run the real
command, kill it at chosen events (the n-th .eml file written, the n-th commit of the state),
check that the kill happened, run it again, and count the .eml files. tests/kill_at.py places
the kill where the program meets the operating system and SQLite."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CONFIG_TEMPLATE, EXAMPLES, ROOT

from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder

KILL_AT = Path(__file__).resolve().parent / "kill_at.py"
VALID, INVALID = 16, 7


def sync_command(config: Config) -> list[str]:
    return ["--config", str(config.base_dir / "cluster-sync.toml"), "-q", "sync"]


def killed_at(config: Config, event: str, number: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(KILL_AT), event, str(number), *sync_command(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def message_ids(outbox: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        ids[str(message["Message-ID"])] += 1
    return ids


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """How many .eml files and commits a whole first run of the example data makes (0: no
    kill), so the kills below land at the same moments whatever those totals become."""
    project = tmp_path_factory.mktemp("measure")
    shutil.copy(EXAMPLES / "responses.csv", project / "responses.csv")
    text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
    (project / "cluster-sync.toml").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(KILL_AT), "eml", "0", "--config", "cluster-sync.toml", "-q", "sync"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = re.search(r"kill_at: eml=(\d+) commit=(\d+) emlsync=(\d+)", done.stderr)
    assert found, done.stderr
    return {"eml": int(found[1]), "commit": int(found[2]), "emlsync": int(found[3])}


#: where to kill, as a share of the run's events (rounded, at least the first)
MOMENTS = [
    ("eml", 0.0),  # the first email saved, nothing else delivered
    ("eml", 0.05),  # in the middle of a batch: its files written, none synced or recorded
    ("eml", 0.5),
    ("eml", 0.96),  # all but the last
    ("eml", 1.0),  # the digest, delivered last
    ("emlsync", 0.0),  # the first batch's files on the disk, not yet recorded as saved
    ("emlsync", 1.0),  # the digest's file on the disk, not yet recorded
    ("commit", 0.0),  # before the first commit: nothing recorded
    ("commit", 0.1),
    ("commit", 0.3),
    ("commit", 0.5),
    ("commit", 0.7),
    ("commit", 0.9),
    ("commit", 0.99),
    ("commit", 1.0),  # the last commit of the run
]


@pytest.mark.slow
@pytest.mark.parametrize(("event", "share"), MOMENTS)
def test_killed_sync_delivers_every_message_exactly_once(
    make_config: Callable[..., Config], events: dict[str, int], event: str, share: float
) -> None:
    config = make_config()
    number = max(1, round(share * events[event]))
    killed = killed_at(config, event, number)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {event} {number}: {killed.stderr}"
    # the next night: the rerun must finish whatever the killed one left
    rerun = subprocess.run(
        [sys.executable, "-m", "cluster_sync", *sync_command(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    outbox = outbox_folder(config)
    ids = message_ids(outbox)
    assert all(count == 1 for count in ids.values()), ids.most_common(3)
    names = [p.name for p in outbox.glob("*.eml")]
    assert sum("-factsheet-" in n for n in names) == VALID
    assert sum("-problems-" in n for n in names) == INVALID
    assert len(list(config.path(config.output.directory).glob("factsheets/*.docx"))) == VALID
