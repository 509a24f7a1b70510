"""Run cluster-sync and kill it (SIGKILL, as `kill -9` does) at a chosen event:

    python tests/kill_at.py eml N ARGS...      right after the N-th .eml file lands in a folder
    python tests/kill_at.py commit N ARGS...   just before the N-th COMMIT of the state runs
    python tests/kill_at.py emlsync N ARGS...  right after the N-th fsync of a folder holding
                                               .eml files (a batch of them is on the disk,
                                               not yet recorded as delivered)

ARGS are cluster-sync's own. The faults are placed where the program meets the operating system
(the rename that makes a file whole) and SQLite (the statements it runs), never inside
cluster-sync. A run that ends before its event prints what it counted, on stderr
(`kill_at: eml=24 commit=61 emlsync=2`), and exits with cluster-sync's code, so the caller can tell that
the kill did not happen.
"""

from __future__ import annotations

import atexit
import os
import signal
import sqlite3
import stat
import sys
from typing import Any

EVENT, NUMBER, ARGS = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
counts = {"eml": 0, "commit": 0, "emlsync": 0}


def happened(kind: str) -> None:
    counts[kind] += 1
    if kind == EVENT and counts[kind] == NUMBER:
        os.kill(os.getpid(), signal.SIGKILL)


_replace = os.replace


def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
    _replace(src, dst, *args, **kwargs)
    if str(dst).endswith(".eml"):
        happened("eml")


_fsync = os.fsync


def fsync(fd: int) -> None:
    _fsync(fd)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        folder = os.readlink(f"/proc/self/fd/{fd}")
        if any(name.endswith(".eml") for name in os.listdir(folder)):
            happened("emlsync")


_connect = sqlite3.connect


def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    connection = _connect(*args, **kwargs)

    def trace(statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            happened("commit")

    connection.set_trace_callback(trace)
    return connection


os.replace = replace
os.fsync = fsync
sqlite3.connect = connect  # type: ignore[assignment]
atexit.register(
    lambda: print("kill_at: " + " ".join(f"{k}={n}" for k, n in counts.items()), file=sys.stderr)
)

from cluster_sync.cli import main  # noqa: E402  (after the boundaries are in place)

sys.argv = ["cluster-sync", *ARGS]
main()
