"""The live Google Sheet a Google Form feeds, read and written through gspread and google-auth.

API budget per sync, whatever the number of rows (each one request against the Sheets quota of
60 per minute per user):

- read():       1 metadata GET (spreadsheet properties and tab list, time zone included)
                1 values GET of the whole tab, unformatted, dates as serial numbers
- write_back(): 1 values GET that re-checks the header row and finds the rows again
                1 values:batchUpdate (RAW) carrying every status cell and any new header
                +1 appendDimension, only the first time, when the tab has no room on the right
                   for the three status columns (Google refuses writes beyond the grid)

Transient failures (408, 429, 5xx, network errors, timeouts) are retried a bounded number of
times with jittered exponential backoff; the write is a single request, so it lands whole or
not at all. Writing the same values twice is harmless, which is what makes retrying it safe.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.auth.transport.requests import AuthorizedSession
from gspread import Spreadsheet, Worksheet
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.utils import DateTimeOption, GridRangeType, ValueRenderOption, rowcol_to_a1

from cluster_sync import text
from cluster_sync.backoff import NETWORK_ERRORS, transient_status, with_retries
from cluster_sync.config import Config, FormConfig, GoogleSourceConfig
from cluster_sync.errors import SourceError
from cluster_sync.sources.base import (
    HeaderMap,
    RowStatus,
    Snapshot,
    check_columns_unmoved,
    status_cells,
)

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
GOOGLE_API = "https://sheets.googleapis.com"
_KEY_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")


def _retry_reason(err: BaseException) -> str | None:
    if isinstance(err, APIError):
        status = err.response.status_code
        return (
            f"{status} {err.error.get('status', '')}".strip() if transient_status(status) else None
        )
    return type(err).__name__ if isinstance(err, NETWORK_ERRORS) else None


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client with three additions: requests go to the configured API base URL,
    every request has a timeout, and transient failures are retried a bounded number of times.
    (gspread's own BackOffHTTPClient never gives up, which would hang a nightly job.)"""

    def __init__(
        self,
        credentials: Any,
        *,
        base_url: str = GOOGLE_API,
        retries: int = 5,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        session = AuthorizedSession(credentials, refresh_timeout=timeout)
        super().__init__(credentials, session=session)
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.sleep = sleep
        self.jitter = jitter
        self.set_timeout(timeout)
        #: the last spreadsheet metadata fetched; gspread's Spreadsheet keeps only its properties
        self.metadata: Mapping[str, Any] = {}

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        url = self._rewrite(endpoint)
        return with_retries(
            lambda: super(SheetsHTTPClient, self).request(method, url, *args, **kwargs),
            _retry_reason,
            retries=self.retries,
            what=f"Google Sheets ({method.upper()})",
            sleep=self.sleep,
            jitter=self.jitter,
        )

    def fetch_sheet_metadata(self, id: str, params: Any = None) -> Mapping[str, Any]:
        self.metadata = super().fetch_sheet_metadata(id, params)
        return self.metadata

    def _rewrite(self, endpoint: str) -> str:
        # gspread builds absolute URLs from constants copied at import; swap the host here.
        if endpoint.startswith(GOOGLE_API) and self.base_url != GOOGLE_API:
            return self.base_url + endpoint[len(GOOGLE_API) :]
        return endpoint


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


class GoogleSource:
    def __init__(
        self,
        settings: GoogleSourceConfig,
        form: FormConfig,
        credentials_file: Path | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.form = form
        self.key = spreadsheet_key(settings.spreadsheet)
        self.credentials_file = credentials_file
        self.sleep = sleep
        self.description = f"the Google Sheet {self.key}, tab “{settings.worksheet}”"
        self._client: SheetsHTTPClient | None = None
        self._account = "the configured account"
        self._worksheet: Worksheet | None = None
        self._headers: list[Any] = []
        self._columns = 0  # the tab's grid width, from the metadata

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> GoogleSource:
        settings = config.source
        assert isinstance(settings, GoogleSourceConfig)
        path = settings.credentials_file or _env_path("GOOGLE_APPLICATION_CREDENTIALS")
        return cls(settings, config.form, config.path(path) if path else None, **kwargs)

    # -- the Source protocol ---------------------------------------------------------------

    def read(self) -> Snapshot:
        worksheet, zone = self._open()
        grid = self._values(worksheet, "reading the responses")
        if not grid or not any(str(h).strip() for h in grid[0]):
            raise SourceError(
                f"{self.description} is empty: not even a header row.",
                hint="check source.worksheet: it must name the tab the form writes its responses to.",
            )
        self._headers = list(grid[0])
        headers = [str(h).strip() for h in grid[0]]
        columns = HeaderMap.build(headers, self.form, self.description)
        rows = [columns.row(cells, number) for number, cells in enumerate(grid[1:], start=2)]
        return Snapshot(rows=rows, headers=headers, timezone=zone, description=self.description)

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        if not self.settings.write_back or not statuses:
            return 0
        if self._worksheet is None:
            self.read()  # the header row must be known to notice it moving
        worksheet = self._worksheet
        assert worksheet is not None
        grid = self._values(worksheet, "re-reading the sheet before writing")
        now = list(grid[0]) if grid else []
        check_columns_unmoved(self._headers, now, self.description)
        # Cells right of the last header may hold someone's notes: new columns go beyond them.
        width = max([len(now), *(len(r) for r in grid[1:])])
        padded = now + [""] * (width - len(now))
        headers, cells = status_cells(padded, grid[1:], statuses, self.form)
        data = _ranges(len(padded), headers, cells)
        if not data:
            return 0
        self._make_room(worksheet, len(headers))
        with self._google("writing the statuses back"):
            worksheet.batch_update(data, raw=True)  # RAW: "=…", "+…", "@…" stay text
        self._headers = list(headers)  # a second write in this run must not see them as moved
        return len({row for row, _, _ in cells})

    # -- Google calls ----------------------------------------------------------------------

    def _open(self) -> tuple[Worksheet, ZoneInfo | None]:
        client = self._http()
        with self._google("opening the spreadsheet"):
            book = Spreadsheet(client, {"id": self.key})  # the one metadata request
        props = self._find_tab(client.metadata.get("sheets", []))
        self._worksheet = Worksheet(book, props, self.key, client)
        self._columns = int(props.get("gridProperties", {}).get("columnCount", 0))
        return self._worksheet, _zone(client.metadata.get("properties", {}).get("timeZone"))

    def _find_tab(self, sheets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        wanted = self.settings.worksheet
        tabs = [dict(s["properties"]) for s in sheets]
        exact = [t for t in tabs if t["title"] == wanted]
        # "Form responses 1" or "Form Responses 1" depends on the form's language.
        loose = [t for t in tabs if text.fold(t["title"]) == text.fold(wanted)]
        if exact or len(loose) == 1:
            return (exact or loose)[0]
        raise SourceError(
            f"The spreadsheet {self.key} has no tab named “{wanted}”.",
            hint="set source.worksheet to one of its tabs: "
            + ", ".join(f"“{t['title']}”" for t in tabs),
        )

    def _values(self, worksheet: Worksheet, doing: str) -> list[list[Any]]:
        with self._google(doing):
            values = worksheet.get(
                value_render_option=ValueRenderOption.unformatted,
                date_time_render_option=DateTimeOption.serial_number,
                return_type=GridRangeType.ListOfLists,
            )
        return [list(row) for row in values if row is not None]

    def _make_room(self, worksheet: Worksheet, columns: int) -> None:
        """Add columns on the right when the grid is too narrow for the status columns. It uses
        appendDimension rather than a resize to an absolute width: a resize computed from a stale
        width could delete columns someone added meanwhile; a repeated append only adds blanks."""
        missing = columns - self._columns
        if missing <= 0:
            return
        request = {
            "appendDimension": {"sheetId": worksheet.id, "dimension": "COLUMNS", "length": missing}
        }
        with self._google("adding columns for the sync status"):
            worksheet.client.batch_update(self.key, {"requests": [request]})
        self._columns = columns

    def _http(self) -> SheetsHTTPClient:
        if self._client is None:
            credentials, self._account = self._credentials()
            self._client = SheetsHTTPClient(
                credentials,
                base_url=self.settings.api_base_url,
                retries=self.settings.retries,
                timeout=self.settings.timeout_seconds,
                sleep=self.sleep,
            )
        return self._client

    def _credentials(self) -> tuple[Any, str]:
        kind = self.settings.credentials
        if kind == "none":
            return _anonymous(self.settings.api_base_url), "no account (credentials = “none”)"
        path = self.credentials_file
        if path is None:
            raise SourceError(
                "No Google credentials are configured.",
                hint="set source.credentials_file to the service account's key file (.json), or "
                "the environment variable GOOGLE_APPLICATION_CREDENTIALS; see docs/google-sheet.md.",
            )
        return _load_credentials(path, kind)

    @contextmanager
    def _google(self, doing: str) -> Iterator[None]:
        """Turn what gspread, google-auth and requests raise into one plain-words SourceError."""
        tries = self.settings.retries + 1
        try:
            yield
        except APIError as err:
            raise self._api_error(err, doing, tries) from None
        except RefreshError as err:
            raise SourceError(
                f"Google refused the credentials of {self._account} while {doing}: {err}",
                hint="the key may have been deleted or disabled; create a new key for the service "
                "account and point source.credentials_file at it.",
            ) from None
        except (requests.RequestException, GoogleAuthError) as err:
            raise SourceError(
                f"Could not reach the Google Sheets API at {self.settings.api_base_url} while "
                f"{doing} ({type(err).__name__}), after {tries} tries. Nothing was written.",
                hint="check the network connection; the next sync tries again. A slow network "
                "may need a larger source.timeout_seconds.",
            ) from None

    def _api_error(self, err: APIError, doing: str, tries: int) -> SourceError:
        status = err.response.status_code
        message = str(err.error.get("message", ""))
        if status == 403 and ("has not been used" in message or "is disabled" in message):
            return SourceError(
                f"The Google Sheets API is not enabled for the account's Cloud project: {message}",
                hint="enable the Google Sheets API in the Google Cloud console (APIs & Services > "
                "Library), wait a minute, and try again.",
            )
        if status == 403:
            return SourceError(
                f"{self._account} may not open the spreadsheet {self.key} ({doing}).",
                hint=f"open the sheet, click Share, and add {self._account} as Editor "
                "(Viewer is enough with source.write_back = false).",
            )
        if status == 404:
            return SourceError(
                f"There is no spreadsheet with the key {self.key} (or it was deleted).",
                hint="copy the address of the sheet from the browser (https://docs.google.com/"
                "spreadsheets/d/KEY/edit) into source.spreadsheet"
                + (
                    f"; source.api_base_url is {self.settings.api_base_url}: check it too."
                    if self.settings.api_base_url != GOOGLE_API
                    else "."
                ),
            )
        if status == 401:
            return SourceError(
                f"Google did not accept the credentials of {self._account} ({message}).",
                hint="check source.credentials_file and source.credentials.",
            )
        if transient_status(status):
            return SourceError(
                f"Google Sheets kept answering {status} ({err.error.get('status', '')}) while "
                f"{doing}; gave up after {tries} tries. Nothing was written.",
                hint="wait a few minutes and run the sync again (429 means the per-minute quota "
                "was used up, often by another script on the same project).",
            )
        return SourceError(f"Google Sheets refused {doing}: {status} {message}")


def _ranges(
    width: int, headers: list[Any], cells: list[tuple[int, int, str]]
) -> list[dict[str, Any]]:
    """The batchUpdate data: new header cells on row 1 and status cells, one range per run of
    adjacent columns in a row (usually one per row: the three status columns sit together)."""
    by_row: dict[int, dict[int, str]] = {}
    for col in range(width, len(headers)):
        by_row.setdefault(0, {})[col] = str(headers[col])
    for row, col, value in cells:
        by_row.setdefault(row + 1, {})[col] = value
    data = []
    for row in sorted(by_row):
        columns = sorted(by_row[row])
        start = 0
        for i in range(1, len(columns) + 1):
            if i == len(columns) or columns[i] != columns[i - 1] + 1:
                run = columns[start:i]
                first = rowcol_to_a1(row + 1, run[0] + 1)
                last = rowcol_to_a1(row + 1, run[-1] + 1)
                values = [[by_row[row][c] for c in run]]
                data.append({"range": f"{first}:{last}", "values": values})
                start = i
    return data


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("Unknown spreadsheet time zone %r; timestamps are read without one", name)
        return None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _anonymous(base_url: str) -> Any:
    from google.oauth2.credentials import Credentials

    if base_url.rstrip("/") == GOOGLE_API:
        raise SourceError(
            "source.credentials = “none” cannot be used with Google itself.",
            hint="give a service-account key file (see docs/google-sheet.md); “none” is for a "
            "local test server set in source.api_base_url.",
        )
    # A fixed token and no refresh data: nothing ever calls a token endpoint.
    return Credentials("anonymous")


def _load_credentials(path: Path, kind: str) -> tuple[Any, str]:
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    try:
        if kind == "authorized_user":
            return user.Credentials.from_authorized_user_file(str(path), scopes=SCOPES), (
                "the Google account that authorised cluster-sync"
            )
        creds = service_account.Credentials.from_service_account_file(str(path), scopes=SCOPES)
        return creds, creds.service_account_email
    except FileNotFoundError:
        raise SourceError(
            f"The Google key file {path} does not exist.",
            hint="download a JSON key for the service account (see docs/google-sheet.md), keep it "
            "outside the project folder, and point source.credentials_file or "
            "GOOGLE_APPLICATION_CREDENTIALS at it.",
        ) from None
    except OSError as exc:
        raise SourceError(
            f"The Google key file {path} could not be read: {exc.strerror or exc}.",
            hint="check the file's permissions for the account that runs the sync.",
        ) from None
    except (ValueError, KeyError) as exc:
        other = "authorized_user" if kind == "service_account" else "service_account"
        raise SourceError(
            f"{path} is not a valid {kind.replace('_', '-')} key file: {exc}",
            hint=f"download a fresh JSON key; if this file is of the other kind, set "
            f'source.credentials = "{other}".',
        ) from None
