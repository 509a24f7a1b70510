"""The hostile corpus (tests/hostile_cases.py) through the whole sync, over every kind of source:
a CSV export, an .xlsx export and the Google source against the local fake Sheets API.

All cases of a source go into one sheet and through one real sync (real SQLite, real .docx, the
outbox); then each case is checked on its own: the valid rows go through with their text exactly
as typed (less what no answer may carry), each broken row gets exactly its reasons, no partner
cell changes, and nothing is interpreted (formulas stay text, template tags stay text)."""

from __future__ import annotations

import csv
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pytest
from conftest import CONFIG_TEMPLATE, ROOT
from google_fixtures import HEADERS, KEY, TAB, answer_row, load_sheet, shown
from hostile_cases import CASES, Case

from cluster_sync import config as config_mod
from cluster_sync import form
from cluster_sync.config import Config
from cluster_sync.engine import Sync
from cluster_sync.errors import UserError
from cluster_sync.mailers import open_mailer
from cluster_sync.sources import open_source
from cluster_sync.sources.base import column_letter
from cluster_sync.state import State
from cluster_sync.summary import RowResult, RunSummary
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Sheet, parse_raw

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
WIDTH = len(HEADERS)
PLAIN = 3  # ordinary valid responses around the hostile ones
# What must never reach an output (cluster_sync/text.py removes it where answers enter).
UNSAFE = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0010ffff\ud800-\udfff\u202a-\u202e\u2066-\u2069"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
DATE_COLUMNS = {"timestamp", "start_date", "end_date"}


# -- the kinds of source ---------------------------------------------------------------------


class Kind:
    name = ""

    def cannot_hold(self, value: str) -> str | None:
        """Why this kind of source cannot hold `value` at all, if it cannot."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a file cannot hold a lone surrogate (it is not encodable in UTF-8)"
        return None

    def setup(self, folder: Path, grid: list[list[str]]) -> str:
        """Put `grid` where the source reads it; the configuration's [source] section."""
        raise NotImplementedError

    def partner_cells(self) -> list[list[str]]:
        """The answers as the sheet holds them now (the partners' columns only)."""
        raise NotImplementedError

    def close(self) -> None:
        return None


class CsvKind(Kind):
    name = "csv"

    def setup(self, folder: Path, grid: list[list[str]]) -> str:
        self.path = folder / "responses.csv"
        with self.path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(grid)
        return '[source]\ntype = "file"\npath = "responses.csv"\nwrite_back = true\n'

    def partner_cells(self) -> list[list[str]]:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            return [row[:WIDTH] for row in csv.reader(handle)]


class XlsxKind(Kind):
    name = "xlsx"
    _ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

    def cannot_hold(self, value: str) -> str | None:
        if len(value) > 32767:
            return "an .xlsx cell holds at most 32,767 characters (Excel's limit)"
        if self._ILLEGAL.search(value):
            return "an .xlsx cannot hold C0 controls, U+FFFE or U+FFFF (XML 1.0 forbids them)"
        return super().cannot_hold(value)

    def setup(self, folder: Path, grid: list[list[str]]) -> str:
        self.path = folder / "responses.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Form responses 1"
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(r, c, value if value != "" else None)
                cell.data_type = "s" if value else cell.data_type  # as typed: text stays text
        book.save(self.path)
        return '[source]\ntype = "file"\npath = "responses.xlsx"\nwrite_back = true\n'

    def partner_cells(self) -> list[list[str]]:
        sheet = openpyxl.load_workbook(self.path).worksheets[0]
        return [
            ["" if v is None else str(v) for v in row[:WIDTH]]
            for row in sheet.iter_rows(values_only=True)
        ]


class GoogleKind(Kind):
    """The form writes answers as they were typed: text stays text (a RAW value); only the
    Timestamp and the date questions are dates."""

    name = "google"

    def cannot_hold(self, value: str) -> str | None:
        return None  # JSON carries anything, "\ud800" included

    def setup(self, folder: Path, grid: list[list[str]]) -> str:
        self.fake = FakeSheets()
        self.fake.__enter__()
        self.sheet: Sheet = load_sheet(self.fake, grid)
        dates = {grid[0].index(form.FIELDS_BY_KEY[key].header) for key in DATE_COLUMNS}
        for r, row in enumerate(grid[1:], start=1):
            for c, value in enumerate(row):
                if c not in dates:
                    self.sheet.put(r, c, parse_raw(value))
        return (
            f'[source]\ntype = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
            f'credentials = "none"\napi_base_url = "{self.fake.base_url}"\nretries = 3\n'
            "timeout_seconds = 5\n"
        )

    def partner_cells(self) -> list[list[str]]:
        return [row[:WIDTH] for row in shown(self.sheet)]

    def close(self) -> None:
        self.fake.__exit__(None, None, None)


KINDS = {k.name: k for k in (CsvKind, XlsxKind, GoogleKind)}


# -- one sync over every case of one kind ----------------------------------------------------


@dataclass
class Corpus:
    kind: Kind
    config: Config
    summary: RunSummary
    rows: dict[str, int]  # case id -> row number
    skipped: dict[str, str]  # case id -> why this kind cannot hold it
    before: list[list[str]]
    after: list[list[str]]

    def result(self, case: Case) -> RowResult:
        number = self.rows[case.id]
        [result] = [r for r in self.summary.results if r.row == number]
        return result

    def state(self) -> State:
        return State(self.config.path(self.config.state.database))

    def outbox(self) -> list[Path]:
        return sorted(self.config.path(Path("var/outbox")).glob("*.eml"))


def _applies(kind: Kind, case: Case) -> str | None:
    for value in case.changes.values():
        reason = kind.cannot_hold(value)
        if reason:
            return reason
    return None


def _grid(kind: Kind) -> tuple[list[list[str]], dict[str, int], dict[str, str]]:
    grid: list[list[str]] = [list(HEADERS)]
    rows: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for n in range(1, PLAIN + 1):
        grid.append(answer_row(n))
    for n, case in enumerate(CASES, start=PLAIN + 1):
        reason = _applies(kind, case)
        if reason:
            skipped[case.id] = reason
            continue
        rows[case.id] = len(grid) + 1
        grid.append(answer_row(n, **case.changes))
    return grid, rows, skipped


@pytest.fixture(scope="module", params=sorted(KINDS))
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    kind = KINDS[request.param]()
    folder = tmp_path_factory.mktemp(f"corpus-{kind.name}")
    grid, rows, skipped = _grid(kind)
    source = kind.setup(folder, grid)
    try:
        text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
        text = source + text[text.index("[form]") :]
        (folder / "cluster-sync.toml").write_text(text, encoding="utf-8")
        config = config_mod.load(folder / "cluster-sync.toml")
        before = kind.partner_cells()
        state = State(config.path(config.state.database))
        try:
            summary = Sync(config, state, open_source(config), open_mailer(config), now=NOW).run()
        finally:
            state.close()
        yield Corpus(kind, config, summary, rows, skipped, before, kind.partner_cells())
    finally:
        kind.close()


# -- each case -------------------------------------------------------------------------------


def _docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _message(corpus: Corpus, cluster_id: str) -> EmailMessage:
    [path] = [p for p in corpus.outbox() if f"-factsheet-{cluster_id}-" in p.name]
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(corpus: Corpus, case: Case) -> None:
    if case.id in corpus.skipped:
        pytest.skip(corpus.skipped[case.id])
    result = corpus.result(case)
    number = corpus.rows[case.id]
    # no partner cell changes, whatever the row held
    assert corpus.after[number - 1] == corpus.before[number - 1]
    if not case.valid:
        assert (result.change, result.problems) == ("invalid", list(case.problems))
        return
    assert (result.change, result.problems) == ("new", [])
    assert result.cluster_id is not None
    state = corpus.state()
    try:
        stored = state.registration(result.cluster_id)
        factsheet = state.factsheet_path(result.cluster_id, 1)
    finally:
        state.close()
    assert stored is not None and stored.data is not None and factsheet is not None
    assert {k: stored.data[k] for k in case.stored} == case.stored
    text = _docx_text(Path(factsheet))
    for expected in case.shown:
        assert expected in text
    message = _message(corpus, result.cluster_id)
    if case.to is not None:
        [to] = message["To"].addresses
        assert (to.display_name, to.addr_spec) == case.to
    assert message["Bcc"] is None


# -- the whole run of each kind --------------------------------------------------------------


def test_the_plain_rows_go_through(corpus: Corpus) -> None:
    plain = [r for r in corpus.summary.results if 2 <= r.row <= PLAIN + 1]
    assert [(r.title, r.change) for r in plain] == [
        (f"Cluster number {n}", "new") for n in range(1, PLAIN + 1)
    ]


def test_every_case_of_the_kind_was_checked(corpus: Corpus) -> None:
    """The counts add up: one result per row, every valid case a factsheet, every broken one
    its problems; nothing was lost to an error."""
    valid = [c for c in CASES if c.valid and c.id in corpus.rows]
    broken = [c for c in CASES if not c.valid and c.id in corpus.rows]
    assert corpus.summary.of("error") == []
    assert len(corpus.summary.of("new")) == PLAIN + len(valid)
    assert len(corpus.summary.of("invalid")) == len(broken)
    assert len(corpus.rows) + len(corpus.skipped) == len(CASES) >= 40


def test_no_partner_cell_changed(corpus: Corpus) -> None:
    assert corpus.after == corpus.before


def test_nothing_unsafe_reached_any_output(corpus: Corpus) -> None:
    state = corpus.state()
    try:
        dump = "\n".join(state.db.iterdump())
    finally:
        state.close()
    assert not UNSAFE.search(dump)
    for path in sorted(corpus.config.path(Path("var/output/factsheets")).glob("*.docx")):
        assert not UNSAFE.search(path.name) and path.name.isascii()
        assert not UNSAFE.search(_docx_text(path))
    for path in corpus.outbox():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message.defects == []
        for part in message.walk():
            if part.get_content_maintype() == "text":
                assert not UNSAFE.search(part.get_content())
        assert not UNSAFE.search(str(message["Subject"]))


def test_what_the_terminal_shows_is_one_safe_line_each(corpus: Corpus) -> None:
    """Titles, notes and problems as the run's summary prints them."""
    for result in corpus.summary.results:
        for line in [result.title, result.note, *result.problems]:
            assert "\n" not in line and "\r" not in line and not UNSAFE.search(line)


def test_problems_quote_a_short_excerpt_only(corpus: Corpus) -> None:
    """A 50,000-character answer never fills an email, the state or the console."""
    for result in corpus.summary.of("invalid"):
        assert all(len(p) < 400 for p in result.problems)
    for path in corpus.outbox():
        if "-problems-" in path.name:
            assert path.stat().st_size < 20_000


# -- duplicated headers, per kind ------------------------------------------------------------


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_a_duplicated_header_is_refused_naming_both_columns(kind_name: str, tmp_path: Path) -> None:
    kind = KINDS[kind_name]()
    start = HEADERS.index("Start date")
    grid = [[*HEADERS, "Start date"], *([*answer_row(n), ""] for n in range(1, 4))]
    source = kind.setup(tmp_path, grid)
    try:
        text = CONFIG_TEMPLATE.format(root=ROOT.as_posix(), write_back="true", approval="false")
        (tmp_path / "cluster-sync.toml").write_text(
            source + text[text.index("[form]") :], encoding="utf-8"
        )
        config = config_mod.load(tmp_path / "cluster-sync.toml")
        before = kind.partner_cells()
        state = State(config.path(config.state.database))
        try:
            with pytest.raises(UserError) as caught:
                Sync(config, state, open_source(config), open_mailer(config), now=NOW).run()
        finally:
            state.close()
        expected = f"“Start date” is in columns {column_letter(start)} and {column_letter(WIDTH)}"
        assert expected in str(caught.value)
        assert caught.value.exit_code == 2
        assert not list(config.path(Path("var/outbox")).glob("*.eml"))
        assert kind.partner_cells() == before
    finally:
        kind.close()
