"""Mail delivery speed: 1,000 factsheet emails with a .docx attached, over STARTTLS + AUTH to a
local aiosmtpd server, sent by cluster-sync (the real queue and SmtpMailer) and then by the
`mailmerge` command-line tool, to the same server in the same run.

    python benchmarks/bench_smtp.py [--messages 1000] [--profile]

The server runs in its own process, so neither client shares its interpreter. Both clients get
the same messages (same attachment, same two recipients); the server is the same for both, so
its own cost (aiosmtpd reads DATA line by line in Python) is shared and printed too. The
ratio's figure, cluster-sync composing included, is the median of three runs (two before
mailmerge, one after). A last line gives the same messages to the same server offering
PIPELINING (RFC 2920), which cluster-sync then uses; it is not in the ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import logging
import multiprocessing
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import PASSWORD, SENDER, USER, Recorder, Tls, outgoing, smtp_server  # noqa: E402

from cluster_sync import mailpass, mailqueue  # noqa: E402
from cluster_sync.config import LimitsConfig  # noqa: E402
from cluster_sync.mailers.smtp import SmtpMailer  # noqa: E402
from cluster_sync.mailers.smtp_settings import SmtpConfig  # noqa: E402
from cluster_sync.state import State  # noqa: E402

PASSWORD_ENV = "BENCH_SMTP_PASSWORD"
MAILMERGE = Path(sys.executable).parent / "mailmerge"


# -- the server, in its own process ------------------------------------------------------------


def serve(tls: Tls, pipe: Connection, pipelining: bool = False) -> None:
    """Run aiosmtpd until told to stop; answer "stats" with (messages, connections, CPU s)."""
    # aiosmtpd warns about its own deprecated attribute on every AUTH; not our business here
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    recorder = Recorder(keep_data=False, pipelining=pipelining)
    with smtp_server(tls, recorder) as server:
        pipe.send(server.port)
        while (command := pipe.recv()) != "stop":
            assert command == "stats"
            pipe.send((len(recorder.messages), recorder.connections, time.process_time()))


class ServerProcess:
    def __init__(self, tls: Tls, pipelining: bool = False) -> None:
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=serve, args=(tls, child, pipelining), daemon=True
        )
        self.process.start()
        self.port: int = self.pipe.recv()

    def stats(self) -> tuple[int, int, float]:
        self.pipe.send("stats")
        messages, connections, cpu = self.pipe.recv()
        return int(messages), int(connections), float(cpu)

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(10)


# -- the two clients ---------------------------------------------------------------------------


def attachment() -> bytes:
    """The real factsheet template (about 40 KB) when present, else a python-docx document."""
    template = ROOT / "templates" / "factsheet.docx"
    if template.exists():
        return template.read_bytes()
    import io

    import docx

    document = docx.Document()
    for number in range(400):
        document.add_paragraph(f"Cluster activity {number}: pilot site, partners, results. " * 3)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def recipients(number: int) -> tuple[str, str]:
    return (f"participant{number}@example.org", "lead@example.org")


def run_cluster_sync(
    work: Path, tls: Tls, port: int, count: int, docx: bytes, profile: bool, index: bool
) -> float:
    state = State(work / "state.db")
    if index:
        # The index proposed for the state schema: the caps count sent messages per minute
        # and per day before every send; without it each count walks every sent row.
        state.db.execute("CREATE INDEX IF NOT EXISTS messages_sent ON messages (state, sent_at)")
    now = datetime.now(UTC)
    with state.transaction():
        for number in range(count):
            mailqueue.enqueue(state, outgoing(number, recipients(number), docx), None, now)
    os.environ[PASSWORD_ENV] = PASSWORD
    mailer = SmtpMailer(
        SmtpConfig(
            host="127.0.0.1",
            port=port,
            security="starttls",
            username=USER,
            password_env=PASSWORD_ENV,
            ca_file=tls.ca_file,
        )
    )
    limits = LimitsConfig(per_minute=1_000_000, per_day=1_000_000)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = mailpass.deliver(state, mailer, limits)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    state.close()
    assert report.sent == count, report
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return elapsed


def run_cluster_sync_composed(work: Path, tls: Tls, port: int, count: int, docx: bytes) -> float:
    """As the sync does it, timed from the start: each email composed from the real templates
    (subject, plain text and HTML from templates/email/, the factsheet attached), queued in the
    state, then delivered; mailmerge's figure includes its composing too."""
    from datetime import date

    from cluster_sync.model import Address
    from cluster_sync.render.email import Attachment, Composer
    from cluster_sync.render.messages import edit_link, factsheet_message
    from cluster_sync.sample import sample_registration

    state = State(work / "state.db")
    composer = Composer(
        ROOT / "templates" / "email", f"Natural Heritage CoP <{SENDER}>",
        "secretariat@example.org", "example.org",
    )  # fmt: skip
    reg = sample_registration()
    context = factsheet_message(
        reg, "CL-2025-0000", 1, date.today(), updated=False, changes=(),
        link=edit_link(None, None), factsheet_link=None,
    )  # fmt: skip
    os.environ[PASSWORD_ENV] = PASSWORD
    mailer = SmtpMailer(
        SmtpConfig(
            host="127.0.0.1", port=port, security="starttls", username=USER,
            password_env=PASSWORD_ENV, ca_file=tls.ca_file,
        )
    )  # fmt: skip
    limits = LimitsConfig(per_minute=1_000_000, per_day=1_000_000)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with state.transaction():
        for number in range(count):
            first, second = recipients(number)
            for outgoing in composer.compose(
                dedupe_key=f"factsheet:CL-2025-{number:04d}:v1",
                kind="factsheet",
                cluster_id=f"CL-2025-{number:04d}",
                template="factsheet",
                context={**context, "cluster_id": f"CL-2025-{number:04d}"},
                to=[Address(first, "Participant")],
                cc=[Address(second, "Lead partner")],
                attachment=Attachment(f"CL-2025-{number:04d}.docx", docx),
                now=now,
            ):
                mailqueue.enqueue(state, outgoing, None, now)
    report = mailpass.deliver(state, mailer, limits)
    elapsed = time.perf_counter() - started
    state.close()
    assert report.sent == count, report
    return elapsed


def run_mailmerge(work: Path, tls: Tls, port: int, count: int, docx: bytes) -> float:
    work.mkdir()
    (work / "factsheet.docx").write_bytes(docx)
    (work / "template.txt").write_text(
        "TO: {{email}}, lead@example.org\n"
        f"FROM: Natural Heritage CoP <{SENDER}>\n"
        "SUBJECT: Factsheet of cluster {{cluster_id}}\n"
        "ATTACHMENT: factsheet.docx\n"
        "\n"
        "Dear participants,\n\nthe factsheet of cluster {{cluster_id}} is attached.\n"
    )
    with (work / "database.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "cluster_id"])
        for number in range(count):
            writer.writerow([recipients(number)[0], f"CL-2025-{number:03d}"])
    (work / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = STARTTLS\n"
        f"username = {USER}\nratelimit = 0\n"
    )
    command = [
        str(MAILMERGE),
        "--template", "template.txt",
        "--database", "database.csv",
        "--config", "server.conf",
        "--no-dry-run", "--no-limit", "--output-format", "text",
    ]  # fmt: skip
    started = time.perf_counter()
    # mailmerge asks for the password with getpass; without a terminal (new session) it reads
    # stdin. Its STARTTLS uses smtplib's unverified default context; SSL_CERT_FILE is set for
    # its implicit-TLS path, which verifies.
    done = subprocess.run(
        command,
        cwd=work,
        input=f"{PASSWORD}\n".encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ | {"SSL_CERT_FILE": str(tls.ca_file)},
        start_new_session=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mailmerge failed: {done.stderr.decode(errors='replace')}")
    return elapsed


# -- report ------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPU(s), {model}, Python {platform.python_version()}"


def has_sent_index(state: State) -> bool:
    """Whether the schema already indexes (state, sent_at), which the caps query needs."""
    for index in state.db.execute("PRAGMA index_list(messages)").fetchall():
        columns = [r[2] for r in state.db.execute(f"PRAGMA index_info({index[1]!r})")]
        if columns[:2] == ["state", "sent_at"]:
            return True
    return False


class Bench:
    """Runs each client against the one server and prints a line per run."""

    def __init__(self, server: ServerProcess, messages: int) -> None:
        self.server = server
        self.messages = messages

    def measure(self, label: str, run: Callable[[], float]) -> float:
        before = self.server.stats()
        elapsed = run()
        after = self.server.stats()
        assert after[0] - before[0] == self.messages, f"{label}: the server missed messages"
        rate = self.messages / elapsed
        print(
            f"{label:<34} {elapsed:7.2f} s {rate:8.1f} msg/s  "
            f"({after[1] - before[1]} connection(s), server CPU {after[2] - before[2]:.2f} s)",
            flush=True,
        )
        return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the cluster-sync runs")
    parser.add_argument("--skip-mailmerge", action="store_true")
    parser.add_argument(
        "--nagle", action="store_true", help="also run cluster-sync with Nagle left on"
    )
    args = parser.parse_args()
    if not args.skip_mailmerge and not MAILMERGE.exists():
        raise SystemExit(f"mailmerge not found at {MAILMERGE}; pip install mailmerge")

    docx = attachment()
    # The state database goes where a real one lives (var/, on disk rather than a tmpfs /tmp):
    # its commits cost fsyncs, and that is part of the price of never losing a message.
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-smtp-", dir=ROOT / "var"))
    try:
        tls = Tls.make(work / "tls")
        server = ServerProcess(tls)
        bench = Bench(server, args.messages)
        print(f"machine: {machine()}")
        print(f"{args.messages} messages, {len(docx):,} byte .docx attached, STARTTLS + AUTH\n")

        def ours(name: str, index: bool = False) -> Callable[[], float]:
            folder = work / name
            folder.mkdir()
            return lambda: run_cluster_sync(
                folder, tls, server.port, args.messages, docx, args.profile, index
            )

        probe = State(":memory:")
        indexed = has_sent_index(probe)
        probe.close()
        rates = {"schema as it is": bench.measure("cluster-sync (schema as it is)", ours("as-is"))}

        def composing(number: int) -> float:
            folder = work / f"composed-{number}"
            folder.mkdir()
            return bench.measure(
                f"cluster-sync, composing included ({number})",
                lambda: run_cluster_sync_composed(folder, tls, server.port, args.messages, docx),
            )

        # The ratio's own figure, measured three times (twice before mailmerge, once after,
        # so that a change of the machine's load shows) and taken as the median.
        composed = [composing(1), composing(2)]
        if not indexed:
            rates["with the index on sent_at"] = bench.measure(
                "cluster-sync (+ index on sent_at)", ours("index", True)
            )
        if args.nagle:
            import cluster_sync.mailers.smtp as smtp_module

            nodelay = smtp_module._nodelay
            smtp_module._nodelay = lambda sock: None  # type: ignore[assignment]
            bench.measure("cluster-sync, Nagle on", ours("nagle", not indexed))
            smtp_module._nodelay = nodelay  # type: ignore[assignment]
        # The same server saying PIPELINING (RFC 2920), as Postfix, Gmail and Microsoft 365
        # do: cluster-sync then sends each envelope in one write. Not in the ratio: mailmerge
        # (smtplib) cannot pipeline, and the target is for the server above.
        piped = ServerProcess(tls, pipelining=True)
        folder = work / "pipelined"
        folder.mkdir()
        pipelined = Bench(piped, args.messages).measure(
            "... to a server offering PIPELINING",
            lambda: run_cluster_sync_composed(folder, tls, piped.port, args.messages, docx),
        )
        piped.stop()
        theirs = 0.0
        if not args.skip_mailmerge:
            theirs = bench.measure(
                "mailmerge 2.3.0 (--no-limit)",
                lambda: run_mailmerge(work / "mailmerge", tls, server.port, args.messages, docx),
            )
        composed.append(composing(3))
        rates["composing included"] = statistics.median(composed)
        print(f"cluster-sync, composing included: median {rates['composing included']:.1f} msg/s")
        if theirs:
            print()
            for variant, rate in rates.items():
                print(f"ratio ({variant}): cluster-sync is {rate / theirs:.1f}x mailmerge")
        gain = pipelined / rates["composing included"] - 1
        print(f"PIPELINING offered: {gain:+.0%} over the same messages to the server without it")
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
