"""Word to PDF with LibreOffice headless, hardened against its known failure modes.

- A private profile (`-env:UserInstallation`), never the user's: a LibreOffice already open on
  the machine would otherwise swallow the request and exit 0 without writing anything.
- One conversion at a time per profile, under an advisory lock (two processes sharing a profile
  corrupt it or hand their work to each other).
- Many documents per start: LibreOffice's start-up costs far more than one page's conversion.
- A hard time limit that kills the whole process group (soffice is a script that starts
  soffice.bin; killing only the script leaves the real worker running).
- "Exit 0 but no PDF", an empty file or a file that is not a PDF are failures.
- Documents that failed in a batch are tried once more each on their own, with a fresh profile
  after a crash or a time-out, so one bad document or a damaged profile costs only itself.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

NOT_INSTALLED = "LibreOffice is not installed"


@dataclass(frozen=True)
class Attempt:
    """What one soffice start did: the PDFs it made (by input index) and, if it failed, why."""

    made: dict[int, Path]
    problem: str | None = None
    crashed: bool = False  # a time-out or a non-zero exit: the profile may be damaged


class LibreOffice:
    def __init__(
        self,
        executable: str,
        profile: Path,
        timeout_seconds: float,
        retries: int = 1,
        batch_size: int = 25,
    ) -> None:
        self.executable = executable
        self.profile = profile
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.batch_size = batch_size

    # -- finding it -------------------------------------------------------------------------

    def find(self) -> str | None:
        """The full path of soffice, or None when it is not installed."""
        return shutil.which(self.executable)

    def missing_reason(self) -> str:
        return f"{NOT_INSTALLED} (no '{self.executable}' program found)"

    def version(self) -> str:
        """ "LibreOffice 7.4.7.2 …", from `soffice --version` (which starts no office)."""
        program = self.find()
        if program is None:
            raise FileNotFoundError(self.missing_reason())
        done = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        lines = (done.stdout or done.stderr).strip().splitlines()
        return lines[0] if lines else f"unknown version (exit code {done.returncode})"

    # -- converting -------------------------------------------------------------------------

    def convert(self, documents: Sequence[Path]) -> dict[Path, Path | str]:
        """Convert each document to a PDF beside it (same name, .pdf): document -> the PDF, or
        the reason it could not be made (plain words). Never raises for a conversion failure."""
        program = self.find()
        if program is None:
            return {doc: self.missing_reason() for doc in documents}
        results: dict[Path, Path | str] = {}
        with self._locked():
            for start in range(0, len(documents), self.batch_size):
                batch = list(documents[start : start + self.batch_size])
                results.update(self._convert_batch(program, batch))
        return results

    def _convert_batch(self, program: str, batch: list[Path]) -> dict[Path, Path | str]:
        results: dict[Path, Path | str] = {}
        attempt = self._run(program, batch)
        for index, doc in enumerate(batch):
            if index in attempt.made:
                results[doc] = attempt.made[index]
        failed = [doc for doc in batch if doc not in results]
        problem, crashed = attempt.problem, attempt.crashed
        for doc in failed:
            for _ in range(self.retries):
                if crashed:
                    self._reset_profile()
                single = self._run(program, [doc])
                if 0 in single.made:
                    results[doc] = single.made[0]
                    break
                problem, crashed = single.problem, single.crashed
            if doc not in results:
                results[doc] = problem or "LibreOffice made no PDF"
        return results

    def _run(self, program: str, documents: list[Path]) -> Attempt:
        """One soffice start on copies of the documents named 0.docx, 1.docx…: a partner's
        title never reaches a command line, and two documents with one name cannot collide."""
        limit = self.timeout_seconds * len(documents)
        with tempfile.TemporaryDirectory(prefix="cluster-sync-pdf-") as scratch:
            work = Path(scratch)
            inputs = []
            for index, doc in enumerate(documents):
                copy = work / "in" / f"{index}{doc.suffix or '.docx'}"
                copy.parent.mkdir(exist_ok=True)
                shutil.copyfile(doc, copy)
                inputs.append(copy)
            produced = work / "out"
            command = [
                program,
                f"-env:UserInstallation={self.profile.resolve().as_uri()}",
                "--headless",
                "--invisible",
                "--norestore",
                "--nologo",
                "--nolockcheck",
                "--nodefault",
                "--convert-to",
                "pdf",
                "--outdir",
                str(produced),
                *map(str, inputs),
            ]
            code, output = _run_killable(command, limit, cwd=work)
            made: dict[int, Path] = {}
            damaged = False
            for index, doc in enumerate(documents):
                pdf = produced / f"{index}.pdf"
                if not pdf.is_file():
                    continue
                if not looks_like_pdf(pdf):
                    damaged = True
                    continue
                target = doc.with_suffix(".pdf")
                _move_into_place(pdf, target)
                made[index] = target
        if len(made) == len(documents):
            return Attempt(made)
        if code is None:
            return Attempt(made, f"LibreOffice did not finish within {limit:g} seconds", True)
        if code != 0:
            detail = f": {output}" if output else ""
            return Attempt(made, f"LibreOffice failed (exit code {code}){detail}", True)
        if damaged:
            return Attempt(made, "LibreOffice wrote an empty or damaged PDF")
        detail = f" ({output})" if output else ""
        return Attempt(made, f"LibreOffice finished but wrote no PDF{detail}")

    # -- the profile and its lock -----------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One conversion at a time per profile, across processes (a `report` started while
        the nightly sync converts waits for it, up to the time limit of a batch)."""
        lock = self.profile.with_name(self.profile.name + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout_seconds * self.batch_size
        with lock.open("a") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"another conversion kept the LibreOffice profile {self.profile} busy"
                        ) from None
                    time.sleep(0.5)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _reset_profile(self) -> None:
        """A crash can leave the profile damaged; LibreOffice makes a new one on its next start."""
        shutil.rmtree(self.profile, ignore_errors=True)


def looks_like_pdf(path: Path) -> bool:
    """A PDF starts with `%PDF-` and ends with `%%EOF` (a truncated file does not)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(5)
            handle.seek(max(0, size - 1024))
            tail = handle.read()
    except OSError:
        return False
    return size > 0 and head == b"%PDF-" and b"%%EOF" in tail


def _move_into_place(source: Path, target: Path) -> None:
    """Copy beside the target, then rename over it: a reader never sees half a PDF."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run_killable(command: list[str], limit: float, cwd: Path) -> tuple[int | None, str]:
    """Run in a new process group; past the limit kill the whole group. (exit code or None
    on a time-out, the last line of its output)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=limit)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        output, _ = process.communicate()
        code = None
    _kill_group(process.pid)  # a worker left behind by a script that exited
    return code, _last_line(output)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _last_line(output: bytes | None) -> str:
    lines = [
        line
        for line in (output or b"").decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith(("convert ", "Warning: failed to launch javaldx"))
    ]
    return lines[-1].strip()[:200] if lines else ""
