"""What changed between the version a partner received and the new one: each kind of question
in plain words, and end to end in the update email and the digest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_sync import NOW, edit_cell, outbox, read_eml, row_by_title, sync

from cluster_sync.changes import describe_changes
from cluster_sync.config import Config
from cluster_sync.sample import sample_registration


def stored(**changes: Any) -> dict[str, Any]:
    """A registration as the state stores it, with some answers replaced."""
    data: dict[str, Any] = json.loads(sample_registration().to_json())
    data.update(changes)
    return data


BEFORE = stored(
    title="Dune restoration",
    working_groups=["WG1 Connectivity of ecosystems"],
    objectives=["Map the dunes", "Train rangers"],
    start_date="2025-03-01",
    end_date="2025-06-30",
    participants=[
        {
            "name": "Luka Horvat",
            "email": "luka@example.org",
            "organisation": "JU Priroda",
            "country": "Croatia",
        },
    ],
    roadmap=[
        {"date": "2025-03-15", "activity": "Kick-off webinar"},
        {"date": "2025-05-20", "activity": "Field visit"},
    ],
)


def test_nothing_changed_says_nothing() -> None:
    assert describe_changes(BEFORE, dict(BEFORE)) == []


def test_text_answers_old_and_new() -> None:
    after = {**BEFORE, "title": "Coastal dune restoration"}
    assert describe_changes(BEFORE, after) == [
        "Cluster title: “Dune restoration” → “Coastal dune restoration”"
    ]


def test_a_long_text_is_said_changed_not_quoted() -> None:
    after = {**BEFORE, "question": "Why? " * 40}
    assert describe_changes(BEFORE, after) == ["Question or need addressed: changed"]


def test_dates_in_words() -> None:
    after = {**BEFORE, "end_date": "2025-09-30"}
    assert describe_changes(BEFORE, after) == ["End date: 30 June 2025 → 30 September 2025"]


def test_lists_added_and_removed_items() -> None:
    after = {
        **BEFORE,
        "working_groups": [
            "WG2 Climate change mitigation and adaptation",
            "WG1 Connectivity of ecosystems",
        ],
        "objectives": ["Map the dunes", "Publish a guide"],
    }
    assert describe_changes(BEFORE, after) == [
        "Objectives: added “Publish a guide”; removed “Train rangers”",
        "Working groups: added WG2 Climate change mitigation and adaptation",
    ]


def test_a_reordered_list_is_said_so() -> None:
    after = {**BEFORE, "objectives": ["Train rangers", "Map the dunes"]}
    assert describe_changes(BEFORE, after) == ["Objectives: same items, new order"]


def test_participants_added_removed_and_changed_by_address() -> None:
    ana = {
        "name": "Ana Marić",
        "email": "ana@example.org",
        "organisation": "Zagreb",
        "country": "Croatia",
    }
    luka_moved = {**BEFORE["participants"][0], "organisation": "WWF Adria"}
    after = {**BEFORE, "participants": [luka_moved, ana]}
    assert describe_changes(BEFORE, after) == [
        "Participants: added Ana Marić (Zagreb, Croatia); changed Luka Horvat (JU Priroda, "
        "Croatia) now Luka Horvat (WWF Adria, Croatia)"
    ]
    assert describe_changes(after, {**BEFORE, "participants": []}) == [
        "Participants: removed Luka Horvat (WWF Adria, Croatia), Ana Marić (Zagreb, Croatia)"
    ]


def test_roadmap_lines_added_removed_and_moved() -> None:
    after = {
        **BEFORE,
        "roadmap": [
            {"date": "2025-03-15", "activity": "Kick-off webinar"},
            {"date": "2025-06-10", "activity": "Field visit"},
            {"date": "2025-07-01", "activity": "Final report"},
        ],
    }
    assert describe_changes(BEFORE, after) == [
        "Roadmap: added 1 July 2025 – Final report; “Field visit” moved from 20 May 2025 "
        "to 10 June 2025"
    ]
    shorter = {**BEFORE, "roadmap": BEFORE["roadmap"][:1]}
    assert describe_changes(BEFORE, shorter) == ["Roadmap: removed 20 May 2025 – Field visit"]


def test_an_address_shows_both() -> None:
    after = {**BEFORE, "contact_email": {"email": "new@example.org", "name": "Ana"}}
    (line,) = describe_changes(BEFORE, after)
    assert line.startswith("Contact email: ") and line.endswith("→ Ana <new@example.org>")


# -- end to end ---------------------------------------------------------------------------


def _update_and_digest(config: Config) -> tuple[str, str, str]:
    update = next(read_eml(p) for p in outbox(config) if "factsheet-update" in p.name)
    digest = read_eml(sorted(p for p in outbox(config) if "-digest-" in p.name)[-1])
    return (
        update.get_body(("plain",)).get_content(),
        update.get_body(("html",)).get_content(),
        digest.get_body(("plain",)).get_content(),
    )


def test_the_update_email_and_the_digest_list_exactly_what_changed(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    csv_path = project / "responses.csv"
    row = row_by_title(csv_path, "Governance toolkit")
    edit_cell(csv_path, row["Cluster ID"], "End date", "30/09/2025")
    edit_cell(
        csv_path,
        row["Cluster ID"],
        "Participants",
        row["Participants"] + "\nAna Marić; ana.maric@example.org; Zagreb; Croatia",
    )
    sync(config, NOW.replace(day=26))
    plain, html, digest = _update_and_digest(config)
    expected = [
        "Participants: added Ana Marić (Zagreb, Croatia)",
        "End date: 30 June 2025 → 30 September 2025",
    ]
    listed = [line.strip()[2:] for line in plain.splitlines() if line.startswith("  - ")]
    assert listed == expected
    for line in expected:
        assert line in digest and line in html
    assert digest.count("→") == 1  # nothing else is said to have changed


def test_changes_are_counted_from_the_version_last_emailed(
    make_config: Callable[..., Config], project: Path
) -> None:
    """Held for approval, v2 and v3 are never sent; once approved, the email lists the changes
    since v1, the version its people actually have."""
    config = make_config()
    sync(config)
    csv_path = project / "responses.csv"
    row = row_by_title(csv_path, "Governance toolkit")
    edit_cell(csv_path, row["Cluster ID"], "Approved", "")
    held = make_config(approval=True)
    edit_cell(csv_path, row["Cluster ID"], "End date", "30/09/2025")
    sync(held, NOW.replace(day=26))
    edit_cell(csv_path, row["Cluster ID"], "Acronym", "GOV-N2K-2")
    sync(held, NOW.replace(day=27))
    assert not [p for p in outbox(held) if "factsheet-update" in p.name]
    edit_cell(csv_path, row["Cluster ID"], "Approved", "TRUE")
    sync(held, NOW.replace(day=28))
    plain, _, _ = _update_and_digest(held)
    listed = [line.strip()[2:] for line in plain.splitlines() if line.startswith("  - ")]
    assert listed == [
        "Acronym: “GOV-N2K” → “GOV-N2K-2”",
        "End date: 30 June 2025 → 30 September 2025",
    ]
    assert "Version 3" in plain
