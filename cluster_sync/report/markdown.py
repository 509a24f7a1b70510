"""The Markdown version of the report: the same context as the Word file, written as text with
Markdown tables, the charts linked as the PNG files saved beside it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def esc(value: object) -> str:
    """Inline text: on one line, Markdown and HTML characters escaped (a title such as
    `R&D <pilot>` stays text)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _tally_table(title: str, items: list[dict[str, Any]]) -> list[str]:
    if not items:
        return [f"{title}: none.", ""]
    return table([title, "Clusters"], [(i["name"], i["count"]) for i in items])


def _cover(c: dict[str, Any]) -> list[str]:
    return [
        f"# {c['report_title']}",
        "",
        f"**Period:** {c['period_label']}  ",
        f"**Date:** {c['generated_on']}  ",
        f"**Version:** Draft {c['draft']}",
        "",
        f"> {esc(c['summary'])}",
        "",
    ]


def _key_figures(c: dict[str, Any], charts: dict[str, str]) -> list[str]:
    f = c["figures"]
    lines = ["## Key figures", ""]
    lines += table(
        [
            "Clusters",
            "New",
            "Planned",
            "Active",
            "Completed",
            "Organisations",
            "Countries",
            "Thematic Projects",
            "Participants",
        ],
        [
            [
                f[k]
                for k in (
                    "clusters",
                    "new",
                    "planned",
                    "active",
                    "completed",
                    "organisations",
                    "countries",
                    "thematic_projects",
                    "participants",
                )
            ]
        ],
    )
    if not c["has_clusters"]:
        return [*lines, "No clusters ran during this period.", ""]
    if "status_chart" in charts:
        lines += [f"![Clusters by working group and status]({charts['status_chart']})", ""]
    lines += ["### Clusters by working group", ""]
    lines += table(
        ["Working group", "Planned", "Active", "Completed", "Total"],
        [
            (
                f"{w['code']} {w['name']}".strip(),
                w["planned"],
                w["active"],
                w["completed"],
                w["total"],
            )
            for w in c["working_groups"]
        ],
    )
    lines += ["A cluster in several working groups counts once in each.", ""]
    lines += ["### Clusters by type", "", *_tally_table("Type", c["types"])]
    if "timeline_chart" in charts:
        lines += [
            "### Timeline",
            "",
            f"![Timeline of the clusters]({charts['timeline_chart']})",
            "",
        ]
    return lines


def _portfolio(c: dict[str, Any]) -> list[str]:
    lines = ["## Portfolio", ""]
    if not c["portfolio"]:
        lines += ["No clusters to list for this period.", ""]
    else:
        lines += table(
            ["ID", "Title", "WG", "Lead", "Status", "Dates", "Next activity"],
            [
                (
                    p["cluster_id"],
                    p["title"],
                    p["working_groups"],
                    p["lead"],
                    p["status"],
                    p["dates"],
                    p["next"],
                )
                for p in c["portfolio"]
            ],
        )
    if c["unnamed_clusters"]:
        lines += [c["unnamed_clusters_note"], ""]
    return lines


def _involved(c: dict[str, Any]) -> list[str]:
    lines = ["## Who is involved", ""]
    lines += table(
        ["Country", "Organisations", "Clusters"],
        [(x["name"], x["organisations"], x["clusters"]) for x in c["countries"]],
    )
    lines += _tally_table("Thematic Project", c["thematic_projects"])
    lines += _tally_table("Participant category", c["categories"])
    lines += ["## Transfer and outcomes", ""]
    lines += _tally_table("Transfer level", c["transfer_levels"])
    lines += _tally_table("Expected outcome", c["outcomes"])
    return lines


def _calendar(c: dict[str, Any]) -> list[str]:
    lines = [f"## Upcoming activities (next {c['upcoming_weeks']} weeks)", ""]
    if c["upcoming"]:
        lines += table(
            ["Date", "Cluster", "Activity"],
            [
                (u["date"], f"{u['cluster_id']} {u['cluster']}", u["activity"])
                for u in c["upcoming"]
            ],
        )
    else:
        lines += ["No roadmap activity in this window.", ""]
    lines += [f"## Clusters ending in the next {c['ending_days']} days", ""]
    if c["ending_soon"]:
        lines += table(
            ["ID", "Title", "Lead", "End", "Days left"],
            [
                (e["cluster_id"], e["title"], e["lead"], e["end"], e["days_left"])
                for e in c["ending_soon"]
            ],
        )
    else:
        lines += ["None.", ""]
    return lines


def _follow_up(c: dict[str, Any]) -> list[str]:
    lines = ["## To follow up", ""]
    if c["approval_required"]:
        lines += ["### Awaiting approval", ""]
        lines += (
            table(
                ["ID", "Title", "Lead", "Dates"],
                [
                    (a["cluster_id"], a["title"], a["lead"], a["dates"])
                    for a in c["awaiting_approval"]
                ],
            )
            if c["awaiting_approval"]
            else ["None.", ""]
        )
    lines += ["### Registrations that need fixing", ""]
    if c["open_problems"]:
        lines += table(
            ["ID", "Title", "Problems"],
            [(p["cluster_id"], p["title"], " · ".join(p["problems"])) for p in c["open_problems"]],
        )
    else:
        lines += ["None.", ""]
    if c["unnamed_problems"]:
        lines += [c["unnamed_problems_note"], ""]
    return lines


def _cluster(s: dict[str, Any], to_complete: str) -> list[str]:
    lines = [f"### {esc(s['cluster_id'])} · {esc(s['title'])}", ""]
    lines += [
        f"**Working groups:** {esc(', '.join(s['working_groups_full']) or '—')}  ",
        f"**Type:** {esc(s['cluster_type'])} · **Status:** {esc(s['status'])} · "
        f"**Dates:** {esc(s['dates'])}  ",
        f"**Lead:** {esc(s['lead'])} · **Contact:** {esc(s['contact_person'])}  ",
        f"**Partnership:** {esc(s['partnership'])} · **Factsheet:** {esc(s['factsheet'])}  ",
        f"**People involved:** {esc(s['people'])}",
        "",
        "**Question or need addressed.** " + esc(s["question"]),
        "",
        "**Objectives**",
        "",
        *[f"- {esc(o)}" for o in s["objectives"]],
        "",
        "**Results to transfer.** " + esc(s["results"]),
        "",
    ]
    if s["roadmap"]:
        lines += table(
            ["", "Date", "Activity"],
            [("✓" if r["done"] else "", r["date"], r["activity"]) for r in s["roadmap"]],
        )
    lines += [
        esc(s["roadmap_note"]) + "  ",
        f"**Expected outcomes:** {esc(', '.join(s['outcomes']))}",
        "",
        f"**Progress since the last report.** {esc(to_complete)}",
        "",
    ]
    return lines


def render_markdown(c: dict[str, Any], charts: dict[str, str]) -> str:
    """The whole report; `charts` maps chart tags to file names relative to the .md file."""
    lines = _cover(c) + _key_figures(c, charts) + _portfolio(c) + _involved(c)
    lines += _calendar(c) + _follow_up(c)
    lines += ["## Clusters: roadmap and progress", ""]
    for section in c["clusters"]:
        lines += _cluster(section, c["to_complete"])
    if not c["clusters"]:
        lines += ["No clusters to describe for this period.", ""]
    for heading in ("Lessons learned", "Policy messages"):
        lines += [f"## {heading}", "", f"> **{c['to_complete']}**", ""]
    lines += ["## Annex: organisations involved", ""]
    lines += table(
        ["Organisation", "Country", "Clusters"],
        [(o["name"], o["country"], o["clusters"]) for o in c["organisations"]],
    )
    if c["unnamed_organisations"]:
        lines += [c["unnamed_organisations_note"], ""]
    lines += ["---", "", esc(c["co_funding"]), ""]
    return "\n".join(lines)
