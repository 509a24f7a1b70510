"""The live Google Sheet a Google Form feeds, read and written through gspread and google-auth.

API budget per sync, whatever the number of rows (each one request against the Sheets quota of
60 per minute per user):

- read():       1 metadata GET (spreadsheet properties and tab list, time zone included)
                1 values GET of the whole tab, unformatted, dates as serial numbers
- write_back(): 1 developerMetadata:search (where the status columns are tagged)
                1 values:batchGetByDataFilter: the tab and the tagged columns, just before writing
                1 values:batchUpdateByDataFilter (RAW) carrying every status, located by the tags
                1 values:batchGetByDataFilter after it, to check every status is on its row
                +1 spreadsheets:batchUpdate and +1 read, only when tags must be placed (the first
                   time, or after a status column was deleted or renamed), with room added on the
                   right if the tab has none for new status columns
                +1 read and +1 write for each edit that raced a write, or failed write

So a nightly sync costs 6 requests. How write-back stays safe while people edit the sheet is
described in cluster_sync.sources.google_write.

Transient failures (408, 429, 5xx, network errors, timeouts) of reads are retried a bounded
number of times with jittered exponential backoff. A failed write is never resent as it was:
after the same wait the sheet is read again and the write planned again from what it holds.
"""

from __future__ import annotations

import logging
import os
import random
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
from gspread.utils import DateTimeOption, GridRangeType, ValueRenderOption

from cluster_sync import text
from cluster_sync.backoff import NETWORK_ERRORS, transient_status, with_retries
from cluster_sync.config import Config, FormConfig
from cluster_sync.errors import SourceError
from cluster_sync.sources.base import HeaderMap, RowStatus, Snapshot
from cluster_sync.sources.google_settings import GoogleSourceConfig, spreadsheet_key
from cluster_sync.sources.google_write import GOOGLE_API, StatusWriter

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


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

    def request(
        self, method: str, endpoint: str, *args: Any, retry: bool = True, **kwargs: Any
    ) -> requests.Response:
        """`retry=False` for a write that must be planned again from a fresh read before it is
        tried again (see google_write): the caller handles failures."""
        url = self._rewrite(endpoint)
        if not retry:
            return super().request(method, url, *args, **kwargs)
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
        headers = [str(h).strip() for h in grid[0]]
        columns = HeaderMap.build(headers, self.form, self.description)
        rows = [columns.row(cells, number) for number, cells in enumerate(grid[1:], start=2)]
        return Snapshot(rows=rows, headers=headers, timezone=zone, description=self.description)

    def write_back(self, statuses: Sequence[RowStatus]) -> int:
        """Write each status into its registration's row, in the owned columns only, however
        the sheet is being edited meanwhile (see cluster_sync.sources.google_write)."""
        if not self.settings.write_back or not statuses:
            return 0
        if self._worksheet is None:
            self.read()
        worksheet = self._worksheet
        assert worksheet is not None
        writer = StatusWriter(
            self._http(),
            self.key,
            worksheet.id,
            worksheet.title,
            self.form,
            self.description,
            self._google,
            tries=self.settings.retries + 1,
            sleep=self.sleep,
            grid_width=self._columns,
        )
        return writer.write(statuses)

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
    def _google(self, doing: str, done: str = "Nothing was written.") -> Iterator[None]:
        """Turn what gspread, google-auth and requests raise into one plain-words SourceError."""
        tries = self.settings.retries + 1
        try:
            yield
        except APIError as err:
            raise self._api_error(err, doing, tries, done) from None
        except RefreshError as err:
            raise SourceError(
                f"Google refused the credentials of {self._account} while {doing}: {err}",
                hint="the key may have been deleted or disabled; create a new key for the service "
                "account and point source.credentials_file at it.",
            ) from None
        except (requests.RequestException, GoogleAuthError) as err:
            raise SourceError(
                f"Could not reach the Google Sheets API at {self.settings.api_base_url} while "
                f"{doing} ({type(err).__name__}), after {tries} tries. {done}",
                hint="check the network connection; the next sync tries again. A slow network "
                "may need a larger source.timeout_seconds.",
            ) from None

    def _api_error(self, err: APIError, doing: str, tries: int, done: str) -> SourceError:
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
                f"{doing}; gave up after {tries} tries. {done}",
                hint="wait a few minutes and run the sync again (429 means the per-minute quota "
                "was used up, often by another script on the same project).",
            )
        return SourceError(f"Google Sheets refused {doing}: {status} {message}")


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
