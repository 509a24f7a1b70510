"""Run cluster-sync against a Google Sheet without Google: a local fake of the Sheets API.

    python examples/demo_google.py        (what `make demo-google` runs)

It starts the fake on 127.0.0.1 loaded with examples/responses.csv, writes a configuration for
it into var/demo-google/ (source type "google", api_base_url pointing at the fake), runs
`cluster-sync check` and `cluster-sync sync`, and prints the sheet as it stands afterwards, with
the number of API calls the sync cost. Each run starts from a fresh sheet and fresh state.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from cluster_sync import form
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Sheet, format_value

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "demo-google"
KEY = "1DemoClusterRegistrationsSheet0000000000000"
TAB = "Form responses 1"


def main() -> int:
    responses = ROOT / "examples" / "responses.csv"
    if not responses.exists():
        print(f"{responses} is missing; it is the demo's input.", file=sys.stderr)
        return 1
    shutil.rmtree(WORK, ignore_errors=True)  # a fresh demo each time: the fake starts fresh too
    WORK.mkdir(parents=True)
    with FakeSheets() as fake:
        book = fake.add_spreadsheet(
            KEY, "Cluster registrations (demo)", time_zone="Europe/Brussels"
        )
        sheet = book.load_csv(TAB, responses)
        config = write_config(fake.base_url)
        print(
            f"Fake Google Sheets API at {fake.base_url}, sheet {KEY}, {len(sheet.cells) - 1} rows"
        )
        for command in ("check", "sync"):
            fake.calls.clear()
            code = run(config, command)
            print(f"-- API calls for `{command}`: {dict(fake.calls) or 'none'}")
            if code != 0:
                return code
        print_sheet(sheet)
    return 0


def write_config(base_url: str) -> Path:
    """The demo configuration with its [source] swapped for the fake Google Sheet. Paths are
    made absolute because relative ones are taken from the config file's folder."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    source = (
        f'[source]\ntype = "google"\nspreadsheet = "{KEY}"\nworksheet = "{TAB}"\n'
        f'credentials = "none"\napi_base_url = "{base_url}"\nretries = 2\ntimeout_seconds = 10\n\n'
    )
    text = re.sub(r"(?ms)^\[source\]\n.*?(?=^\[)", lambda _: source, text)
    text = text.replace('"var/demo/', f'"{WORK.as_posix()}/')
    text = re.sub(r'"(templates/[^"]*)"', lambda m: f'"{(ROOT / m[1]).as_posix()}"', text)
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


def print_sheet(sheet: Sheet) -> None:
    """Who registered, and what the sync wrote into the status columns."""
    header = [format_value(c, "en_GB") if c else "" for c in sheet.cells[0]]
    wanted = ["Cluster title", *form.STATUS_HEADERS]
    columns = [header.index(h) if h in header else None for h in wanted]
    print(f"\nThe sheet “{TAB}” now:")
    print(" | ".join(wanted))
    for r in range(1, len(sheet.cells)):
        cells = [sheet.get(r, c) if c is not None else None for c in columns]
        line = [format_value(c, "en_GB")[:60] if c else "" for c in cells]
        if any(line):
            print(" | ".join(line))


if __name__ == "__main__":
    sys.exit(main())
