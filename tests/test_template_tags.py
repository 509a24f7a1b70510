"""The Word templates the package ships use only documented tags, the documentation promises no
tag the renderer does not give, and the scripts that first built the templates never write over
one (the shipped files may hold edits made in Word)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from docxtpl import DocxTemplate

from cluster_sync.render.factsheet import factsheet_context
from cluster_sync.sample import sample_registration

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = resources.files("cluster_sync") / "templates"
#: where each shipped Word template's tags are documented (docs/templates.md sends the
#: report's readers to docs/report.md), and the section that lists them
DOCUMENTED = {
    "factsheet.docx": ("docs/templates.md", "## Tag reference"),
    "cop-report.docx": ("docs/report.md", "### Tags"),
}
#: drawn by the renderer, not given as data: docs/templates.md describes them with the logos
PICTURES = {"programme_logo", "eu_emblem", "eu_emblem_small"}


def _section(doc: str, heading: str) -> str:
    text = (ROOT / doc).read_text(encoding="utf-8")
    start = text.index(heading + "\n")
    level = heading.split(" ")[0] + " "
    following = [m.start() for m in re.finditer(r"^#{2,3} ", text[start + 1 :], re.M)]
    ends = [start + 1 + i for i in following if text[start + 1 + i :].startswith(level)]
    return text[start : ends[0] if ends else len(text)]


def _documented(doc: str, heading: str) -> set[str]:
    """Every name written in code style in the section: `cluster_id`, `{{ cluster_id }}`,
    `org.people` (its first part), `figures.clusters`."""
    names = set()
    for code in re.findall(r"`([^`]+)`", _section(doc, heading)):
        names.update(re.findall(r"(?<![.\w])([a-z_][a-z0-9_]*)", code))
    return names


def _tags(template: Path) -> set[str]:
    return set(DocxTemplate(str(template)).get_undeclared_template_variables())


def test_every_shipped_word_template_is_checked() -> None:
    shipped = {item.name for item in SHIPPED.iterdir() if item.name.endswith(".docx")}
    assert shipped == set(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_tag_of_a_shipped_template_is_documented(name: str) -> None:
    doc, heading = DOCUMENTED[name]
    with resources.as_file(SHIPPED / name) as template:
        tags = _tags(template)
    assert len(tags) > 20  # the reading found the template's tags, not nothing
    missing = sorted(tags - _documented(doc, heading))
    assert not missing, f"{name} uses tags {doc} does not list under {heading!r}: {missing}"


def test_the_factsheet_tag_reference_promises_only_tags_the_renderer_gives() -> None:
    """Each `{{ name }}` row of the tag reference is a tag the factsheet context has."""
    section = _section("docs/templates.md", "## Tag reference")
    rows = set(re.findall(r"^\| `\{\{ ([a-z_]+) \}\}`", section, re.M))
    rows |= set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    given = set(factsheet_context(sample_registration(), "CL-2025-007", 2, date(2025, 6, 12)))
    assert len(rows) > 20
    assert not rows - given - PICTURES, sorted(rows - given - PICTURES)


@pytest.mark.parametrize(
    ("script", "template"),
    [("build_templates.py", "factsheet.docx"), ("build_report_template.py", "cop-report.docx")],
)
def test_the_template_builders_never_write_over_a_file(
    tmp_path: Path, script: str, template: str
) -> None:
    edited = tmp_path / template
    shutil.copy(ROOT / "templates" / template, edited)
    before = edited.read_bytes()
    command = [sys.executable, str(ROOT / "templates" / script), "--out", str(edited)]
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "was not changed" in refused.stderr and "--force" in refused.stderr
    assert edited.read_bytes() == before
    fresh = tmp_path / "fresh.docx"
    built = subprocess.run([*command[:2], "--out", str(fresh)], capture_output=True, check=False)
    assert built.returncode == 0 and fresh.stat().st_size > 10_000
    forced = subprocess.run([*command, "--force"], capture_output=True, check=False)
    assert forced.returncode == 0
    assert edited.read_bytes() != before  # a rebuild carries a new timestamp at least
