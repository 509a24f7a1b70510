"""The personal edit link: read from the optional "Edit link" column, checked to be a Google
Forms address, and put in the problems and factsheet emails; the form's address otherwise."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES
from test_sync import outbox, read_eml, sync

from cluster_sync import form
from cluster_sync.config import Config
from cluster_sync.links import google_form_link, registration_link

OWN = "https://docs.google.com/forms/d/e/1FAIpQLSdX/viewform?edit2=2_ABaOnudAbC-12_x"
FORM_URL = "https://forms.gle/DemoForm123"


@pytest.mark.parametrize(
    "cell",
    [
        OWN,
        f"  {OWN}\n",
        "https://docs.google.com/forms/d/1AbC/edit#response=ACYDBNj",
    ],
)
def test_a_google_forms_link_is_accepted(cell: str) -> None:
    assert google_form_link(cell) == cell.strip()


@pytest.mark.parametrize(
    "cell",
    [
        None,
        42,
        "",
        "http://docs.google.com/forms/d/e/x/viewform",  # not https
        "https://docs.google.com.evil.example/forms/d/e/x/viewform",
        "https://docs.google.com@evil.example/forms/d/e/x/viewform",
        "https://user:pw@docs.google.com/forms/d/e/x/viewform",
        "https://docs.google.com:8443/forms/d/e/x/viewform",
        "https://docs.google.com/spreadsheets/d/x/edit",  # Google, but not a form
        "https://evil.example/?u=https://docs.google.com/forms/d/e/x",
        "javascript:alert(1)//docs.google.com/forms/",
        '=HYPERLINK("https://docs.google.com/forms/d/e/x/viewform")',
        "https://docs.google.com/forms/d/e/x/viewform\nBcc: spy@example.com",
        'https://docs.google.com/forms/d/e/x/viewform" onclick="alert(1)',
        "https://docs.google.com/forms/d/e/x/viewform <b>",
        "see https://docs.google.com/forms/d/e/x/viewform",
        "https://docs.google.com/forms/" + "a" * 600,
    ],
)
def test_anything_else_in_the_cell_is_ignored(cell: object) -> None:
    assert google_form_link(cell) is None


def test_the_forms_address_stands_in_for_a_missing_or_bad_link() -> None:
    assert registration_link(OWN, FORM_URL) == (OWN, True)
    assert registration_link("not a link", FORM_URL) == (FORM_URL, False)
    assert registration_link(None, None) == (None, False)


def test_edit_link_is_mapped_like_any_column(make_config: Callable[..., Config]) -> None:
    config = make_config(extra='\n[form.columns]\nedit_link = "Link to edit"\n')
    assert config.form.columns["edit_link"] == "Link to edit"
    assert form.FIELDS_BY_KEY["edit_link"].header == "Edit link"


def _links_by_id(path: Path) -> dict[str, str]:
    """Cluster ID -> Edit link, from the export after the sync wrote the IDs into it."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {r["Cluster ID"]: r["Edit link"] for r in csv.DictReader(handle) if r["Cluster ID"]}


def test_every_email_to_a_submitter_carries_that_rows_own_link(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    links = _links_by_id(project / "responses.csv")
    assert len(links) == 23 and len(set(links.values())) == 23  # one link per response
    problems = [p for p in outbox(config) if "-problems-" in p.name]
    factsheets = [p for p in outbox(config) if "-factsheet-" in p.name]
    assert len(problems) == 7 and len(factsheets) == 16
    for path in problems + factsheets:
        cluster_id = next(c for c in links if c in path.name)
        message = read_eml(path)
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert [link for link in links.values() if link in plain] == [links[cluster_id]]
        assert links[cluster_id].replace("&", "&amp;") in html
        # in the row's own language (test_languages.py): the same words in each
        words = (FIX if path in problems else CHANGE)[str(message["Content-Language"])]
        assert words in plain and words in html


Grid = list[list[str]]
#: "Fix your registration here" and "Change your registration" in each shipped language
FIX = {
    "en": "Fix your registration here",
    "fr": "Corriger votre inscription ici",
    "es": "Corrija su registro aquí",
    "it": "Correggete qui la vostra registrazione",
    "el": "Διορθώστε την εγγραφή σας εδώ",
}
CHANGE = {
    "en": "Change your registration",
    "fr": "Modifier votre inscription",
    "es": "Modificar su registro",
    "it": "Modificate la vostra registrazione",
    "el": "Τροποποίηση της εγγραφής σας",
}


def _rewrite(path: Path, change: Callable[[Grid], Grid]) -> None:
    """The export with its grid of cells changed, written back as Google writes it."""
    with path.open(encoding="utf-8", newline="") as handle:
        grid = change(list(csv.reader(handle)))
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(grid)


def test_without_the_column_the_forms_address_is_given(
    make_config: Callable[..., Config], project: Path
) -> None:
    def without_links(grid: Grid) -> Grid:
        column = grid[0].index("Edit link")
        return [[*line[:column], *line[column + 1 :]] for line in grid]

    _rewrite(project / "responses.csv", without_links)
    config = make_config(extra="")
    config = config.model_copy(update={"form": config.form.model_copy(update={"url": FORM_URL})})
    sync(config)
    problems = [read_eml(p) for p in outbox(config) if "-problems-" in p.name]
    assert len(problems) == 7
    for message in problems:
        plain = message.get_body(("plain",)).get_content()
        assert FORM_URL in plain and "docs.google.com/forms" not in plain
        assert not any(words in plain for words in FIX.values())


def test_a_cell_that_is_not_a_forms_link_is_never_put_in_an_email(
    make_config: Callable[..., Config], project: Path
) -> None:
    def phish(grid: Grid) -> Grid:
        column = grid[0].index("Edit link")
        evil = "https://evil.example/forms/p"
        return [grid[0], *([*line[:column], evil, *line[column + 1 :]] for line in grid[1:])]

    _rewrite(project / "responses.csv", phish)
    config = make_config(extra="")
    sync(config)
    messages = [read_eml(p) for p in outbox(config)]
    assert messages
    for message in messages:
        assert "evil.example" not in message.as_string()


def test_through_the_google_sheets_api_each_problems_email_has_its_rows_link(
    make_config: Callable[..., Config],
) -> None:
    """The demo's path: the example responses in the Sheets fake, read by the real client."""
    from google_fixtures import KEY, TAB, settings, shown

    from cluster_sync.testing.fake_sheets import FakeSheets

    with FakeSheets() as fake:
        book = fake.add_spreadsheet(KEY, "Registrations", time_zone="Europe/Brussels")
        sheet = book.load_csv(TAB, EXAMPLES / "responses.csv")
        config = make_config().model_copy(update={"source": settings(fake)})
        sync(config)
        grid = shown(sheet)
    column = grid[0].index("Edit link")
    links = [row[column] for row in grid[1:] if len(row) > column and row[column]]
    assert len(links) == 24
    problems = [read_eml(p) for p in outbox(config) if "-problems-" in p.name]
    assert len(problems) == 7
    for message in problems:
        plain = message.get_body(("plain",)).get_content()
        own = [link for link in links if link in plain]
        assert len(own) == 1 and FIX[str(message["Content-Language"])] in plain
