"""What a programme publishes, read back from the rendered files: logos as picture parts, the
report's structure (contents field, headings kept with what follows, cluster blocks that do not
break, no "(s)"), the `check` warning without logos, and the registry export in its three
formats compared with the state."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from test_report import CONFIG, ROOT, TODAY, YEAR_2026, portfolio, registration, save

from cluster_sync import config as config_mod
from cluster_sync.checks import run_checks
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.errors import ConfigError
from cluster_sync.registry_export import country_code, export_registry, registry
from cluster_sync.report.service import make_report
from cluster_sync.state import State
from cluster_sync.text import counted

BRANDING = """
[branding]
programme_logo = "{root}/examples/branding/programme-logo-placeholder.png"
eu_emblem = "eu.png"
"""


def _config(tmp_path: Path, branding: bool) -> Config:
    text = CONFIG.format(tmp=tmp_path, root=ROOT, approval="false")
    text = text.replace(
        'report_template = "',
        f'factsheet_template = "{ROOT}/templates/factsheet.docx"\nreport_template = "',
    )
    if branding:
        (tmp_path / "eu.png").write_bytes((ROOT / "examples/branding/eu-emblem.png").read_bytes())
        text += BRANDING.format(root=ROOT)
    path = tmp_path / "cluster-sync.toml"
    path.write_text(text, encoding="utf-8")
    return config_mod.load(path)


@pytest.fixture
def branded(tmp_path: Path) -> Config:
    return _config(tmp_path, branding=True)


@pytest.fixture
def plain(tmp_path: Path) -> Config:
    return _config(tmp_path, branding=False)


def _state(config: Config) -> State:
    return State(config.path(config.state.database))


def _media(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [n for n in archive.namelist() if n.startswith("word/media/")]


def _all_xml_text(path: Path) -> str:
    """The text of every part (body, headers, footers), as a reader sees it."""
    with zipfile.ZipFile(path) as archive:
        parts = [archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml")]
    return " ".join(" ".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml)) for xml in parts)


def test_counted_agrees_with_its_number() -> None:
    assert counted(1, "organisation") == "1 organisation"
    assert counted(0, "organisation") == "0 organisations"
    assert counted(2, "country", "countries") == "2 countries"
    assert counted(1, "country", "countries") == "1 country"


# -- logos --------------------------------------------------------------------------------


def test_branding_paths_are_relative_to_the_config_file(branded: Config, tmp_path: Path) -> None:
    assert branded.branding.eu_emblem == tmp_path / "eu.png"


def test_a_missing_or_foreign_logo_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_text("not a picture", encoding="utf-8")
    path = tmp_path / "cluster-sync.toml"
    base = CONFIG.format(tmp=tmp_path, root=ROOT, approval="false")
    path.write_text(base + '[branding]\nprogramme_logo = "logo.png"\neu_emblem = "nope.png"\n')
    with pytest.raises(ConfigError) as caught:
        config_mod.load(path)
    problems = "\n".join(caught.value.problems)
    assert "branding.programme_logo" in problems and "not a PNG or JPEG" in problems
    assert "branding.eu_emblem" in problems and "no file" in problems


def test_check_warns_without_logos_and_passes_with_them(plain: Config, branded: Config) -> None:
    warned = {c.area: c for c in run_checks(plain)}["branding"]
    assert warned.ok and warned.warning
    assert "no programme logo and no EU emblem configured" in warned.message
    fine = {c.area: c for c in run_checks(branded)}["branding"]
    assert fine.ok and not fine.warning


def test_the_check_command_prints_the_warning_and_exits_0(plain: Config, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "cluster-sync.toml"), "check"])
    assert "branding: WARNING" in result.output
    assert "templates: OK" in result.output


def test_report_and_factsheet_carry_the_logos_as_pictures(branded: Config, tmp_path: Path) -> None:
    from cluster_sync.render.branding import logo_images
    from cluster_sync.render.factsheet import factsheet_context, render_docx
    from cluster_sync.sample import sample_registration

    out = tmp_path / "factsheet.docx"
    render_docx(branded.path(branded.output.factsheet_template),
                factsheet_context(sample_registration(), "CL-2025-001", 1, TODAY), out,
                extras=logo_images(branded.branding))  # fmt: skip
    state = _state(branded)
    portfolio(state)
    made = make_report(branded, state, YEAR_2026, TODAY)
    state.close()
    for path in (out, made.docx):
        assert len(_media(path)) >= 2, path.name  # programme logo and emblem (charts besides)
        text = _all_xml_text(path)
        assert "[programme logo]" not in text and "[EU emblem]" not in text
        assert "Co-funded by the European Union" in text
        doc = Document(str(path))
        footer_xml = doc.sections[0].footer._element.xml
        assert "<pic:pic" in footer_xml  # the emblem beside the statement in the footer


def test_without_logos_a_placeholder_shows(plain: Config) -> None:
    state = _state(plain)
    portfolio(state)
    made = make_report(plain, state, YEAR_2026, TODAY)
    state.close()
    text = _all_xml_text(made.docx)
    assert "[programme logo]" in text and "[EU emblem]" in text


# -- report structure ---------------------------------------------------------------------


@pytest.fixture
def report_docx(plain: Config) -> Path:
    state = _state(plain)
    portfolio(state)
    secret = registration("Secret", "S", "2026-02-01", "2026-10-31", consent=False)
    save(state, "CL-2026-004", secret)
    made = make_report(plain, state, YEAR_2026, TODAY)
    state.close()
    return made.docx


def test_no_sentence_says_s_in_brackets(report_docx: Path) -> None:
    text = _all_xml_text(report_docx)
    assert "(s)" not in text and "(ies)" not in text
    assert "1 cluster without consent to publication is counted" in text
    assert "(s)" not in report_docx.with_suffix(".md").read_text(encoding="utf-8")


def test_the_report_has_a_contents_field_word_updates_on_opening(report_docx: Path) -> None:
    with zipfile.ZipFile(report_docx) as archive:
        body = archive.read("word/document.xml").decode()
        settings = archive.read("word/settings.xml").decode()
    assert re.search(r"<w:instrText[^>]*>\s*TOC \\o", body)
    assert 'w:dirty="true"' in body
    assert re.search(r'<w:updateFields w:val="(true|1)"/>', settings)


def test_the_contents_list_every_section_with_a_link(report_docx: Path) -> None:
    doc = Document(str(report_docx))
    sections = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    entries = [p for p in doc.paragraphs if p.style.name == "TOC 1"]
    assert [p.text for p in entries] == sections
    assert sections[:2] == ["Key figures", "Portfolio"] and len(sections) >= 8
    bookmarks = {b.get(qn("w:name")) for b in doc.element.body.iter(qn("w:bookmarkStart"))}
    for entry in entries:
        anchor = entry._p.find(qn("w:hyperlink")).get(qn("w:anchor"))
        assert anchor in bookmarks
    # the entries are the TOC field's result: begin before the first, end after the last
    kinds = [f.get(qn("w:fldCharType")) for f in entries[-1]._p.iter(qn("w:fldChar"))]
    assert kinds == ["end"]


def test_headings_keep_with_next(report_docx: Path) -> None:
    doc = Document(str(report_docx))
    for name in ("Heading 1", "Heading 2", "Heading 3"):
        assert doc.styles[name].paragraph_format.keep_with_next is True, name
    headings = [p for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings


def test_each_cluster_block_is_one_row_that_does_not_split(report_docx: Path) -> None:
    doc = Document(str(report_docx))
    blocks = []
    for table in doc.tables:
        cell = table.rows[0].cells[0]
        if (
            len(table.rows) == 1
            and cell.paragraphs
            and cell.paragraphs[0].style.name == "Heading 2"
        ):
            blocks.append(table)
    titles = [b.rows[0].cells[0].paragraphs[0].text for b in blocks]
    assert [t.split(" · ")[0] for t in titles] == [
        "CL-2025-001",
        "CL-2026-001",
        "CL-2026-002",
        "CL-2026-003",
    ]
    for block in blocks:
        assert block.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None
        inner = _cell_text(block.rows[0].cells[0])
        assert "Progress since the last report" in inner
        assert "version 1 of" in inner or "not made yet" in inner
        assert ".docx" not in inner


def _cell_text(cell: Any) -> str:
    return " ".join(t.text or "" for t in cell._tc.iter(qn("w:t")))


# -- registry export ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Greece", "GR"), ("Ελλάδα", "GR"), ("EL", "GR"), ("España", "ES"), ("espana ", "ES"),
     ("Hrvatska", "HR"), ("Crna Gora", "ME"), ("Северна Македонија", "MK"), ("Italia", "IT"),
     ("Türkiye", "TR"), ("mt", "MT"), ("Atlantis", None), ("", None)],
)  # fmt: skip
def test_country_names_in_several_languages_become_codes(typed: str, code: str | None) -> None:
    assert country_code(typed) == code


@pytest.fixture
def exported_state(plain: Config) -> Any:
    state = _state(plain)
    portfolio(state)
    save(
        state, "CL-2026-004", registration("Secret", "S", "2026-02-01", "2026-10-31", consent=False)
    )
    save(state, "CL-2026-005", None, status="invalid", title="Broken")
    odd = registration("=HYPERLINK(\"http://x\")", "+SUM", "2026-02-01", "2026-10-31",
                       lead_country="Atlantis", lead_organisation="@org")  # fmt: skip
    save(state, "CL-2026-006", odd)
    state.db.execute("CREATE TABLE publications (cluster_id TEXT, version INT, published_url TEXT)")
    state.db.execute(
        "INSERT INTO publications VALUES ('CL-2026-001', 1, 'https://example.org/f/1')"
    )
    yield state
    state.close()


def test_the_registry_holds_valid_consented_clusters(exported_state: State) -> None:
    rows = {r.values["cluster_id"]: r.values for r in registry(exported_state, TODAY)}
    assert sorted(rows) == [
        "CL-2025-001",
        "CL-2026-001",
        "CL-2026-002",
        "CL-2026-003",
        "CL-2026-006",
    ]
    crete = rows["CL-2026-002"]
    assert crete["lead_partner"] == "Περιφέρεια Κρήτης" and crete["lead_partner_country"] == "GR"
    assert crete["partner_organisations"] == [
        "Περιφέρεια Κρήτης",
        "Generalitat Valenciana",
        "Opština Kotor",
    ]
    assert crete["partner_countries"] == ["GR", "ES", "ME"]
    assert crete["status"] == "active" and crete["start_date"] == "2026-11-25"
    assert rows["CL-2026-001"]["factsheet_url"] == "https://example.org/f/1"
    assert rows["CL-2026-003"]["factsheet_url"] == ""
    odd = rows["CL-2026-006"]
    assert odd["lead_partner_country"] == "Atlantis"
    assert odd["unrecognised_countries"] == ["Atlantis"]


def test_csv_json_and_xlsx_say_the_same_and_keep_formulas_as_text(
    exported_state: State, tmp_path: Path
) -> None:
    expected = {r.values["cluster_id"]: r.flat() for r in registry(exported_state, TODAY)}
    for fmt in ("csv", "json", "xlsx"):
        assert export_registry(exported_state, fmt, tmp_path / f"r.{fmt}", TODAY) == 5
    text = (tmp_path / "r.csv").read_bytes().decode("utf-8-sig")
    from_csv = {r["cluster_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert from_csv == expected
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert {c["cluster_id"]: c["partner_countries"] for c in data["clusters"]}["CL-2026-002"] == [
        "GR",
        "ES",
        "ME",
    ]
    assert set(data["columns"]) == set(next(iter(expected.values())))
    sheet = load_workbook(tmp_path / "r.xlsx").active
    header = [c.value for c in sheet[1]]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    odd = dict(zip(header, cells["CL-2026-006"], strict=True))
    assert odd["project_name"].value == '=HYPERLINK("http://x")'
    assert odd["project_name"].data_type == "s"
    assert odd["project_acronym"].value == "+SUM" and odd["lead_partner"].value == "@org"
    for key, cell in zip(header, cells["CL-2026-002"], strict=True):
        assert str(cell.value if cell.value is not None else "") == expected["CL-2026-002"][key]


def test_the_export_command_writes_each_format(plain: Config, tmp_path: Path) -> None:
    state = _state(plain)
    portfolio(state)
    state.close()
    conf = str(tmp_path / "cluster-sync.toml")
    for fmt in ("csv", "json", "xlsx"):
        result = CliRunner().invoke(cli, ["--config", conf, "export", "--format", fmt])
        assert result.exit_code == 0, result.output
        out = tmp_path / "output" / "registry" / f"clusters.{fmt}"
        assert f"Registry: 4 clusters written to {out}" in result.output
        assert out.stat().st_size > 0


def test_many_clusters_get_a_monthly_timeline(plain: Config) -> None:
    from cluster_sync.report.figures import TIMELINE_MAX_BARS

    state = _state(plain)
    for number in range(1, TIMELINE_MAX_BARS + 2):
        reg = registration(f"Cluster {number}", f"C{number}", "2026-02-01", "2026-12-20")
        save(state, f"CL-2026-{number:03d}", reg)
    made = make_report(plain, state, YEAR_2026, TODAY)
    state.close()
    assert made.charts["timeline_chart"].is_file()
    assert made.context["timeline_note"].startswith("Clusters running in each month")
    assert "Clusters running in each month" in _all_xml_text(made.docx)


@pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")),
    reason="needs LibreOffice (soffice) and poppler-utils (pdftotext)",
)
def test_in_libreoffice_each_cluster_block_stays_on_one_page(plain: Config, tmp_path: Path) -> None:
    """Laid out by LibreOffice: every cluster heading shares its page with the cluster's
    progress box, the page that holds the section heading also holds the first block, and
    every page is numbered in the footer."""
    state = _state(plain)
    for number in range(1, 10):
        reg = registration(f"Coastal wetlands {number}", f"CW{number}", "2026-02-01", "2026-12-20")
        save(state, f"CL-2026-{number:03d}", reg)
    made = make_report(plain, state, YEAR_2026, TODAY)
    state.close()
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(made.docx)],
        check=True,
        capture_output=True,
    )
    pdf = tmp_path / made.docx.with_suffix(".pdf").name
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    pages = text.decode("utf-8").split("\f")[:-1]
    assert all(f"Page {i} of {len(pages)}" in page for i, page in enumerate(pages, start=1))
    for number in range(1, 10):
        heading = f"CL-2026-{number:03d} · Coastal wetlands {number}"
        page = next(p for p in pages if heading in p)
        assert "Progress since the last report" in page.split(heading, 1)[1], heading
    first = next(p for p in pages if "CL-2026-001 · Coastal wetlands 1" in p)
    assert "Clusters: roadmap and progress" in first
