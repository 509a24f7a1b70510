"""The nightly sync: read, validate, identify, render, queue, deliver, report back.

Each row is handled on its own: a broken row, a failed render or a failed email never stops the
others. A factsheet file is written (atomically) before the transaction that records it and
queues its email, so a crash leaves at worst a file that the next run overwrites identically.
Unchanged rows are skipped before validation (cluster_sync/unchanged.py). The other rows are
rendered, queued and recorded one after the other; when another format is made from the .docx
(PDF), in two passes instead: render every factsheet, make the other formats in one batch, then
queue and record each row. A format that cannot be made never holds a row back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cluster_sync import form, generation, keys, nochange, recovery, text, unchanged
from cluster_sync.addresses import secretariat
from cluster_sync.changes import change_messages
from cluster_sync.config import Config
from cluster_sync.delivery import check_mailer, deliver_run
from cluster_sync.digest import Digest, interrupted_runs, log_outcome, sheet_link
from cluster_sync.errors import ClusterSyncError, TemplateError
from cluster_sync.factsheet_mail import compose_factsheet, emailed_data, factsheet_link
from cluster_sync.files import configure as configure_files
from cluster_sync.files import note_unsynced
from cluster_sync.fingerprint import record_template, template_fingerprint
from cluster_sync.identity import Identified, identify, natural_key
from cluster_sync.mailers.base import Mailer
from cluster_sync.mailqueue import enqueue
from cluster_sync.messages import Message
from cluster_sync.model import Address, Registration
from cluster_sync.outputs import (
    SOURCE,
    Made,
    files_note,
    make_outputs,
    problems,
)
from cluster_sync.privacy.nightly import (
    consent_missing,
    erased_apart,
    withdraw_consent,
    without_erased,
)
from cluster_sync.privacy.retention import apply_retention, is_anonymised, plan_retention
from cluster_sync.privacy.suppress import Suppressed, checker
from cluster_sync.publish.service import clear_withdrawn, consent_withdrawn
from cluster_sync.render import pool
from cluster_sync.render.branding import logo_images
from cluster_sync.render.email import Composer
from cluster_sync.render.factsheet import factsheet_context, factsheet_filename, render_docx
from cluster_sync.render.languages import choose_language
from cluster_sync.render.messages import edit_link, factsheet_message, problems_message
from cluster_sync.sheetstatus import ERROR_LINE, Parts, local_time, status_line
from cluster_sync.sources.base import RowStatus, Snapshot, Source, SourceRow
from cluster_sync.state import State, StoredRegistration
from cluster_sync.summary import RowResult, RunSummary
from cluster_sync.unchanged import Quiet, row_fingerprint, run_salt, settings_digest
from cluster_sync.validate import Outcome, is_blank_row, parse_addresses, validate_row

log = logging.getLogger(__name__)
Progress = Callable[[Iterable[Identified]], Iterable[Identified]]
#: a row's result, or what is left to do once the run's other formats (PDF) are made
Pending = RowResult | Callable[[], RowResult]
#: how many rows ahead of the one handled _render_ahead looks for factsheets to render
AHEAD = 16


def _hash(values: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(values)).encode()).hexdigest()[:16]


class Sync:
    def __init__(
        self,
        config: Config,
        state: State,
        source: Source,
        mailer: Mailer,
        *,
        output_dir: Path | None = None,
        existing_dir: Path | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
        write_back: bool = True,
        dry_run: bool = False,
        sleep: Callable[[float], None] | None = None,
        only: str | None = None,
        retention: bool = True,
        accept_mass_change: bool = False,
    ) -> None:
        configure_files(config.privacy.mode)
        self.config = config
        #: `sync --only CL-ID`: every row is read and identified, only this one is handled
        self.only = only
        self.state = state
        self.source = source
        self.mailer = mailer
        self.output_dir = output_dir or config.path(config.output.directory)
        #: where the factsheets of earlier runs are (a dry run renders into a scratch folder
        #: but reuses, as the real run would, what the real output folder already holds)
        self.existing_dir = existing_dir or self.output_dir
        self.settings = ""  # see cluster_sync/unchanged.py; set when the run starts
        self.salt = ""  # the settings and the sheet's time zone; set once the sheet is read
        self.now = now or datetime.now(UTC)
        self.today = self.now.astimezone(config.zone).date()
        self.progress = progress
        self.dry_run = dry_run  # on a scratch copy of the state: never writes the sheet
        self.write_back = write_back and not dry_run
        self.sleep = sleep
        self.retention = retention and not dry_run  # a dry run must not delete real files
        #: sheet row -> people erased on request whom the row still names (cluster_sync/privacy)
        self.erased_in_row: dict[int, int] = {}
        self.suppressed: Suppressed | None = None
        self.accept_mass_change = accept_mass_change
        self.run_id: int | None = None
        self.statuses_changed = False  # the run had statuses to write into the sheet
        self.documents: list[Path] = []  # factsheets whose other formats this run needs
        self.files: dict[Path, dict[str, Made]] = {}
        self.outputs_made = 0  # how many of the run's factsheets _make_outputs has seen
        self.template = template_fingerprint(config)  # recorded with each factsheet it makes
        self._consent_withdrawn: set[str] | None = None  # see _withdrawn
        mail = config.mail
        self.composer = Composer(
            config.path(config.output.email_templates),
            mail.sender,
            mail.reply_to,
            mail.message_id_domain,
            mail.limits.max_recipients,
        )
        self.digest = Digest(config, state, self.composer, self.now)
        self.renders: pool.RenderPool | None = None  # factsheet workers, while the rows are handled
        self.ahead = 0  # the next row whose factsheet _render_ahead looks at
        #: what it read and computed of a row (its stored registration, its content hash), by
        #: Cluster ID: the row's own turn (_valid) takes them back instead of again
        self.looked_up: dict[str, tuple[StoredRegistration | None, str]] = {}
        self.names: dict[str, tuple[int, str]] = {}  # and factsheet names, with their version

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> RunSummary:
        run_id = self.run_id = self.state.start_run()
        summary = RunSummary(run_id, self.source.description, sheet_link=sheet_link(self.config))
        summary.dry_run = self.dry_run
        summary.interrupted = interrupted_runs(self.state, run_id, self.now, self.config)
        started = time.monotonic()
        log.info(
            "%srun %s started: reading %s",
            "dry " if self.dry_run else "",
            run_id,
            self.source.description,
        )
        try:
            self._sync(summary)
        except BaseException as exc:
            self.state.finish_run(run_id, "failed", summary.counts, str(exc)[:500])
            log.info(
                "run %s stopped after %.1f s: %s",
                run_id,
                time.monotonic() - started,
                type(exc).__name__ if not str(exc) else str(exc).splitlines()[0],
            )
            raise
        problems = summary.exit_codes()
        error = "; ".join(line for _, line in problems)[:500] or None
        self.state.finish_run(run_id, summary.outcome, summary.counts, error)
        log_outcome(summary, time.monotonic() - started)
        return summary

    def _sync(self, summary: RunSummary) -> None:
        from cluster_sync.checks import check_templates

        # Every template is tried with sample data first: a broken one stops the run before
        # anything is rendered or sent, not halfway (after the factsheets, at the digest).
        # Templates and settings that passed in an earlier run are not tried again.
        start = generation.current(self.state.db)
        self.settings = settings_digest(self.config)
        if not self.state.checked(self.settings):
            check_templates(self.config)
            self.state.record_check(self.settings)
        check_mailer(self.mailer)
        repeat = self._repeat()
        if repeat is not None:
            self._repeat_run(repeat, summary)
            return
        snapshot = self.source.read()
        self.suppressed = checker(self.state)
        quiet, rows = self._split(snapshot, summary)
        stamp = self.now.isoformat(timespec="seconds")
        evidence = recovery.gather(self.state, self.config, snapshot.rows)
        del snapshot  # its rows are in `quiet` and `rows`
        recovery.apply(self.state, evidence)
        with self.state.transaction():  # one commit for all new IDs, not one each
            identified = identify(
                self.state, rows, self.config.ids.prefix, self.today, stamp, evidence
            )
        identified = self._only(identified)
        identified = self._brake(identified, quiet, summary)
        del rows  # each row's answers are let go once it is handled (below), not kept to the end
        self._handle_all(identified, summary)
        # what write-back needs of a row is where it is and what finds it again: the answers
        # of every row are let go before the digest and the write-back (about 5 KB a row)
        identified = [replace(item, row=item.row.slim()) for item in identified]
        self._count_quiet(quiet, summary)
        self._after_rows(summary)
        if self.write_back:
            _give_back_memory()
            self._write_back(identified, quiet, summary)
        self._remember(summary, start)

    def _handle_all(self, identified: list[Identified], summary: RunSummary) -> None:
        """Render each row's factsheet, then queue its email and record it. When another
        format is made from the .docx (PDF), the emails wait until the run's documents are
        converted in one batch: one LibreOffice start, not one per factsheet. Otherwise each
        row is finished before the next one starts, so that nothing of it (answers, context,
        validated data) is held while the others are handled (about 15 KB a row)."""
        batch = any(name != SOURCE for name in self.config.output.formats)
        pending: list[tuple[int, Pending]] = []
        items: Iterable[Identified] = self.progress(identified) if self.progress else identified
        self.renders = self._render_pool(identified)
        try:
            for index, item in enumerate(items):  # the progress bar yields them in their order
                self._render_ahead(identified, index)
                pending.append((index, self._handle(item, partial(self._first, item, summary))))
                if not batch:
                    self._finish(pending, identified, summary)
            self._finish(pending, identified, summary)
        finally:
            renders, self.renders = self.renders, None
            if renders is not None:
                renders.close()

    def _render_pool(self, identified: list[Identified]) -> pool.RenderPool | None:
        """Workers that render the factsheets of the rows ahead (render/pool.py), when the run
        has enough of them to pay for a worker's start."""
        valid = (i for i in identified if i.outcome.registration is not None)
        expected = sum(i.cluster_id is not None for i in valid)
        workers = pool.worker_count()
        if expected < pool.MIN_RENDERS or not workers:
            return None
        template = self.config.path(self.config.output.factsheet_template)
        extras = logo_images(self.config.branding)
        return pool.RenderPool.start(template, extras, self.config.privacy.mode, workers)

    def _render_ahead(self, identified: list[Identified], index: int) -> None:
        """Send the worker the factsheets of the next rows, as their own turn will render
        them (same version, file and context); a row takes its render back in _factsheet."""
        renders = self.renders
        if renders is None or not renders.ready():
            self.ahead = index + 1  # rows reached before the worker is ready render here
            return
        self.ahead = max(self.ahead, index + 1)
        while self.ahead < min(len(identified), index + 1 + AHEAD) and renders.has_room():
            item, self.ahead = identified[self.ahead], self.ahead + 1
            try:
                self._submit_render(renders, item)
            except Exception:  # the row's own turn meets it and reports it
                continue

    def _submit_render(self, renders: pool.RenderPool, item: Identified) -> None:
        """The row's factsheet to the worker, when _valid and _factsheet will render one."""
        reg = item.outcome.registration
        cluster_id = item.cluster_id
        if cluster_id is None or reg is None or is_anonymised(self.state, cluster_id):
            return
        stored, content = self._stored(item), reg.content_hash()
        self.looked_up[cluster_id] = (stored, content)
        changed, version = _next_version(stored, content)
        path, render = self._factsheet_path(cluster_id, reg, version, changed)
        self.names[cluster_id] = (version, path.name)
        if render:
            context = factsheet_context(reg, cluster_id, version, self.today)
            renders.submit(path, context, synced=not changed)

    def _finish(
        self, pending: list[tuple[int, Pending]], identified: list[Identified], summary: RunSummary
    ) -> None:
        """Make the other formats of the factsheets rendered so far, then record their rows.
        A finished row keeps only what its status line needs (write-back): its validated
        answers are let go."""
        self._make_outputs(summary)
        pending.reverse()
        while pending:
            index, step = pending.pop()
            item = identified[index]
            result = step if isinstance(step, RowResult) else self._handle(item, step)
            assert isinstance(result, RowResult)
            summary.results.append(result)
            identified[index] = replace(item, outcome=_HANDLED)

    def _after_rows(self, summary: RunSummary, pruned: dict[str, int] | None = None) -> None:
        """What a run does once its rows are handled, whatever they were. `pruned`: what
        retention found to do, when it was already asked this run (nothing)."""
        if not self.only:
            self._scheduled_report(summary)
        # retention is for the whole state: `sync --only` handles one registration, not that.
        # Before publishing: an anonymised cluster's copies are replaced in the same run.
        if self.retention and not self.only:
            if pruned is None:
                self._prune(summary)
            else:
                summary.pruned = pruned
        self._publish(summary)
        deliver_run(
            self.config, self.state, self.mailer, self.digest, summary, self.now, self.sleep
        )

    # -- a night where nothing changed (cluster_sync/nochange.py) ----------------------------

    def _digested(self) -> nochange.Digested | None:
        """The source, when this run may skip reading it or remember it for the next one."""
        whole = not self.dry_run and self.only is None and self.write_back
        return nochange.digested(self.source) if whole else None

    def _repeat(self) -> nochange.Repeat | None:
        source = self._digested()
        if source is None:
            return None
        folder = self.existing_dir / "factsheets"
        return nochange.recall(
            self.state, source, self.settings, folder, self.config, self.now, self.retention
        )

    def _repeat_run(self, repeat: nochange.Repeat, summary: RunSummary) -> None:
        """The export is what the last run read and nothing else changed: report what it
        reported, and do what does not depend on the rows."""
        log.info("the export and the state are as the last run left them: the export is not read")
        repeat.fill(summary)
        start = generation.current(self.state.db)
        self._after_rows(summary, pruned=repeat.pruned)
        if generation.current(self.state.db) != start:
            # the monthly report or the digest was queued and sent: neither changes a row's
            # status, but the next run reads the export again rather than rely on it
            nochange.forget(self.state)

    def _remember(self, summary: RunSummary, start: int) -> None:
        """After a full run: whether the next may skip reading the export (nochange.py)."""
        source = self._digested()
        if source is None:
            return
        now = generation.current(self.state.db)
        export = nochange.is_repeat(summary, source, start, now)
        if export is None or self.statuses_changed:
            nochange.forget(self.state)
            return
        folder = nochange.folder_digest(self.existing_dir / "factsheets")
        nochange.remember(self.state, export, self.settings, folder, summary)

    def _only(self, identified: list[Identified]) -> list[Identified]:
        if self.only is None:
            return identified
        from cluster_sync.sources.base import normalise_cluster_id

        wanted = normalise_cluster_id(self.only)
        chosen = [i for i in identified if wanted and i.cluster_id == wanted]
        if not chosen:
            raise ClusterSyncError(
                f"No row of {self.source.description} is the registration {self.only!r}.",
                hint="give a Cluster ID as the sheet's Cluster ID column or `cluster-sync status` "
                "shows it (CL-2025-007); nothing was done.",
            )
        return chosen

    def _prune(self, summary: RunSummary) -> None:
        """Retention (docs/privacy.md): what is kept longer than `[privacy]` allows goes,
        before the digest is written, which says so."""
        plan = plan_retention(self.config, self.state, self.now)
        if plan.items:
            apply_retention(self.config, self.state, plan, self.now)
            log.info("retention pruned %s", plan.describe())
        summary.pruned = plan.counts

    def _brake(
        self, identified: list[Identified], quiet: list[Quiet], summary: RunSummary
    ) -> list[Identified]:
        """Before any row is handled: hold back a mass change (cluster_sync/brake.py) and
        tell the secretariat, unless a person accepted it for this run. Unchanged rows count
        among the registrations that were valid (none of them can have become invalid)."""
        from cluster_sync import brake

        still_valid = sum(q.stored.status == "valid" for q in quiet)
        mass = brake.check(self.state, identified, self.config.safety, still_valid)
        if mass is None:
            return identified
        if self.accept_mass_change:
            log.warning("accepted by the operator: %s", mass.headline())
            return identified
        summary.mass_change = mass
        log.error("%s. What to do: %s", mass.headline(), mass.what_to_do())
        messages = self.composer.compose(
            dedupe_key=keys.mass_change(mass.key),
            kind="notice",
            cluster_id=None,
            rendered=mass.notice(),
            to=secretariat(self.config),
            now=self.now,
        )
        with self.state.transaction():
            summary.queued += sum(
                enqueue(self.state, m, summary.run_id, self.now) for m in messages
            )
        return [item for item in identified if item.row.row_number not in mass.rows]

    def _scheduled_report(self, summary: RunSummary) -> None:
        """The monthly CoP report draft, when `[report] monthly_on_day` says today is the day.
        A report problem is reported, never a reason to hold back the factsheets."""
        if self.config.report.monthly_on_day is None:
            return
        from cluster_sync.report.service import scheduled_report

        try:
            summary.report = scheduled_report(self.config, self.state, self.now, self.output_dir)
        except ClusterSyncError as exc:
            summary.report_error = str(exc)
            log.error("scheduled report failed: %s", exc)

    def _publish(self, summary: RunSummary) -> None:
        """New factsheet versions to Drive or the web folder, once their emails are queued and
        before the digest is, which reports what could not be published: a target that is down
        delays the links, never the emails or the statuses. A dry run publishes nothing."""
        if not self.dry_run and self.config.publish is not None:
            from cluster_sync.publish.service import publish_configured

            summary.publishing = publish_configured(self.config, self.state, self.sleep)

    def _split(
        self, snapshot: Snapshot, summary: RunSummary
    ) -> tuple[list[Quiet], list[tuple[SourceRow, Outcome]]]:
        """(unchanged rows, validated rows to process): unchanged rows are found from raw
        fingerprints before anything is validated (cluster_sync/unchanged.py). `sync --only`
        processes its row whatever its fingerprint says."""
        self.salt = run_salt(self.settings, snapshot.timezone)
        if self.only is not None:
            quiet: list[Quiet] = []
            rest = list(snapshot.rows)
        else:
            quiet, rest = unchanged.split(
                self.state, snapshot.rows, self.salt, self.existing_dir / "factsheets", self.config
            )
            quiet, rest = erased_apart(quiet, rest, self.suppressed)
        for number, why in snapshot.unreadable.items():
            summary.rows += 1
            summary.results.append(RowResult(number, None, "", "error", f"not read: {why}"))
        tz = snapshot.timezone or self.config.zone
        rows = self._validated(rest, tz, summary)
        quiet, back = unchanged.apart_from(quiet, {natural_key(r, o) for r, o in rows})
        rows += self._validated(back, tz, summary)
        summary.rows += len(quiet)
        return [replace(q, row=q.row.slim()) for q in quiet], rows

    def _count_quiet(self, quiet: list[Quiet], summary: RunSummary) -> None:
        """Unchanged rows count and show in the digest as the full path would have them."""
        for q in quiet:
            result = q.result()
            summary.results.append(result)
            if q.held():
                summary.awaiting_approval.append(result)
        summary.results.sort(key=lambda r: r.row)
        summary.awaiting_approval.sort(key=lambda r: r.row)

    def _validated(
        self, source_rows: list[SourceRow], tz: ZoneInfo, summary: RunSummary
    ) -> list[tuple[SourceRow, Outcome]]:
        rows = []
        for row in source_rows:
            if is_blank_row(row.values):
                summary.blank += 1
                continue
            summary.rows += 1
            settings = self.config.form
            outcome = validate_row(row.values, settings.date_order, tz, settings.consent_text)
            outcome, erased = without_erased(outcome, self.suppressed)
            if erased:
                self.erased_in_row[row.row_number] = erased
            rows.append((row, outcome))
        summary.erased_rows = sorted(self.erased_in_row)
        return rows

    # -- one row ----------------------------------------------------------------------------

    def _first(self, item: Identified, summary: RunSummary) -> Pending:
        if item.cluster_id is None:
            title = text.one_line(str(item.row.values.get("title") or ""), 300)
            note = f"duplicate of {item.duplicate_of} (same cluster title): not processed"
            return RowResult(item.row.row_number, None, title, "duplicate", note)
        if is_anonymised(self.state, item.cluster_id):
            # its people were removed after the retention period: the old row is not read again
            note = "anonymised after the retention period; not read again"
            return RowResult(item.row.row_number, item.cluster_id, "", "unchanged", note)
        if item.outcome.registration is not None:
            return self._valid(item, item.outcome.registration, summary)
        return self._invalid(item, summary)

    def _handle(self, item: Identified, step: Callable[[], Pending]) -> Pending:
        row_number = item.row.row_number
        try:
            return step()
        except TemplateError:
            raise  # a broken template breaks every row alike: stop and say so once
        except ClusterSyncError as exc:
            log.error("row %s (%s) could not be processed: %s", row_number, item.cluster_id, exc)
            return RowResult(row_number, item.cluster_id, _title(item), "error", str(exc))
        except sqlite3.Error:
            raise  # the state itself is in trouble: no row can be recorded safely
        except Exception as exc:
            # Whatever went wrong with this row (a template expression that fails on its
            # data, say) must not keep the other rows from their factsheets. The details are
            # for the secretariat (console, digest, log), never for the sheet.
            log.exception("row %s (%s) could not be processed", row_number, item.cluster_id)
            note = f"{type(exc).__name__}: {exc}"
            return RowResult(row_number, item.cluster_id, _title(item), "error", note)

    def _stored(self, item: Identified) -> StoredRegistration | None:
        assert item.cluster_id is not None
        return self.state.registration(item.cluster_id)

    def _base(
        self, item: Identified, stored: StoredRegistration | None, status: str
    ) -> StoredRegistration:
        """The registration as this run records it before the row's own news: what the state
        knew of it, seen now, with the row's title, approval and fingerprint."""
        now = self.now.isoformat(timespec="seconds")
        assert item.cluster_id is not None
        return StoredRegistration(
            cluster_id=item.cluster_id,
            natural_key=item.natural_key,
            status=status,
            title=text.one_line(str(item.row.values.get("title") or ""), 300),
            content_hash=stored.content_hash if stored else None,
            data=stored.data if stored else None,
            problems=[],
            problems_hash=None,
            notified_problems_hash=stored.notified_problems_hash if stored else None,
            version=stored.version if stored else 0,
            emailed_version=stored.emailed_version if stored else 0,
            approved=item.row.approved,
            submitter=stored.submitter if stored else None,
            first_seen=stored.first_seen if stored else now,
            last_seen=now,
            last_changed=stored.last_changed if stored else now,
            row_fingerprint=row_fingerprint(item.row, self.salt, item.cluster_id),
        )

    def _valid(self, item: Identified, reg: Registration, summary: RunSummary) -> Pending:
        assert item.cluster_id is not None
        looked_up = self.looked_up.pop(item.cluster_id, None)
        stored, content = looked_up or (self._stored(item), reg.content_hash())
        record = replace(
            self._base(item, stored, "valid"),
            title=reg.title,
            submitter=(reg.respondent_email or reg.contact_email).email,
        )
        changed, version = _next_version(stored, content)
        change = "unchanged"
        if changed:
            record = replace(
                record,
                version=version,
                content_hash=content,
                data=json.loads(reg.to_json()),
                last_changed=self.now.isoformat(timespec="seconds"),
            )
            change = "new" if record.version == 1 else "updated"
        if record.data is None:  # a registration recovered without its answers
            record = replace(record, data=json.loads(reg.to_json()))
        elif record.data.get("language", "") != reg.language:
            # only the Preferred language changed: no new version, but resend and preview
            # speak the language asked for now
            record = replace(record, data={**record.data, "language": reg.language})
        path, rendered = self._factsheet(item, reg, record.version, changed, summary)
        send = record.emailed_version < record.version
        held = send and self.config.approval.required and not item.row.approved
        if rendered or (send and not held):
            self.documents.append(path)
        received = self._emailed_data(stored) if send else None
        changes = change_messages(received, record.data or {}) if received else []
        replaced = (stored.version, stored.data) if changed and stored and stored.data else None
        return partial(
            self._record,
            item,
            reg,
            record,
            change,
            path,
            rendered,
            held,
            summary,
            changes,
            replaced,
        )

    def _emailed_data(self, stored: StoredRegistration | None) -> dict[str, Any] | None:
        """The answers of the version the partner last received (None: none received, or
        received before versions were kept)."""
        return None if stored is None else emailed_data(self.state, stored)

    def _make_outputs(self, summary: RunSummary) -> None:
        """The other formats of the factsheets rendered since the last call, all at once."""
        if not self.documents:
            return
        documents, self.documents = self.documents, []
        # rendered since the last call: a batch's documents were rendered (if at all) in it
        fresh = summary.factsheets[self.outputs_made :]
        self.outputs_made = len(summary.factsheets)
        self.files = make_outputs(self.config, documents, fresh=fresh)
        for files in self.files.values():
            for name, made in files.items():
                if made.path is not None and name != SOURCE:
                    summary.outputs[name] = summary.outputs.get(name, 0) + 1
            for problem in problems(self.config, files):
                if problem not in summary.output_problems:
                    summary.output_problems.append(problem)

    def _record(
        self,
        item: Identified,
        reg: Registration,
        record: StoredRegistration,
        change: str,
        path: Path,
        rendered: bool,
        held: bool,
        summary: RunSummary,
        changes: list[Message],
        replaced: tuple[int, dict[str, Any]] | None,
    ) -> RowResult:
        """Queue the factsheet email and record the version, its files and the registration
        in one transaction; the answers of the version this one replaces are kept, so a later
        email can say what changed since it."""
        send = record.emailed_version < record.version
        files = self.files.get(path, {})
        cluster_id, version = record.cluster_id, record.version
        with self.state.transaction():
            if replaced:
                self.state.keep_version_data(cluster_id, *replaced)
            if send and not held:
                first = record.emailed_version == 0
                summary.queued += self._queue_factsheet(
                    item, reg, record, path, first, files, changes
                )
                record = replace(record, emailed_version=version)
            self.state.save_registration(record)
            if cluster_id in self._withdrawn():
                # consent is given (again): what it allows is published again
                clear_withdrawn(self.state, cluster_id, "consent")
            if rendered:
                assert record.content_hash is not None  # a rendered version has its content
                self.state.add_factsheet(cluster_id, version, record.content_hash, str(path))
                record_template(self.state, cluster_id, version, self.template)
            if files:
                self.state.record_factsheet_files(
                    cluster_id,
                    version,
                    {n: (str(m.path) if m.path else None, m.problem) for n, m in files.items()},
                )
        result = RowResult(item.row.row_number, item.cluster_id, reg.title, change)
        note = files_note(self.config, files)
        result.note = f"factsheet v{version}" + (f"; {note}" if note else "")
        result.changes = changes
        if held:
            summary.awaiting_approval.append(result)
        return result

    def _factsheet(
        self, item: Identified, reg: Registration, version: int, changed: bool, summary: RunSummary
    ) -> tuple[Path, bool]:
        """Render a new version, or again when its file went missing; else reuse the file."""
        cluster_id = str(item.cluster_id)
        path, render = self._factsheet_path(cluster_id, reg, version, changed)
        if render:
            # A new version's file is synced with the state's next durable commit, before
            # anything relies on it; one the durable state already records, at once.
            synced = not changed
            written = self.renders.claim(path, synced) if self.renders else None
            try:
                if written is None:  # not rendered ahead by a worker, or failed there
                    self._render(reg, cluster_id, version, path, synced)
                else:  # the worker's files are synced as this process's own (files.py)
                    note_unsynced(written)
            except OSError as exc:  # a full or read-only disk: this row waits for the next run
                raise ClusterSyncError(
                    f"its factsheet could not be written to {path.parent}: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from None
            summary.factsheets.append(path)
            return path, True
        return path, False

    def _factsheet_path(
        self, cluster_id: str, reg: Registration, version: int, changed: bool
    ) -> tuple[Path, bool]:
        """Where the version's factsheet goes, and whether it is rendered: a new version, or
        one whose file went missing (else the existing file is reused)."""
        # the name _render_ahead made for this version, else made now (slugify is not cheap)
        named = self.names.pop(cluster_id, None)
        if named is None or named[0] != version:
            named = (version, factsheet_filename(cluster_id, reg.title, version))
        existing = self.existing_dir / "factsheets" / named[1]
        if changed or not existing.exists():
            return self.output_dir / "factsheets" / named[1], True
        return existing, False

    def _render(
        self, reg: Registration, cluster_id: str, version: int, path: Path, synced: bool
    ) -> None:
        context = factsheet_context(reg, cluster_id, version, self.today)
        template = self.config.path(self.config.output.factsheet_template)
        extras = logo_images(self.config.branding)
        render_docx(template, context, path, extras=extras, synced=synced)

    def _withdrawn(self) -> set[str]:
        """The registrations whose consent is withdrawn, or was when the run began: one read
        for the run instead of a statement per row, added to as rows withdraw it (nothing else
        writes it while the rows are handled). A cluster that gives it again stays in: clearing
        it twice is harmless, leaving it set is not."""
        if self._consent_withdrawn is None:
            self._consent_withdrawn = consent_withdrawn(self.state)
        return self._consent_withdrawn

    def _queue_factsheet(
        self,
        item: Identified,
        reg: Registration,
        record: StoredRegistration,
        path: Path,
        first: bool,
        files: dict[str, Made],
        changes: list[Message],
    ) -> int:
        """The factsheet to its people; "updated" only when an earlier version reached them,
        with what changed since that version."""
        cluster_id, version = str(item.cluster_id), record.version
        link = factsheet_link(self.config, self.state, path, cluster_id, version, files)
        context = factsheet_message(
            reg,
            cluster_id,
            version,
            self.today,
            updated=not first,
            changes=changes,
            link=self._link(item),
            factsheet_link=link,
        )
        messages = compose_factsheet(
            self.composer,
            self.config,
            reg,
            cluster_id,
            version,
            kind="factsheet" if first else "factsheet_update",
            context=context,
            natural_key=item.natural_key,
            path=path,
            files=files,
            now=self.now,
            language=self._language(item),
            content_hash=record.content_hash,
        )
        return sum(enqueue(self.state, m, self.run_id, self.now) for m in messages)

    def _invalid(self, item: Identified, summary: RunSummary) -> RowResult:
        stored = self._stored(item)
        base = self._base(item, stored, "invalid")
        problems = [str(p) for p in item.outcome.problems]
        problems_hash = _hash(problems)
        submitter = self._submitter(item)
        news = stored is None or stored.status != "invalid" or stored.problems_hash != problems_hash
        record = replace(
            base,
            problems=problems,
            problems_hash=problems_hash,
            submitter=submitter.email if submitter else base.submitter,
            last_changed=self.now.isoformat(timespec="seconds") if news else base.last_changed,
        )
        result = RowResult(
            item.row.row_number,
            item.cluster_id,
            record.title,
            "invalid",
            problems=problems,
            news=news,
            since=local_time(record.last_changed, self.config),
        )
        notify = submitter is not None and record.notified_problems_hash != problems_hash
        with self.state.transaction():
            if item.cluster_id and consent_missing(item.outcome):
                withdraw_consent(self.state, item.cluster_id)
                self._withdrawn().add(item.cluster_id)
            if notify and submitter is not None:
                previous = record.notified_problems_hash
                queued = self._queue_problems(item, submitter, problems, problems_hash, previous)
                summary.queued += queued
                record = replace(record, notified_problems_hash=problems_hash)
                result.note = "problems sent" if queued else ""
            self.state.save_registration(record)
        if submitter is None:
            result.untold = True
            result.note = "no usable email address: nobody could tell the submitter"
        return result

    def _submitter(self, item: Identified) -> Address | None:
        """Who is told about problems, named in To: by the contact person's name when it is
        the contact's address and was typed without a name."""
        found = []
        for key in ("respondent_email", "contact_email"):
            cell = item.row.values.get(key)
            address = parse_addresses(str(cell))[0][0] if cell else None
            # an erased person is never written to again, even from an old row naming them
            if address and self.suppressed and self.suppressed(address.email):
                address = None
            found.append(address)
        respondent, contact = found
        submitter = respondent or contact
        person = text.one_line(str(item.row.values.get("contact_person") or ""), 120)
        same = submitter and contact and submitter.email.casefold() == contact.email.casefold()
        if submitter and same and person and not submitter.name:
            return Address(submitter.email, person)
        return submitter

    def _queue_problems(
        self,
        item: Identified,
        to: Address,
        problems: list[str],
        problems_hash: str,
        previous: str | None,
    ) -> int:
        context = problems_message(
            name=to.name or str(item.row.values.get("contact_person") or ""),
            title=str(item.row.values.get("title") or ""),
            cluster_id=item.cluster_id,
            submitted=item.outcome.submitted_at,
            typed_stamp=item.row.values.get("timestamp"),
            problems=list(item.outcome.problems),
            link=self._link(item),
        )
        messages = self.composer.compose(
            dedupe_key=keys.problems(item.cluster_id, previous, problems_hash),
            kind="problems",
            cluster_id=item.cluster_id,
            template="problems",
            context=context,
            to=[to],
            headers={recovery.REF_HEADER: recovery.ref(item.natural_key)},
            now=self.now,
            language=self._language(item),
        )
        return sum(enqueue(self.state, m, self.run_id, self.now) for m in messages)

    def _language(self, item: Identified) -> str:
        """The language of this row's emails (cluster_sync/render/languages.py)."""
        answer = item.row.values.get(form.PREFERRED_LANGUAGE.key)
        choice = choose_language(self.composer.languages, self.config.mail, item.cluster_id, answer)
        if choice.note:
            log.warning("row %s: %s", item.row.row_number, choice.note)
        return choice.code

    def _link(self, item: Identified) -> dict[str, Any]:
        return edit_link(item.row.values.get("edit_link"), self.config.form.url)

    # -- after the rows ---------------------------------------------------------------------

    def _write_back(
        self, identified: list[Identified], quiet: list[Quiet], summary: RunSummary
    ) -> None:
        from cluster_sync.publish.service import sheet_links, target_key
        from cluster_sync.sheetstatus import factsheet_parts

        errors = {r.row: r.note for r in summary.of("error")}
        links = sheet_links(self.state, target_key(self.config))
        # a withdrawn factsheet's link is emptied: it no longer opens anything
        for (cluster_id,) in self.state.db.execute("SELECT cluster_id FROM withdrawn"):
            links.setdefault(cluster_id, "")
        parts = factsheet_parts(self.state)
        statuses = [
            self._status(item, errors.get(item.row.row_number), parts, links) for item in identified
        ]
        for q in quiet:
            # the row as identify() would have it; its outcome is not needed for a status
            item = Identified(q.row, Outcome(None), q.stored.natural_key, q.stored.cluster_id)
            statuses.append(self._status(item, None, parts, links, q.stored))
        changed = [s for s in statuses if s.changed]
        self.statuses_changed = bool(changed)
        if changed:
            # The sheet will show IDs and statuses from the state: they must survive a power
            # loss before it does (cluster_sync/state.py)
            self.state.make_durable()
        try:
            summary.written_back = self.source.write_back(changed) if changed else 0
        except ClusterSyncError as exc:
            # Outputs and emails are already safe in the state: report, and try next run.
            summary.write_back_error = str(exc)
            log.error("write-back failed: %s", exc)

    def _status(
        self,
        item: Identified,
        error: str | None,
        parts: Parts,
        links: dict[str, str] | None = None,
        stored: StoredRegistration | None = None,
    ) -> RowStatus:
        if stored is None and item.cluster_id:
            stored = self.state.registration(item.cluster_id)
        line, when = status_line(self.state, item, stored, self.config, parts)
        if error is not None:
            # What the sheet showed before may no longer be true: say what happened instead,
            # in plain words; the details are for the secretariat, not for the sheet.
            line = ERROR_LINE
        if item.row.row_number in self.erased_in_row:
            # the sheet still holds what was erased: only the secretariat can remove it there
            line = (
                "Personal data in this response was erased on request: the secretariat must "
                f"also delete or edit the response in the sheet. {line}"
            )
        # The Factsheet column only with publishing on: None leaves the cell alone.
        link = links.get(item.cluster_id) if links and item.cluster_id else None
        more = {form.FACTSHEET: link} if self.config.publish is not None else {}
        return RowStatus(item.row, item.cluster_id, line[:480], when, more)


#: the outcome of a row once handled: its status line (write-back) reads the state instead
_HANDLED = Outcome(None)


def _give_back_memory() -> None:
    """Hand the allocator's free pages back to the system (glibc's malloc_trim). What the
    rows' answers, their validation and the digest took and let go is otherwise kept, and the
    write-back's parse of the export comes on top of it: 40 MB of the peak at 10,000 rows.
    Where there is no such call (another C library), nothing."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _next_version(stored: StoredRegistration | None, content: str) -> tuple[bool, int]:
    """Whether the registration changed since the version stored, and its version now."""
    version = stored.version if stored else 0
    changed = stored is None or stored.content_hash != content
    return changed, version + 1 if changed else version


def _title(item: Identified) -> str:
    return str(item.row.values.get("title") or "")[:300]
