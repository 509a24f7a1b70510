"""Registration.to_json and content_hash are what dataclasses.asdict made of them, to the byte:
the state keeps both, and a changed hash would make every registration a new version."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime

from cluster_sync.config import Config
from cluster_sync.model import Address, Participant, Registration, RoadmapItem
from cluster_sync.sources import open_source
from cluster_sync.validate import validate_row

WORDS = ["Ana", "Đurđević", 'Núñez, "M"', "東京", "naïve", "", "a\nb", "ok\\", "😀", "\u200d"]


def old_json(reg: Registration) -> str:
    return json.dumps(asdict(reg), default=str, ensure_ascii=False)


def old_hash(reg: Registration) -> str:
    data = asdict(reg)
    data.pop("submitted_at")
    data.pop("language")
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 4)))


def _texts(rng: random.Random) -> tuple[str, ...]:
    return tuple(_text(rng) for _ in range(rng.randrange(0, 4)))


def generated(rng: random.Random) -> Registration:
    people = tuple(
        Participant(_text(rng), f"p{i}@example.org", _text(rng), _text(rng))
        for i in range(rng.randrange(0, 5))
    )
    roadmap = tuple(
        RoadmapItem(date(2025, rng.randrange(1, 13), 1), _text(rng))
        for _ in range(rng.randrange(0, 4))
    )
    stamp = rng.choice([None, datetime(2025, 3, 1, 9, 30), datetime(2025, 3, 1, tzinfo=UTC)])
    return Registration(
        title=_text(rng), acronym=_text(rng), question=_text(rng), objectives=_texts(rng),
        working_groups=_texts(rng), cluster_type=_text(rng), lead_organisation=_text(rng),
        lead_country=_text(rng), lead_role=_text(rng), contact_person=_text(rng),
        contact_email=Address("c@example.org", _text(rng)),
        participant_categories=_texts(rng), thematic_projects=_texts(rng), participants=people,
        results=_text(rng), transfer_levels=_texts(rng), outcomes=_texts(rng),
        start_date=date(2025, 1, 1), end_date=date(2026, 12, 31), roadmap=roadmap,
        expertise=_text(rng), consent=rng.random() < 0.5,
        respondent_email=rng.choice([None, Address("r@example.org"), Address("r@x.org", "R")]),
        submitted_at=stamp, language=rng.choice(["", "fr", "Deutsch"]),
    )  # fmt: skip


def test_generated_registrations_serialise_as_asdict_did() -> None:
    rng = random.Random(7)
    for _ in range(300):
        reg = generated(rng)
        assert reg.to_json() == old_json(reg)
        assert reg.content_hash() == old_hash(reg)


def test_the_example_rows_serialise_as_asdict_did(make_config: Callable[..., Config]) -> None:
    rows = open_source(make_config()).read().rows
    regs = [validate_row(row.values).registration for row in rows]
    valid = [r for r in regs if r is not None]
    assert len(valid) > 3
    for reg in valid:
        assert reg.to_json() == old_json(reg)
        assert reg.content_hash() == old_hash(reg)
        assert Registration.from_data(json.loads(reg.to_json())) == reg
