"""Run cluster-sync against Google Sheets and Drive without Google: local fakes of both APIs.

    python examples/demo_google.py        (what `make demo-google` runs)

It starts the fakes on 127.0.0.1 (the sheet loaded with examples/responses.csv, an empty Drive
folder), writes a configuration for them into var/demo-google/ (source type "google" and
[publish] target "drive", their api_base_url pointing at the fakes), runs `cluster-sync check`
and `cluster-sync sync`, and prints the sheet as it stands afterwards, Factsheet links included,
with the API calls each command cost. Then a partner edits a response and a second sync makes
version 2 of that factsheet: it replaces the content of the same Drive file, so the link in the
sheet stays the same; every link is then opened (its file downloaded from the Drive fake) and
compared with its cluster's latest factsheet. Each run starts from a fresh sheet, Drive and
state.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from cluster_sync import form
from cluster_sync.testing.fake_drive import FakeDrive
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Cell, Sheet, format_value

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "demo-google"
KEY = "1DemoClusterRegistrationsSheet0000000000000"
TAB = "Form responses 1"
FOLDER = "1DemoFactsheetsFolder00000000000"
EDITED = "Acronym"


def main() -> int:
    responses = ROOT / "examples" / "responses.csv"
    if not responses.exists():
        print(f"{responses} is missing; it is the demo's input.", file=sys.stderr)
        return 1
    shutil.rmtree(WORK, ignore_errors=True)  # a fresh demo each time: the fake starts fresh too
    WORK.mkdir(parents=True)
    with FakeSheets() as fake, FakeDrive() as drive:
        book = fake.add_spreadsheet(
            KEY, "Cluster registrations (demo)", time_zone="Europe/Brussels"
        )
        sheet = book.load_csv(TAB, responses)
        drive.add_folder(FOLDER, shared_drive=True)
        config = write_config(fake.base_url, drive.base_url)
        print(
            f"Fake Google Sheets API at {fake.base_url}, sheet {KEY}, {len(sheet.cells) - 1} rows"
        )
        print(f"Fake Google Drive API at {drive.base_url}, folder {FOLDER} (in a shared drive)")
        for command in ("check", "sync"):
            if (code := run_counted(config, command, fake, drive)) != 0:
                return code
        before = print_sheet(sheet)
        title = edit_first_valid(sheet, before)
        print(f"\nA partner edits the {EDITED} of “{title[:60]}”; the next sync makes version 2.")
        if (code := run_counted(config, "sync", fake, drive)) != 0:
            return code
        after = print_sheet(sheet)
        opened = links_open_their_factsheets(after, drive)
        return 0 if same_links(before, after, title, drive) and opened else 1


def run_counted(config: Path, command: str, sheets: FakeSheets, drive: FakeDrive) -> int:
    sheets.calls.clear()
    drive.calls.clear()
    code = run(config, command)
    print(f"-- Sheets API calls for `{command}`: {dict(sheets.calls) or 'none'}")
    print(f"-- Drive API calls for `{command}`: {dict(drive.calls) or 'none'}")
    return code


def write_config(base_url: str, drive_url: str) -> Path:
    """The demo configuration with its [source] swapped for the fake Google Sheet. Paths are
    made absolute because relative ones are taken from the config file's folder."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    source = (
        f'[source]\ntype = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
        f'credentials = "none"\napi_base_url = "{base_url}"\nretries = 2\ntimeout_seconds = 10\n\n'
    )
    text = re.sub(r"(?ms)^\[source\]\n.*?(?=^\[)", lambda _: source, text)
    text += (
        f'\n[publish]\ntarget = "drive"\n\n[publish.drive]\nfolder = "{FOLDER}"\n'
        f'credentials = "none"\napi_base_url = "{drive_url}"\nshare_with_domain = "example.org"\n'
        "retries = 2\ntimeout_seconds = 10\n"
    )
    text = text.replace('"var/demo/', f'"{WORK.as_posix()}/')
    text = re.sub(r'"(templates/[^"]*)"', lambda m: f'"{(ROOT / m[1]).as_posix()}"', text)
    # paths relative to the config file's folder (the artwork): from config/, made absolute
    config_dir = ROOT / "config"
    text = re.sub(
        r'"(\.\./[^"]*)"', lambda m: f'"{(config_dir / m[1]).resolve().as_posix()}"', text
    )
    path = WORK / "cluster-sync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(config: Path, command: str) -> int:
    print(f"\n$ cluster-sync --config {config.relative_to(ROOT)} {command}", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cluster_sync", "--config", str(config), command],
            cwd=ROOT,
            check=False,
        )
    except OSError as exc:
        print(f"could not start cluster-sync: {exc}", file=sys.stderr)
        return 1
    return done.returncode


def print_sheet(sheet: Sheet) -> dict[str, list[str]]:
    """Who registered, and what the sync wrote into its columns; returns the rows by title."""
    header = [format_value(c, "en_GB") if c else "" for c in sheet.cells[0]]
    wanted = ["Cluster title", *form.STATUS_HEADERS, *form.OPTIONAL_HEADERS]
    columns = [header.index(h) if h in header else None for h in wanted]
    print(f"\nThe sheet “{TAB}” now:")
    print(" | ".join(wanted))
    rows: dict[str, list[str]] = {}
    for r in range(1, len(sheet.cells)):
        cells = [sheet.get(r, c) if c is not None else None for c in columns]
        line = [format_value(c, "en_GB") if c else "" for c in cells]
        if any(line):
            rows.setdefault(line[0], line)
            print(" | ".join(v[:60] if i < 4 else v for i, v in enumerate(line)))
    return rows


def edit_first_valid(sheet: Sheet, rows: dict[str, list[str]]) -> str:
    """Change one answer of the first response that has a Factsheet link."""
    header = [format_value(c, "en_GB") if c else "" for c in sheet.cells[0]]
    title_col, edited_col = header.index("Cluster title"), header.index(EDITED)
    title = next(t for t, line in rows.items() if line[-1])
    for r in range(1, len(sheet.cells)):
        cell = sheet.get(r, title_col)
        if cell and format_value(cell, "en_GB") == title:
            sheet.put(r, edited_col, Cell("EDITED"))
            break
    return title


def same_links(
    before: dict[str, list[str]], after: dict[str, list[str]], title: str, drive: FakeDrive
) -> bool:
    links = [line[-1] for line in before.values() if line[-1]]
    file_id = before[title][-1].split("/")[5]
    versions = len(drive.files[file_id].revisions) + 1
    kept = all(after[t][-1] == line[-1] for t, line in before.items())
    print(
        f"\n{len(links)} Factsheet links written. After the edit: the link of “{title[:60]}” is "
        f"{'the same' if kept else 'NOT the same'}; its Drive file holds {versions} versions."
    )
    return kept and versions == 2


def links_open_their_factsheets(rows: dict[str, list[str]], drive: FakeDrive) -> bool:
    """Download what each link points to, through the Drive API as anyone with the link would
    see it, and compare it with the cluster's latest factsheet on disk (its PDF, if made)."""
    import requests

    factsheets = WORK / "output" / "factsheets"
    good = 0
    links = [(line[1], line[-1]) for line in rows.values() if line[-1]]
    for cluster_id, link in links:
        file_id = link.split("/")[5]
        answer = requests.get(
            f"{drive.base_url}/drive/v3/files/{file_id}",
            params={"alt": "media", "supportsAllDrives": "true"},
            headers={"Authorization": "Bearer demo"},
            timeout=10,
        )
        latest = sorted(factsheets.glob(f"{cluster_id}-*.docx"), key=_version)[-1]
        # the sheet links the PDF of a version when the run made one ([output] formats)
        pdf = latest.with_suffix(".pdf")
        good += answer.ok and answer.content == (pdf if pdf.is_file() else latest).read_bytes()
    print(f"{good} of {len(links)} links open their cluster's latest factsheet.")
    return good == len(links)


def _version(path: Path) -> int:
    return int(path.stem.rsplit("-v", 1)[1])


if __name__ == "__main__":
    sys.exit(main())
