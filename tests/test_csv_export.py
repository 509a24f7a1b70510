"""CSV exports as Excel and Google Sheets write them: the delimiter and encoding are found, a
broken record is rejected alone, and write-back changes only the status cells' bytes."""

from __future__ import annotations

import csv
import io
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from google_fixtures import HEADERS
from google_fixtures import answer_row as multi_line_answer_row

from cluster_sync import form
from cluster_sync.config import FormConfig
from cluster_sync.errors import ExportError, SourceError
from cluster_sync.files import ChangedMeanwhile, digest, replace_if_unchanged
from cluster_sync.sources.base import RowStatus, SourceRow
from cluster_sync.sources.file import FileSource
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.validate import validate_row

STATUS = list(form.STATUS_HEADERS)
WIDTH = len(HEADERS)


def answer_row(n: int, **changes: str) -> list[str]:
    """A valid response on one line, so that line numbers are row numbers."""
    return multi_line_answer_row(n, **({"objectives": "Map sites"} | changes))


def csv_bytes(
    rows: list[list[str]],
    *,
    delimiter: str = ",",
    newline: str = "\r\n",
    bom: bool = False,
    quote_all: bool = False,
    encoding: str = "utf-8",
    trailing: bool = True,
) -> bytes:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    content = buffer.getvalue()
    if not trailing:
        content = content[: -len(newline)]
    return (b"\xef\xbb\xbf" if bom else b"") + content.encode(encoding)


def source(path: Path, write_back: bool = True) -> FileSource:
    return FileSource(path, FileSourceConfig(path=path, write_back=write_back), FormConfig())


def statuses(rows: list[SourceRow], text: str = "Sent") -> list[RowStatus]:
    return [
        RowStatus(r, r.cluster_id or f"CL-2025-{r.row_number:03d}", text, "2025-01-31 02:00")
        for r in rows
    ]


def lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def export(tmp_path: Path, data: bytes, name: str = "responses.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- dialects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
@pytest.mark.parametrize("bom", [True, False])
def test_delimiter_and_bom_are_found_and_kept(tmp_path: Path, delimiter: str, bom: bool) -> None:
    rows = [HEADERS, answer_row(1), answer_row(2, title="Title; with, both")]
    before = csv_bytes(rows, delimiter=delimiter, bom=bom)
    path = export(tmp_path, before)
    src = source(path)
    read = src.read().rows
    assert [r.values["title"] for r in read] == ["Cluster number 1", "Title; with, both"]
    assert validate_row(read[0].values).valid
    assert src.write_back(statuses(read)) == 2
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf") == bom
    expected = [
        [*HEADERS, *STATUS],
        [*answer_row(1), "CL-2025-002", "Sent", "2025-01-31 02:00"],
        [*answer_row(2, title="Title; with, both"), "CL-2025-003", "Sent", "2025-01-31 02:00"],
    ]
    assert after == csv_bytes(expected, delimiter=delimiter, bom=bom)


def test_semicolon_export_with_commas_in_its_headers(tmp_path: Path) -> None:
    """Detection goes by the form's headers, not by which character is most frequent."""
    headers = [*HEADERS, "Notes, remarks, comments, etc."]
    rows = [headers, [*answer_row(1), "a, b, c, d, e, f, g"]]
    path = export(tmp_path, csv_bytes(rows, delimiter=";"))
    assert source(path).read().rows[0].values["title"] == "Cluster number 1"


def test_excel_sep_line_is_honoured_and_kept(tmp_path: Path) -> None:
    body = csv_bytes([HEADERS, answer_row(1)], delimiter=";")
    path = export(tmp_path, b"sep=;\r\n" + body)
    src = source(path)
    rows = src.read().rows
    assert rows[0].row_number == 2  # as Excel shows it: the sep line is not a row
    src.write_back(statuses(rows))
    after = path.read_bytes()
    assert after.startswith(b"sep=;\r\n" + ";".join(HEADERS).encode() + b";Cluster ID;")
    assert b";CL-2025-002;Sent;" in after


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_line_endings_and_the_last_newline_are_kept(
    tmp_path: Path, newline: str, trailing: bool
) -> None:
    rows = [HEADERS, answer_row(1), answer_row(2)]
    path = export(tmp_path, csv_bytes(rows, newline=newline, trailing=trailing))
    src = source(path)
    src.write_back(statuses(src.read().rows))
    expected = [
        [*HEADERS, *STATUS],
        *([*answer_row(n), f"CL-2025-00{n + 1}", "Sent", "2025-01-31 02:00"] for n in (1, 2)),
    ]
    assert path.read_bytes() == csv_bytes(expected, newline=newline, trailing=trailing)


def test_line_breaks_inside_cells_stay_as_they_were(tmp_path: Path) -> None:
    """Sheets writes CRLF between rows and LF inside a cell; both survive."""
    rows = [HEADERS, answer_row(1, objectives="one\ntwo\r\nthree")]
    path = export(tmp_path, csv_bytes(rows))
    src = source(path)
    read = src.read().rows
    assert read[0].values["objectives"] == "one\ntwo\r\nthree"
    src.write_back(statuses(read))
    assert b'"one\ntwo\r\nthree"' in path.read_bytes()
    assert source(path).read().rows[0].values["objectives"] == "one\ntwo\r\nthree"


def test_quote_all_export_gets_quoted_statuses(tmp_path: Path) -> None:
    rows = [HEADERS, answer_row(1), answer_row(2)]
    path = export(tmp_path, csv_bytes(rows, quote_all=True))
    src = source(path)
    read = src.read().rows
    src.write_back(statuses(read[1:]))
    after = lines(path.read_bytes())
    before = lines(csv_bytes(rows, quote_all=True))
    assert after[1] == before[1]  # a row without a status is not touched
    assert after[0] == before[0][:-2] + b',"Cluster ID","Sync status","Last synced"\r\n'
    assert after[2] == before[2][:-2] + b',"CL-2025-003","Sent","2025-01-31 02:00"\r\n'


def test_quoted_text_with_bare_numbers_and_dates_keeps_that_style(tmp_path: Path) -> None:
    """LibreOffice's "quote all text cells": text quoted, numbers and dates bare."""

    def line(cells: list[str]) -> str:
        bare = ("", "12", "01/11/2024 10:01:00")
        return ",".join(c if c in bare or c[:2].isdigit() else f'"{c}"' for c in cells)

    rows = [[*HEADERS, "Score"], [*answer_row(1), "12"]]
    text = "\r\n".join(line(r) for r in rows) + "\r\n"
    path = export(tmp_path, text.encode())
    src = source(path)
    read = src.read().rows
    assert read[0].values["title"] == "Cluster number 1"
    src.write_back(statuses(read))
    after = path.read_bytes().decode().split("\r\n")
    assert after[0] == line(rows[0]) + ',"Cluster ID","Sync status","Last synced"'
    assert after[1] == line(rows[1]) + ',"CL-2025-002","Sent","2025-01-31 02:00"'


def test_minimal_quoting_quotes_only_what_needs_it(tmp_path: Path) -> None:
    path = export(tmp_path, csv_bytes([HEADERS, answer_row(1)]))
    src = source(path)
    rows = src.read().rows
    src.write_back([RowStatus(rows[0], "CL-2025-001", 'Needs "fixing", now', "x")])
    assert path.read_bytes().endswith(b',CL-2025-001,"Needs ""fixing"", now",x\r\n')


# -- encodings ----------------------------------------------------------------------------------


def test_windows_1252_export_is_read_and_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [HEADERS, answer_row(1), answer_row(2, title="Zones humides – réseau €")]
    data = csv_bytes(rows, delimiter=";", encoding="cp1252")
    path = export(tmp_path, data)
    src = source(path)
    with caplog.at_level(logging.WARNING, logger="cluster_sync"):
        read = src.read().rows
    assert read[1].values["title"] == "Zones humides – réseau €"
    assert read[0].values["lead_organisation"] == "Office français de la biodiversité"
    warning = "\n".join(r.getMessage() for r in caplog.records)
    assert "line 2 is the first that is not" in warning and "Windows-1252" in warning
    src.write_back(statuses(read))
    after = path.read_bytes()
    for old, new in zip(lines(data), lines(after), strict=True):
        assert new.startswith(old.rstrip(b"\r\n"))  # every byte of theirs is still there
    assert source(path).read().rows[1].values["title"] == "Zones humides – réseau €"


def test_one_windows_1252_line_in_a_utf8_export_leaves_the_others_utf8(tmp_path: Path) -> None:
    good = csv_bytes([HEADERS, answer_row(1, title="Λιβάδια Ποσειδωνίας")])
    odd = csv_bytes([answer_row(2, title="Délégation")], encoding="cp1252")
    path = export(tmp_path, good + odd)
    rows = source(path).read().rows
    assert [r.values["title"] for r in rows] == ["Λιβάδια Ποσειδωνίας", "Délégation"]


def test_undecodable_row_is_rejected_alone_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 0x81 is neither UTF-8 here nor any Windows-1252 character.
    bad = csv_bytes([answer_row(2, title="Bad \u00e9 title")], encoding="cp1252")
    bad = bad.replace(b"\xe9", b"\x81")
    data = csv_bytes([HEADERS, answer_row(1)]) + bad + csv_bytes([answer_row(3)])
    path = export(tmp_path, data)
    src = source(path)
    with caplog.at_level(logging.WARNING, logger="cluster_sync"):
        rows = src.read().rows
    assert [r.row_number for r in rows] == [2, 4]
    assert "Row 3 (line 3) was not read: it holds bytes that are neither UTF-8" in caplog.text
    src.write_back(statuses(rows))
    assert lines(path.read_bytes())[2] == bad  # the rejected row is not touched


def test_utf16_export_is_a_clear_error(tmp_path: Path) -> None:
    data = "\t".join(HEADERS).encode("utf-16")
    with pytest.raises(ExportError, match="UTF-16") as caught:
        source(export(tmp_path, data)).read()
    assert caught.value.exit_code == 2


# -- broken records -----------------------------------------------------------------------------


def test_oversized_cell_rejects_its_row_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    huge = answer_row(2, objectives="x" * 200_000)
    data = csv_bytes([HEADERS, answer_row(1), huge, answer_row(3)])
    path = export(tmp_path, data)
    src = source(path)
    with caplog.at_level(logging.WARNING, logger="cluster_sync"):
        rows = src.read().rows
    assert [r.values["title"] for r in rows] == ["Cluster number 1", "Cluster number 3"]
    assert "Row 3 (line 3) was not read: a cell holds 200,000 characters" in caplog.text
    src.write_back(statuses(rows))
    after = lines(path.read_bytes())
    assert after[2] == lines(data)[2]


def test_a_quote_never_closed_rejects_that_line_and_the_rest_is_read(tmp_path: Path) -> None:
    broken = ",".join(answer_row(2)).replace("Cluster number 2", '"Cluster number 2')
    data = csv_bytes([HEADERS, answer_row(1)]) + broken.encode() + b"\r\n"
    data += csv_bytes([answer_row(3)])
    rows = source(export(tmp_path, data)).read().rows
    assert [r.values["title"] for r in rows] == ["Cluster number 1", "Cluster number 3"]
    assert [r.row_number for r in rows] == [2, 4]


def test_ragged_rows_keep_their_unlabelled_cells(tmp_path: Path) -> None:
    rows = [
        HEADERS,
        [*answer_row(1), "", "", "a note beyond the header", "and another"],
        answer_row(2)[:5],  # short
        answer_row(3),
    ]
    data = csv_bytes(rows)
    path = export(tmp_path, data)
    src = source(path)
    src.write_back(statuses(src.read().rows))
    with path.open(encoding="utf-8", newline="") as handle:
        after = list(csv.reader(handle))
    # New status columns start right of the last cell anything is in, in any row.
    assert after[0] == [*HEADERS, "", "", "", "", *STATUS]
    assert after[1][WIDTH:] == [
        *["", "", "a note beyond the header", "and another"],
        *["CL-2025-002", "Sent", "2025-01-31 02:00"],
    ]
    assert after[2][:5] == answer_row(2)[:5] and after[2][5 : WIDTH + 4] == [""] * (WIDTH - 1)
    assert after[2][WIDTH + 4 :] == ["CL-2025-003", "Sent", "2025-01-31 02:00"]
    for old, new in zip(rows, after, strict=True):
        assert new[: len(old)] == old


def test_status_columns_already_there_are_written_in_place(tmp_path: Path) -> None:
    rows = [
        [*HEADERS[:3], "Sync status", *HEADERS[3:], "Cluster ID", "Last synced", "Remarks"],
        [*answer_row(1)[:3], "", *answer_row(1)[3:], "", "", "keep me"],
    ]
    path = export(tmp_path, csv_bytes(rows))
    src = source(path)
    src.write_back(statuses(src.read().rows))
    with path.open(encoding="utf-8", newline="") as handle:
        after = list(csv.reader(handle))
    assert after[0] == rows[0]
    assert after[1][3] == "Sent"
    assert after[1][:3] + after[1][4:-3] == answer_row(1)
    assert after[1][-3:] == ["CL-2025-002", "2025-01-31 02:00", "keep me"]


# -- the file itself ----------------------------------------------------------------------------


def test_only_the_changed_lines_are_rewritten(tmp_path: Path) -> None:
    rows = [HEADERS, *(answer_row(n) for n in range(1, 6))]
    rows[0] = [*HEADERS, *STATUS]
    rows[1:] = [[*r, f"CL-2025-00{n}", "Sent", "old"] for n, r in enumerate(rows[1:], start=1)]
    data = csv_bytes(rows)
    path = export(tmp_path, data)
    src = source(path)
    read = src.read().rows
    assert src.write_back([RowStatus(read[2], "CL-2025-003", "Updated", "new")]) == 1
    before, after = lines(data), lines(path.read_bytes())
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [3]
    assert after[3].endswith(b",CL-2025-003,Updated,new\r\n")


def test_nothing_changes_nothing_is_written(tmp_path: Path) -> None:
    rows = [[*HEADERS, *STATUS], [*answer_row(1), "CL-2025-001", "Sent", "t"]]
    path = export(tmp_path, csv_bytes(rows))
    os.utime(path, (1_000_000, 1_000_000))
    src = source(path)
    read = src.read().rows
    assert src.write_back([RowStatus(read[0], "CL-2025-001", "Sent", "t")]) == 0
    assert path.stat().st_mtime == 1_000_000


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = export(tmp_path, csv_bytes([HEADERS, answer_row(1)]))
    path.chmod(0o640)
    src = source(path)
    src.write_back(statuses(src.read().rows))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert b"CL-2025-002" in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["responses.csv"]  # no temporary left


def test_read_only_export_is_read_but_never_written(tmp_path: Path) -> None:
    data = csv_bytes([HEADERS, answer_row(1)])
    path = export(tmp_path, data)
    path.chmod(0o444)
    src = source(path)
    rows = src.read().rows
    assert rows[0].values["title"] == "Cluster number 1"
    with pytest.raises(SourceError, match="it is read-only") as caught:
        src.write_back(statuses(rows))
    assert "nothing in it was changed" in caught.value.message
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_symlinked_export_is_read_but_never_replaced(tmp_path: Path) -> None:
    data = csv_bytes([HEADERS, answer_row(1)])
    target = export(tmp_path, data, "real.csv")
    link = tmp_path / "responses.csv"
    link.symlink_to(target)
    src = source(link)
    rows = src.read().rows
    with pytest.raises(SourceError, match="symbolic link to"):
        src.write_back(statuses(rows))
    assert link.is_symlink() and target.read_bytes() == data


def test_hard_linked_export_is_not_split_in_two(tmp_path: Path) -> None:
    data = csv_bytes([HEADERS, answer_row(1)])
    path = export(tmp_path, data)
    os.link(path, tmp_path / "backup.csv")
    src = source(path)
    with pytest.raises(SourceError, match="hard links"):
        src.write_back(statuses(src.read().rows))
    assert path.read_bytes() == data


@pytest.mark.parametrize("case", ["missing", "folder"])
def test_an_export_that_is_not_there_is_a_configuration_problem(tmp_path: Path, case: str) -> None:
    path = tmp_path / "responses.csv"
    if case == "folder":
        path.mkdir()
    with pytest.raises(ExportError) as caught:
        source(path).read()
    assert caught.value.exit_code == 2
    assert str(path) in caught.value.message and caught.value.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
def test_unreadable_export_is_a_configuration_problem(tmp_path: Path) -> None:
    path = export(tmp_path, csv_bytes([HEADERS]))
    path.chmod(0)
    with pytest.raises(ExportError, match="cannot be read") as caught:
        source(path).read()
    assert caught.value.exit_code == 2


# -- edits made while the sync runs -------------------------------------------------------------


def test_a_partners_edit_saved_during_the_sync_is_kept(tmp_path: Path) -> None:
    rows = [HEADERS, answer_row(1), answer_row(2)]
    path = export(tmp_path, csv_bytes(rows))
    src = source(path)
    read = src.read().rows
    # Saved while the sync renders and mails: a newer response on top, one answer edited.
    edited = [HEADERS, answer_row(9), answer_row(1), answer_row(2, acronym="EDITED")]
    path.write_bytes(csv_bytes(edited))
    assert src.write_back(statuses(read)) == 2
    with path.open(encoding="utf-8", newline="") as handle:
        after = list(csv.reader(handle))
    assert [r[:WIDTH] for r in after] == edited
    assert after[1][WIDTH:] == []
    assert after[2][WIDTH:] == ["CL-2025-002", "Sent", "2025-01-31 02:00"]
    assert after[3][WIDTH:] == ["CL-2025-003", "Sent", "2025-01-31 02:00"]
    assert after[3][3] == "EDITED"


def test_replace_refuses_when_the_file_changed_after_the_new_version_was_made(
    tmp_path: Path,
) -> None:
    path = export(tmp_path, b"old")
    made_from = digest(path.read_bytes())
    path.write_bytes(b"saved by a partner")
    with pytest.raises(ChangedMeanwhile):
        replace_if_unchanged(path, b"ours", made_from)
    assert path.read_bytes() == b"saved by a partner"
    assert [p.name for p in tmp_path.iterdir()] == ["responses.csv"]
    replace_if_unchanged(path, b"ours", digest(b"saved by a partner"))
    assert path.read_bytes() == b"ours"


def test_an_edit_saved_at_the_moment_of_the_rename_is_kept_and_written_over_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the partner's save lands after the new version was made, just before
    the rename. The rename is called off and the statuses are placed on the saved version."""
    path = export(tmp_path, csv_bytes([HEADERS, answer_row(1), answer_row(2)]))
    src = source(path)
    rows = src.read().rows
    edited = csv_bytes([HEADERS, answer_row(9), answer_row(2), answer_row(1, acronym="NEW")])
    original = Path.read_bytes
    reads: list[int] = []

    def read_bytes(self: Path) -> bytes:
        if self == path:
            reads.append(1)
            if len(reads) == 2:  # the check right before the rename, on the first attempt
                path.write_bytes(edited)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert src.write_back(statuses(rows)) == 2
    monkeypatch.undo()
    with path.open(encoding="utf-8", newline="") as handle:
        after = list(csv.reader(handle))
    assert [r[:WIDTH] for r in after] == [
        HEADERS,
        answer_row(9),
        answer_row(2),
        answer_row(1, acronym="NEW"),
    ]
    assert after[1][WIDTH:] == []
    assert after[2][WIDTH:] == ["CL-2025-003", "Sent", "2025-01-31 02:00"]
    assert after[3][WIDTH:] == ["CL-2025-002", "Sent", "2025-01-31 02:00"]
    assert len(reads) == 4  # read, check (changed), read again, check


def test_an_export_that_keeps_changing_is_left_as_its_last_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export(tmp_path, csv_bytes([HEADERS, answer_row(1)]))
    src = source(path)
    rows = src.read().rows
    original = Path.read_bytes
    saves: list[bytes] = []

    def read_bytes(self: Path) -> bytes:
        if self == path and len(saves) < 10:
            # A newer save lands before every read, the checks before each rename included.
            saves.append(csv_bytes([HEADERS, answer_row(1, acronym=f"SAVE{len(saves)}")]))
            path.write_bytes(saves[-1])
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(SourceError, match="kept changing") as caught:
        src.write_back(statuses(rows))
    monkeypatch.undo()
    assert "nothing was written" in caught.value.message
    assert path.read_bytes() == saves[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.csv"]


# -- write-back keeps only the cells it needs ---------------------------------------------------


def _awkward_export() -> bytes:
    """BOM, CRLF, cells quoted for a comma, a quote and line breaks (LF and CRLF inside), a
    partner's column whose header and cells look like status columns', and a ragged row."""
    headers = [*HEADERS[:2], "Sync status notes", *HEADERS[2:], *STATUS, "Cluster ID (old)"]
    rows: list[list[str]] = [headers]
    for n in range(1, 5):
        answers = multi_line_answer_row(n, title=f'Title {n}, with "quotes"\r\nand a line')
        rows.append([*answers[:2], "Sent, Needs fixing (1)", *answers[2:], "", "", "", "CL-2025-1"])
    rows.append(multi_line_answer_row(5)[:4])  # short: its status cells are appended
    return csv_bytes(rows, bom=True)


def test_a_write_back_parse_keeps_its_columns_with_the_full_parses_positions() -> None:
    from cluster_sync.sources import csv_export
    from cluster_sync.sources.file import _written_columns

    data = _awkward_export()
    full = csv_export.parse(data, [*HEADERS, *STATUS], "x")
    sparse = csv_export.parse(data, [*HEADERS, *STATUS], "x", _written_columns(FormConfig()))
    assert sparse.headers == full.headers and sparse.used_width == full.used_width
    who = [
        form.FIELDS_BY_KEY[key].header for key in ("timestamp", "respondent_email", "contact_email")
    ]
    kept = {full.headers.index(name) for name in (*STATUS, *who)}
    assert len(sparse.records) == len(full.records) == 6
    for whole, part in zip(full.records, sparse.records, strict=True):
        assert (part.number, part.start, part.end, part.used) == (
            whole.number,
            whole.start,
            whole.end,
            whole.used,
        )
        for i, value in enumerate(part.values):
            bounds = part.bounds[2 * i : 2 * i + 2]
            if part.number == 1 or i in kept:
                assert (value, bounds) == (whole.values[i], whole.bounds[2 * i : 2 * i + 2])
            else:  # the partner's look-alike columns too
                assert (value, list(bounds)) == ("", [csv_export.SKIPPED] * 2)
    cells = {(2, full.headers.index("Sync status")): "Sent", (6, len(full.headers) + 2): "x"}
    assert sparse.patched(cells) == full.patched(cells)


def test_a_write_back_changes_only_the_owned_cells_of_an_awkward_export(tmp_path: Path) -> None:
    data = _awkward_export()
    path = export(tmp_path, data)
    src = source(path)
    read = src.read().rows
    assert src.write_back(statuses(read)) == 5
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    before_rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    after_rows = list(csv.reader(io.StringIO(after[3:].decode("utf-8"), newline="")))
    header = before_rows[0]
    owned = [header.index(name) for name in STATUS]
    assert after_rows[0] == header
    for n, (old, new) in enumerate(zip(before_rows[1:], after_rows[1:], strict=True), start=2):
        width = len(old)
        if width == len(header):
            assert [new[i] for i in owned] == [f"CL-2025-{n:03d}", "Sent", "2025-01-31 02:00"]
            assert [c for i, c in enumerate(new) if i not in owned] == [
                c for i, c in enumerate(old) if i not in owned
            ]
        else:  # the short row: its cells as they were, statuses appended at their columns
            assert new[:width] == old and new[owned[0] : owned[-1] + 1] == [
                f"CL-2025-{n:03d}",
                "Sent",
                "2025-01-31 02:00",
            ]
    # Byte for byte: the old file with the status cells' bytes replaced, its quoting kept.
    expected = [header]
    for n, old in enumerate(before_rows[1:], start=2):
        new = old + [""] * (len(header) - len(old))
        for i, value in zip(owned, [f"CL-2025-{n:03d}", "Sent", "2025-01-31 02:00"], strict=True):
            new[i] = value
        expected.append(new if len(old) == len(header) else new[: owned[-1] + 1])
    assert after == csv_bytes(expected, bom=True)


def _multilingual_export() -> bytes:
    """_awkward_export's shapes with Greek, accents and an emoji before, in and after the
    cells write-back keeps, and a long Greek answer: more bytes than characters everywhere."""
    headers = [*HEADERS[:2], "Σημειώσεις", *HEADERS[2:], *STATUS, "Cluster ID (old)"]
    rows: list[list[str]] = [headers]
    for n in range(1, 5):
        title = f'Τίτλος {n}, "ελληνικά" 🌍\r\nκαι γραμμή'
        answers = multi_line_answer_row(n, title=title)
        status = "Χρειάζεται διόρθωση (1) ✓"
        rows.append([*answers[:2], "Δεν στάλθηκε, ναι", *answers[2:], "", status, "", "CL-1"])
    long = multi_line_answer_row(5)
    long[4] = "α" * 70_000  # 140,000 bytes, under the limit in characters
    rows.append(long[:6])
    return csv_bytes(rows, bom=True)


def _multilingual_rows() -> list[list[str]]:
    headers = [*HEADERS, *STATUS]
    title = 'Ελληνικά; "τίτλος", 🌍\nδεύτερη'
    return [headers, *([*multi_line_answer_row(n, title=title), "", "Σ ✓", ""] for n in (1, 2))]


def _semicolons_after_a_bom_and_a_sep_line() -> bytes:
    return b"\xef\xbb\xbfsep=;\r\n" + csv_bytes(_multilingual_rows(), delimiter=";")


def _tabs_lf_quote_all_no_last_newline() -> bytes:
    return csv_bytes(
        _multilingual_rows(), delimiter="\t", newline="\n", quote_all=True, trailing=False
    )


@pytest.mark.parametrize(
    "make",
    [
        _awkward_export,
        _multilingual_export,
        _semicolons_after_a_bom_and_a_sep_line,
        _tabs_lf_quote_all_no_last_newline,
    ],
)
def test_a_bytewise_write_back_parse_reads_and_writes_what_the_full_parse_does(
    make: Callable[[], bytes],
) -> None:
    """The write-back's parse of an all-UTF-8 file works on its bytes: the kept cells, the
    rows that can be read and the file it writes are the full parse's."""
    from cluster_sync.sources import csv_export
    from cluster_sync.sources.file import _written_columns

    data = make()
    full = csv_export.parse(data, [*HEADERS, *STATUS], "x")
    keep = _written_columns(FormConfig())
    sparse = csv_export.parse(data, [*HEADERS, *STATUS], "x", keep, bytewise=True)
    assert sparse.bytewise and not full.bytewise
    assert sparse.headers == full.headers and sparse.used_width == full.used_width
    assert sparse.unreadable == full.unreadable == {}
    assert sparse.delimiter == full.delimiter and sparse.quoting == full.quoting
    kept = keep(full.headers)
    assert [n for n, _ in sparse.rows] == [n for n, _ in full.rows]
    for (_, part), (_, whole) in zip(sparse.rows, full.rows, strict=True):
        assert [part[i] for i in sorted(kept) if i < len(whole)] == [
            whole[i] for i in sorted(kept) if i < len(whole)
        ]
    status = full.headers.index("Sync status")
    cells = {
        (2, status): "Στάλθηκε ✓",
        (3, status): "",
        (4, 0): "not a kept column, but written the same",
        (6, len(full.headers) + 2): "ξ",
    }
    last = full.records[-1].number
    cells = {
        (row, col): value
        for (row, col), value in cells.items()
        if row <= last and (col in kept or col >= len(full.headers))
    }
    assert cells
    new, _ = sparse.patched(cells)
    assert new == full.patched(cells)[0]
    assert new is not None and new.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    assert b"".join(sparse.pieces(cells)[0]) == new


def test_a_write_back_parse_of_a_file_not_all_utf8_reads_it_line_by_line() -> None:
    from cluster_sync.sources import csv_export
    from cluster_sync.sources.file import _written_columns

    data = csv_bytes([HEADERS, answer_row(1), answer_row(2)])
    data = data.replace("Office français".encode(), "Office français".encode("cp1252"), 1)
    full = csv_export.parse(data, HEADERS, "x")
    sparse = csv_export.parse(data, HEADERS, "x", _written_columns(FormConfig()), bytewise=True)
    assert not sparse.bytewise and sparse.warnings == full.warnings != []
    cells = {(3, len(HEADERS)): "Sent é"}
    assert sparse.patched(cells) == full.patched(cells)
