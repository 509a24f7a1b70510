"""The key figures of a CoP report, computed from the gathered clusters.

Counting rules (docs/report.md says them in plain words):
- every cluster of the period counts, consented or not; only consented ones are named;
- a cluster in several working groups counts once in each, so the WG rows add up to more than
  the number of clusters;
- "new" means the cluster started within the period (its start date falls in it);
- organisations are the lead organisation and the participants' organisations, counted once
  however they are spelt in capitals or spacing; countries likewise, from the same people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from cluster_sync import form, text
from cluster_sync.report.gather import ACTIVE, COMPLETED, PLANNED, STATUSES, Cluster, Gathered


@dataclass(frozen=True)
class WorkingGroupRow:
    code: str  # WG1
    name: str  # Connectivity of ecosystems
    counts: dict[str, int]  # status -> clusters

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Organisation:
    name: str
    country: str
    clusters: int
    named: bool  # False when only clusters without consent involve it


@dataclass
class Figures:
    clusters: int = 0
    new: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    working_groups: list[WorkingGroupRow] = field(default_factory=list)
    types: list[tuple[str, int]] = field(default_factory=list)
    organisations: list[Organisation] = field(default_factory=list)
    countries: list[tuple[str, int, int]] = field(default_factory=list)  # country, orgs, clusters
    thematic_projects: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    transfer_levels: list[tuple[str, int]] = field(default_factory=list)
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    participants: int = 0
    unnamed: int = 0  # clusters counted but not named (no consent)


def split_wg(label: str) -> tuple[str, str]:
    """`WG1 Connectivity of ecosystems` -> (`WG1`, `Connectivity of ecosystems`)."""
    head, _, rest = label.strip().partition(" ")
    if head.upper().startswith("WG") and head[2:].isdigit():
        return head.upper(), rest.strip()
    return label.strip(), ""


def _tally(values: Iterable[str], order: Iterable[str] = ()) -> list[tuple[str, int]]:
    """Counts per value: the form's options first in the form's order, then the rest by count."""
    counts = Counter(values)
    known = [(o, counts.pop(o)) for o in order if o in counts]
    rest = sorted(counts.items(), key=lambda kv: (-kv[1], text.fold(kv[0])))
    return known + rest


def working_group_rows(
    clusters: Iterable[Cluster], today_status: dict[str, str]
) -> list[WorkingGroupRow]:
    """Every form WG (even with no cluster), then any other label met in the data."""
    table: dict[str, dict[str, int]] = {
        wg: dict.fromkeys(STATUSES, 0) for wg in form.WORKING_GROUPS
    }
    for cluster in clusters:
        for wg in dict.fromkeys(cluster.working_groups):
            row = table.setdefault(wg, dict.fromkeys(STATUSES, 0))
            row[today_status[cluster.cluster_id]] += 1
    return [WorkingGroupRow(*split_wg(wg), counts) for wg, counts in table.items()]


@dataclass
class _OrgTally:
    name: str
    country: str
    cluster_ids: set[str] = field(default_factory=set)
    named: bool = False


def _organisations(clusters: Iterable[Cluster]) -> list[Organisation]:
    seen: dict[str, _OrgTally] = {}
    for cluster in clusters:
        pairs = [(cluster.lead_organisation, cluster.lead_country)]
        pairs += [(p.organisation, p.country) for p in cluster.people]
        for name, country in pairs:
            if name.strip():
                tally = seen.setdefault(text.fold(name), _OrgTally(text.clean_line(name), country))
                tally.cluster_ids.add(cluster.cluster_id)
                tally.named = tally.named or cluster.consent
    orgs = [Organisation(t.name, t.country, len(t.cluster_ids), t.named) for t in seen.values()]
    return sorted(orgs, key=lambda o: (text.fold(o.country), text.fold(o.name)))


def _countries(clusters: Iterable[Cluster], orgs: list[Organisation]) -> list[tuple[str, int, int]]:
    """Countries typed freely by participants are merged however they are spelt (case,
    spacing), like organisations; the first spelling met is shown."""
    per_country: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    for cluster in clusters:
        for country in [cluster.lead_country, *(p.country for p in cluster.people)]:
            if country.strip():
                key = text.fold(country)
                shown.setdefault(key, text.clean_line(country))
                per_country.setdefault(key, set()).add(cluster.cluster_id)
    org_counts = Counter(text.fold(o.country) for o in orgs)
    rows = [(shown[k], org_counts.get(k, 0), len(ids)) for k, ids in per_country.items()]
    return sorted(rows, key=lambda r: (-r[2], -r[1], text.fold(r[0])))


def _people_count(clusters: Iterable[Cluster]) -> int:
    return len({(text.fold(p.name), text.fold(p.organisation)) for c in clusters for p in c.people})


def compute(gathered: Gathered) -> Figures:
    clusters = gathered.clusters
    status = {c.cluster_id: c.status(gathered.today) for c in clusters}
    orgs = _organisations(clusters)
    return Figures(
        clusters=len(clusters),
        new=sum(gathered.period.contains(c.start) for c in clusters),
        by_status={s: sum(v == s for v in status.values()) for s in STATUSES},
        working_groups=working_group_rows(clusters, status),
        types=_tally((c.cluster_type for c in clusters if c.cluster_type), form.CLUSTER_TYPES),
        organisations=orgs,
        countries=_countries(clusters, orgs),
        thematic_projects=_tally(tp for c in clusters for tp in dict.fromkeys(c.thematic_projects)),
        categories=_tally(
            (x for c in clusters for x in dict.fromkeys(c.participant_categories)),
            form.FIELDS_BY_KEY["participant_categories"].options,
        ),
        transfer_levels=_tally(
            (x for c in clusters for x in dict.fromkeys(c.transfer_levels)),
            form.FIELDS_BY_KEY["transfer_levels"].options,
        ),
        outcomes=_tally(
            (x for c in clusters for x in dict.fromkeys(c.outcomes)),
            form.FIELDS_BY_KEY["outcomes"].options,
        ),
        participants=_people_count(clusters),
        unnamed=sum(not c.consent for c in clusters),
    )


def summary_sentence(figures: Figures) -> str:
    """`12 clusters, 4 new, 5 active, 3 completed; 41 organisations from 11 countries.`"""
    if figures.clusters == 0:
        return "No clusters in this period."
    s = figures.by_status
    parts = [text.counted(figures.clusters, "cluster"), f"{figures.new} new"]
    parts += [f"{s[k]} {k}" for k in (PLANNED, ACTIVE, COMPLETED) if s[k]]
    countries = text.counted(len(figures.countries), "country", "countries")
    return (
        f"{', '.join(parts)}; {text.counted(len(figures.organisations), 'organisation')} "
        f"from {countries}."
    )


#: above this many clusters the timeline counts clusters per month instead of drawing one bar
#: per cluster, whose labels would no longer be readable on a page
TIMELINE_MAX_BARS = 40


def timeline_note(named: int) -> str:
    """The caption under the timeline, for the chart that `named` clusters get."""
    if named > TIMELINE_MAX_BARS:
        return (
            "Clusters running in each month, coloured by their first working group; the shaded "
            "band is the report period. The portfolio lists every cluster."
        )
    return (
        "Each bar runs from the start to the end date, coloured by the cluster’s first working "
        "group; the shaded band is the report period."
    )
