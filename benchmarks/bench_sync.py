"""How the nightly sync grows with the number of registrations.

    python benchmarks/bench_sync.py [N ...] [--smtp] [--quiet-repeats 3]

For each N: a generated export (benchmarks/data.py) and a fresh state, then, each step in its
own process so that its peak memory (VmHWM) is its own, with its render worker's
(cluster_sync/render/pool.py) CPU time and peak memory added in:

- `sync --dry-run` of the fresh state (what the first sync would do; delivers nothing);
- the first sync: validate, render every factsheet, queue and deliver every email (to the
  outbox folder, or with --smtp to a local aiosmtpd server over STARTTLS + AUTH), write every
  status back into the export;
- the first no-change sync after it, which reads the export (the first sync changed the
  state) and remembers it;
- the no-change sync, repeated (median): the nightly steady state, where the export is what
  the last run read and is not read again (cluster_sync/nochange.py);
- the state database's size after it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

CONFIG = """
[source]
path = "responses.csv"
write_back = true
[state]
database = "state.sqlite3"
[output]
directory = "output"
factsheet_template = "{root}/templates/factsheet.docx"
email_templates = "{root}/templates/email"
[mail]
backend = "{backend}"
outbox = "outbox"
from = "CoP <cop@example.org>"
reply_to = "secretariat@example.org"
secretariat = ["secretariat@example.org"]
[mail.limits]
per_minute = 1000000
per_day = 1000000
"""
SMTP = """
[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "starttls"
username = "{user}"
password_env = "BENCH_SMTP_PASSWORD"
ca_file = "{ca_file}"
"""


def write_config(folder: Path, smtp: dict[str, Any] | None = None) -> None:
    text = CONFIG.format(root=ROOT.as_posix(), backend="smtp" if smtp else "outbox")
    if smtp:
        text += SMTP.format(**smtp)
    (folder / "cluster-sync.toml").write_text(text, encoding="utf-8")


# -- one step, in its own process ----------------------------------------------------------------


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM, where Linux has it: ru_maxrss survives exec,
    so a child started by a big parent would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        return _status_mb(status, "VmHWM:") or 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Together:
    """Memory of this process and its children (the render worker,
    cluster_sync/render/pool.py) together, so that a step's figure is the whole run's: every
    20 ms, this process's resident memory plus each child's, and each child's own peak
    (VmHWM). A child's ru_maxrss is no use here: started with vfork and exec, it carries the
    parent's peak."""

    def __init__(self) -> None:
        self.children: dict[int, float] = {}  # each child's peak
        self.together = 0.0  # the largest sum seen at one moment
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = Path("/proc/self/status")
        own = Path("/proc/self/cmdline").read_bytes()
        while not self._stop.wait(0.02):
            now = _status_mb(me, "VmRSS:") or 0.0
            for pid in _children():
                # Between its fork and its exec a child still shows this process's pages as
                # its own (shared, not new memory): it counts once it runs its own program.
                if _cmdline(pid) in (own, None):
                    continue
                status = Path(f"/proc/{pid}/status")
                now += _status_mb(status, "VmRSS:") or 0.0
                peak = _status_mb(status, "VmHWM:")
                if peak is not None:
                    self.children[pid] = max(self.children.get(pid, 0.0), peak)
            self.together = max(self.together, now)


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").glob("*"):
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _status_mb(status: Path, field: str) -> float | None:
    try:
        for line in status.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def step(folder: Path, kind: str) -> dict[str, Any]:
    """Run one sync in `folder` (kind: dry, real) and report its time and peak memory."""
    from cluster_sync import config as config_mod
    from cluster_sync.engine import Sync
    from cluster_sync.mailers import open_mailer
    from cluster_sync.mailers.outbox import OutboxMailer
    from cluster_sync.sources import open_source
    from cluster_sync.state import State

    config = config_mod.load(folder / "cluster-sync.toml")
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "dry":  # as `cluster-sync sync --dry-run` does it
        scratch = Path(tempfile.mkdtemp(dir=folder))
        state = State.scratch_of(config.path(config.state.database), scratch)
        sync = Sync(
            config, state, open_source(config), OutboxMailer(scratch / "outbox"),
            output_dir=scratch, existing_dir=config.path(config.output.directory),
            write_back=False,
        )  # fmt: skip
    else:
        state = State(config.path(config.state.database))
        sync = Sync(config, state, open_source(config), open_mailer(config))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    watch = Together()
    summary = sync.run()
    watch.stop()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    state.close()
    if kind == "dry":
        shutil.rmtree(scratch)
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu + workers_cpu,  # the render worker's CPU counts (render/pool.py)
        "workers_cpu_seconds": workers_cpu,
        # the run's peak: this process's own, or its memory and the worker's at one moment
        "peak_mb": max(peak_mb(), watch.together),
        # an upper bound: both peaks summed, as if they came at the same moment
        "peaks_summed_mb": peak_mb() + sum(watch.children.values()),
        "workers_peak_mb": sum(watch.children.values()),
        "counts": summary.counts,
    }


def run_step(folder: Path, kind: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", kind, str(folder)],
        capture_output=True,
        check=True,
        env=os.environ | {"BENCH_SMTP_PASSWORD": os.environ.get("BENCH_SMTP_PASSWORD", "")},
    )
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


# -- one size ------------------------------------------------------------------------------------


def measure(
    size: int, quiet_repeats: int = 3, smtp: dict[str, Any] | None = None, dry: bool = True
) -> dict[str, Any]:
    from data import make_export

    (ROOT / "var").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-sync-{size}-", dir=ROOT / "var"))
    try:
        write_config(folder, smtp)
        make_export(folder / "responses.csv", size)
        dry_run = run_step(folder, "dry") if dry else None
        first = run_step(folder, "real")
        read = run_step(folder, "real")
        quiet = [run_step(folder, "real") for _ in range(quiet_repeats)]
        database = folder / "state.sqlite3"
        return {
            "rows": size,
            "dry": dry_run,
            "first": first,
            "read_seconds": read["seconds"],
            "read_cpu_seconds": read["cpu_seconds"],
            "quiet_seconds": statistics.median(q["seconds"] for q in quiet),
            "quiet_cpu_seconds": statistics.median(q["cpu_seconds"] for q in quiet),
            "quiet_peak_mb": max(q["peak_mb"] for q in quiet),
            "quiet_counts": quiet[-1]["counts"],
            "database_mb": database.stat().st_size / 1e6,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def smtp_server() -> tuple[Any, dict[str, Any]]:
    """The local STARTTLS server of benchmarks/bench_smtp.py, in its own process."""
    from bench_smtp import ServerProcess
    from smtp_server import PASSWORD, USER, Tls

    tls = Tls.make(Path(tempfile.mkdtemp(prefix="bench-tls-", dir=ROOT / "var")))
    server = ServerProcess(tls)
    os.environ["BENCH_SMTP_PASSWORD"] = PASSWORD
    return server, {"port": server.port, "user": USER, "ca_file": tls.ca_file.as_posix()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--smtp", action="store_true")
    parser.add_argument("--quiet-repeats", type=int, default=3)
    parser.add_argument("--no-dry-run", action="store_true", help="skip the dry run")
    parser.add_argument("--step", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(Path(args.step[1]), args.step[0])))
        return
    server, smtp = smtp_server() if args.smtp else (None, None)
    print(
        f"{'rows':>6} {'dry run':>9} {'first (CPU)':>20} {'peak':>8} {'next':>16} "
        f"{'no-change (CPU)':>18} {'state':>8} {'load':>5}"
    )
    for size in args.sizes or [100, 1000]:
        load = os.getloadavg()[0]
        served = server.stats() if server else None
        r = measure(size, args.quiet_repeats, smtp, not args.no_dry_run)
        dry = f"{r['dry']['seconds']:>8.2f}s" if r["dry"] else f"{'-':>9}"
        print(
            f"{size:>6} {dry} {r['first']['seconds']:>8.2f}s ({r['first']['cpu_seconds']:>7.2f}s) "
            f"{r['first']['peak_mb']:>6.0f}MB "
            f"{r['read_seconds']:>7.3f}s ({r['read_cpu_seconds']:.3f}s) "
            f"{r['quiet_seconds']:>8.3f}s ({r['quiet_cpu_seconds']:.3f}s) "
            f"{r['database_mb']:>6.1f}MB {load:>5.1f}",
            flush=True,
        )
        if server and served:
            # the server shares this machine: its CPU bounds what any client can reach here
            messages, _, cpu = server.stats()
            print(
                f"{'':>6} the SMTP server received {messages - served[0]} messages in "
                f"{cpu - served[2]:.2f}s of its own CPU (all of this size's syncs)",
                flush=True,
            )
        if r["first"].get("workers_peak_mb"):
            print(
                f"{'':>6} the first sync's render worker: {r['first']['workers_cpu_seconds']:.2f}s "
                f"of CPU (counted above) and {r['first']['workers_peak_mb']:.0f}MB peak; the "
                f"peak above is the step's and the worker's together, the two peaks summed "
                f"{r['first']['peaks_summed_mb']:.0f}MB",
                flush=True,
            )
    if server:
        server.stop()


if __name__ == "__main__":
    main()
