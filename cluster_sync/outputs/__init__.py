"""Output formats: one module per format behind the `OutputFormat` protocol, in a registry keyed
by the name the configuration uses (`[output] formats = ["docx", "pdf"]`).

The Word document is always rendered first (the secretariat's template is a .docx); every other
format is made from it, a whole run's documents in one batch. A format that cannot be made for a
document says why in plain words (`Made.problem`); the .docx still goes out in its place.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cluster_sync import plugins

if TYPE_CHECKING:
    from cluster_sync.config import Config
    from cluster_sync.render.email import Attachment

log = logging.getLogger(__name__)

#: config name -> "module:class"; a new format is one module and one line here
REGISTRY: dict[str, str] = {
    "docx": "cluster_sync.outputs.docx:DocxFormat",
    "pdf": "cluster_sync.outputs.pdf:PdfFormat",
}
SOURCE = "docx"  # the format every other one is made from


@dataclass(frozen=True)
class Made:
    """One file of one format for one document, or why it could not be made."""

    path: Path | None
    problem: str | None = None


class OutputFormat(Protocol):
    name: str
    label: str  # for people: "PDF", "Word"
    maintype: str
    subtype: str

    def target(self, document: Path) -> Path:
        """Where this format's file for `document` goes."""
        ...

    def make(self, documents: Sequence[Path]) -> dict[Path, Made]:
        """Make this format's file for every document, at once; never raises for one
        document's failure (its `Made.problem` says why)."""
        ...

    def check(self) -> str:
        """Whether this format can be made here, in a sentence; raises ClusterSyncError with
        what to do when it cannot."""
        ...


def open_format(name: str, config: Config) -> OutputFormat:
    made: OutputFormat = plugins.load(REGISTRY, name).from_config(config)
    return made


def formats(config: Config) -> list[OutputFormat]:
    return [open_format(name, config) for name in config.output.formats]


def make_outputs(
    config: Config, documents: Sequence[Path], fresh: Sequence[Path] = ()
) -> dict[Path, dict[str, Made]]:
    """document -> format name -> Made, for every configured format. A file that already
    exists and is newer than its document is reused, unless the document is in `fresh`
    (rendered again this run)."""
    result: dict[Path, dict[str, Made]] = {doc: {} for doc in documents}
    renewed = set(fresh)
    for fmt in formats(config):
        todo = []
        for doc in documents:
            target = fmt.target(doc)
            if doc not in renewed and _up_to_date(target, doc):
                result[doc][fmt.name] = Made(target)
            else:
                todo.append(doc)
        if not todo:
            continue
        log.info("making %d %s file(s)", len(todo), fmt.label)
        try:
            made = fmt.make(todo)
        except Exception as exc:  # a format's own bug must not hold back the .docx and the email
            log.exception("%s files could not be made", fmt.label)
            made = {doc: Made(None, f"unexpected error ({type(exc).__name__})") for doc in todo}
        for doc in todo:
            result[doc][fmt.name] = made.get(doc, Made(None, "nothing was made"))
    return result


def _up_to_date(target: Path, document: Path) -> bool:
    try:
        return target.stat().st_mtime >= document.stat().st_mtime
    except OSError:
        return False


def problems(config: Config, files: dict[str, Made]) -> list[str]:
    """ "PDF could not be made: LibreOffice is not installed", one per failed format."""
    return [
        f"{_label(name, config)} could not be made: {made.problem}"
        for name, made in files.items()
        if made.problem
    ]


def _label(name: str, config: Config) -> str:
    # a format recorded in the state by an older version may no longer be registered
    return open_format(name, config).label if name in REGISTRY else name.upper()


def attachments(config: Config, document: Path, files: dict[str, Made]) -> list[Attachment]:
    """What an email attaches, as `[mail] attach` says; the .docx when none of those exist."""
    from cluster_sync.render.email import Attachment

    chosen: list[Attachment] = []
    for name in config.mail.attach:
        made = files.get(name) if name != SOURCE else Made(document)
        if made is None or made.path is None or not made.path.is_file():
            continue
        fmt = open_format(name, config)
        chosen.append(Attachment(made.path.name, made.path.read_bytes(), fmt.maintype, fmt.subtype))
    if not chosen:  # the fallback: the Word file always exists
        chosen.append(Attachment(document.name, document.read_bytes()))
    return chosen


def files_note(config: Config, files: dict[str, Made]) -> str:
    """What a status line or the digest adds when a format was not made: "PDF could not be
    made: LibreOffice is not installed. The email carries the Word file instead." """
    texts = problems(config, files)
    if not texts:
        return ""
    wanted = [n for n in config.mail.attach if n != SOURCE]
    instead = (
        SOURCE not in config.mail.attach
        and bool(wanted)
        and all(n in files and files[n].problem for n in wanted)
    )
    return ". ".join(texts) + "." + (" The email carries the Word file instead." if instead else "")


def recorded(files: dict[str, tuple[str | None, str | None]]) -> dict[str, Made]:
    """State's record (format -> path, problem) as Made values."""
    return {name: Made(Path(p) if p else None, why) for name, (p, why) in files.items()}
