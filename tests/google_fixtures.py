"""Helpers for the tests that run the Google source against the local fake Sheets API."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from cluster_sync import form
from cluster_sync.sources.google_settings import GoogleSourceConfig
from cluster_sync.testing.fake_sheets import FakeSheets
from cluster_sync.testing.sheet_model import Sheet, format_value

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
TAB = "Form responses 1"
ACCOUNT = "cluster-sync@demo-project.iam.gserviceaccount.com"
HEADERS = [f.header for f in form.FIELDS]


def answer_row(n: int, **changes: str) -> list[str]:
    """A complete, valid response as the form writes it (typed text; the fake types it)."""
    values = {
        "timestamp": f"{1 + n % 28:02d}/11/2024 10:{n % 60:02d}:00",
        "respondent_email": f"person{n}@example.org",
        "title": f"Cluster number {n}",
        "acronym": f"CL{n}",
        "question": "How to restore wetlands?",
        "objectives": "Map sites\nShare methods",
        "working_groups": form.WORKING_GROUPS[0],
        "cluster_type": "Thematic",
        "lead_organisation": "Office français de la biodiversité",
        "lead_country": "France",
        "lead_role": "C4N partner",
        "contact_person": f"Contact {n}",
        "contact_email": f"contact{n}@example.org",
        "participant_categories": "C4N, D4N",
        "thematic_projects": "",
        "participants": "",
        "results": "A restoration guide",
        "transfer_levels": "Regional",
        "outcomes": "Networking",
        "start_date": "03/02/2025",
        "end_date": "30/06/2025",
        "roadmap": "2025-03-15 – Kick-off webinar",
        "expertise": "",
        "consent": form.CONSENT_TEXT,
    }
    values.update(changes)
    return [values[f.key] for f in form.FIELDS]


def load_sheet(
    fake: FakeSheets,
    rows: list[list[Any]],
    *,
    key: str = KEY,
    tab: str = TAB,
    time_zone: str = "Europe/Rome",
    cols: int | None = None,
    shared_with: set[str] | None = None,
) -> Sheet:
    """A spreadsheet in the fake holding `rows` (header first), as if typed in; the grid is as
    wide as the header row, as a form's responses tab is, unless `cols` says otherwise."""
    book = fake.add_spreadsheet(key, locale="en_GB", time_zone=time_zone, shared_with=shared_with)
    sheet = book.add_sheet(tab, cols=cols or len(rows[0]))
    sheet.load(rows, book.locale)
    sheet.col_count = cols or max(len(r) for r in rows)
    return sheet


def settings(fake: FakeSheets, **changes: Any) -> GoogleSourceConfig:
    values: dict[str, Any] = {
        "type": "google",
        "spreadsheet": KEY,
        "worksheet": TAB,
        "credentials": "none",
        "api_base_url": fake.base_url,
        "retries": 3,
        "timeout_seconds": 5,
    }
    values.update(changes)
    return GoogleSourceConfig(**values)


def shown(sheet: Sheet) -> list[list[str]]:
    """The sheet as a person sees it (formatted text), trailing blanks trimmed."""
    rows = [[format_value(c, "en_GB") if c else "" for c in row] for row in sheet.cells]
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


class Sleeps(list[float]):
    """Stands in for time.sleep: records the waits, never sleeps."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@functools.cache
def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_key(path: Path, token_uri: str, email: str = ACCOUNT) -> Path:
    """A real-format service-account key file whose token endpoint is the fake's."""
    info = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef",
        "private_key": _private_key_pem(),
        "client_email": email,
        "client_id": "123456789012345678901",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    return path
