"""Helpers for the publishing tests: a small export of responses, a configuration with a
[publish] section, and one real sync over them."""

from __future__ import annotations

import csv
import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from google_fixtures import HEADERS, Sleeps, answer_row

from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.mailers import open_mailer
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.sources import open_source
from cluster_sync.state import State
from cluster_sync.summary import RunSummary

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
FOLDER = "1FactsheetsFolder0123456789abcdef"
#: how the sheet shows a first factsheet whose email the outbox backend saved
SAVED_V1 = "OK: factsheet v1 made; its email to 1 person was saved to the outbox"


def write_responses(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows([HEADERS, *rows])


def responses(project: Path, count: int, **changes: str) -> Path:
    """`count` valid responses in project/responses.csv (the first one with `changes`)."""
    rows = [answer_row(n, **(changes if n == 1 else {})) for n in range(1, count + 1)]
    path = project / "responses.csv"
    write_responses(path, rows)
    return path


def sheet(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: v or "" for k, v in r.items()} for r in csv.DictReader(handle)]


def edit_answer(path: Path, title: str, header: str, value: str) -> None:
    """A partner edits one answer of the response titled `title`."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    col, title_col = grid[0].index(header), grid[0].index("Cluster title")
    for line in grid[1:]:
        if line[title_col] == title:
            line[col] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(grid)


def drive_section(base_url: str, folder: str = FOLDER, **settings: str) -> str:
    attach = settings.pop("attach", "true")
    lines = [
        "[publish]",
        'target = "drive"',
        f"attach = {attach}",
        "",
        "[publish.drive]",
        f'folder = "https://drive.google.com/drive/folders/{folder}?usp=sharing"',
        'credentials = "none"',
        f'api_base_url = "{base_url}"',
        f"retries = {settings.pop('retries', '3')}",
        f"timeout_seconds = {settings.pop('timeout_seconds', '5')}",
    ]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n" + "\n".join(lines) + "\n"


def run_sync(config: Config, sleeps: Sleeps | None = None, now: datetime = NOW) -> RunSummary:
    state = State(config.path(config.state.database))
    try:
        mailer = open_mailer(config)
        sync = Sync(
            config,
            state,
            open_source(config),
            mailer,
            now=now,
            sleep=Sleeps() if sleeps is None else sleeps,
        )
        return sync.run()
    finally:
        state.close()


def emails(config: Config) -> list[EmailMessage]:
    folder = outbox_folder(config)
    found = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in found
    ]


def factsheet_emails(config: Config) -> list[EmailMessage]:
    return [m for m in emails(config) if "actsheet" in str(m["Subject"])]


MakeConfig = Callable[..., Config]
