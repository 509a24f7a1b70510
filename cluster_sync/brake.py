"""The brake on mass changes: a run that would suddenly find many good registrations broken.

When a large share of the registrations that were valid become invalid in one run, the cause is
almost always on our side of the form (a column renamed or emptied, a changed export, a wrong
setting), not dozens of partners breaking their answers overnight. Mailing each of them a
correction would be wrong and cannot be taken back. So those rows are held back (no email, no
status, nothing stored or rendered for them), the secretariat is told why, and the run exits 6
until a person confirms with `sync --accept-mass-change`. The decision is taken before any row
is handled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cluster_sync import text
from cluster_sync.config import SafetyConfig
from cluster_sync.identity import Identified
from cluster_sync.state import State

ACCEPT_OPTION = "--accept-mass-change"


@dataclass(frozen=True)
class MassChange:
    newly_invalid: int  # rows that were valid and now are not
    valid_before: int
    #: every row that would be told of new problems this run: held back alike
    held: tuple[Identified, ...]
    limit: SafetyConfig

    @property
    def rows(self) -> set[int]:
        return {item.row.row_number for item in self.held}

    @property
    def key(self) -> str:
        """Stable for the same situation, so the secretariat is told once per change."""
        parts = sorted(f"{i.cluster_id}:{[str(p) for p in i.outcome.problems]}" for i in self.held)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def headline(self) -> str:
        return (
            f"{self.newly_invalid} of {self.valid_before} registrations that were valid would "
            f"now be invalid (more than {self.limit.max_newly_invalid_share:.0%}); "
            f"{len(self.held)} row(s) with new problems were held back: no correction email, "
            "no status, nothing rendered or recorded for them"
        )

    def what_to_do(self) -> str:
        return (
            "check the sheet's columns and the configuration first (a renamed, emptied or "
            "duplicated column makes every row look broken). If the problems are real, run "
            f"`cluster-sync sync {ACCEPT_OPTION}` once to tell the submitters."
        )

    def lines(self, limit: int = 20) -> list[str]:
        """One line per held row (the first `limit`), each with its first problem."""
        out = []
        for item in self.held[:limit]:
            title = text.excerpt(item.row.values.get("title") or "", 60)
            first = text.excerpt(str(item.outcome.problems[0]), 120)
            out.append(f"row {item.row.row_number} {item.cluster_id} “{title}”: {first}")
        if len(self.held) > limit:
            out.append(f"… and {len(self.held) - limit} more")
        return out

    def notice(self) -> tuple[str, str, str]:
        """(subject, plain text, html) of the message to the secretariat."""
        import html

        subject = f"cluster-sync held back {len(self.held)} registrations: please check"
        plain = "\n".join(
            [
                "Hello,",
                "",
                f"tonight's sync stopped short: {self.headline()}.",
                "",
                *(f"  - {line}" for line in self.lines()),
                "",
                f"What to do: {self.what_to_do()}",
                "",
                "Every other registration was handled as usual.",
            ]
        )
        body = "".join(f"<p>{html.escape(p)}</p>" for p in plain.split("\n\n"))
        return subject, plain + "\n", f"<!DOCTYPE html><html><body>{body}</body></html>\n"


def check(
    state: State, identified: Sequence[Identified], limit: SafetyConfig, still_valid: int = 0
) -> MassChange | None:
    """The rows to hold back, or None when the run may go ahead as it is. `still_valid`:
    valid registrations whose rows were left alone as unchanged (cluster_sync/unchanged.py)."""
    valid_before, newly_invalid = still_valid, 0
    held = []
    for item in identified:
        stored = state.registration(item.cluster_id) if item.cluster_id else None
        was_valid = stored is not None and stored.status == "valid"
        valid_before += was_valid
        if item.cluster_id is None or item.outcome.valid:
            continue
        newly_invalid += was_valid
        problems = [str(p) for p in item.outcome.problems]
        if (
            stored is None
            or stored.status != "invalid"
            or sorted(stored.problems) != sorted(problems)
        ):
            held.append(item)  # would be told of problems it was not told of before
    too_many = newly_invalid > limit.max_newly_invalid_share * valid_before
    if newly_invalid >= limit.min_newly_invalid and too_many:
        return MassChange(newly_invalid, valid_before, tuple(held), limit)
    return None
