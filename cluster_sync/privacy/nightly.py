"""What the nightly sync (engine.Sync) does for people's choices: consent withdrawn, and people
erased on request whom the sheet's old responses still name (docs/privacy.md)."""

from __future__ import annotations

import json
from dataclasses import replace

from cluster_sync import form
from cluster_sync.mailqueue import withhold_factsheets
from cluster_sync.model import Registration
from cluster_sync.privacy.suppress import Suppressed, names_suppressed, suppress_data
from cluster_sync.publish.service import mark_withdrawn
from cluster_sync.sources.base import SourceRow
from cluster_sync.state import State
from cluster_sync.unchanged import Quiet
from cluster_sync.validate import Outcome


def consent_missing(outcome: Outcome) -> bool:
    """The response does not give the consent the form asks for (blank or another answer)."""
    question = form.FIELDS_BY_KEY["consent"].header
    return any(p.question == question for p in outcome.problems)


def withdraw_consent(state: State, cluster_id: str) -> None:
    """Consent not (or no longer) given: what is published of the cluster is withdrawn by
    the publishing pass, and a factsheet email still waiting in the queue is not sent."""
    mark_withdrawn(state, cluster_id, "consent")
    withhold_factsheets(state, cluster_id, "not sent: consent to publish was withdrawn")


def erased_apart(
    quiet: list[Quiet], rest: list[SourceRow], suppressed: Suppressed | None
) -> tuple[list[Quiet], list[SourceRow]]:
    """A row naming someone erased on request is never skipped as unchanged: it is read
    each run, so the erased person stays out and its status keeps saying the sheet must
    be edited."""
    if suppressed is None:
        return quiet, rest
    named = [q for q in quiet if names_suppressed(q.row.values, suppressed)]
    if not named:
        return quiet, rest
    return [q for q in quiet if q not in named], rest + [q.row for q in named]


def without_erased(outcome: Outcome, suppressed: Suppressed | None) -> tuple[Outcome, int]:
    """People who asked to be forgotten are left out of what the sync keeps, even though
    the old response in the sheet still names them: (the outcome without them, how many
    mentions went; 0 when the row names nobody erased)."""
    if suppressed is None or outcome.registration is None:
        return outcome, 0
    data = json.loads(outcome.registration.to_json())
    cleaned, removed = suppress_data(data, suppressed)
    if cleaned == data:
        return outcome, 0
    return replace(outcome, registration=Registration.from_data(cleaned)), max(removed, 1)
