"""One publishing pass, its records in the state, and the links the sheet and emails show.

Each file of a released factsheet version (emailed, or queued to be) goes through three steps:
a 'pending' row is committed before anything is uploaded, naming the remote file it replaces;
the target uploads; the row becomes 'done' with the file's id and link. A run killed after the
upload leaves the row 'pending', so the next run asks the target whether the file already
landed (Drive: by the file's private properties) before uploading anything. Failures are
recorded on the row and reported; they never stop the emails or the statuses, and the files
are tried again by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError, PublishError
from cluster_sync.publish import FORMATS, FactsheetFile, Job, Remote, Target, version_files
from cluster_sync.state import State, now_utc

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    published: int = 0  # files uploaded or copied this run
    recovered: int = 0  # files an earlier, interrupted run had already put there
    errors: list[str] = field(default_factory=list)  # what went wrong, in plain words
    failed: int = 0  # files tried and not published
    waiting: int = 0  # files not tried, the target being unusable; the next run tries them
    withdrawn: int = 0  # published files removed (consent withdrawn, an erasure)

    @property
    def unpublished(self) -> int:
        return self.failed + self.waiting


def publish_due(state: State, target: Target) -> PublishReport:
    """Publish every released factsheet version the target does not hold yet."""
    report = PublishReport()
    try:
        report.withdrawn = withdraw_due(state, target)
    except PublishError as exc:
        # nothing of those clusters is published meanwhile: _jobs leaves them out
        log.error("withdrawing published files failed: %s", exc)
        report.errors.append(f"withdrawing published files: {exc}")
    jobs = _jobs(state, target.key)
    if not jobs:
        return report  # a night without changes costs no call at all
    _record_intent(state, target.key, jobs)
    try:
        target.prepare(jobs)
    except PublishError as exc:
        report.errors.append(str(exc))
        report.waiting = len(jobs)
        _record_error(state, target.key, jobs, str(exc))
        return report
    for n, job in enumerate(jobs):
        try:
            remote = target.publish(job)
        except PublishError as exc:
            log.error("publishing %s v%s failed: %s", job.file.key, job.file.version, exc)
            report.errors.append(f"{job.file.key} v{job.file.version}: {exc}")
            report.failed += 1
            _record_error(state, target.key, [job], str(exc))
            if exc.stop:
                report.waiting = len(jobs) - n - 1
                _record_error(state, target.key, jobs[n + 1 :], "not tried: " + exc.message)
                break
            continue
        _record_done(state, target.key, job.file, remote)
        if remote.reused:
            report.recovered += 1
        else:
            report.published += 1
    return report


def has_work(state: State, key: str | None) -> bool:
    """Something for the next publishing pass to publish or withdraw at this target."""
    if state.db.execute("SELECT 1 FROM withdrawn LIMIT 1").fetchone():
        return True
    return key is not None and bool(_jobs(state, key))


def _jobs(state: State, key: str) -> list[Job]:
    """Released versions with a file not yet 'done' at this target. The query is answered
    from the primary keys, so an unchanged night of thousands of clusters stays cheap."""
    rows = state.db.execute(
        "SELECT r.cluster_id, r.version, f.path FROM registrations r "
        "JOIN factsheets f ON f.cluster_id = r.cluster_id AND f.version = r.version "
        "WHERE r.version > 0 AND r.emailed_version >= r.version "
        "AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.cluster_id = r.cluster_id) AND ("
        " NOT EXISTS (SELECT 1 FROM published p WHERE p.target = ? AND p.cluster_id = r.cluster_id"
        "  AND p.version = r.version AND p.state = 'done')"
        " OR EXISTS (SELECT 1 FROM published p WHERE p.target = ? AND p.cluster_id = r.cluster_id"
        "  AND p.version = r.version AND p.state = 'pending')) "
        "ORDER BY r.cluster_id",
        (key, key),
    ).fetchall()
    jobs = []
    for cluster_id, version, path in rows:
        done = _rows(state, key, cluster_id, version)
        for file in version_files(
            Path(path), cluster_id, version, state.factsheet_files(cluster_id, version)
        ):
            row = done.get(file.format)
            if row == "done":
                continue
            known = _known(state, key, cluster_id, file.format)
            jobs.append(Job(file, known, recovering=row == "pending"))
    return jobs


# -- withdrawal (docs/privacy.md) -------------------------------------------------------------


def mark_withdrawn(state: State, cluster_id: str, reason: str) -> None:
    """Ask the next publishing pass to remove what is published of this cluster: 'consent'
    (kept, so nothing is published again, until consent is given again) or 'erasure' (cleared
    once removed, so the version made without the erased person is published in its place).
    Withdrawn consent outweighs an erasure. Call inside the caller's transaction."""
    state.db.execute(
        "INSERT INTO withdrawn (cluster_id, reason, at) VALUES (?, ?, ?) "
        "ON CONFLICT (cluster_id) DO UPDATE SET reason = 'consent' "
        "WHERE excluded.reason = 'consent'",
        (cluster_id, reason, now_utc()),
    )


def consent_withdrawn(state: State) -> set[str]:
    """The clusters whose response withdrew consent (and has not given it again)."""
    rows = state.db.execute("SELECT cluster_id FROM withdrawn WHERE reason = 'consent'")
    return {str(cluster_id) for (cluster_id,) in rows}


def clear_withdrawn(state: State, cluster_id: str, reason: str) -> None:
    state.db.execute(
        "DELETE FROM withdrawn WHERE cluster_id = ? AND reason = ?", (cluster_id, reason)
    )


def refuse_without_consent(state: State, cluster_id: str) -> None:
    """A ClusterSyncError for a cluster whose response withdrew consent: its factsheet is not
    sent or published again until consent is given again."""
    found = state.db.execute(
        "SELECT 1 FROM withdrawn WHERE cluster_id = ? AND reason = 'consent'", (cluster_id,)
    ).fetchone()
    if found:
        raise ClusterSyncError(
            f"{cluster_id}'s response no longer gives consent to share its factsheet; nothing "
            "was sent.",
            hint="the factsheet goes out again once the response gives consent again "
            "(docs/privacy.md).",
        )


def withdraw_due(state: State, target: Target) -> int:
    """Remove from the target every file published for a cluster marked withdrawn, then its
    records; the number of files removed. Each cluster is committed on its own, so a failure
    halfway leaves the rest for the next run."""
    removed = 0
    marked = state.db.execute("SELECT cluster_id, reason FROM withdrawn ORDER BY cluster_id")
    for cluster_id, reason in marked.fetchall():
        remotes = state.db.execute(
            "SELECT DISTINCT remote_id, url FROM published WHERE target = ? AND cluster_id = ? "
            "AND remote_id IS NOT NULL",
            (target.key, cluster_id),
        ).fetchall()
        for remote_id, url in remotes:
            target.withdraw(Remote(remote_id, url or ""))
            removed += 1
        with state.transaction() as db:
            db.execute(
                "DELETE FROM published WHERE target = ? AND cluster_id = ?",
                (target.key, cluster_id),
            )
            if reason == "erasure":
                clear_withdrawn(state, cluster_id, reason)
        if remotes:
            log.info("%s: %d published file(s) withdrawn (%s)", cluster_id, len(remotes), reason)
    return removed


def _rows(state: State, key: str, cluster_id: str, version: int) -> dict[str, str]:
    """format -> 'pending' | 'done' for one version."""
    found = state.db.execute(
        "SELECT format, state FROM published WHERE target = ? AND cluster_id = ? AND version = ?",
        (key, cluster_id, version),
    ).fetchall()
    return {fmt: st for fmt, st in found}


def _known(state: State, key: str, cluster_id: str, fmt: str) -> Remote | None:
    """The remote file of the latest version of this cluster and format, if any."""
    row = state.db.execute(
        "SELECT remote_id, url, version FROM published WHERE target = ? AND cluster_id = ? "
        "AND format = ? AND remote_id IS NOT NULL AND url IS NOT NULL "
        "ORDER BY state = 'done' DESC, version DESC LIMIT 1",
        (key, cluster_id, fmt),
    ).fetchone()
    return Remote(row[0], row[1], row[2]) if row else None


def _record_intent(state: State, key: str, jobs: Iterable[Job]) -> None:
    # durable before any upload: a power loss must not forget an upload that may have happened
    with state.transaction(durable=True) as db:
        for job in jobs:
            f = job.file
            db.execute(
                "INSERT INTO published (target, cluster_id, version, format, state, remote_id, "
                "url, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET state = 'pending', updated_at = excluded.updated_at",
                (
                    key,
                    f.cluster_id,
                    f.version,
                    f.format,
                    job.known.remote_id if job.known else None,
                    job.known.url if job.known else None,
                    now_utc(),
                ),
            )


def _record_done(state: State, key: str, file: FactsheetFile, remote: Remote) -> None:
    with state.transaction() as db:
        db.execute(
            "UPDATE published SET state = 'done', remote_id = ?, url = ?, error = NULL, "
            "updated_at = ? WHERE target = ? AND cluster_id = ? AND version = ? AND format = ?",
            (
                remote.remote_id,
                remote.url,
                now_utc(),
                key,
                file.cluster_id,
                file.version,
                file.format,
            ),
        )


def _record_error(state: State, key: str, jobs: Iterable[Job], error: str) -> None:
    with state.transaction() as db:
        for job in jobs:
            f = job.file
            db.execute(
                "UPDATE published SET error = ?, updated_at = ? WHERE target = ? AND "
                "cluster_id = ? AND version = ? AND format = ?",
                (error[:500], now_utc(), key, f.cluster_id, f.version, f.format),
            )


# -- links ------------------------------------------------------------------------------------


def target_key(config: Config) -> str | None:
    """The state's name for the configured destination (opening a target costs no call)."""
    if config.publish is None:
        return None
    from cluster_sync.publish import open_target

    return open_target(config).key


def sheet_links(state: State, key: str | None) -> dict[str, str]:
    """Cluster ID -> the link of its latest published factsheet (a PDF rather than a .docx)."""
    if key is None:
        return {}
    best: dict[str, tuple[int, int, str]] = {}
    preference = {fmt: -i for i, fmt in enumerate(FORMATS)}
    for cluster_id, version, fmt, url in state.db.execute(
        "SELECT cluster_id, version, format, url FROM published "
        "WHERE target = ? AND state = 'done' AND url IS NOT NULL",
        (key,),
    ):
        rank = (version, preference.get(fmt, -99), url)
        if cluster_id not in best or rank > best[cluster_id]:
            best[cluster_id] = rank
    return {cluster_id: rank[2] for cluster_id, rank in best.items()}


def email_link(
    config: Config,
    state: State,
    docx: Path,
    cluster_id: str,
    version: int,
    others: dict[str, tuple[str | None, str | None]],
) -> str | None:
    """With `[publish] attach = false`: the link an email can carry instead of the file, when
    it is known before the upload (always for a web folder; on Drive once the cluster has a
    file there). `others`: the version's other formats, as the state records them (the email is
    queued in the transaction that records them). None: attach the file as usual."""
    if config.publish is None or config.publish.attach:
        return None
    key = target_key(config)
    assert key is not None
    from cluster_sync.publish import open_target

    try:
        target = open_target(config)
        for file in version_files(docx, cluster_id, version, others):  # preferred first
            link = target.link_before_upload(file, _known(state, key, cluster_id, file.format))
            if link:
                return link
    except PublishError as exc:
        log.warning("%s: attaching the factsheet instead of linking it: %s", cluster_id, exc)
    return None


def publish_configured(
    config: Config, state: State, sleep: Callable[[float], None] | None = None
) -> PublishReport:
    """The run's publishing pass with the configured target; never raises a PublishError."""
    from cluster_sync.publish import open_target

    try:
        target = open_target(config, **({"sleep": sleep} if sleep is not None else {}))
        return publish_due(state, target)
    except PublishError as exc:
        log.error("publishing failed: %s", exc)
        return PublishReport(errors=[str(exc)])


def overview(state: State, key: str | None) -> dict[str, Any]:
    """For `cluster-sync status`: files published at the configured target, files waiting, and
    the last reason one is waiting."""
    if key is None:
        return {}
    counts = dict(
        state.db.execute(
            "SELECT state, count(*) FROM published WHERE target = ? GROUP BY state", (key,)
        ).fetchall()
    )
    error = state.db.execute(
        "SELECT error FROM published WHERE target = ? AND state = 'pending' AND error IS NOT NULL "
        "ORDER BY updated_at DESC LIMIT 1",
        (key,),
    ).fetchone()
    (withdraw,) = state.db.execute(
        "SELECT count(DISTINCT remote_id) FROM published WHERE target = ? AND remote_id IS NOT "
        "NULL AND cluster_id IN (SELECT cluster_id FROM withdrawn)",
        (key,),
    ).fetchone()
    return {
        "published": int(counts.get("done", 0)),
        "waiting": int(counts.get("pending", 0)),
        "last_error": error[0] if error else None,
        "to_withdraw": int(withdraw),
    }
