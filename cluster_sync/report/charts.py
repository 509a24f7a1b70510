"""The report's two charts, drawn with matplotlib's object API on the Agg canvas (no display,
no global pyplot state) and saved as PNG: a timeline of the clusters and their status per
working group. Colours follow the factsheet's palette."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from cluster_sync.dates import format_date
from cluster_sync.files import make_dirs, restrict
from cluster_sync.report.figures import TIMELINE_MAX_BARS, WorkingGroupRow, split_wg
from cluster_sync.report.gather import ACTIVE, COMPLETED, PLANNED, Cluster, Period

BLUE, TEAL, TEAL_DARK, TEAL_LIGHT = "#003399", "#00A19A", "#00756F", "#8FE0DA"
INK, MUTED, RULE, TINT, ALERT = "#1F2A3C", "#5E6B7E", "#C8D2E4", "#EEF2FA", "#D1495B"
WG_COLOURS = {"WG1": BLUE, "WG2": TEAL, "WG3": "#E3A21A", "WG4": "#6A8D2F"}
OTHER_COLOUR = "#8A94A6"
STATUS_COLOURS = {PLANNED: TEAL_LIGHT, ACTIVE: BLUE, COMPLETED: "#A9B3C4"}
DPI = 180


def _label(cluster: Cluster, limit: int = 26) -> str:
    """`CL-2025-004 · KARST-FOR`; characters outside the basic plane (emoji) are dropped, as
    the chart font has no glyph for them."""
    name = "".join(ch for ch in cluster.short_name if ord(ch) <= 0xFFFF).strip()
    name = name if len(name) <= limit else name[: limit - 1].rstrip() + "…"
    return f"{cluster.cluster_id} · {name}" if name else cluster.cluster_id


def _first_wg(cluster: Cluster) -> str:
    return split_wg(cluster.working_groups[0])[0] if cluster.working_groups else "—"


def _x(day: date) -> float:
    """A date as matplotlib's x value (days), so bar widths are plain day counts."""
    return float(mdates.date2num(day))


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(RULE)
        ax.tick_params(colors=INK, labelsize=8)


def timeline(clusters: Sequence[Cluster], period: Period, today: date, out: Path) -> Path:
    """A Gantt-like chart: one bar per cluster from start to end, grouped and coloured by its
    first working group; the report period shaded, today a vertical line. Beyond
    TIMELINE_MAX_BARS clusters: how many run in each month, by first working group."""
    if len(clusters) > TIMELINE_MAX_BARS:
        return _monthly(clusters, period, today, out)
    rows = sorted(clusters, key=lambda c: (_first_wg(c), c.start or today, c.cluster_id))
    starts = [c.start or today for c in rows]
    open_end = max(today, period.end) + timedelta(days=30)
    ends = [c.end or open_end for c in rows]
    low = min([*starts, period.start, today]) - timedelta(days=20)
    high = max([*ends, period.end, today]) + timedelta(days=20)
    height = 1.2 + 0.2 * len(rows)
    fig = Figure(figsize=(7.2, height), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.axvspan(_x(period.start), _x(period.end + timedelta(days=1)), color=TINT, zorder=0)
    for y, (cluster, start, end) in enumerate(zip(rows, starts, ends, strict=True)):
        colour = WG_COLOURS.get(_first_wg(cluster), OTHER_COLOUR)
        width = max((end - start).days + 1, 2)
        hatch = "////" if cluster.end is None else None
        ax.barh(y, width, left=_x(start), height=0.62, color=colour, hatch=hatch, edgecolor="white")
    ax.axvline(_x(today), color=ALERT, linewidth=1.3, linestyle="--", zorder=3)
    ax.annotate(
        f"today, {format_date(today)}",
        xy=(_x(today), 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, 2),
        textcoords="offset points",
        color=ALERT,
        fontsize=7.5,
        va="bottom",
    )
    ax.set_yticks(range(len(rows)), [_label(c) for c in rows], fontsize=7.5)
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlim(_x(low), _x(high))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="x", color=RULE, linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)
    _timeline_legend(fig, rows)
    _style(fig)
    return _save(fig, out)


def _month_starts(low: date, high: date) -> list[date]:
    months, day = [], low.replace(day=1)
    while day <= high:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _monthly(clusters: Sequence[Cluster], period: Period, today: date, out: Path) -> Path:
    """Stacked bars: the clusters running in each month, split by first working group."""
    open_end = max(today, period.end) + timedelta(days=30)
    spans = [(c, c.start or today, c.end or open_end) for c in clusters]
    low = min([s for _, s, _ in spans] + [period.start])
    high = max([e for _, _, e in spans] + [period.end])
    months = _month_starts(low, high)
    groups = list(dict.fromkeys(sorted(_first_wg(c) for c in clusters)))
    fig = Figure(figsize=(7.2, 3.4), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.axvspan(_x(period.start), _x(period.end + timedelta(days=1)), color=TINT, zorder=0)
    bottom = [0] * len(months)
    for group in groups:
        counts = []
        for month in months:
            end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            counts.append(
                sum(_first_wg(c) == group and s <= end and e >= month for c, s, e in spans)
            )
        ax.bar([_x(m) + 14 for m in months], counts, width=24, bottom=bottom, label=group,
               color=WG_COLOURS.get(group, OTHER_COLOUR), zorder=2)  # fmt: skip
        bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
    ax.axvline(_x(today), color=ALERT, linewidth=1.3, linestyle="--", zorder=3)
    ax.set_ylabel("clusters running", color=MUTED)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color=RULE, linewidth=0.5, zorder=0)
    fig.legend(loc="outside lower center", ncols=len(groups) + 1, frameon=False, fontsize=7.5)
    _style(fig)
    return _save(fig, out)


def _timeline_legend(fig: Figure, rows: Sequence[Cluster]) -> None:
    used = list(dict.fromkeys(_first_wg(c) for c in rows))
    handles = [Patch(color=WG_COLOURS.get(code, OTHER_COLOUR), label=code) for code in used]
    handles.append(Patch(facecolor=TINT, edgecolor=RULE, label="report period"))
    if any(c.end is None for c in rows):
        handles.append(Patch(facecolor="white", edgecolor=MUTED, hatch="////", label="no end date"))
    fig.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=7.5
    )


def status_by_wg(rows: Sequence[WorkingGroupRow], out: Path) -> Path:
    """Stacked bars: clusters per working group, split by status."""
    fig = Figure(figsize=(7.2, 3.1), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    x = list(range(len(rows)))
    bottom = [0] * len(rows)
    for status in (COMPLETED, ACTIVE, PLANNED):
        values = [r.counts.get(status, 0) for r in rows]
        ax.bar(x, values, bottom=bottom, width=0.56, color=STATUS_COLOURS[status], label=status)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(
            str(total),
            (xi, total),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8.5,
            fontweight="bold",
            color=INK,
        )
    labels = [f"{r.code}\n" + "\n".join(textwrap.wrap(r.name, 24)) for r in rows]
    ax.set_xticks(x, labels, fontsize=7.5)
    ax.set_ylabel("clusters", color=MUTED)
    ax.set_ylim(0, max([*bottom, 1]) * 1.18)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color=RULE, linewidth=0.5)
    ax.set_axisbelow(True)
    fig.legend(loc="outside upper right", frameon=False, fontsize=7.5, ncols=3, reverse=True)
    _style(fig)
    return _save(fig, out)


def _save(fig: Figure, out: Path) -> Path:
    make_dirs(out.parent)
    fig.savefig(out, dpi=DPI, facecolor="white", metadata={"Software": None})
    restrict(out)
    return out
