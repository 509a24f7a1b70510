"""One sync at a time: an advisory lock beside the state database (released by the kernel if
the process dies, so a killed run never blocks the next one)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cluster_sync.errors import LockedError
from cluster_sync.files import create_private


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    create_private(path)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockedError(
                f"Another cluster-sync run is in progress (process {holder}); this one stopped "
                "without changing anything.",
                hint="wait for it to finish; the next run picks up whatever this one would have done.",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def state_lock(database: Path) -> contextlib.AbstractContextManager[None]:
    """The lock every writing command takes: a file beside the state database."""
    return exclusive(database.with_name(database.name + ".lock"))
