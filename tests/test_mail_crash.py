"""Kill `cluster-sync send` with SIGKILL at many points of an SMTP batch, run it again, and check
that no message is lost and that a duplicate only ever comes from the one ambiguous window: the
server had accepted the message while the state database still said `sending`."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from smtp_server import PASSWORD, USER, Received, Recorder, Server, Tls, outgoing, smtp_server

from cluster_sync import mailqueue
from cluster_sync.mailqueue import utc_now
from cluster_sync.state import State

PASSWORD_ENV = "CLUSTER_SYNC_TEST_SMTP_PASSWORD"
MESSAGES = 30


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=[False, True], ids=["stepwise", "pipelined"])
def server(tls: Tls, request: pytest.FixtureRequest) -> Iterator[Server]:
    # Slowed a little per message so that kills land in the middle of a batch; once with a
    # server offering PIPELINING, where the client sends each envelope in one write.
    recorder = Recorder(keep_data=False, delay=0.01, pipelining=request.param)
    with smtp_server(tls, recorder) as running:
        yield running


CONFIG = """
[source]
type = "file"
path = "responses.csv"

[state]
database = "state.db"

[output]
directory = "output"

[mail]
backend = "smtp"
from = "Natural Heritage CoP <{user}>"
reply_to = "secretariat@example.org"
secretariat = ["secretariat@example.org"]

[mail.smtp]
host = "{host}"
port = {port}
security = "starttls"
username = "{user}"
password_env = "{password_env}"
ca_file = "ca.pem"
timeout_seconds = 10

[mail.limits]
per_minute = 1000

[log]
file = "sync.log"
"""


@dataclass
class Batch:
    """A queue of messages in a state database, and the `send` command that delivers it."""

    folder: Path
    server: Server
    expected: list[str] = field(default_factory=list)
    #: Message-ID -> how many kills caught it in `sending` after the server had accepted it
    ambiguous: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    before_run: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0  # kills that left a message `sending`

    @classmethod
    def make(cls, folder: Path, server: Server) -> Batch:
        shutil.copy(server.ca_file, folder / "ca.pem")  # relative in the config, on purpose
        (folder / "cluster-sync.toml").write_text(
            CONFIG.format(host=server.host, port=server.port, user=USER, password_env=PASSWORD_ENV)
        )
        batch = cls(folder, server)
        state = State(folder / "state.db")
        for number in range(MESSAGES):
            message = outgoing(number, (f"p{number}@example.org", "lead@example.org"))
            mailqueue.enqueue(state, message, None, utc_now())
            batch.expected.append(message.message_id)
        state.close()
        return batch

    def start(self) -> subprocess.Popen[bytes]:
        self.before_run = Counter(self.server.recorder.message_ids())
        return subprocess.Popen(
            [sys.executable, "-m", "cluster_sync", "--config", "cluster-sync.toml", "send"],
            cwd=self.folder,
            env=os.environ | {PASSWORD_ENV: PASSWORD},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def settle(self, process: subprocess.Popen[bytes]) -> None:
        """After a run ends (killed or not): note what the kill left ambiguous, and check that
        nothing was recorded as sent that the server does not have."""
        process.communicate(timeout=30)
        if process.returncode == -signal.SIGKILL:
            self.kills += 1
        state = State(self.folder / "state.db")
        try:
            by_state: dict[str, set[str]] = {}
            for message_id, status in state.db.execute("SELECT message_id, state FROM messages"):
                by_state.setdefault(status, set()).add(message_id)
        finally:
            state.close()
        received = Counter(self.server.recorder.message_ids())
        assert len(by_state.get("sending", ())) <= 1  # one message in flight at a time
        assert by_state.get("sent", set()) <= set(received)  # never `sent` without the server
        self.in_flight += len(by_state.get("sending", ()))
        for message_id in by_state.get("sending", set()):
            # the window: the server accepted it in this very run, the database missed it
            if received[message_id] > self.before_run[message_id]:
                self.ambiguous[message_id] += 1

    def summary(self, duplicates: int) -> str:
        return (
            f"{self.kills} kills, {self.in_flight} left a message `sending`, "
            f"{sum(self.ambiguous.values())} of those just accepted by the server; "
            f"{duplicates} duplicate(s) of {len(self.expected)} messages"
        )

    def check(self) -> int:
        """Everything delivered at least once; every duplicate explained. Returns duplicates."""
        seen = Counter(self.server.recorder.message_ids())
        assert set(self.expected) <= set(seen), "a message was lost"
        assert set(seen) <= set(self.expected)
        extra = {mid: count - 1 for mid, count in seen.items() if count > 1}
        for message_id, duplicates in extra.items():
            assert duplicates <= self.ambiguous[message_id], f"unexplained duplicate {message_id}"
        log = (self.folder / "sync.log").read_text()
        assert "connected to" in log and PASSWORD not in log
        return sum(extra.values())


def finish(batch: Batch) -> None:
    process = batch.start()
    batch.settle(process)
    assert process.returncode == 0, process.stderr
    state = State(batch.folder / "state.db")
    try:
        states = {s for (s,) in state.db.execute("SELECT state FROM messages")}
    finally:
        state.close()
    assert states == {"sent"}


def test_killed_right_after_the_server_accepted(tmp_path: Path, server: Server) -> None:
    """The kill lands in the server's DATA handler, before the 250 goes out: the message is in
    the ambiguous window by construction, so every such kill must cost one duplicate, no more."""
    batch = Batch.make(tmp_path, server)
    victim: dict[str, subprocess.Popen[bytes]] = {}
    thresholds = iter([1, 4, 9, 15, 22, 28])
    target = [next(thresholds)]

    def kill_at_threshold(received: Received) -> None:
        if len(server.recorder.messages) == target[0] and "process" in victim:
            victim.pop("process").send_signal(signal.SIGKILL)
            target[0] = next(thresholds, -1)

    server.recorder.on_accept = kill_at_threshold
    while target[0] != -1:
        victim["process"] = process = batch.start()
        batch.settle(process)
    finish(batch)

    duplicates = batch.check()
    print(f"\nkilled at acceptance: {batch.summary(duplicates)}")
    assert batch.kills == 6
    assert duplicates == 6  # exactly the window, once per kill


def test_killed_at_random_moments(tmp_path: Path, server: Server) -> None:
    """Random kills: some while the process starts, connects or recovers; most a random
    fraction of a message after the server accepted the j-th message of the run (one message
    takes ~10 ms on the server, so the kill falls anywhere in the cycle: the 250, the state
    update, the next MAIL/RCPT/DATA)."""
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    batch = Batch.make(tmp_path, server)
    run: dict[str, Any] = {}

    def kill_later(received: Received) -> None:
        run["accepted"] += 1
        if run["accepted"] == run["after"]:
            threading.Timer(run["jitter"], run["process"].send_signal, [signal.SIGKILL]).start()

    server.recorder.on_accept = kill_later
    for _ in range(12):
        early = chance.random() < 0.25
        # an early run that outlives its timer (a slow start) is still cut after 6 messages
        run.update(accepted=0, after=6 if early else chance.randint(1, 4))
        run["jitter"] = chance.uniform(0.0, 0.015)
        run["process"] = process = batch.start()
        timer = threading.Timer(chance.uniform(0.02, 0.3), process.send_signal, [signal.SIGKILL])
        if early:
            timer.start()
        batch.settle(process)
        timer.cancel()
    server.recorder.on_accept = None
    finish(batch)

    duplicates = batch.check()
    print(f"\nkilled at random (seed {seed}): {batch.summary(duplicates)}")
    assert batch.kills >= 5  # most runs were really cut short
