"""The Drive v3 REST API as cluster-sync uses it: google-auth's authorised session, Google's
retries, uploads, and every failure turned into a PublishError that says what to do.

Requests are retried like the Sheets calls (408, 429, 5xx, Drive's 403 rate limits and dropped
connections, with bounded jittered backoff). Uploads send metadata and content together:
uploadType=multipart up to 5 MB, as Google advises, and a resumable session (one initiating
request, then the content in one PUT) above that.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cluster_sync.backoff import NETWORK_ERRORS, transient_status, with_retries
from cluster_sync.errors import PublishError
from cluster_sync.publish.drive_settings import DrivePublishConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

GOOGLE_API = "https://www.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/drive"]
#: Google's advice: multipart for files up to 5 MB, resumable above
MULTIPART_LIMIT = 5 * 1024 * 1024
_RATE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded"}

WAYS_OUT = (
    "Google gives service accounts created since April 2025 no Drive storage of their own, so "
    "they cannot own files. Three ways out: (1) make publish.drive.folder a folder in a shared "
    "drive and add the service account to that shared drive as Content manager; (2) publish as a "
    'person: set publish.drive.credentials = "authorized_user" with an OAuth file of that '
    "person's account; (3) domain-wide delegation, so the service account acts as a user (not "
    "supported by cluster-sync). docs/publishing.md shows (1) and (2) step by step."
)


class HTTPError(Exception):
    """A Drive answer other than 2xx, with Google's error reasons."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        assert isinstance(error, dict)
        self.status = status
        self.message = str(error.get("message") or "")
        self.reasons = {
            str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)
        }
        super().__init__(f"{status} {self.message}")


def retry_reason(err: BaseException) -> str | None:
    if isinstance(err, HTTPError):
        if transient_status(err.status) or (err.status == 403 and err.reasons & _RATE_LIMITS):
            return f"{err.status} {', '.join(sorted(err.reasons)) or err.message}".strip()
        return None
    return type(err).__name__ if isinstance(err, NETWORK_ERRORS) else None


class DriveAPI:
    def __init__(
        self,
        settings: DrivePublishConfig,
        credentials_file: Path | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.credentials_file = credentials_file
        self.sleep = sleep
        self.base = settings.api_base_url.rstrip("/")
        self.folder = settings.folder
        self._session: Any = None

    def call(self, method: str, path: str, doing: str, **kwargs: Any) -> dict[str, Any]:
        """One Drive request, tried again while the failure is worth it."""
        return self.retrying(lambda: self.once(method, path, **kwargs), method, doing)

    def retrying(self, call: Callable[[], T], method: str, doing: str, gone_ok: bool = False) -> T:
        """`call()` with Google's backoff; failures become a PublishError that says what to
        do. With `gone_ok`, a 404 returns an empty answer instead."""
        from google.auth.exceptions import GoogleAuthError, RefreshError
        from requests import RequestException

        what = f"Google Drive ({method})"
        try:
            return with_retries(
                call, retry_reason, retries=self.settings.retries, what=what, sleep=self.sleep
            )
        except HTTPError as err:
            if gone_ok and err.status == 404:
                return {}  # type: ignore[return-value]
            refused = self._api_error(err, doing)
            refused.status = err.status
            raise refused from None
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

    def once(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A single request: the JSON answer, or HTTPError."""
        answer = self._send(method, self.base + path, **kwargs)
        try:
            body = answer.json() if answer.content else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def upload(
        self, method: str, path: str, metadata: dict[str, Any], media: bytes, mime_type: str
    ) -> dict[str, Any]:
        """One try at an upload (files.create: POST; files.update: PATCH), metadata and
        content together; the caller retries."""
        params = {"supportsAllDrives": "true", "fields": FIELDS}
        if len(media) <= MULTIPART_LIMIT:
            body, content_type = multipart_related(metadata, media, mime_type)
            params["uploadType"] = "multipart"
            headers = {"Content-Type": content_type}
            return self.once(method, path, params=params, data=body, headers=headers)
        params["uploadType"] = "resumable"
        headers = {"X-Upload-Content-Type": mime_type, "X-Upload-Content-Length": str(len(media))}
        start = self._send(method, self.base + path, params=params, json=metadata, headers=headers)
        session = start.headers.get("Location", "")
        if not _same_origin(session, self.base):
            raise PublishError(f"Google Drive answered with an upload address {session!r}.")
        done = self._send("PUT", session, data=media, headers={"Content-Type": mime_type})
        answer = done.json() if done.content else {}
        return answer if isinstance(answer, dict) else {}

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        session = self._http()
        answer = session.request(method, url, timeout=self.settings.timeout_seconds, **kwargs)
        if answer.status_code >= 300:
            try:
                body = answer.json()
            except ValueError:
                body = {}
            raise HTTPError(answer.status_code, body if isinstance(body, dict) else {})
        return answer

    def _api_error(self, err: HTTPError, doing: str) -> PublishError:
        tries = self.settings.retries + 1
        if "storageQuotaExceeded" in err.reasons:
            message = f"Google Drive refused {doing}: no storage ({err.message})."
            return PublishError(message, WAYS_OUT, stop=True)
        if err.status == 404:
            return PublishError(
                f"Google Drive has no folder {self.folder} that the account can see ({doing}).",
                hint="check publish.drive.folder, and share the folder (or its shared drive) with "
                "the account as Editor (Content manager in a shared drive).",
                stop=True,
            )
        if retry_reason(err):
            return PublishError(
                f"Google Drive kept answering {err.status} while {doing}; gave up after {tries} "
                "tries.",
                hint="nothing is lost: the next sync publishes the files and writes their links.",
                stop=True,
            )
        if err.status in (401, 403):
            return PublishError(
                f"Google Drive refused {doing}: {err.status} {err.message}",
                hint="share the folder (or its shared drive) with the account as Editor (Content "
                "manager in a shared drive), and enable the Google Drive API for its Cloud project.",
                stop=True,
            )
        return PublishError(f"Google Drive refused {doing}: {err.status} {err.message}")

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


#: the fields of a file every call asks for
FIELDS = "id,webViewLink,appProperties"


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


def _same_origin(url: str, base: str) -> bool:
    """The token goes only where the API is: an upload address elsewhere is refused."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
