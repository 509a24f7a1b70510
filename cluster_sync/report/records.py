"""The reports' repository: every read and write of the `reports` table (one row per period,
`2026-01-01:2026-01-31`: the path of its .docx, when it was made, the Message-ID it was sent
with). The report service (cluster_sync/report/service.py) and the erasure of a person
(cluster_sync/privacy/forget.py) go through it; the state only creates the table.
"""

from __future__ import annotations

from pathlib import Path

from cluster_sync.report.gather import Period
from cluster_sync.state import State, now_utc


def recorded_path(state: State, period: Period) -> Path | None:
    """The .docx last made for the period, if one was."""
    row = state.db.execute("SELECT path FROM reports WHERE period = ?", (period.key,)).fetchone()
    return Path(row[0]) if row else None


def record_made(state: State, period: Period, docx: Path) -> None:
    """The period's report was (made again) at `docx`: its Message-ID, if sent, stays."""
    state.db.execute(
        "INSERT INTO reports (period, path, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (period) DO UPDATE SET path = excluded.path, created_at = excluded.created_at",
        (period.key, str(docx), now_utc()),
    )


def sent_message(state: State, period: Period) -> str | None:
    """The Message-ID recorded for the period's report when it was queued."""
    row = state.db.execute(
        "SELECT sent_message FROM reports WHERE period = ?", (period.key,)
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def record_sent(state: State, period: Period, message_id: str) -> None:
    state.db.execute(
        "UPDATE reports SET sent_message = ? WHERE period = ?", (message_id, period.key)
    )


def made_reports(state: State) -> list[tuple[Period, Path]]:
    """Every recorded report: its period and its .docx."""
    rows = state.db.execute("SELECT period, path FROM reports ORDER BY period").fetchall()
    return [(Period.from_key(str(key)), Path(path)) for key, path in rows]
