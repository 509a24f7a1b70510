"""File writes that a crash cannot leave half done, and that never overwrite a change made
by someone else in the meantime."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path


class ChangedMeanwhile(Exception):
    """The file on disk is no longer the content the new version was made from."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path, data, mode=None)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_if_unchanged(path: Path, data: bytes, made_from: str) -> None:
    """Replace an existing file (keeping its permission bits) by `data`, unless its content
    is no longer the one whose digest is `made_from`: then raise ChangedMeanwhile and leave
    it alone. The check is made after the new version is on disk, right before the rename,
    so the window in which another program's save could be lost is as short as it can be."""
    info = os.stat(path)
    tmp = _write_temp(path, data, stat.S_IMODE(info.st_mode))
    try:
        # Keeps its owner when run as root; for anyone else the file becomes theirs.
        with contextlib.suppress(OSError):
            os.chown(tmp, info.st_uid, info.st_gid)
        if digest(path.read_bytes()) != made_from:
            raise ChangedMeanwhile(str(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_temp(path: Path, data: bytes, mode: int | None) -> str:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp
