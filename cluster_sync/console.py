"""What the commands print: the run summary, delivery, warnings with their exit codes, and
every error in plain words. The CLI (cluster_sync.cli) calls these; they hold no logic of the
sync itself."""

from __future__ import annotations

import errno
import functools
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar, cast

import click

from cluster_sync import logs
from cluster_sync.errors import ClusterSyncError
from cluster_sync.mailqueue import DeliveryReport, QueueCounts
from cluster_sync.summary import (
    EXIT_MAIL_UNUSABLE,
    RunSummary,
    delivery_sentence,
    queue_words,
    sent_words,
)
from cluster_sync.text import counted

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("cluster_sync")


def handle_errors(func: F) -> F:
    """Turn every error into a short message with what to do; traceback only with -v."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = bool(ctx.find_root().params.get("verbose"))
        try:
            return func(*args, **kwargs)
        except ClusterSyncError as exc:
            if verbose:
                traceback.print_exc()
            click.secho(f"Error: {logs.redact(str(exc))}", fg="red", err=True)
            log.error("%s", exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing is lost: the next run continues.", err=True)
            sys.exit(130)
        except sqlite3.OperationalError as exc:
            if not any(words in str(exc) for words in SQLITE_OPERATOR_ERRORS):
                raise_unexpected(exc, verbose)
            click.secho(
                f"Error: the state database could not be written: {exc}.\n"
                "  What to do: make room on its disk, or check that its folder (state.database) "
                "is writable by the user that runs cluster-sync; nothing is lost.",
                fg="red",
                err=True,
            )
            log.error("the state database could not be written: %s", exc)
            sys.exit(2)
        except OSError as exc:
            if exc.errno not in OPERATOR_ERRNOS:
                raise_unexpected(exc, verbose)
            if verbose:
                traceback.print_exc()
            where = f" {exc.filename}" if exc.filename else ""
            click.secho(
                f"Error: cannot write{where}: {exc.strerror or exc}.\n"
                "  What to do: check that the folders named in the configuration (state.database,"
                " output.directory, mail.outbox, log.file) exist or can be created, are "
                "writable by the user that runs cluster-sync, and that their disk has room; "
                "`cluster-sync check` tests them.",
                fg="red",
                err=True,
            )
            log.error("cannot write%s: %s", where, exc.strerror or exc)
            sys.exit(2)
        except Exception as exc:
            raise_unexpected(exc, verbose)

    return wrapper  # type: ignore[return-value]


#: what SQLite says when the disk or folder of the state database is the problem
SQLITE_OPERATOR_ERRORS = ("disk is full", "readonly database", "unable to open database file")

#: errors of the machine's set-up (a folder that is missing, read-only or not ours), not of
#: cluster-sync: said in plain words, with the configuration's exit code
OPERATOR_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.ENOSPC,
    errno.EDQUOT,
}


def raise_unexpected(exc: Exception, verbose: bool) -> NoReturn:
    log.exception("unexpected error")
    if verbose:
        traceback.print_exc()
    click.secho(
        f"Unexpected error: {type(exc).__name__}: {logs.redact(str(exc))}\n"
        "  What to do: run again with -v for details, and report it with the log file.",
        fg="red",
        err=True,
    )
    sys.exit(1)


class _ReaderMayLeave:
    """sys.stdout or sys.stderr whose reader may go away (`cluster-sync status | head -1`).

    When it does, only the printing stops: the stream is pointed at os.devnull (Python's own
    advice for SIGPIPE, so that nothing complains when it is flushed at exit) and every later
    line is dropped, while the command goes on with its work. A `sync` whose output is closed
    still delivers and writes its statuses back, and its exit code says what it did. (git and
    coreutils die of SIGPIPE instead, exit 141: that would leave a sync half done.)"""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._left()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._left()

    def _left(self) -> None:
        self.reader_gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)
        log.info("the reader of the output went away (such as `| head`); the command carried on")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def let_readers_leave() -> None:
    """Guard stdout and stderr against a reader that goes away (see _ReaderMayLeave)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _ReaderMayLeave):
            setattr(sys, name, cast(TextIO, _ReaderMayLeave(stream)))


def say(ctx: click.Context, message: str = "", **style: Any) -> None:
    if not ctx.obj["quiet"]:
        click.secho(message, **style)


def finish_run(summary: RunSummary) -> None:
    """One line per thing a monitor must hear about, shown even with -q, and the exit code
    of the most severe (the highest code; README's table)."""
    codes = summary.exit_codes()
    for _, line in codes:
        click.secho(f"Warning: {line}", fg="yellow", err=True)
    if codes:
        sys.exit(codes[0][0])


def print_summary(ctx: click.Context, summary: RunSummary, where: dict[str, Path]) -> None:
    c = summary.counts
    dry = summary.dry_run
    say(ctx, "Dry run: nothing was changed or sent.\n" if dry else "", fg="yellow")
    say(
        ctx,
        f"Read {counted(c['rows'], 'response')} from {summary.source} "
        f"({counted(c['blank'], 'blank row')} skipped).",
    )
    say(
        ctx,
        f"  new: {c['new']}   updated: {c['updated']}   unchanged: {c['unchanged']}   "
        f"need fixing: {c['invalid']}   duplicates: {c['duplicate']}   "
        f"could not be processed: {c['error']}",
    )
    say(ctx, f"  factsheets {'that would be ' if dry else ''}rendered: {c['factsheets']}")
    if dry:
        say(
            ctx,
            f"  emails this run would queue: {c['queued']}"
            + (" (a digest for the secretariat included)" if summary.digest else ""),
        )
    else:
        held = f" ({c['held']} held for a retry)" if c["held"] else ""
        say(
            ctx,
            f"  emails queued: {c['queued']}   {sent_words(summary.delivery.saved_only)}: "
            f"{summary.delivery.sent}   failed: {c['failed']}   still queued: "
            f"{c['still_queued']}{held}",
        )
    for name, count in summary.outputs.items():
        say(ctx, f"  {name.upper()} files made: {count}")
    for problem in summary.output_problems:
        say(ctx, f"  {problem}", fg="yellow")
    if summary.delivery.reconnected and not summary.delivery.unreachable:
        say(ctx, "  the first connection to the mail server failed; a second one was used")
    for number, address, reply in summary.delivery.refused:
        say(ctx, f"  refused by the mail server: {address} (message #{number}): {reply}")
    for number, subject, reply in summary.delivery.failed:
        say(ctx, f"  failed: #{number} {subject}: {reply}")
    if c["awaiting_approval"]:
        say(ctx, f"  waiting for approval: {c['awaiting_approval']} (tick Approved in the sheet)")
    for r in summary.of("invalid")[:10]:
        say(
            ctx,
            f"  row {r.row} {r.cluster_id}: needs fixing: {r.problems[0]}"
            + (f" (+{len(r.problems) - 1} more)" if len(r.problems) > 1 else ""),
        )
    for r in summary.untold:
        say(ctx, f"  row {r.row} {r.cluster_id}: {r.note}", fg="yellow")
    for r in summary.of("duplicate"):
        say(ctx, f"  row {r.row}: {r.note}")
    for r in summary.of("error"):
        cluster = f" {r.cluster_id}" if r.cluster_id else ""
        say(ctx, f"  row {r.row}{cluster}: {r.note} (could not be processed)", fg="red")
    if summary.delivery.stop_reason:
        say(ctx, f"  delivery paused: {summary.delivery.stop_reason}", fg="yellow")
    if summary.report:
        say(ctx, f"  CoP report draft queued for the secretariat: {summary.report}")
    if summary.report_error:
        click.secho(
            f"Warning: the scheduled CoP report failed: {summary.report_error}",
            fg="yellow",
            err=True,
        )
    if summary.publishing:
        p = summary.publishing
        say(ctx, f"  factsheets published: {p.published}   not published yet: {p.unpublished}")
        if p.withdrawn:
            say(ctx, f"  published files withdrawn (consent withdrawn or erased): {p.withdrawn}")
    pruned = ", ".join(f"{n} {what}" for what, n in summary.pruned.items() if n)
    if pruned:
        say(ctx, f"  retention removed: {pruned}")
    if summary.erased_rows:
        rows = ", ".join(str(n) for n in summary.erased_rows)
        say(ctx, f"  sheet rows naming people erased on request (edit them): {rows}")
    if not dry:
        say(ctx, f"  sheet rows updated: {c['written_back']}")
    for label, path in where.items():
        say(ctx, f"{label.capitalize()}: {path}")


def queue_line(counts: QueueCounts) -> str:
    return queue_words(counts)


def say_delivery(ctx: click.Context, report: DeliveryReport, counts: QueueCounts) -> None:
    """What one delivery pass did, and the queue after it; exit 4 (with a warning even under
    -q) when the mail server could not be used."""
    say(ctx, delivery_sentence(report, counts))
    for number, address, reply in report.refused:
        say(ctx, f"  refused by the mail server: {address} (message #{number}): {reply}")
    for number, subject, reply in report.failed:
        say(ctx, f"  failed: #{number} {subject}: {reply}")
    if report.stop_reason and not report.unreachable:
        say(ctx, f"Delivery paused: {report.stop_reason}", fg="yellow")
    if report.unreachable:
        click.secho(
            f"Warning: mail delivery stopped: {report.stop_reason}. Nothing is lost: "
            f"{counted(counts.queued, 'message')} {'stays' if counts.queued == 1 else 'stay'} "
            "queued for the next sync or `cluster-sync send`.",
            fg="yellow",
            err=True,
        )
        sys.exit(EXIT_MAIL_UNUSABLE)
