"""`make bench`: every benchmark in benchmarks/, its figures written into docs/benchmarks.md
(between the `bench:start` and `bench:end` markers) with the machine they came from.

    python benchmarks/bench_all.py [--sizes 100 1000] [--documents 2000] [--messages 1000]
                                   [--nights 365] [--calls 10 1000 10000]

Every figure is a ratio against a baseline measured in the same run (the docxtpl loop for
rendering, mailmerge for mail) or a growth curve; times are medians of repeats.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_calls  # noqa: E402
import bench_render  # noqa: E402
import bench_state  # noqa: E402
import bench_sync  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = f"{os.getloadavg()[0]:.1f}"
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load} when the run started"
    )


def render_section(documents: int) -> list[str]:
    r = bench_render.measure(documents, baseline_every=20)
    return [
        "### Rendering factsheets",
        "",
        f"`benchmarks/bench_render.py --documents {documents}`: {r['documents']:.0f} generated "
        "factsheets, in 5 rounds; the docxtpl loop renders every 20th context of each round.",
        "",
        "| renderer | documents/s (median of 5 rounds) | ratio |",
        "|---|---|---|",
        f"| docxtpl loop (`DocxTemplate`, `render`, `save`) | {r['docxtpl_per_s']:.1f} | 1 |",
        f"| cluster-sync, written as the loop writes | {r['ours_per_s']:.1f} | **{r['ratio']:.1f}x** |",
        f"| cluster-sync through `render_docx` (atomic write, fsync) | {r['durable_per_s']:.1f} "
        f"| {r['durable_per_s'] / r['docxtpl_per_s']:.1f}x |",
        "",
        f"CPU time per document, same rounds: the docxtpl loop takes **{r['cpu_ratio']:.1f}x** "
        "cluster-sync's (the machine's other load does not blur this ratio). "
        f"Same document text: {r['compared']:.0f} documents compared with docxtpl's, "
        f"{r['mismatches']:.0f} differ.",
        "",
    ]


def sync_section(sizes: list[int]) -> list[str]:
    lines = [
        "### The sync, from 100 rows up",
        "",
        f"`benchmarks/bench_sync.py {' '.join(map(str, sizes))}`: generated exports, outbox "
        "backend; each step in its own process (peak: its VmHWM, or its memory and its render "
        "worker's together, whichever is larger; CPU: the worker's added). \"Next night\": the first "
        "no-change sync after the first sync, which reads the export (the first sync changed "
        "the state); no-change: the nights after it, median of 3, where the export is what "
        "the last run read and is not read again (cluster_sync/nochange.py).",
        "",
        "Wall time (CPU time in brackets: what the machine's other load does not inflate); "
        "the load average is read when each size starts.",
        "",
        "| rows | load | dry run | first sync | first: peak memory | first: CPU per row "
        "| next night | no-change sync | no-change: peak | state after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        load = os.getloadavg()[0]
        r = bench_sync.measure(size)
        f, d = r["first"], r["dry"]
        lines.append(
            f"| {size:,} | {load:.1f} | {d['seconds']:.1f} s ({d['cpu_seconds']:.1f} s; "
            f"{d['peak_mb']:.0f} MB) | {f['seconds']:.1f} s ({f['cpu_seconds']:.1f} s) "
            f"| {f['peak_mb']:.0f} MB | {f['cpu_seconds'] / size * 1000:.1f} ms "
            f"| {r['read_seconds']:.2f} s ({r['read_cpu_seconds']:.2f} s) "
            f"| {r['quiet_seconds']:.2f} s ({r['quiet_cpu_seconds']:.2f} s) "
            f"| {r['quiet_peak_mb']:.0f} MB | {r['database_mb']:.1f} MB |"
        )
        assert r["quiet_counts"]["factsheets"] == 0 and r["quiet_counts"]["queued"] == 0
    return [*lines, ""]


def calls_section(sizes: list[int]) -> list[str]:
    lines = [
        "### Sheets API calls per sync",
        "",
        f"`benchmarks/bench_calls.py {' '.join(map(str, sizes))}` (the local fake of the Sheets "
        "API, through gspread):",
        "",
        "| rows | first sync | a night with one edit | a night with no change |",
        "|---|---|---|---|",
    ]
    for size in sizes:
        r = bench_calls.measure(size)
        lines.append(f"| {size:,} | {r['first']} | {r['one edit']} | {r['no change']} |")
    return [*lines, ""]


def state_section(rows: int, nights: int) -> list[str]:
    lines = [
        "### State database over a year",
        "",
        f"`benchmarks/bench_state.py --rows {rows} --nights {nights} --edits 1`: a first sync, "
        "then a sync every night after one partner corrected a response (a new factsheet "
        "version and its email each night).",
        "",
        "| night | file | pages in use |",
        "|---|---|---|",
    ]
    for night, file_mb, used_mb in bench_state.measure(rows, nights, 1):
        lines.append(f"| {night} | {file_mb:.2f} MB | {used_mb:.2f} MB |")
    return [*lines, ""]


def mail_section(messages: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_smtp.py"), "--messages", str(messages)],
        capture_output=True,
        text=True,
        check=False,
    )
    out = done.stdout.strip() or done.stderr.strip()[-2000:]
    return [
        "### Mail",
        "",
        f"`benchmarks/bench_smtp.py --messages {messages}`: the same local STARTTLS server for "
        "both clients.",
        "",
        "```",
        out,
        "```",
        "",
    ]


def profile_section(rows: int) -> list[str]:
    """cProfile of a first sync: where its time goes."""
    from data import make_export

    with tempfile.TemporaryDirectory(dir=ROOT / "var") as scratch:
        folder = Path(scratch)
        bench_sync.write_config(folder)
        make_export(folder / "responses.csv", rows)
        profiler = cProfile.Profile()
        profiler.enable()
        bench_sync.step(folder, "real")
        profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).sort_stats("cumulative")
    stats.print_stats(r"cluster_sync/(engine|render|mailqueue|validate|files|mailers|state|identity)", 18)  # fmt: skip
    text = buffer.getvalue()
    body = text[text.find("ncalls") :].rstrip()
    return [
        f"### Profile of a first sync of {rows} rows",
        "",
        "cProfile, cumulative time, cluster-sync's own functions:",
        "",
        "```",
        body.replace(str(ROOT) + "/", ""),
        "```",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000])
    parser.add_argument("--calls", nargs="+", type=int, default=[10, 1000, 10000])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rows-per-year", type=int, default=50)
    parser.add_argument("--nights", type=int, default=365)
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    started = time.perf_counter()
    lines = [
        START,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
    ]
    for section in (
        lambda: render_section(args.documents),
        lambda: sync_section(args.sizes),
        lambda: calls_section(args.calls),
        lambda: mail_section(args.messages),
        lambda: state_section(args.rows_per_year, args.nights),
        lambda: profile_section(200),
    ):
        load, began = os.getloadavg()[0], time.perf_counter()
        part = section()
        part.append(
            f"(This section: {time.perf_counter() - began:.0f} s; load average {load:.1f} "
            "when it started.)"
        )
        part.append("")
        print("\n".join(part), flush=True)
        lines += part
    lines += [f"`make bench` took {time.perf_counter() - started:.0f} s.", "", END]
    text = DOC.read_text(encoding="utf-8")
    if START in text and END in text:
        text = text[: text.index(START)] + "\n".join(lines) + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + "\n".join(lines) + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"written into {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
