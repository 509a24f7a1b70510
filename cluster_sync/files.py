"""File writes that a crash cannot leave half done, that never overwrite a change made by
someone else in the meantime, and whose modes are set explicitly.

Everything cluster-sync creates (the state database, the log, the outbox, the outputs) holds
personal data, so it is created readable by its owner only (0600, folders 0700), whatever the
umask says. `[privacy] file_mode` widens that for a shared group folder (0640 → folders 0750).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_FILE_MODE = 0o600
_mode = {"file": DEFAULT_FILE_MODE}


def configure(file_mode: int) -> None:
    """The mode of every file created from now on (one setting per process, like the umask)."""
    _mode["file"] = file_mode


def file_mode() -> int:
    return _mode["file"]


def dir_mode() -> int:
    """A folder is searchable by whoever may read the files in it."""
    mode = _mode["file"] | stat.S_IRWXU
    for read, search in ((stat.S_IRGRP, stat.S_IXGRP), (stat.S_IROTH, stat.S_IXOTH)):
        if mode & read:
            mode |= search
    return mode


def make_dirs(path: Path) -> None:
    """Create `path` and any missing parents with the folder mode; existing folders keep theirs."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(folder, dir_mode())
    if not path.is_dir():
        raise FileExistsError(errno.EEXIST, "a file is in the way of the folder", str(path))


def restrict(path: Path) -> None:
    """Give an existing file of ours the configured mode (a database or log made by an older
    version). Someone else's file (a colleague reading a shared folder) is left as it is."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != file_mode():
        os.chmod(path, file_mode())


def create_private(path: Path) -> None:
    """Create an empty file with the configured mode unless it exists, then set its mode."""
    make_dirs(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode())
    except FileExistsError:
        restrict(path)
        return
    os.fchmod(fd, file_mode())  # the umask may have taken bits away; set them exactly
    os.close(fd)


def current_mode(path: Path) -> int | None:
    """The permission bits of an existing file, None when there is none."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


class ChangedMeanwhile(Exception):
    """The file on disk is no longer the content the new version was made from."""


#: a file's content as one piece or as pieces written one after the other (views of a file
#: read earlier and the new parts between them: no copy of the whole)
Content = bytes | Iterable[bytes | memoryview]


def digest(data: Content) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    hasher = hashlib.sha256()
    for piece in data:
        hasher.update(piece)
    return hasher.hexdigest()


def file_digest(path: Path) -> str:
    """`digest` of a file's content, read in blocks (never held whole); raises OSError."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


#: files written by atomic_write(synced=False) whose fsync waits for sync_written()
_unsynced: set[str] = set()


def atomic_write(path: Path, data: bytes, mode: int | None = None, *, synced: bool = True) -> None:
    """Write beside the target, fsync, then rename over it. The file gets `mode`, else the
    configured one. `synced=False` leaves the fsync to the next sync_written(), which the
    state makes before every durable commit (state.py): for a file that only a commit not
    yet durable records, which a power loss would take back with it."""
    _write_and_rename(path, data, mode, synced)
    if not synced:
        _unsynced.add(str(path))


def put_unsynced(path: Path, data: bytes, mode: int | None = None) -> None:
    """atomic_write without any disk wait: the file appears whole or not at all to other
    programs, but only sync_files() makes it survive a power loss. For a caller that writes
    many files and makes them durable together (the outbox's batches, mailpass.py) before
    anything records them."""
    _write_and_rename(path, data, mode, False)


def _write_and_rename(path: Path, data: bytes, mode: int | None, synced: bool) -> None:
    make_dirs(path.parent)
    tmp = _write_temp(path, data, file_mode() if mode is None else mode, sync=synced)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def take_unsynced() -> list[str]:
    """The files atomic_write(synced=False) wrote since the last call, forgotten here: for a
    process that writes them for another one, which syncs them (note_unsynced)."""
    paths = sorted(_unsynced)
    _unsynced.clear()
    return paths


def note_unsynced(paths: list[str]) -> None:
    """Files another process wrote with atomic_write(synced=False): synced by the next
    sync_written() of this one, as if written here."""
    _unsynced.update(paths)


def sync_written() -> None:
    """fsync every file atomic_write(synced=False) wrote since the last call, and the folders
    that hold them (their new names): the disk waits at one point, together, instead of one
    in the middle of each row."""
    paths = sorted(_unsynced)
    _unsynced.clear()
    sync_files(paths)


#: fsyncs in flight at once: the file system writes the journal once for all those waiting
#: (about 4x faster than one after the other on this project's test machine, 16 against 1)
SYNC_THREADS = 16


def sync_files(paths: Sequence[str | Path]) -> None:
    """fsync these files, several at once, then each folder that holds them once (their
    names). A file removed or renamed away since is skipped: nothing of it is left to keep.
    Raises the first OSError met, after every sync has ended."""
    names = [str(p) for p in paths]
    if not names:
        return
    if len(names) == 1:
        synced = [_sync_file(names[0])]
    else:
        with ThreadPoolExecutor(min(SYNC_THREADS, len(names)), "fsync") as pool:
            synced = list(pool.map(_sync_file, names))
    for folder in sorted({os.path.dirname(n) for n, ok in zip(names, synced, strict=True) if ok}):
        _fsync_path(folder)


def _sync_file(name: str) -> bool:
    """fsync one file; False when it is gone."""
    try:
        _fsync_path(name)
    except FileNotFoundError:
        return False
    return True


def _fsync_path(name: str) -> None:
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_if_unchanged(path: Path, data: Content, made_from: str) -> None:
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


def _write_temp(path: Path, data: Content, mode: int, sync: bool = True) -> str:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in [data] if isinstance(data, bytes) else data:
                handle.write(piece)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


class SyncLater:
    """fsync a file in a thread of its own while the caller goes on: `start` returns the wait,
    which returns once the file is on the disk or raises the OSError that stopped it. The
    first sync of a file (by inode) syncs its folder too, for its name."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._named: set[tuple[int, int]] = set()  # (device, inode) whose folder was synced

    def start(self, path: Path) -> Callable[[], None]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fsync")
        future = self._pool.submit(self._sync, path)

        def wait() -> None:
            future.result()

        return wait

    def close(self) -> None:
        """Wait for any sync still running; its outcome was the waiter's to hear."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _sync(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            found = os.fstat(fd)
        finally:
            os.close(fd)
        identity = (found.st_dev, found.st_ino)
        if identity not in self._named:
            _fsync_path(str(path.parent))
            self._named.add(identity)
