"""Factsheets rendered in a worker process (cluster_sync/render/pool.py): the same documents as
rendering in the sync's own process, in the rows' order, each row's failure its own, a worker
that dies leaving its rows to the sync, the template of the run, and the worker's files synced
before the durable commit after the one that records them."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG_TEMPLATE, EXAMPLES, ROOT
from docx import Document
from pdf_support import SOFFICE, needs_libreoffice
from test_docx_fast import _demo_contexts, _logos, _parts, _template, _text

from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.errors import TemplateError
from cluster_sync.identity import Identified
from cluster_sync.mailers import open_mailer
from cluster_sync.render import pool
from cluster_sync.render.factsheet import render_docx
from cluster_sync.sources import open_source
from cluster_sync.state import State
from cluster_sync.summary import RunSummary

TEMPLATE = ROOT / "templates" / "factsheet.docx"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _ready(renders: pool.RenderPool) -> None:
    """Wait for the worker's start (a test wants its rows rendered there, not here)."""
    deadline = time.monotonic() + 120
    while not renders.ready():
        assert time.monotonic() < deadline, "the render worker did not start"
        time.sleep(0.02)


def _start(template: Path, extras: Any = None) -> pool.RenderPool:
    renders = pool.RenderPool.start(template, extras, 0o600)
    assert renders is not None
    _ready(renders)
    return renders


def _render_all(
    renders: pool.RenderPool, jobs: list[tuple[Path, dict[str, Any]]]
) -> list[list[str] | None]:
    """Submit ahead as far as the pool takes, claim in order, as the sync does."""
    claimed: list[list[str] | None] = []
    sent = 0
    for index, (path, _) in enumerate(jobs):
        while sent < len(jobs) and sent <= index + pool.DEPTH and renders.has_room():
            assert renders.submit(jobs[sent][0], jobs[sent][1], synced=False)
            sent += 1
        claimed.append(renders.claim(path, synced=False))
    return claimed


def test_the_worker_writes_the_documents_rendered_here(tmp_path: Path) -> None:
    branding = EXAMPLES / "branding"
    extras = _logos(branding / "programme-logo-placeholder.png", branding / "eu-emblem.png")
    contexts = _demo_contexts()
    (tmp_path / "here").mkdir()
    jobs = [(tmp_path / "pool" / f"{i:02d}.docx", c) for i, c in enumerate(contexts)]
    renders = _start(TEMPLATE, extras)
    try:
        claimed = _render_all(renders, jobs)
        # one the durable state already records is synced by the worker, at once: none left
        again = tmp_path / "pool" / "again.docx"
        assert renders.submit(again, contexts[0], synced=True)
        assert renders.claim(again, synced=True) == []
    finally:
        renders.close()
    assert claimed == [[str(path)] for path, _ in jobs]  # each left for the state's next sync
    assert renders.rendered == len(jobs) + 1
    for index, (path, context) in enumerate(jobs):
        here = tmp_path / "here" / f"{index:02d}.docx"
        render_docx(TEMPLATE, context, here, extras=extras)
        # every part's bytes (with pictures, the package is saved when the template is
        # prepared, and its members carry that time)
        assert _parts(path.read_bytes()) == _parts(here.read_bytes())
        assert path.stat().st_mode & 0o777 == 0o600
    assert _parts(again.read_bytes()) == _parts((tmp_path / "here" / "00.docx").read_bytes())


def test_a_render_that_fails_there_is_rendered_here_and_fails_as_it_would(tmp_path: Path) -> None:
    template = _template(tmp_path / "divides.docx", ["{{ 1 // count }} {{ title }}"])
    renders = _start(template)
    jobs = [(tmp_path / f"{n}.docx", {"count": n, "title": f"t{n}"}) for n in (1, 0, 2)]
    try:
        claimed = _render_all(renders, jobs)
    finally:
        renders.close()
    assert claimed == [[str(jobs[0][0])], None, [str(jobs[2][0])]]
    assert not jobs[1][0].exists()
    with pytest.raises(ZeroDivisionError):
        render_docx(template, jobs[1][1], jobs[1][0])


def test_a_broken_template_fails_every_render_there_and_stops_here(tmp_path: Path) -> None:
    template = _template(tmp_path / "broken.docx", ["{{ title "])
    renders = _start(template)
    path = tmp_path / "out.docx"
    try:
        assert renders.submit(path, {"title": "t"}, synced=False)
        assert renders.claim(path, synced=False) is None
    finally:
        renders.close()
    with pytest.raises(TemplateError, match="broken tag"):
        render_docx(template, {"title": "t"}, path)


def test_a_killed_worker_leaves_its_renders_to_the_caller(tmp_path: Path) -> None:
    contexts = _demo_contexts()[:3]
    renders = _start(TEMPLATE)
    jobs = [(tmp_path / f"{i}.docx", c) for i, c in enumerate(contexts)]
    try:
        for path, context in jobs:
            assert renders.submit(path, context, synced=False)
        for pid in renders.pids():
            os.kill(pid, signal.SIGKILL)
        renders.workers[0].process.wait()
        # what it finished before it died is done; the caller renders the rest itself
        claimed = [renders.claim(path, synced=False) for path, _ in jobs]
        done = len([c for c in claimed if c is not None])
        assert claimed == [[str(p)] for p, _ in jobs[:done]] + [None] * (len(jobs) - done)
        assert not renders.ready()
        assert not renders.submit(tmp_path / "later.docx", contexts[0], synced=False)
    finally:
        renders.close()


def test_a_worker_killed_while_rendering_leaves_no_temporary_file(tmp_path: Path) -> None:
    # a render that takes long enough to be killed in the middle of it
    template = _template(tmp_path / "slow.docx", ["{% for i in range(10**9) %}{% endfor %}"])
    renders = _start(template)
    path = tmp_path / "out" / "slow.docx"
    path.parent.mkdir()
    # what atomic_write leaves of a file cut off half way, and someone else's file beside it
    half_written = path.parent / f".{path.name}.k2j4x9.tmp"
    half_written.write_bytes(b"PK")
    unrelated = path.parent / ".other.docx.k2j4x9.tmp"
    unrelated.write_bytes(b"PK")
    try:
        assert renders.submit(path, {}, synced=False)
        (pid,) = renders.pids()
        os.kill(pid, signal.SIGKILL)
        assert renders.claim(path, synced=False) is None
    finally:
        renders.close()
    assert not half_written.exists()
    assert unrelated.exists() and not path.exists()


def test_each_pool_renders_the_template_as_it_is_when_it_starts(tmp_path: Path) -> None:
    template = _template(tmp_path / "edited.docx", ["First wording {{ title }}"])
    texts = []
    for wording in ("First", "Second"):
        if wording == "Second":  # saved again in Word between two runs, at the same path
            _template(template, [f"{wording} wording {{{{ title }}}}"])
        renders = _start(template)
        path = tmp_path / f"{wording}.docx"
        try:
            assert renders.submit(path, {"title": "Seagrass"}, synced=False)
            assert renders.claim(path, synced=False) == [str(path)]
        finally:
            renders.close()
        texts.append(_text(path.read_bytes()))
    assert "First wording Seagrass" in texts[0]
    assert "Second wording Seagrass" in texts[1]


# -- the sync with a worker ---------------------------------------------------------------------


def _project(folder: Path, template: Path = TEMPLATE, pdf: bool = False) -> Config:
    folder.mkdir()
    (folder / "responses.csv").write_bytes((EXAMPLES / "responses.csv").read_bytes())
    text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
    text = text.replace(f"{ROOT.as_posix()}/templates/factsheet.docx", template.as_posix())
    if pdf:  # the batch mode: every factsheet rendered first, then converted at once
        text = text.replace("[mail]\n", 'formats = ["docx", "pdf"]\n\n[mail]\n')
        text += f'\n[output.pdf]\nsoffice = "{SOFFICE}"\ntimeout_seconds = 120\n'
    (folder / "cluster-sync.toml").write_text(text, encoding="utf-8")
    return config_mod.load(folder / "cluster-sync.toml")


class Watch:
    """The sync's progress hook: waits for the worker before the first row, so that the rows
    are rendered there, and kills it after `kill_after` rows when asked."""

    def __init__(self, kill_after: int | None = None) -> None:
        self.sync: Sync | None = None
        self.kill_after = kill_after
        self.renders: pool.RenderPool | None = None

    def __call__(self, items: Iterable[Identified]) -> Iterator[Identified]:
        assert self.sync is not None
        self.renders = self.sync.renders
        assert self.renders is not None
        _ready(self.renders)
        for count, item in enumerate(items):
            if count == self.kill_after:
                for pid in self.renders.pids():
                    os.kill(pid, signal.SIGKILL)
                self.renders.workers[0].process.wait()
            yield item


def _sync(config: Config, watch: Watch | None = None) -> RunSummary:
    state = State(config.path(config.state.database))
    try:
        sync = Sync(config, state, open_source(config), open_mailer(config), now=NOW)
        if watch is not None:
            watch.sync = sync
            sync.progress = watch
        return sync.run()
    finally:
        state.close()


def _outcome(summary: RunSummary, config: Config) -> tuple[Any, ...]:
    folder = config.path(config.output.directory) / "factsheets"
    # a PDF carries the time it was made; the Word files must be the same bytes
    files = {p.name: p.suffix == ".docx" and p.read_bytes() for p in sorted(folder.iterdir())}
    rows = [(r.row, r.cluster_id, r.change, r.note) for r in summary.results]
    return rows, [p.name for p in summary.factsheets], files, summary.counts


@pytest.fixture
def worker_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker for every run, however few its factsheets (the demo data has 16)."""
    monkeypatch.setattr(pool, "MIN_RENDERS", 1)
    monkeypatch.setattr(pool, "worker_count", lambda: 1)


def _failing_template(tmp_path: Path) -> Path:
    """The shipped template with a tag that fails on the data of some rows (IDs ending in 3)."""
    doc = Document(str(TEMPLATE))
    doc.add_paragraph().add_run('{{ 1 // 0 if cluster_id.endswith("3") else "" }}')
    path = tmp_path / "failing.docx"
    doc.save(str(path))
    return path


@pytest.mark.parametrize(
    "case",
    ["plain", "a failing row", "worker killed", pytest.param("pdf", marks=needs_libreoffice)],
)
def test_the_sync_with_a_worker_does_what_it_does_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    template = _failing_template(tmp_path) if case == "a failing row" else TEMPLATE
    alone_config = _project(tmp_path / "alone", template, pdf=case == "pdf")
    alone = _outcome(_sync(alone_config), alone_config)
    monkeypatch.setattr(pool, "MIN_RENDERS", 1)
    monkeypatch.setattr(pool, "worker_count", lambda: 1)
    config = _project(tmp_path / "worker", template, pdf=case == "pdf")
    watch = Watch(kill_after=5 if case == "worker killed" else None)
    with_worker = _outcome(_sync(config, watch), config)
    assert with_worker == alone
    assert watch.renders is not None and watch.renders.rendered > 0
    if case == "a failing row":
        errors = [row for row in alone[0] if row[2] == "error"]
        assert errors and all("ZeroDivisionError" in str(note) for *_, note in errors)
    if case == "pdf":
        assert len([n for n in alone[2] if n.endswith(".pdf")]) == len(alone[1])
    if case == "worker killed":
        assert watch.renders.rendered < len(alone[1])  # the sync rendered the rest


@pytest.mark.usefixtures("worker_always")
def test_a_template_broken_during_the_run_stops_it_once_with_a_worker(tmp_path: Path) -> None:
    template = tmp_path / "factsheet.docx"
    template.write_bytes(TEMPLATE.read_bytes())
    config = _project(tmp_path / "worker", template)
    watch = Watch()

    def broken(items: Iterable[Identified]) -> Iterator[Identified]:
        # after the run's template check, saved again broken: the worker's renders fail, and
        # the sync's own render of the first row stops the run
        _template(template, ["{{ title "])
        yield from watch(items)

    state = State(config.path(config.state.database))
    sync = Sync(config, state, open_source(config), open_mailer(config), now=NOW)
    watch.sync, sync.progress = sync, broken
    with pytest.raises(TemplateError, match="broken tag"):
        sync.run()
    state.close()
    assert watch.renders is not None and watch.renders.rendered == 0
    assert all(w.process.poll() is not None for w in watch.renders.workers)  # stopped with it
    assert not list((tmp_path / "worker").rglob("*.docx"))


@pytest.mark.usefixtures("worker_always")
def test_the_workers_files_are_synced_before_a_durable_commit_follows_their_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As tests/test_durability.py checks for files written in the sync's process: a factsheet
    the worker wrote is recorded by a commit that is not durable, and fsynced (by the sync)
    before the next durable commit."""
    from test_durability import Trace

    config = _project(tmp_path / "worker")
    state = State(config.path(config.state.database))
    trace = Trace(state)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        trace.statements.append(f"-- fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    sync = Sync(config, state, open_source(config), open_mailer(config), now=NOW)
    watch = Watch()
    watch.sync = sync
    sync.progress = watch
    summary = sync.run()
    state.close()
    assert watch.renders is not None and watch.renders.rendered > 10
    factsheets = {str(p) for p in summary.factsheets}
    durable = {position for position, d in trace.commits() if d}
    waiting: set[str] = set()
    for position, statement in enumerate(trace.statements):
        if statement.startswith("INSERT") and "factsheets" in statement:
            waiting |= {path for path in factsheets if f"'{path}'" in statement}
        elif statement.startswith("-- fsync "):
            waiting.discard(statement[9:])
        elif position in durable:
            assert waiting == set(), f"durable commit before these were synced: {waiting}"
    synced = {s[9:] for s in trace.statements if s.startswith("-- fsync ")}
    assert factsheets <= synced


def test_a_small_run_renders_in_its_own_process(tmp_path: Path) -> None:
    config = _project(tmp_path / "small")
    seen: list[pool.RenderPool | None] = []
    state = State(config.path(config.state.database))
    sync = Sync(config, state, open_source(config), open_mailer(config), now=NOW)

    def progress(items: Iterable[Identified]) -> Iterator[Identified]:
        seen.append(sync.renders)
        yield from items

    sync.progress = progress
    summary = sync.run()
    state.close()
    assert seen == [None]  # 16 factsheets: fewer than a worker's start is worth
    assert len(summary.factsheets) == 16


@pytest.mark.parametrize("program", ["/nonexistent/python", "/bin/false"])
@pytest.mark.usefixtures("worker_always")
def test_a_worker_that_cannot_start_leaves_the_rows_to_the_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    alone_config = _project(tmp_path / "alone")
    with monkeypatch.context() as alone_patch:
        alone_patch.setattr(pool, "MIN_RENDERS", 10**9)
        alone = _outcome(_sync(alone_config), alone_config)
    monkeypatch.setattr(sys, "executable", program)
    config = _project(tmp_path / "no worker")
    assert _outcome(_sync(config), config) == alone
