"""Publishing to a Google Drive folder over the Drive v3 REST API (google-auth's session).

Calls, each one request against the Drive quota, retried like the Sheets calls (408, 429, 5xx,
403 rate limits and dropped connections, with bounded jittered backoff):

- files.list, once per run and only when a file is new or an earlier run was interrupted: our
  files in the folder, found by the private appProperties we set on them (never by name);
- files.create (multipart upload) for a cluster's first version, then one permissions.create per
  sharing rule;
- files.update (multipart upload) for every later version: the same file id, so the link never
  changes and Drive keeps the earlier versions as revisions.

`supportsAllDrives=true` goes with every call, so a folder in a shared drive works.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cluster_sync.backoff import NETWORK_ERRORS, transient_status, with_retries
from cluster_sync.config import Config, DrivePublishConfig, GoogleSourceConfig
from cluster_sync.errors import PublishError
from cluster_sync.publish import FactsheetFile, Job, Remote, checked_link

log = logging.getLogger(__name__)
T = TypeVar("T")

GOOGLE_API = "https://www.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/drive"]
FIELDS = "id,webViewLink,appProperties"
#: appProperties are private to the Cloud project that sets them: ours mark our files
MARK = ("clusterSync", "factsheet")
_RATE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded"}

WAYS_OUT = (
    "Google gives service accounts created since April 2025 no Drive storage of their own, so "
    "they cannot own files. Three ways out: (1) make publish.drive.folder a folder in a shared "
    "drive and add the service account to that shared drive as Content manager; (2) publish as a "
    'person: set publish.drive.credentials = "authorized_user" with an OAuth file of that '
    "person's account; (3) domain-wide delegation, so the service account acts as a user (not "
    "supported by cluster-sync). docs/publishing.md shows (1) and (2) step by step."
)


def _has(key: str, value: str) -> str:
    return f"appProperties has {{ key={drive_literal(key)} and value={drive_literal(value)} }}"


def drive_literal(value: str) -> str:
    """A string literal for a Drive query: backslash and single quote escaped, as Drive's
    query syntax requires."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _HTTPError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        assert isinstance(error, dict)
        self.status = status
        self.message = str(error.get("message") or "")
        self.reasons = {
            str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)
        }
        super().__init__(f"{status} {self.message}")


def _retry_reason(err: BaseException) -> str | None:
    if isinstance(err, _HTTPError):
        if transient_status(err.status) or (err.status == 403 and err.reasons & _RATE_LIMITS):
            return f"{err.status} {', '.join(sorted(err.reasons)) or err.message}".strip()
        return None
    return type(err).__name__ if isinstance(err, NETWORK_ERRORS) else None


class DriveTarget:
    def __init__(
        self,
        settings: DrivePublishConfig,
        credentials_file: Path | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.folder = settings.folder
        self.credentials_file = credentials_file
        self.sleep = sleep
        self.key = f"drive:{self.folder}"
        self.description = f"the Google Drive folder {self.folder}"
        self.base = settings.api_base_url.rstrip("/")
        self._session: Any = None
        self._index: dict[str, Remote] = {}
        self.calls = 0  # requests sent, retries included (the benchmark reads it)

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> DriveTarget:
        assert config.publish is not None and config.publish.drive is not None
        settings = config.publish.drive
        path = settings.credentials_file
        if path is None and isinstance(config.source, GoogleSourceConfig):
            path = config.source.credentials_file
        if path is None and os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip():
            path = Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"].strip()).expanduser()
        return cls(settings, config.path(path) if path else None, **kwargs)

    # -- the Target protocol -------------------------------------------------------------

    def link_before_upload(self, file: FactsheetFile, known: Remote | None) -> str | None:
        return known.url if known else None  # a new file's link exists only once it is made

    def prepare(self, jobs: Sequence[Job]) -> None:
        """Find our files in the folder when a file may exist that the state does not know: a
        first version (the state may have been lost), or an upload an earlier run began."""
        self._index = {}
        if any(job.known is None or job.recovering for job in jobs):
            self._index = self._our_files()

    def publish(self, job: Job) -> Remote:
        file = job.file
        remote = self._index.get(file.key) or job.known
        if remote is not None and remote.version == file.version:
            # An interrupted run had already put this version there: do not upload it again.
            if job.recovering:
                self._share(remote.remote_id)  # it may have been cut short before sharing
            return dataclasses.replace(remote, reused=True)
        if remote is not None:
            updated = self._update(remote.remote_id, file)
            if updated is not None:
                return updated
            log.warning("Drive file %s of %s is gone; making a new one", remote.remote_id, file.key)
        created = self._create(file)
        self._share(created.remote_id)
        return created

    def check(self) -> str:
        """One request: the folder, as the account sees it."""
        params = {"supportsAllDrives": "true", "fields": "id,name,mimeType,driveId"}
        found = self._call(
            "GET", f"/drive/v3/files/{self.folder}", "opening the folder", params=params
        )
        name = str(found.get("name") or self.folder)
        if found.get("driveId"):
            return f"factsheets are published to the Drive folder “{name}”, in a shared drive"
        note = ""
        if self.settings.credentials == "service_account":
            note = (
                "; it is not in a shared drive, where a service account created since April 2025 "
                "cannot upload (see docs/publishing.md)"
            )
        return f"factsheets are published to the Drive folder “{name}”{note}"

    # -- Drive calls ---------------------------------------------------------------------

    def _our_files(self, key: str | None = None) -> dict[str, Remote]:
        """Our files in the folder (only the one for `key`, when given), by their private
        properties: a name, which holds a partner's title, is never part of a query."""
        query = f"{drive_literal(self.folder)} in parents and trashed = false and " + _has(*MARK)
        if key is not None:
            query += " and " + _has("clusterSyncFile", key)
        found: dict[str, Remote] = {}
        params = {
            "q": query,
            "fields": f"nextPageToken,files({FIELDS})",
            "pageSize": "1000",
            "corpora": "allDrives",
            "includeItemsFromAllDrives": "true",
            "supportsAllDrives": "true",
        }
        while True:
            page = self._call("GET", "/drive/v3/files", "looking for earlier files", params=params)
            for item in page.get("files") or []:
                props = item.get("appProperties") or {}
                if props.get(MARK[0]) == MARK[1] and props.get("clusterSyncFile"):
                    found[props["clusterSyncFile"]] = self._remote(item)
            token = str(page.get("nextPageToken") or "")
            if not token:
                return found
            params["pageToken"] = token

    def _create(self, file: FactsheetFile) -> Remote:
        metadata = {
            "name": file.path.name,
            "mimeType": file.mime_type,
            "parents": [self.folder],
            "appProperties": self._properties(file),
        }
        tries = 0

        def once() -> Remote:
            # A try that timed out may have landed all the same: look before a second upload.
            nonlocal tries
            tries += 1
            if tries > 1 and (landed := self._our_files(file.key).get(file.key)):
                return landed
            return self._remote(self._upload("POST", "/upload/drive/v3/files", metadata, file))

        return self._retrying(once, "POST", f"uploading {file.key}")

    def _update(self, file_id: str, file: FactsheetFile) -> Remote | None:
        """New content for the same file id (None when that file no longer exists). Sending
        the same version twice only adds a revision, so this is safe to retry."""
        metadata = {"name": file.path.name, "appProperties": self._properties(file)}
        path = f"/upload/drive/v3/files/{file_id}"
        item = self._retrying(
            lambda: self._upload("PATCH", path, metadata, file),
            "PATCH",
            f"replacing {file.key}",
            gone_ok=True,
        )
        return self._remote(item) if item else None

    def _share(self, file_id: str) -> None:
        rules: list[tuple[dict[str, Any], dict[str, str]]] = []
        if self.settings.share_with_domain:
            # anyone signed in to the domain who has the link; not listed in their searches
            body = {"type": "domain", "role": "reader", "domain": self.settings.share_with_domain}
            rules.append(({**body, "allowFileDiscovery": False}, {}))
        for address in self.settings.share_with:
            body = {"type": "user", "role": "reader", "emailAddress": _bare(address)}
            # Google allows this parameter for users and groups only
            rules.append((body, {"sendNotificationEmail": "false"}))
        for body, extra in rules:
            params = {"supportsAllDrives": "true", "fields": "id", **extra}
            path = f"/drive/v3/files/{file_id}/permissions"
            self._call("POST", path, "sharing a file", params=params, json=body)

    def _upload(
        self, method: str, path: str, metadata: dict[str, Any], file: FactsheetFile
    ) -> dict[str, Any]:
        try:
            media = file.path.read_bytes()
        except OSError as exc:
            raise PublishError(f"Could not read {file.path}: {exc.strerror or exc}.") from None
        body, content_type = multipart_related(metadata, media, file.mime_type)
        params = {"uploadType": "multipart", "supportsAllDrives": "true", "fields": FIELDS}
        headers = {"Content-Type": content_type}
        return self._once(method, path, params=params, data=body, headers=headers)

    def _properties(self, file: FactsheetFile) -> dict[str, str]:
        return {
            MARK[0]: MARK[1],
            "clusterSyncFile": file.key,
            "clusterSyncVersion": str(file.version),
        }

    def _remote(self, item: dict[str, Any]) -> Remote:
        props = item.get("appProperties") or {}
        version = str(props.get("clusterSyncVersion") or "0")
        file_id = str(item.get("id") or "")
        link = str(item.get("webViewLink") or f"https://drive.google.com/file/d/{file_id}/view")
        number = int(version) if version.isdigit() else 0
        return Remote(file_id, checked_link(link, "Google Drive"), number)

    # -- HTTP ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, doing: str, **kwargs: Any) -> dict[str, Any]:
        """One Drive request, tried again while the failure is worth it."""
        return self._retrying(lambda: self._once(method, path, **kwargs), method, doing)

    def _retrying(self, call: Callable[[], T], method: str, doing: str, gone_ok: bool = False) -> T:
        """`call()` with Google's backoff; failures become a PublishError that says what to
        do. With `gone_ok`, a 404 returns an empty answer instead."""
        from google.auth.exceptions import GoogleAuthError, RefreshError
        from requests import RequestException

        what = f"Google Drive ({method})"
        try:
            return with_retries(
                call, _retry_reason, retries=self.settings.retries, what=what, sleep=self.sleep
            )
        except _HTTPError as err:
            if gone_ok and err.status == 404:
                return {}  # type: ignore[return-value]
            raise self._api_error(err, doing) from None
        except RefreshError as err:
            raise PublishError(
                f"Google refused the Drive credentials while {doing}: {err}",
                hint="check publish.drive.credentials_file (the key may be deleted or disabled).",
                stop=True,
            ) from None
        except (RequestException, GoogleAuthError) as err:
            raise PublishError(
                f"Could not reach Google Drive at {self.base} while {doing} "
                f"({type(err).__name__}), after {self.settings.retries + 1} tries.",
                hint="nothing is lost: the emails went as usual, and the next sync publishes the "
                "files and writes their links.",
                stop=True,
            ) from None

    def _once(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A single request: the JSON answer, or _HTTPError."""
        session = self._http()
        self.calls += 1
        timeout = self.settings.timeout_seconds
        answer = session.request(method, self.base + path, timeout=timeout, **kwargs)
        try:
            body = answer.json() if answer.content else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if answer.status_code >= 300:
            raise _HTTPError(answer.status_code, body)
        return body

    def _api_error(self, err: _HTTPError, doing: str) -> PublishError:
        tries = self.settings.retries + 1
        if "storageQuotaExceeded" in err.reasons:
            found = PublishError(
                f"Google Drive refused {doing}: no storage ({err.message}).", WAYS_OUT, stop=True
            )
        elif err.status == 404:
            found = PublishError(
                f"Google Drive has no folder {self.folder} that the account can see ({doing}).",
                hint="check publish.drive.folder, and share the folder (or its shared drive) with "
                "the account as Editor (Content manager in a shared drive).",
                stop=True,
            )
        elif err.status in (401, 403) and not _retry_reason(err):
            found = PublishError(
                f"Google Drive refused {doing}: {err.status} {err.message}",
                hint="share the folder (or its shared drive) with the account as Editor (Content "
                "manager in a shared drive), and enable the Google Drive API for its Cloud project.",
                stop=True,
            )
        elif _retry_reason(err):
            found = PublishError(
                f"Google Drive kept answering {err.status} while {doing}; gave up after {tries} tries.",
                hint="nothing is lost: the next sync publishes the files and writes their links.",
                stop=True,
            )
        else:
            found = PublishError(f"Google Drive refused {doing}: {err.status} {err.message}")
        return found

    def _http(self) -> Any:
        if self._session is None:
            from google.auth.transport.requests import AuthorizedSession

            timeout = self.settings.timeout_seconds
            self._session = AuthorizedSession(self._credentials(), refresh_timeout=timeout)
        return self._session

    def _credentials(self) -> Any:
        from google.oauth2 import credentials as user
        from google.oauth2 import service_account

        kind = self.settings.credentials
        if kind == "none":
            if self.base == GOOGLE_API:
                raise PublishError(
                    'publish.drive.credentials = "none" cannot be used with Google itself.',
                    hint='give a key file; "none" is for a local test server in api_base_url.',
                    stop=True,
                )
            return user.Credentials("anonymous")  # a fixed token, never refreshed
        path = self.credentials_file
        if path is None:
            raise PublishError(
                "No Google credentials are configured for publishing to Drive.",
                hint="set publish.drive.credentials_file (see docs/publishing.md).",
                stop=True,
            )
        try:
            if kind == "authorized_user":
                return user.Credentials.from_authorized_user_file(str(path), scopes=SCOPES)
            return service_account.Credentials.from_service_account_file(str(path), scopes=SCOPES)
        except (OSError, ValueError, KeyError) as exc:
            raise PublishError(
                f"The Google credentials file {path} could not be used ({kind}): {exc}",
                hint="check publish.drive.credentials_file and publish.drive.credentials.",
                stop=True,
            ) from None


def multipart_related(metadata: dict[str, Any], media: bytes, mime_type: str) -> tuple[bytes, str]:
    """A multipart/related body: the JSON metadata, then the file's bytes (Drive's
    uploadType=multipart). The boundary is chosen so that it occurs in neither part."""
    meta = json.dumps(metadata, ensure_ascii=False).encode("utf-8")
    boundary = secrets.token_hex(16)
    while boundary.encode() in media or boundary.encode() in meta:
        boundary = secrets.token_hex(16)
    dash = b"--" + boundary.encode()
    body = b"".join(
        [
            dash + b"\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + meta + b"\r\n",
            dash + b"\r\nContent-Type: " + mime_type.encode() + b"\r\n\r\n" + media + b"\r\n",
            dash + b"--\r\n",
        ]
    )
    return body, f"multipart/related; boundary={boundary}"


def _bare(address: str) -> str:
    """The address alone from "Name <a@b.org>"."""
    from email.utils import parseaddr

    return parseaddr(address)[1] or address
