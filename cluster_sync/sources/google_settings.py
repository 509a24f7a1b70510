"""The settings of the Google Sheet source (`[source]` with `type = "google"`): a module of its
own, so that the configuration reads them without loading gspread or google-auth."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from cluster_sync.errors import ClusterSyncError, SourceError
from cluster_sync.settings import SourceSettings, api_address

_KEY_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")


class GoogleSourceConfig(SourceSettings):
    type: Literal["google"]
    spreadsheet: str = Field(description="the key, or the full URL of the sheet")
    worksheet: str = "Form responses 1"
    #: service-account key file or authorised-user file; default GOOGLE_APPLICATION_CREDENTIALS
    credentials_file: Path | None = None
    #: "none": send no real credentials; only for a local test server set in api_base_url
    credentials: Literal["service_account", "authorized_user", "none"] = "service_account"
    write_back: bool = True
    #: advanced: the Sheets API base URL (a proxy, another universe, or a local fake)
    api_base_url: str = "https://sheets.googleapis.com"
    retries: Annotated[int, Field(ge=0, le=10)] = 5
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0

    @field_validator("api_base_url")
    @classmethod
    def _secure_url(cls, value: str) -> str:
        return api_address(value, "https://sheets.googleapis.com")

    def link(self, resolve: Callable[[Path], Path]) -> str:
        try:
            return (
                f"https://docs.google.com/spreadsheets/d/{spreadsheet_key(self.spreadsheet)}/edit"
            )
        except ClusterSyncError:
            return ""


def spreadsheet_key(value: str) -> str:
    """The key from a key or a full address (https://docs.google.com/spreadsheets/d/KEY/edit)."""
    value = value.strip()
    if match := _KEY_IN_URL.search(value):
        return match[1]
    if _KEY.fullmatch(value):
        return value
    raise SourceError(
        f"{value!r} is neither a spreadsheet key nor the address of a Google Sheet.",
        hint="paste the sheet's address from the browser (https://docs.google.com/spreadsheets/"
        "d/…/edit) into source.spreadsheet.",
    )
