"""`check` renders every template through the builders the sync uses, fed with the sample
registration and run shipped in cluster_sync/sample.py, every list filled: a wrong tag anywhere,
inside a `{% for %}` included, fails `check`, and a tag given the documented way works at once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from test_sync import outbox, read_eml, sync

from cluster_sync.cli import cli
from cluster_sync.config import Config, load
from cluster_sync.report.service import make_report
from cluster_sync.sample import sample_emails, sample_run, seed_state
from cluster_sync.state import State

TEMPLATES = ROOT / "templates" / "email"


def _own_templates(project: Path, name: str, change: Callable[[str], str]) -> Path:
    """A copy of the shipped email templates, with one of them edited."""
    folder = project / "email"
    shutil.copytree(TEMPLATES, folder)
    path = folder / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def _config_with(make_config: Callable[..., Config], project: Path, templates: Path) -> Config:
    """The test project's configuration, with `templates` as its email templates."""
    make_config()
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(TEMPLATES.as_posix(), templates.as_posix()), encoding="utf-8")
    return load(path)


def _check(project: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "check"])
    return result.exit_code, result.output


# Each loop of each email template, and a tag its items do not have.
LOOPS = [
    ("digest.txt.j2", "{% for item in new %}", "item.no_such_tag"),
    ("digest.html.j2", "{% for item in invalid %}", "item.no_such_tag"),
    ("digest.txt.j2", "{% for line in item.changes %}", "line.no_such_tag"),
    ("digest.txt.j2", "{% for item in failed %}", "item.no_such_tag"),
    ("digest.txt.j2", "{% for error in publish_errors %}", "error.no_such_tag"),
    ("factsheet.txt.j2", "{% for line in changes %}", "line.no_such_tag"),
    ("problems.txt.j2", "{% for p in problems %}", "p.no_such_tag"),
    ("problems.html.j2", "{% for p in problems %}", "p.no_such_tag"),
]


@pytest.mark.parametrize(("name", "loop", "tag"), LOOPS)
def test_a_wrong_tag_inside_a_loop_fails_check(
    make_config: Callable[..., Config], project: Path, name: str, loop: str, tag: str
) -> None:
    assert loop in (TEMPLATES / name).read_text(encoding="utf-8"), "the loop moved: update LOOPS"
    folder = _own_templates(project, name, lambda t: t.replace(loop, loop + "{{ " + tag + " }}", 1))
    _config_with(make_config, project, folder)
    code, output = _check(project)
    assert code == 2, output
    assert "templates: PROBLEM" in output
    assert "no_such_tag" in output
    assert "Traceback" not in output


def test_the_shipped_templates_pass_check(
    make_config: Callable[..., Config], project: Path
) -> None:
    make_config()
    code, output = _check(project)
    assert code == 0, output
    assert "templates: OK" in output


def test_a_tag_added_the_documented_way_works_in_check_and_sync(
    make_config: Callable[..., Config], project: Path
) -> None:
    """digest_context gives `run_id`; a secretariat that adds `{{ run_id }}` to the digest needs
    no other change for `check` to pass and the nightly digest to carry it."""
    folder = _own_templates(
        project, "digest.txt.j2", lambda t: t.replace("\n", "\nRun number {{ run_id }}.\n", 1)
    )
    config = _config_with(make_config, project, folder)
    code, output = _check(project)
    assert code == 0, output
    summary = sync(config)
    digests = [m for m in map(read_eml, outbox(config)) if "cluster-sync" in str(m["Subject"])]
    assert len(digests) == 1
    body = digests[0].get_body(("plain",))
    assert body is not None
    assert f"Run number {summary.run_id}." in body.get_content()


def test_the_sample_fills_every_list_a_template_loops_over() -> None:
    """The sample is only worth something if every list is non-empty: an empty list never
    runs its loop's body, so a wrong tag in it would pass."""
    today = date(2026, 11, 30)
    for template, context in sample_emails(today, "https://docs.google.com/forms/d/e/x/viewform"):
        lists = {k: v for k, v in context.items() if isinstance(v, list)}
        empty = [k for k, v in lists.items() if not v and not _empty_by_design(template, k)]
        assert not empty, (template, empty)
    run = sample_run()
    assert all(run.of(kind) for kind in ("new", "updated", "invalid", "duplicate", "error"))


def _empty_by_design(template: str, key: str) -> bool:
    """A first factsheet has no changes: the update beside it in the samples fills the list."""
    return template == "factsheet" and key == "changes"


def test_the_sample_report_has_something_in_every_list(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(approval=True)
    today = date(2026, 11, 30)
    state = State(":memory:")
    seed_state(state, today, "2026-11-30T02:00:00+00:00")
    from cluster_sync.report.gather import Period

    report = make_report(
        config, state, Period(date(2026, 9, 1), today), today, tmp_path / "r.docx", convert=False
    )
    state.close()
    context = report.context
    for key in ("portfolio", "clusters", "upcoming", "ending_soon", "open_problems"):
        assert context[key], key
    assert context["awaiting_approval"]
