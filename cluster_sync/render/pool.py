"""Factsheets rendered in a worker process while the sync goes on with its rows.

Rendering a factsheet is about a quarter of the CPU a first sync spends on a row. The sync
submits the renders of the rows it is about to reach (a few at a time, so memory stays flat) and
takes each row's own result when it records that row; the worker runs on the other core
meanwhile. What the worker does is exactly what the sync would do itself
(`render_docx` with the same template, context, pictures and file mode), so the documents are
the same bytes.

Whatever the worker cannot do, the sync does itself, so that every outcome is what rendering in
the sync's own process gives, with the same note and the same exception: a render that failed in
the worker (a broken tag, a template expression that fails on the row's data, a full disk) is
rendered again in the sync and fails there as it would have; a worker that does not start, dies
or is killed leaves its rows to the sync. The worker writes the file as the sync would, renamed
into place, its fsync left for the state's next durable commit; it reports those files, and the
sync names them to `files.note_unsynced` before it records them (tests/test_render_pool.py).

The worker is a fresh interpreter (`python -m cluster_sync.render.pool`): it imports only what
rendering needs (about 38 MB) and compiles the template of this run, so a template saved again
in Word since the last run is the one used. Starting it costs about 0.3 s of CPU on the other
core; the sync renders its rows itself until the worker says it is ready, and starts one only
when a run has enough factsheets to render to pay for it (`MIN_RENDERS`).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: fewer factsheets than this in a run: rendered in the sync's process (a worker's start costs
#: about as much CPU as 90 renders, and the first rows render here while it starts)
MIN_RENDERS = 200
#: renders sent to a worker and not yet taken back: enough to keep it busy between two rows
DEPTH = 4
_READY = "ready"
_PIPE_SIZE = 1 << 20  # room for the renders in flight, so that sending one rarely waits
Key = tuple[str, bool]  # (the file's path, whether it is synced at once)


def worker_count() -> int:
    """One worker when the machine has a core beside the sync's, else none: rendering is a
    quarter of a row's CPU, so one worker keeps up with the sync."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return 1 if cores > 1 else 0


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    requests: Connection
    results: Connection
    ready: bool = False
    alive: bool = True
    #: the renders sent and not yet answered, in the order sent: number -> file
    waiting: dict[int, str] = field(default_factory=dict)


class RenderPool:
    """Render workers for one run's factsheets of one template (see the module's docstring)."""

    def __init__(self, workers: list[_Worker]) -> None:
        self.workers = workers
        self._number = 0
        self._jobs: dict[Key, tuple[_Worker, int]] = {}  # renders submitted, not claimed
        self._answers: dict[int, list[str] | None] = {}  # their outcomes, read early
        self._claimed = 0  # the render being claimed
        self.rendered = 0  # renders claimed done: what the worker took off the sync
        self.waited = 0.0  # seconds the sync waited for them

    @classmethod
    def start(
        cls,
        template: Path,
        extras: Callable[[Any], dict[str, Any]] | None,
        file_mode: int,
        workers: int = 1,
    ) -> RenderPool | None:
        """Workers that render `template` with `extras` (a picklable callable, as
        branding.logo_images gives) into files of `file_mode`; None when none could start."""
        started = []
        for _ in range(workers):
            worker = _spawn((str(template), extras, file_mode))
            if worker is not None:
                started.append(worker)
        return cls(started) if started else None

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers]

    def ready(self) -> bool:
        """Whether a worker can take renders now (never waits)."""
        for worker in self.workers:
            if worker.alive and worker.process.poll() is not None:
                with _lost(worker):
                    raise EOFError  # gone: what it sent and was not read is rendered here
            if worker.alive and not worker.ready:
                with _lost(worker):
                    if worker.results.poll(0):
                        worker.ready = worker.results.recv() == _READY
        return any(w.ready and w.alive for w in self.workers)

    def has_room(self) -> bool:
        return any(w.ready and w.alive and len(w.waiting) < DEPTH for w in self.workers)

    def submit(self, path: Path, context: dict[str, Any], synced: bool) -> bool:
        """Send a render to the least busy ready worker; False when none could take it."""
        free = [w for w in self.workers if w.ready and w.alive and len(w.waiting) < DEPTH]
        if not free:
            return False
        worker = min(free, key=lambda w: len(w.waiting))
        self._number += 1
        with _lost(worker):
            worker.requests.send((self._number, context, str(path), synced))
            worker.waiting[self._number] = str(path)
            self._jobs[(str(path), synced)] = (worker, self._number)
            return True
        return False

    def claim(self, path: Path, synced: bool) -> list[str] | None:
        """Wait for the render of `path` submitted earlier: the files it left for the state's
        next durable commit to sync, or None when the caller must render it itself (never
        submitted, failed, or its worker gone). Renders submitted before it and never claimed
        (a row that did not get to its factsheet) are forgotten."""
        job = self._jobs.pop((str(path), synced), None)
        if job is None:
            return None
        worker, number = job
        for key, (_, other) in list(self._jobs.items()):
            if other < number:
                del self._jobs[key]
        self._claimed = number
        started = time.perf_counter()
        while worker.alive and number in worker.waiting:
            self._read(worker)
        self.waited += time.perf_counter() - started
        written = self._answers.pop(number, None)
        self.rendered += written is not None
        return written

    def close(self) -> None:
        """Let every worker finish what it was sent and stop (a render cut off half way would
        leave its temporary file behind); one that does not stop in time is killed."""
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.requests.close()
        for worker in self.workers:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            with contextlib.suppress(OSError):
                worker.results.close()
        self._jobs.clear()
        self._answers.clear()
        log.info(
            "%s factsheet(s) rendered by the render worker; the sync waited %.1f s for them",
            self.rendered,
            self.waited,
        )

    def _read(self, worker: _Worker) -> None:
        with _lost(worker):
            number, written = worker.results.recv()
            del worker.waiting[number]
            if number == self._claimed or any(number == n for _, n in self._jobs.values()):
                self._answers[number] = written
            return
        for number in worker.waiting:
            self._answers.pop(number, None)
        worker.waiting.clear()


@contextlib.contextmanager
def _lost(worker: _Worker) -> Iterator[None]:
    """A worker that died or was killed: marked gone, its renders left to the caller."""
    try:
        yield
    except (EOFError, OSError) as exc:
        if worker.alive:
            code = worker.process.poll()
            log.warning(
                "the render worker stopped (%s): the sync renders the rest of the factsheets",
                f"exit code {code}" if code is not None else type(exc).__name__,
            )
            _forget(worker)


def _forget(worker: _Worker) -> None:
    """A worker gone: stopped for good (a kill ends one that only closed its pipe), and the
    temporary files of the renders it was sent and never answered removed (one killed while
    writing leaves its file's); nothing else writes those names (files.atomic_write:
    .NAME.*.tmp beside the file)."""
    worker.alive = False
    with contextlib.suppress(OSError):
        worker.process.kill()
    worker.process.wait()
    for path in map(Path, worker.waiting.values()):
        for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            leftover.unlink(missing_ok=True)


def _spawn(setup: tuple[str, Any, int]) -> _Worker | None:
    import cluster_sync

    from_main, to_worker = os.pipe()  # (read, write)
    from_worker, to_main = os.pipe()
    for fd in (to_worker, from_worker):
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    # the worker imports the same cluster_sync as this process, whatever sys.path says
    package_root = str(Path(cluster_sync.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "cluster_sync.render.pool", str(from_main), str(to_main)]
    try:
        process = subprocess.Popen(
            command,
            pass_fds=(from_main, to_main),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # what went wrong there is the sync's to say, in its log, once (_lost)
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError as exc:
        log.warning("the render worker could not start (%s): the sync renders the factsheets", exc)
        for fd in (to_worker, from_main, from_worker, to_main):
            os.close(fd)
        return None
    os.close(from_main)
    os.close(to_main)
    worker = _Worker(process, Connection(to_worker, readable=False), Connection(from_worker))
    with _lost(worker):
        worker.requests.send(setup)
    return worker if worker.alive else None


# -- the worker's side --------------------------------------------------------------------------


def serve(requests: Connection, results: Connection) -> None:
    """Render what the sync sends until it closes the pipe."""
    import signal

    from cluster_sync import files
    from cluster_sync.render.docx_fast import prepare
    from cluster_sync.render.factsheet import render_docx

    # Ctrl-C is the sync's to handle: it closes the pipe, and the worker stops after its render
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    template_name, extras, file_mode = requests.recv()
    template = Path(template_name)
    files.configure(file_mode)
    with contextlib.suppress(Exception):  # a broken template fails its renders, in the sync
        prepare(template, extras=extras)
    results.send(_READY)
    while True:
        try:
            number, context, path, synced = requests.recv()
        except EOFError:
            return
        written: list[str] | None = None
        try:
            render_docx(template, context, Path(path), extras=extras, synced=synced)
        except Exception:  # rendered again by the sync, which reports it as it would
            pass
        else:
            written = files.take_unsynced()
        files.take_unsynced()  # a failed render's, if any: nothing records them
        try:
            results.send((number, written))
        except OSError:  # the sync is gone
            return


if __name__ == "__main__":
    serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
