"""The report as plain data: one dictionary that both the Word template and the Markdown
version read, so the two always say the same. Only consented clusters are named here; the
others appear only in counts (and in the notes that say how many were left unnamed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cluster_sync import text
from cluster_sync.dates import format_date
from cluster_sync.render import branding
from cluster_sync.render.factsheet import CO_FUNDING
from cluster_sync.report.figures import Figures, split_wg, summary_sentence, timeline_note
from cluster_sync.report.gather import STATUSES, Cluster, Gathered

REPORT_TITLE = "Natural Heritage Community of Practice — Clusters report"
TO_COMPLETE = "[To be completed by the secretariat]"


@dataclass(frozen=True)
class Horizons:
    """How far the calendar sections look ahead of the report date."""

    upcoming_weeks: int = 6
    ending_days: int = 60


def short_date(day: date | None) -> str:
    """`3 Mar 2025`, for narrow table columns."""
    return f"{day.day} {day.strftime('%b')} {day.year}" if day else "—"


def status_label(cluster: Cluster, today: date) -> str:
    label = cluster.status(today).capitalize()
    return f"{label} (no end date)" if cluster.end is None and label == "Active" else label


def _dates(cluster: Cluster) -> str:
    end = short_date(cluster.end) if cluster.end else "no end date"
    return f"{short_date(cluster.start)} – {end}"


def _lead(cluster: Cluster) -> str:
    return (
        f"{cluster.lead_organisation} ({cluster.lead_country})"
        if cluster.lead_country
        else (cluster.lead_organisation)
    )


def _next(cluster: Cluster, today: date) -> str:
    item = cluster.next_activity(today)
    return f"{short_date(item.day)}: {item.activity}" if item else "—"


def _wg_codes(cluster: Cluster) -> str:
    return ", ".join(split_wg(wg)[0] for wg in cluster.working_groups) or "—"


def portfolio_row(cluster: Cluster, today: date) -> dict[str, Any]:
    return {
        "cluster_id": cluster.cluster_id,
        "title": cluster.title,
        "acronym": cluster.acronym,
        "working_groups": _wg_codes(cluster),
        "lead": _lead(cluster),
        "status": status_label(cluster, today),
        "dates": _dates(cluster),
        "next": _next(cluster, today),
    }


def _partnership(cluster: Cluster) -> str:
    organisations = {
        text.fold(name)
        for name in [cluster.lead_organisation, *(p.organisation for p in cluster.people)]
        if name.strip()
    }
    countries = {
        text.fold(name)
        for name in [cluster.lead_country, *(p.country for p in cluster.people)]
        if name.strip()
    }
    return (
        f"{text.counted(len(organisations), 'organisation')} · "
        f"{text.counted(len(countries), 'country', 'countries')}"
    )


def _roadmap_note(cluster: Cluster, today: date) -> str:
    """Under the roadmap table: what ✓ means (only when a date is ticked) and what is next."""
    done = any(a.day < today for a in cluster.roadmap)
    ticked = f"✓ done (dated before {format_date(today)}). " if done else ""
    return f"{ticked}Next: {_next(cluster, today)}"


def cluster_section(cluster: Cluster, today: date, factsheet: str) -> dict[str, Any]:
    people = [
        f"{p.name} ({p.organisation})" if p.organisation else p.name
        for p in cluster.people
        if p.name
    ]
    return {
        **portfolio_row(cluster, today),
        "working_groups_full": list(cluster.working_groups),
        "cluster_type": cluster.cluster_type or "—",
        "contact_person": cluster.contact_person,
        "question": cluster.question,
        "objectives": list(cluster.objectives),
        "results": cluster.results,
        "roadmap": [
            {"date": short_date(a.day), "activity": a.activity, "done": a.day < today}
            for a in cluster.roadmap
        ],
        "roadmap_note": _roadmap_note(cluster, today),
        "outcomes": list(cluster.outcomes),
        "transfer_levels": ", ".join(cluster.transfer_levels) or "—",
        "thematic_projects": ", ".join(cluster.thematic_projects) or "—",
        "people": "; ".join(people) or "—",
        "partnership": _partnership(cluster),
        "factsheet": factsheet or "not made yet",
    }


def _named_sorted(clusters: tuple[Cluster, ...]) -> list[Cluster]:
    return sorted((c for c in clusters if c.consent), key=lambda c: c.cluster_id)


def _upcoming(gathered: Gathered, horizons: Horizons) -> list[dict[str, str]]:
    today = gathered.today
    until = today + timedelta(weeks=horizons.upcoming_weeks)
    items = [
        (a.day, c.cluster_id, c.short_name, a.activity)
        for c in _named_sorted(gathered.all_clusters)
        for a in c.roadmap
        if today <= a.day <= until
    ]
    return [
        {"date": short_date(d), "cluster_id": cid, "cluster": name, "activity": act}
        for d, cid, name, act in sorted(items)
    ]


def _ending_soon(gathered: Gathered, horizons: Horizons) -> list[dict[str, Any]]:
    today = gathered.today
    until = today + timedelta(days=horizons.ending_days)
    found = [c for c in _named_sorted(gathered.all_clusters) if c.end and today <= c.end <= until]
    return [
        {
            "cluster_id": c.cluster_id,
            "title": c.title,
            "lead": _lead(c),
            "end": short_date(c.end),
            "days_left": (c.end - today).days if c.end else 0,
        }
        for c in sorted(found, key=lambda c: (c.end, c.cluster_id))
    ]


def _awaiting(gathered: Gathered) -> list[dict[str, str]]:
    if not gathered.approval_required:
        return []
    return [
        {"cluster_id": c.cluster_id, "title": c.title, "lead": _lead(c), "dates": _dates(c)}
        for c in _named_sorted(gathered.all_clusters)
        if not c.approved
    ]


def _tallies(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"name": name, "count": count} for name, count in pairs]


def figures_context(figures: Figures) -> dict[str, Any]:
    by = figures.by_status
    return {
        "figures": {
            "clusters": figures.clusters,
            "new": figures.new,
            **{s: by.get(s, 0) for s in STATUSES},
            "organisations": len(figures.organisations),
            "countries": len(figures.countries),
            "thematic_projects": len(figures.thematic_projects),
            "participants": figures.participants,
        },
        "working_groups": [
            {"code": r.code, "name": r.name, **r.counts, "total": r.total}
            for r in figures.working_groups
        ],
        "types": _tallies(figures.types),
        "countries": [
            {"name": name, "organisations": orgs, "clusters": n}
            for name, orgs, n in figures.countries
        ],
        "thematic_projects": _tallies(figures.thematic_projects),
        "categories": _tallies(figures.categories),
        "transfer_levels": _tallies(figures.transfer_levels),
        "outcomes": _tallies(figures.outcomes),
        "organisations": [
            {"name": o.name, "country": o.country or "—", "clusters": o.clusters}
            for o in figures.organisations
            if o.named
        ],
        "organisations_by_country": _by_country(figures),
        "unnamed_organisations": sum(not o.named for o in figures.organisations),
        "unnamed_clusters": figures.unnamed,
        **_sentences(figures),
    }


def _by_country(figures: Figures) -> list[dict[str, str]]:
    """The named organisations grouped by country (in the figures' order): one line each,
    `Name (3)` when an organisation is in more than one cluster."""
    groups: dict[str, list[str]] = {}
    for o in figures.organisations:
        if o.named:
            label = f"{o.name} ({o.clusters})" if o.clusters > 1 else o.name
            groups.setdefault(o.country or "—", []).append(label)
    return [{"country": c, "organisations": " · ".join(names)} for c, names in groups.items()]


def _sentences(figures: Figures) -> dict[str, str]:
    """The report's sentences with counts, each noun agreeing with its number."""
    unnamed_orgs = sum(not o.named for o in figures.organisations)
    clusters_unnamed = text.counted(figures.unnamed, "cluster")
    return {
        "clusters_counted": text.counted(figures.clusters, "cluster"),
        "involved_sentence": (
            f"{text.counted(len(figures.organisations), 'organisation')} from "
            f"{text.counted(len(figures.countries), 'country', 'countries')} and "
            f"{text.counted(len(figures.thematic_projects), 'Thematic Project')} take part; "
            f"{text.counted(figures.participants, 'participant')} "
            f"{'is' if figures.participants == 1 else 'are'} named in the registrations."
        ),
        "unnamed_clusters_note": (
            f"{clusters_unnamed} without consent to publication "
            f"{'is' if figures.unnamed == 1 else 'are'} counted in the figures but not named."
        ),
        "unnamed_organisations_note": (
            f"{text.counted(unnamed_orgs, 'more organisation')} "
            f"{'is' if unnamed_orgs == 1 else 'are'} counted but not named."
        ),
    }


def build_context(
    gathered: Gathered,
    figures: Figures,
    *,
    draft: int,
    horizons: Horizons,
    factsheets: dict[str, str],
) -> dict[str, Any]:
    """Everything the report template may use; docs/report.md lists every tag."""
    today, period = gathered.today, gathered.period
    named = _named_sorted(gathered.clusters)
    return {
        "report_title": REPORT_TITLE,
        "period_from": format_date(period.start),
        "period_to": format_date(period.end),
        "period_label": f"{format_date(period.start)} – {format_date(period.end)}",
        "generated_on": format_date(today),
        "draft": draft,
        "summary": summary_sentence(figures),
        "has_clusters": figures.clusters > 0,
        **figures_context(figures),
        "portfolio": [portfolio_row(c, today) for c in named],
        "timeline_note": timeline_note(len(named)),
        "clusters": [cluster_section(c, today, factsheets.get(c.cluster_id, "")) for c in named],
        "upcoming_weeks": horizons.upcoming_weeks,
        "upcoming": _upcoming(gathered, horizons),
        "ending_days": horizons.ending_days,
        "ending_soon": _ending_soon(gathered, horizons),
        "approval_required": gathered.approval_required,
        "awaiting_approval": _awaiting(gathered),
        "open_problems": [
            {
                "cluster_id": p.cluster_id,
                "title": p.title or "(no title)",
                "problems": list(p.problems),
            }
            for p in gathered.open_problems
        ],
        "unnamed_problems": gathered.unnamed_problems,
        "unnamed_problems_note": (
            f"{text.counted(gathered.unnamed_problems, 'more registration')} "
            f"{'needs' if gathered.unnamed_problems == 1 else 'need'} fixing but gave no consent "
            "to publication; they are not named."
        ),
        "to_complete": TO_COMPLETE,
        "co_funding": CO_FUNDING,
        "co_funded": branding.CO_FUNDED,
        **branding.placeholders(),
    }
