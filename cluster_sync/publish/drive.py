"""Publishing to a Google Drive folder over the Drive v3 REST API (google-auth's session).

Calls (drive_api.py sends them, with Google's retries), each one request against the Drive quota:

- files.list, once per run and only when a file is new or an earlier run was interrupted: our
  files in the folder, found by the private appProperties we set on them (never by name);
- files.create (a multipart upload; resumable above 5 MB) for a cluster's first version, then one permissions.create per
  sharing rule;
- files.update (the same kinds of upload) for every later version: the same file id, so the link never
  changes and Drive keeps the earlier versions as revisions.

`supportsAllDrives=true` goes with every call, so a folder in a shared drive works.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cluster_sync.config import Config
from cluster_sync.errors import PublishError
from cluster_sync.publish import FactsheetFile, Job, Remote, checked_link
from cluster_sync.publish.drive_api import FIELDS, DriveAPI
from cluster_sync.publish.drive_settings import DrivePublishConfig
from cluster_sync.sources.google_settings import GoogleSourceConfig

log = logging.getLogger(__name__)

#: appProperties are private to the Cloud project that sets them: ours mark our files
MARK = ("clusterSync", "factsheet")


def _has(key: str, value: str) -> str:
    return f"appProperties has {{ key={drive_literal(key)} and value={drive_literal(value)} }}"


def drive_literal(value: str) -> str:
    """A string literal for a Drive query: backslash and single quote escaped, as Drive's
    query syntax requires."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


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
        self.api = DriveAPI(settings, credentials_file, sleep)
        self.key = f"drive:{self.folder}"
        self.description = f"the Google Drive folder {self.folder}"
        self._index: dict[str, Remote] = {}

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> DriveTarget:
        assert config.publish is not None
        settings = config.publish.settings_of("drive")
        assert isinstance(settings, DrivePublishConfig)  # checked when the config was loaded
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

    def withdraw(self, remote: Remote) -> None:
        """files.delete: the file and all its revisions, for good. In a shared drive only a
        Manager may delete; a Content manager's 403 is answered by moving the file to the
        trash instead (nobody but the drive's members can open it; Drive empties it in 30 days)."""
        path = f"/drive/v3/files/{remote.remote_id}"
        params = {"supportsAllDrives": "true"}
        try:
            self.api.retrying(
                lambda: self.api.once("DELETE", path, params=params),
                "DELETE",
                f"withdrawing {remote.url}",
                gone_ok=True,
            )
        except PublishError as exc:
            if exc.status != 403:
                raise
            log.warning("Drive refused to delete %s; moving it to the trash", remote.remote_id)
            self.api.call(
                "PATCH",
                path,
                f"moving {remote.url} to the trash",
                params={**params, "fields": "id,trashed"},
                json={"trashed": True},
            )

    def check(self) -> str:
        """One request: the folder, as the account sees it."""
        params = {"supportsAllDrives": "true", "fields": "id,name,mimeType,driveId"}
        found = self.api.call(
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
        folder = f"{drive_literal(self.folder)} in parents and trashed = false"
        query = folder + " and " + _has(*MARK)
        if key is not None:
            query += " and " + _has("clusterSyncFile", key)
        try:
            return self._list(query)
        except PublishError as exc:
            if exc.status != 400:
                raise
            # A server that does not take appProperties terms: the folder's files, filtered here.
            found = self._list(folder)
            return {k: v for k, v in found.items() if key is None or k == key}

    def _list(self, query: str) -> dict[str, Remote]:
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
            page = self.api.call(
                "GET", "/drive/v3/files", "looking for earlier files", params=params
            )
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

        return self.api.retrying(once, "POST", f"uploading {file.key}")

    def _update(self, file_id: str, file: FactsheetFile) -> Remote | None:
        """New content for the same file id (None when that file no longer exists). Sending
        the same version twice only adds a revision, so this is safe to retry."""
        metadata = {"name": file.path.name, "appProperties": self._properties(file)}
        path = f"/upload/drive/v3/files/{file_id}"
        item = self.api.retrying(
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
            self.api.call("POST", path, "sharing a file", params=params, json=body)

    def _upload(
        self, method: str, path: str, metadata: dict[str, Any], file: FactsheetFile
    ) -> dict[str, Any]:
        try:
            media = file.path.read_bytes()
        except OSError as exc:
            raise PublishError(f"Could not read {file.path}: {exc.strerror or exc}.") from None
        return self.api.upload(method, path, metadata, media, file.mime_type)

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


def _bare(address: str) -> str:
    """The address alone from "Name <a@b.org>"."""
    from email.utils import parseaddr

    return parseaddr(address)[1] or address
