"""What a CoP report is made of, read from the state: the valid registrations of a period and the
registrations that still need fixing, each with its status on the report date.

A cluster belongs to a period when its dates [start, end] overlap the period. Its status is taken
on the report date (`today`), not at the end of the period: planned before its start date,
completed after its end date, active in between (both ends included). A stored registration with
no end date (impossible for a valid one today, but older data or a hand-edited state may lack it)
is read as active with no end date, never as an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cluster_sync import form
from cluster_sync.state import State, StoredRegistration

PLANNED, ACTIVE, COMPLETED = "planned", "active", "completed"
STATUSES = (PLANNED, ACTIVE, COMPLETED)


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    start: date
    end: date

    @property
    def key(self) -> str:
        """`2026-01-01:2026-11-30`: names the period in the reports table and the dedupe key."""
        return f"{self.start.isoformat()}:{self.end.isoformat()}"

    @classmethod
    def from_key(cls, key: str) -> Period:
        """The period `key` names (what `Period.key` wrote)."""
        start, _, end = key.partition(":")
        return cls(date.fromisoformat(start), date.fromisoformat(end))

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def default_period(today: date) -> Period:
    """Without --from/--to: the year so far, 1 January to the report date."""
    return Period(date(today.year, 1, 1), today)


def previous_month(today: date) -> Period:
    """The calendar month before `today`'s month (the scheduled monthly report)."""
    last = today.replace(day=1) - timedelta(days=1)
    return Period(last.replace(day=1), last)


@dataclass(frozen=True)
class Person:
    name: str
    organisation: str
    country: str


@dataclass(frozen=True)
class Activity:
    day: date
    activity: str


@dataclass(frozen=True)
class Cluster:
    """One valid registration as the report sees it (tolerant of older or partial data)."""

    cluster_id: str
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
    participant_categories: tuple[str, ...]
    thematic_projects: tuple[str, ...]
    people: tuple[Person, ...]
    results: str
    transfer_levels: tuple[str, ...]
    outcomes: tuple[str, ...]
    start: date | None
    end: date | None
    roadmap: tuple[Activity, ...]
    consent: bool
    approved: bool
    version: int

    @property
    def short_name(self) -> str:
        return self.acronym or self.title

    def status(self, today: date) -> str:
        return status_on(self.start, self.end, today)

    def overlaps(self, period: Period) -> bool:
        starts_in_time = self.start is None or self.start <= period.end
        return starts_in_time and (self.end is None or self.end >= period.start)

    def next_activity(self, today: date) -> Activity | None:
        """The first roadmap activity on or after `today` (an activity of today is not done)."""
        return next((a for a in self.roadmap if a.day >= today), None)


@dataclass(frozen=True)
class OpenProblem:
    """A registration that needs fixing; `title` is None when it may not be named."""

    cluster_id: str
    title: str | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Gathered:
    period: Period
    today: date
    #: valid registrations whose dates overlap the period, consented or not
    clusters: tuple[Cluster, ...]
    #: every valid registration, for the calendar sections that look forward from today
    all_clusters: tuple[Cluster, ...]
    open_problems: tuple[OpenProblem, ...]
    #: registrations needing fixing that gave no consent: counted, never named
    unnamed_problems: int
    approval_required: bool


def status_on(start: date | None, end: date | None, today: date) -> str:
    if start is not None and start > today:
        return PLANNED
    if end is not None and end < today:
        return COMPLETED
    return ACTIVE


def parse_day(value: object) -> date | None:
    """An ISO date from the stored JSON; None for a missing, empty or unreadable value."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if str(v).strip())
    return ()


def _people(data: Mapping[str, Any]) -> tuple[Person, ...]:
    found = []
    for item in data.get("participants") or ():
        if isinstance(item, Mapping):
            found.append(
                Person(
                    str(item.get("name") or ""),
                    str(item.get("organisation") or ""),
                    str(item.get("country") or ""),
                )
            )
    return tuple(found)


def _roadmap(data: Mapping[str, Any]) -> tuple[Activity, ...]:
    items = []
    for item in data.get("roadmap") or ():
        day = parse_day(item.get("date")) if isinstance(item, Mapping) else None
        if day is not None:
            items.append(Activity(day, str(item.get("activity") or "")))
    return tuple(sorted(items, key=lambda a: a.day))


def cluster_from(stored: StoredRegistration) -> Cluster:
    """The report's view of a stored registration's last valid data."""
    data: Mapping[str, Any] = stored.data or {}

    def text(key: str) -> str:
        return str(data.get(key) or "")

    return Cluster(
        cluster_id=stored.cluster_id,
        title=text("title") or stored.title,
        acronym=text("acronym"),
        question=text("question"),
        objectives=_texts(data.get("objectives")),
        working_groups=_texts(data.get("working_groups")),
        cluster_type=text("cluster_type"),
        lead_organisation=text("lead_organisation"),
        lead_country=text("lead_country"),
        lead_role=text("lead_role"),
        contact_person=text("contact_person"),
        participant_categories=_texts(data.get("participant_categories")),
        thematic_projects=_texts(data.get("thematic_projects")),
        people=_people(data),
        results=text("results"),
        transfer_levels=_texts(data.get("transfer_levels")),
        outcomes=_texts(data.get("outcomes")),
        start=parse_day(data.get("start_date")),
        end=parse_day(data.get("end_date")),
        roadmap=_roadmap(data),
        consent=data.get("consent") is True,
        approved=stored.approved,
        version=stored.version,
    )


def _refuses_consent(stored: StoredRegistration) -> bool:
    """Whether a registration that needs fixing may not be named. The validator lists every
    problem of a response at once, so a response whose problems do not mention the consent
    question did tick the consent box; a last valid version without consent also counts."""
    header = form.FIELDS_BY_KEY["consent"].header
    if any(p.startswith(header) for p in stored.problems):
        return True
    return stored.data is not None and stored.data.get("consent") is not True


def gather(state: State, period: Period, today: date, approval_required: bool) -> Gathered:
    stored = state.registrations()
    valid = tuple(cluster_from(r) for r in stored if r.status == "valid")
    invalid = [r for r in stored if r.status == "invalid"]
    named = tuple(
        OpenProblem(r.cluster_id, r.title, tuple(r.problems))
        for r in invalid
        if not _refuses_consent(r)
    )
    return Gathered(
        period=period,
        today=today,
        clusters=tuple(c for c in valid if c.overlaps(period)),
        all_clusters=valid,
        open_problems=named,
        unnamed_problems=len(invalid) - len(named),
        approval_required=approval_required,
    )
