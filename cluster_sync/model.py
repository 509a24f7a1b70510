"""Typed registrations: what a valid form response becomes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from cluster_sync.messages import Message


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Participant:
    name: str
    email: str
    organisation: str
    country: str


@dataclass(frozen=True)
class RoadmapItem:
    date: date
    activity: str


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a response, in the words of the form."""

    question: str
    #: in English: what the state, the sheet and the digest keep
    message: str
    #: the same in words any language can give (cluster_sync/messages.py), for the partner
    text: Message | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Registration:
    title: str
    acronym: str
    question: str
    objectives: tuple[str, ...]
    working_groups: tuple[str, ...]
    cluster_type: str
    lead_organisation: str
    lead_country: str
    lead_role: str
    contact_person: str
    contact_email: Address
    participant_categories: tuple[str, ...]
    thematic_projects: tuple[str, ...]
    participants: tuple[Participant, ...]
    results: str
    transfer_levels: tuple[str, ...]
    outcomes: tuple[str, ...]
    start_date: date
    end_date: date
    roadmap: tuple[RoadmapItem, ...]
    expertise: str
    consent: bool
    respondent_email: Address | None = None
    submitted_at: datetime | None = field(default=None, compare=False)
    #: the "Preferred language" answer as written; how emails speak to these people, not
    #: part of the factsheet (so never a new version)
    language: str = field(default="", compare=False)

    def content_hash(self) -> str:
        """Fingerprint of what the partner wrote; the submission time is not part of it, so a
        response re-saved without changes is not a new version."""
        data = self.as_data()
        data.pop("submitted_at")
        data.pop("language")
        blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def short_name(self) -> str:
        return self.acronym or self.title

    def recipients(self) -> list[Address]:
        """The contact first, then every participant, each address once."""
        seen: set[str] = set()
        result: list[Address] = []
        # The contact person's name shows in To: when the address was typed without one.
        contact = Address(self.contact_email.email, self.contact_email.name or self.contact_person)
        people = [contact, *(Address(p.email, p.name) for p in self.participants)]
        for person in people:
            # an erased person's address is blank: nobody to write to
            if person.email and person.email.casefold() not in seen:
                seen.add(person.email.casefold())
                result.append(person)
        return result

    def as_data(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives (tests/test_model.py compares them), without its
        deep copy of every value: the fields are immutable, and asdict was a tenth of a first
        sync's time."""
        data = _fields_of(self)
        data["contact_email"] = _fields_of(self.contact_email)
        if self.respondent_email is not None:
            data["respondent_email"] = _fields_of(self.respondent_email)
        data["participants"] = tuple(_fields_of(p) for p in self.participants)
        data["roadmap"] = tuple(_fields_of(item) for item in self.roadmap)
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_data(), default=str, ensure_ascii=False)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Registration:
        """A registration again from what to_json() stored (the state's `data`)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for key, value in values.items():
            if isinstance(value, list):
                values[key] = tuple(value)
        values["participants"] = tuple(Participant(**p) for p in data["participants"])
        values["roadmap"] = tuple(
            RoadmapItem(date.fromisoformat(i["date"]), i["activity"]) for i in data["roadmap"]
        )
        values["contact_email"] = Address(**data["contact_email"])
        respondent = data.get("respondent_email")
        values["respondent_email"] = Address(**respondent) if respondent else None
        values["start_date"] = date.fromisoformat(data["start_date"])
        values["end_date"] = date.fromisoformat(data["end_date"])
        submitted = data.get("submitted_at")
        values["submitted_at"] = datetime.fromisoformat(submitted) if submitted else None
        return cls(**values)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _fields_of(record: Any) -> dict[str, Any]:
    """A dataclass's fields by name, in order, values as they are."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: getattr(record, name) for name in names}
