"""`cluster-sync init DIR`: a deployment folder the secretariat owns, from the package's data.

Everything comes from the installed package (cluster_sync/templates/ and cluster_sync/deploy/),
so an installed cluster-sync needs no git checkout. Nothing is ever written over: when any file
it would write exists already, nothing at all is written and the existing files are named.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from cluster_sync.errors import ClusterSyncError, UserError
from cluster_sync.text import counted

#: where each shipped file goes in the deployment folder: (package folder, file, destination)
LAYOUT: tuple[tuple[str, str, str], ...] = (
    ("deploy", "cluster-sync.toml", "config/cluster-sync.toml"),
    ("deploy", "example.toml", "config/example.toml"),
    ("deploy", "env", "config/env"),
    ("deploy", "cluster-sync.service", "schedule/cluster-sync.service"),
    ("deploy", "cluster-sync.timer", "schedule/cluster-sync.timer"),
    ("deploy", "crontab", "schedule/crontab"),
    ("deploy", "form.md", "form.md"),
    ("deploy", "responses.csv", "example/responses.csv"),
    ("templates", "factsheet.docx", "templates/factsheet.docx"),
    ("templates", "cop-report.docx", "templates/cop-report.docx"),
)
#: files whose @DIR@, @CLUSTER_SYNC@ and @USER@ are filled in for this machine
FILLED = {"cluster-sync.service", "crontab"}
#: readable by the owner only: it holds the secrets
PRIVATE = {"config/env"}


@dataclass(frozen=True)
class Planned:
    source: Traversable
    destination: Path
    fill: bool = False
    private: bool = False


def packaged(folder: str) -> Traversable:
    """A folder of the package's data (templates, deploy)."""
    return resources.files("cluster_sync") / folder


def plan(folder: Path) -> list[Planned]:
    """Every file `init` writes, the email templates included whatever their number (and
    each language's folder)."""
    planned = [
        Planned(
            packaged(package) / name,
            folder / destination,
            fill=name in FILLED,
            private=destination in PRIVATE,
        )
        for package, name, destination in LAYOUT
    ]
    planned += _email_files(packaged("templates") / "email", folder / "templates" / "email")
    return planned


def _email_files(source: Traversable, destination: Path) -> list[Planned]:
    found = []
    for item in sorted(source.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            found += _email_files(item, destination / item.name)
        elif item.name.endswith((".j2", ".toml")):
            found.append(Planned(item, destination / item.name))
    return found


def executable() -> str:
    """How the schedule starts this cluster-sync: its own script, else this Python."""
    script = Path(sys.executable).parent / "cluster-sync"
    if script.is_file():
        return str(script)
    found = shutil.which("cluster-sync")
    return found or f"{sys.executable} -m cluster_sync"


def init(folder: Path) -> list[Path]:
    """Write the deployment folder; refuse, writing nothing, when any of its files exists."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise ClusterSyncError(
            f"{folder} is a file, not a folder.", hint="give a new or empty folder to init."
        )
    planned = plan(folder)
    taken = [str(p.destination.relative_to(folder)) for p in planned if p.destination.exists()]
    if taken:
        raise UserError(
            f"Nothing was written: {folder} already holds {counted(len(taken), 'file')} "
            "that init would write:",
            taken,
            hint="init never writes over a file; give a new folder, or move those files away.",
        )
    values = {"@DIR@": str(folder), "@CLUSTER_SYNC@": executable(), "@USER@": getpass.getuser()}
    for item in planned:
        _write(item, values)
    return [p.destination for p in planned]


def filled(text: str, values: dict[str, str]) -> str:
    """A schedule file with this machine's @DIR@, @CLUSTER_SYNC@ and @USER@ written in."""
    for token, value in values.items():
        text = text.replace(token, value)
    return text


def _write(item: Planned, values: dict[str, str]) -> None:
    item.destination.parent.mkdir(parents=True, exist_ok=True)
    data = item.source.read_bytes()
    if item.fill:
        data = filled(data.decode("utf-8"), values).encode("utf-8")
    # O_EXCL: never over a file that appeared since the plan was checked; the secrets file
    # is private from its first byte
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with os.fdopen(os.open(item.destination, flags, 0o600 if item.private else 0o644), "wb") as out:
        out.write(data)
