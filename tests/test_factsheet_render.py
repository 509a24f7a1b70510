"""The shipped Word template, rendered through the real code path and read back with python-docx."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from cluster_sync.dates import format_date
from cluster_sync.errors import TemplateError
from cluster_sync.model import Registration, RoadmapItem
from cluster_sync.render.factsheet import (
    CO_FUNDING,
    factsheet_context,
    factsheet_filename,
    render_docx,
)
from cluster_sync.sample import PREVIEW_DAY, sample_registration

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE = TEMPLATES / "factsheet.docx"
TODAY = PREVIEW_DAY  # the day the documentation's example page is shown on
TITLE = 'Posidonia meadows: R&D <pilot> & "quotes" for restoring seagrass 🌊'


def _registration(**changes: object) -> Registration:
    """The sample registration, which `build_templates.py --preview` renders for the example
    page in the docs, so these tests check the page the documentation shows."""
    return dataclasses.replace(sample_registration(), **changes)


def _render(tmp_path: Path, reg: Registration, name: str = "out.docx"):
    out = tmp_path / name
    render_docx(TEMPLATE, factsheet_context(reg, "CL-2025-007", 2, TODAY), out)
    return out, Document(str(out))


def _all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def _table(doc, first_header: str):
    matches = [t for t in doc.tables if t.rows[0].cells[0].text.strip() == first_header]
    return matches[0] if matches else None


def _rows(table) -> list[list[str]]:
    return [[cell.text.strip() for cell in row.cells] for row in table.rows[1:]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    return _render(tmp_path_factory.mktemp("factsheet"), _registration())


def test_header_band_and_key_facts(rendered) -> None:
    _, doc = rendered
    text = _all_text(doc)
    assert TITLE in text  # escaped by docxtpl, shown literally: R&D <pilot> & "quotes" and 🌊
    assert "R&D <pilot>" in text
    assert "CL-2025-007" in text
    assert "version 2" in text
    assert "POSEIDON-R" in text
    assert "Περιφέρεια Κρήτης (Greece)" in text
    assert "Γιώργος Παπαδόπουλος" in text
    assert "g.papadopoulos@example.org" in text
    assert "1 March 2025 – 30 November 2025" in text


def test_objectives_are_bullets(rendered) -> None:
    _, doc = rendered
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert bullets == list(_registration().objectives)


def test_roadmap_table_lists_every_item_and_marks_past_dates(rendered) -> None:
    _, doc = rendered
    table = _table(doc, "Date")
    assert table is not None
    rows = _rows(table)
    roadmap = _registration().roadmap
    assert len(rows) == len(roadmap)
    for (date_cell, activity_cell), item in zip(rows, roadmap, strict=True):
        assert date_cell.endswith(format_date(item.date))
        assert activity_cell == item.activity
        assert date_cell.startswith("✓") == (item.date < TODAY)


def test_each_organisation_is_listed_once_with_its_people(rendered) -> None:
    _, doc = rendered
    table = _table(doc, "Organisation")
    assert table is not None
    reg = _registration()
    expected = [[f"{reg.lead_organisation} · lead", reg.lead_country, reg.contact_person]]
    expected += [[p.organisation, p.country, p.name] for p in reg.participants]
    assert _rows(table) == expected  # Ġorġ Borġ, Ana Đurđević, Стефан Димитров intact
    organisations_lines = [p for p in doc.paragraphs if p.text.startswith("Organisations")]
    assert organisations_lines == []  # not listed a second time above the table


def test_people_of_one_organisation_share_its_row(tmp_path: Path) -> None:
    reg = _registration()
    same = dataclasses.replace(
        reg.participants[0], name="Pablo Ruiz", organisation="JUNTA de Andalucía "
    )
    _, doc = _render(tmp_path, dataclasses.replace(reg, participants=(*reg.participants, same)))
    rows = _rows(_table(doc, "Organisation"))
    andalucia = [r for r in rows if r[0].casefold().startswith("junta")]
    assert andalucia == [["Junta de Andalucía", "Spain", "María José Núñez, Pablo Ruiz"]]


@pytest.mark.parametrize(
    ("participants", "expected"),
    [
        (0, "1 organisation · 1 country · 0 participants"),
        (1, "2 organisations · 2 countries · 1 participant"),
        (5, "6 organisations · 6 countries · 5 participants"),
    ],
)
def test_partnership_counts_agree_with_their_nouns(
    tmp_path: Path, participants: int, expected: str
) -> None:
    reg = _registration()
    reg = dataclasses.replace(reg, participants=reg.participants[:participants])
    _, doc = _render(tmp_path, reg)
    assert expected in _all_text(doc)
    assert "(s)" not in _all_text(doc)


def test_the_past_dates_note_only_when_a_date_is_ticked(tmp_path: Path, rendered) -> None:
    _, doc = rendered
    assert "✓ marks dates already past" in _all_text(doc)
    future = tuple(RoadmapItem(date(2030, 1, 1), "Later") for _ in range(2))
    _, doc = _render(tmp_path, _registration(roadmap=future))
    assert "✓" not in _all_text(doc)


def test_fact_lines_share_one_tab_stop_wider_than_their_labels() -> None:
    """Every label of "Who is involved" ends before the one tab stop, so all values start at
    the same place (a label longer than the stop pushes its value to the next default tab)."""
    from docx.shared import Pt

    doc = Document(str(TEMPLATE))
    style = doc.styles["Fact Line"]
    stop = style.paragraph_format.tab_stops[0].position
    assert style.paragraph_format.left_indent == stop
    labels = [p.runs[0].text for p in doc.paragraphs if p.style.name == "Fact Line"]
    assert "Participant categories" in labels
    # 7.5 pt Calibri bold capitals average about 0.6 em a letter, plus 0.4 pt spacing
    assert all(len(label) * (Pt(7.5 * 0.62) + Pt(0.4)) < stop for label in labels)


def test_footer_header_and_no_leftover_tags(rendered) -> None:
    out, doc = rendered
    section = doc.sections[0]
    for footer in (section.footer, section.first_page_footer):
        footer_text = "\n".join(p.text for p in footer.paragraphs)
        assert CO_FUNDING in footer_text
        assert f"Generated on {format_date(TODAY)}" in footer_text
    assert TITLE in "\n".join(p.text for p in section.header.paragraphs)
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                xml = archive.read(name).decode("utf-8")
                assert not re.search(r"\{[{%#]|[}%#]\}", xml), f"jinja left in {name}"


def test_expertise_shown_only_when_given(tmp_path: Path, rendered) -> None:
    _, doc = rendered
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert "Expertise needed" in headings
    assert _registration().expertise in _all_text(doc)

    _, doc = _render(tmp_path, _registration(expertise=""))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert "Expertise needed" not in headings
    assert "Objectives" in headings


def test_minimal_registration(tmp_path: Path) -> None:
    reg = _registration(
        acronym="",
        objectives=("Compare two flood-regulation designs",),
        participants=(),
        thematic_projects=(),
        expertise="",
        roadmap=(RoadmapItem(date(2025, 9, 1), "One-day workshop"),),
    )
    _, doc = _render(tmp_path, reg)
    text = _all_text(doc)
    assert _rows(_table(doc, "Organisation")) == [
        [f"{reg.lead_organisation} · lead", reg.lead_country, reg.contact_person]
    ]
    assert "1 organisation · 1 country · 0 participants" in text
    assert [p.text for p in doc.paragraphs if p.style.name == "List Bullet"] == [
        "Compare two flood-regulation designs"
    ]
    assert _rows(_table(doc, "Date")) == [["1 September 2025", "One-day workshop"]]
    assert not any(p.style.name == "Marker" and p.text for p in doc.paragraphs)


def test_template_uses_only_context_tags() -> None:
    from docxtpl import DocxTemplate

    context = factsheet_context(_registration(), "CL-2025-007", 1, TODAY)
    assert DocxTemplate(str(TEMPLATE)).get_undeclared_template_variables(context=context) == set()


def _tiny_template(path: Path, text: str) -> Path:
    doc = Document()
    doc.add_paragraph().add_run(text)  # one run, as Word would keep a freshly typed tag
    doc.save(str(path))
    return path


def test_unknown_tag_is_named(tmp_path: Path) -> None:
    template = _tiny_template(tmp_path / "typo.docx", "Title: {{ clustr_title }}")
    context = factsheet_context(_registration(), "CL-2025-007", 1, TODAY)
    with pytest.raises(TemplateError) as caught:
        render_docx(template, context, tmp_path / "out.docx")
    assert "clustr_title" in str(caught.value)
    assert "typo.docx" in str(caught.value)
    assert not (tmp_path / "out.docx").exists()


def test_syntax_error_names_the_template(tmp_path: Path) -> None:
    template = _tiny_template(tmp_path / "broken.docx", "Title: {{ title }")
    context = factsheet_context(_registration(), "CL-2025-007", 1, TODAY)
    with pytest.raises(TemplateError) as caught:
        render_docx(template, context, tmp_path / "out.docx")
    assert str(template) in str(caught.value)
    assert not (tmp_path / "out.docx").exists()


def test_missing_template_is_a_template_error(tmp_path: Path) -> None:
    context = factsheet_context(_registration(), "CL-2025-007", 1, TODAY)
    with pytest.raises(TemplateError, match="does not exist"):
        render_docx(tmp_path / "nope.docx", context, tmp_path / "out.docx")


@pytest.mark.parametrize(
    ("title", "word"),
    [
        ("Αποκατάσταση λιβαδιών Ποσειδωνίας στην Κρήτη", "poseidon"),
        ("Възстановяване на крайбрежни влажни зони в Бургас", "zoni"),
    ],
)
def test_filename_transliterates_greek_and_cyrillic(title: str, word: str) -> None:
    name = factsheet_filename("CL-2025-007", title, 2)
    assert re.fullmatch(r"CL-2025-007-[a-z0-9]+(?:-[a-z0-9]+)*-v2\.docx", name)
    assert word in name
    assert name != "CL-2025-007-factsheet-v2.docx"  # transliterated, not dropped
    assert len(name) <= len("CL-2025-007--v2.docx") + 50
    assert factsheet_filename("CL-2025-007", title, 2) == name  # stable
