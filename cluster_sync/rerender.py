"""`cluster-sync rerender`: new factsheet versions made with the current template, for the
clusters named or for every factsheet made with another (or an unknown) template.

A re-rendered version has the answers of the version it replaces, so nothing "changed" for the
partner. Who already received that version is counted as having this one too (its status stays
"sent", publishing publishes it), and is emailed it only with `--notify`: the factsheet email
under the nightly sync's own dedupe key (`factsheet:CL-…:vN`), queued in the transaction that
records the version, so a crash never sends it twice or loses it. A version the partner has not
received yet (held for approval) is left to the nightly sync, which sends the new one as usual.

Steps and crash safety follow the sync: each file is written (atomically) first, the other
formats (PDF) are made in one batch, then each version, its files, its template and its email
are recorded in one transaction. A run killed midway leaves the rest for `rerender --all`, which
skips what is already made with the current template.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.factsheet_mail import (
    compose_factsheet,
    email_context,
    email_language,
    factsheet_link,
    with_factsheet,
)
from cluster_sync.fingerprint import record_template, template_ages, template_fingerprint
from cluster_sync.mailpass import deliver
from cluster_sync.mailqueue import DeliveryReport, enqueue
from cluster_sync.model import Registration
from cluster_sync.outputs import Made, make_outputs, problems
from cluster_sync.render.branding import logo_images
from cluster_sync.render.factsheet import factsheet_context, factsheet_filename, render_docx
from cluster_sync.report.service import report_composer
from cluster_sync.state import State, StoredRegistration
from cluster_sync.summary import EXIT_MAIL_UNUSABLE, EXIT_NOT_PUBLISHED, EXIT_ROWS_FAILED
from cluster_sync.text import counted

if TYPE_CHECKING:
    from cluster_sync.mailers.base import Mailer
    from cluster_sync.publish.service import PublishReport

log = logging.getLogger(__name__)


@dataclass
class Rerendered:
    """What one `rerender` did, for the command to say."""

    made: list[tuple[str, int]] = field(default_factory=list)  # (Cluster ID, new version)
    current: list[str] = field(default_factory=list)  # --all: already on the current template
    failed: dict[str, str] = field(default_factory=dict)  # Cluster ID -> why, in words
    emailed: list[str] = field(default_factory=list)  # --notify: factsheet email queued
    left_to_sync: list[str] = field(default_factory=list)  # not yet received: the sync sends it
    output_problems: list[str] = field(default_factory=list)  # "PDF could not be made: …"
    queued: int = 0  # messages queued (a long list of people may take more than one)
    delivery: DeliveryReport | None = None
    publishing: PublishReport | None = None

    def exit_codes(self) -> list[tuple[int, str]]:
        """What a monitor must hear about, as (exit code, one line), highest code first; the
        codes mean what they mean for `sync` (README, docs/operations.md)."""
        found = []
        if self.publishing is not None and (self.publishing.unpublished or self.publishing.errors):
            errors = "; ".join(self.publishing.errors[:3])
            found.append((EXIT_NOT_PUBLISHED, f"some factsheet files were not published: {errors}"))
        if self.failed:
            found.append(
                (EXIT_ROWS_FAILED, f"{counted(len(self.failed), 'factsheet')} could not be made")
            )
        if self.delivery is not None and self.delivery.unreachable:
            found.append(
                (
                    EXIT_MAIL_UNUSABLE,
                    f"mail delivery stopped: {self.delivery.stop_reason}; the "
                    "emails stay queued for the next sync or `cluster-sync send`",
                )
            )
        return sorted(found, reverse=True)


@dataclass(frozen=True)
class _Job:
    stored: StoredRegistration
    reg: Registration
    path: Path  # the new version's .docx


def chosen(config: Config, state: State, names: Sequence[str], every: bool) -> list[str]:
    """The Cluster IDs to make again: those named (each must have a valid registration with a
    factsheet, else nothing is done), or with `every` those whose factsheet was made with
    another or an unknown template."""
    if every:
        return template_ages(config, state).outdated
    found = []
    for typed in names:
        stored, _ = with_factsheet(state, typed)
        if stored.status != "valid":
            raise ClusterSyncError(
                f"{stored.cluster_id} needs fixing (its registration is {stored.status}); "
                "nothing was re-rendered.",
                hint="its factsheet is made again by the sync once the partner fixed the response.",
            )
        if stored.cluster_id not in found:
            found.append(stored.cluster_id)
    return found


def rerender(
    config: Config,
    state: State,
    names: Sequence[str],
    every: bool,
    now: datetime,
    mailer: Mailer | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Rerendered:
    """Make a new version of each chosen factsheet; with `mailer` (--notify) email it to whoever
    had the version it replaces, and deliver what is queued. Publishes as the sync does."""
    from cluster_sync.checks import check_templates

    if not every and not names:
        raise ClusterSyncError(
            "Name the clusters to re-render, or give --all.",
            hint="for example `cluster-sync rerender CL-2025-007`, or `cluster-sync rerender "
            "--all` for every factsheet made with an older template.",
        )
    if every and names:
        raise ClusterSyncError(
            "Give Cluster IDs or --all, not both; nothing was re-rendered.",
            hint="`--all` already includes every factsheet made with an older template.",
        )
    check_templates(config)  # a broken template stops here, before any file is written
    done = Rerendered()
    ids = chosen(config, state, names, every)
    if every:
        done.current = template_ages(config, state).up_to_date
    jobs = [job for job in (_render(config, state, cid, now, done) for cid in ids) if job]
    files = make_outputs(config, [j.path for j in jobs], fresh=[j.path for j in jobs])
    template = template_fingerprint(config)
    for job in jobs:
        _record(config, state, job, files.get(job.path, {}), template, now, mailer, done)
        for problem in problems(config, files.get(job.path, {})):
            if problem not in done.output_problems:
                done.output_problems.append(problem)
    if config.publish is not None and done.made:
        from cluster_sync.publish.service import publish_configured

        done.publishing = publish_configured(config, state, sleep)
    if mailer is not None and done.queued:
        done.delivery = deliver(state, mailer, config.mail.limits)
    return done


def _render(
    config: Config, state: State, cluster_id: str, now: datetime, done: Rerendered
) -> _Job | None:
    stored, reg = with_factsheet(state, cluster_id)
    version = stored.version + 1
    path = config.path(config.output.directory) / "factsheets"
    path = path / factsheet_filename(cluster_id, reg.title, version)
    context = factsheet_context(reg, cluster_id, version, now.astimezone(config.zone).date())
    template = config.path(config.output.factsheet_template)
    try:
        render_docx(template, context, path, extras=logo_images(config.branding))
    except OSError as exc:  # a full or read-only disk: say so, go on with the others
        done.failed[cluster_id] = (
            f"its factsheet could not be written to {path.parent}: "
            f"{exc.strerror or type(exc).__name__}"
        )
        log.error("rerender %s: %s", cluster_id, done.failed[cluster_id])
        return None
    return _Job(stored, reg, path)


def _record(
    config: Config,
    state: State,
    job: _Job,
    files: dict[str, Made],
    template: str,
    now: datetime,
    mailer: Mailer | None,
    done: Rerendered,
) -> None:
    """The new version, its files, its template and (with --notify) its email, at once."""
    stored, cid = job.stored, job.stored.cluster_id
    version = stored.version + 1
    had_it = stored.emailed_version == stored.version  # the partner has the replaced version
    assert stored.data is not None  # with_factsheet checked it
    with state.transaction():
        state.keep_version_data(cid, stored.version, stored.data)
        if had_it and mailer is not None:
            done.queued += _queue(config, state, job, version, files, now)
            done.emailed.append(cid)
        elif not had_it:
            done.left_to_sync.append(cid)
        emailed = version if had_it else stored.emailed_version
        state.save_registration(
            dataclasses.replace(stored, version=version, emailed_version=emailed)
        )
        content = stored.content_hash or job.reg.content_hash()
        state.add_factsheet(cid, version, content, str(job.path))
        state.record_factsheet_files(
            cid,
            version,
            {n: (str(m.path) if m.path else None, m.problem) for n, m in files.items()},
        )
        record_template(state, cid, version, template)
    done.made.append((cid, version))
    log.info("rerender: %s factsheet v%s made with the current template", cid, version)


def _queue(
    config: Config, state: State, job: _Job, version: int, files: dict[str, Made], now: datetime
) -> int:
    """The factsheet email of the new version, under the sync's key for it."""
    cid, reg = job.stored.cluster_id, job.reg
    today = now.astimezone(config.zone).date()
    context = email_context(
        config,
        reg,
        cid,
        version,
        today,
        updated=True,
        rerendered=True,  # "a new layout; your registration is unchanged"
        factsheet_link=factsheet_link(config, state, job.path, cid, version, files),
    )
    composer = report_composer(config)
    messages = compose_factsheet(
        composer,
        config,
        reg,
        cid,
        version,
        kind="factsheet_update",
        context=context,
        natural_key=job.stored.natural_key,
        path=job.path,
        files=files,
        now=now,
        language=email_language(config, composer, cid, reg),
    )
    return sum(enqueue(state, m, None, now) for m in messages)
