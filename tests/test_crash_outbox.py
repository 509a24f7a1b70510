"""A sync killed at any moment (kill -9) loses no message and sends none twice: run the real
command, kill it at many different points, run it again, and count the .eml files."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from cluster_sync.config import Config

VALID, INVALID = 16, 7


def start_sync(config: Config) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cluster_sync",
            "--config",
            str(config.base_dir / "cluster-sync.toml"),
            "-q",
            "sync",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def message_ids(outbox: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        ids[str(message["Message-ID"])] += 1
    return ids


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3])
def test_killed_sync_delivers_every_message_exactly_once(
    make_config: Callable[..., Config], kill_after: float
) -> None:
    config = make_config()
    process = start_sync(config)
    time.sleep(kill_after)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    # the next night: the rerun must finish whatever the killed one left
    rerun = start_sync(config)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    outbox = config.path(config.mail.outbox or Path())
    ids = message_ids(outbox)
    assert all(count == 1 for count in ids.values()), ids.most_common(3)
    names = [p.name for p in outbox.glob("*.eml")]
    assert sum("-factsheet-" in n for n in names) == VALID
    assert sum("-problems-" in n for n in names) == INVALID
    assert len(list(config.path(config.output.directory).glob("factsheets/*.docx"))) == VALID
