"""A local fake of the Google Drive API v3 endpoints cluster-sync uses, over HTTP on 127.0.0.1.

It follows Google's reference: multipart/related and resumable uploads (files.create,
files.update with the same id, which keeps the earlier content as a revision; a resumable
session starts with the metadata, answers its address in Location, and takes the content in one
PUT, counted as "resumable.put"), files.get and files.list with the query
terms `'ID' in parents`, `trashed = false`, `name = '…'` and `appProperties has { key='…' and
value='…' }` (string literals with Drive's escapes), the `fields` partial response,
permissions.create (domain and user readers, `allowFileDiscovery`, `sendNotificationEmail` only
for users), `supportsAllDrives` (files in a shared drive are invisible without it), and JSON
error bodies of Google's shape, including the 403 `storageQuotaExceeded` a service account
without storage receives. Faults can be injected (429, 5xx, stalls) and requests are counted by
kind ("files.create", "files.update", "files.list", "files.get", "files.delete",
"permissions.create"). files.delete removes a file with its revisions (in a shared drive only
for an organizer); files.update without an upload changes metadata only (`trashed`).

    with FakeDrive() as drive:
        drive.add_folder("FOLDER_ID", shared_drive=True)
        ...  # point publish.drive.api_base_url at drive.base_url
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cluster_sync.testing.drive_requests import (
    DriveError,
    as_json,
    parse_query,
    route,
    select,
    upload_parts,
)
from cluster_sync.testing.loopback import LoopbackFake

Json = dict[str, Any]


NO_STORAGE = DriveError(
    403,
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth "
    "delegation (http://support.google.com/a/answer/7281227) instead.",
    "storageQuotaExceeded",
    "usageLimits",
)
_FAULT_REASONS = {
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
}


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    content: bytes = b""
    app_properties: dict[str, str] = field(default_factory=dict)
    revisions: list[bytes] = field(default_factory=list)  # earlier contents, oldest first
    permissions: list[Json] = field(default_factory=list)
    trashed: bool = False
    shared_drive: bool = False

    def resource(self) -> Json:
        return {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "appProperties": dict(self.app_properties),
            "trashed": self.trashed,
            "size": str(len(self.content)),
            "webViewLink": f"https://drive.google.com/file/d/{self.id}/view?usp=drivesdk",
        }


@dataclass
class _Fault:
    kind: str | None
    times: int
    status: int = 0
    seconds: float = 0.0
    after: bool = False  # stall after doing the request (it lands; the answer does not)


class FakeDrive(LoopbackFake):
    def __init__(self) -> None:
        self.files: dict[str, DriveFile] = {}
        self.folders: dict[str, bool] = {}  # folder id -> in a shared drive
        #: True: creating a file outside a shared drive fails as for a service account of 2025
        self.no_storage = False
        #: True: refuse appProperties search terms (400), as a server without them would
        self.plain_queries_only = False
        #: the account's role in the shared drives: only an "organizer" (Manager) may delete a
        #: file there for good; a "fileOrganizer" (Content manager) may move it to the trash
        self.shared_drive_role = "organizer"
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []  # (kind, method, path with query)
        self._faults: list[_Fault] = []
        self._hooks: list[tuple[str, Callable[[], None]]] = []
        #: resumable upload sessions: id -> (kind, file id, metadata, media type, all drives)
        self._sessions: dict[str, tuple[str, str, Json, str, bool]] = {}
        self._lock = threading.RLock()
        super().__init__()

    # -- set-up and inspection -------------------------------------------------------------

    def add_folder(self, folder_id: str, shared_drive: bool = False) -> None:
        self.folders[folder_id] = shared_drive

    def fail(self, status: int, times: int = 1, kind: str | None = None) -> None:
        self._faults.append(_Fault(kind, times, status=status))

    def stall(
        self, seconds: float, times: int = 1, kind: str | None = None, after: bool = False
    ) -> None:
        """Hold the next `times` answers for `seconds` (past a client's timeout); with `after`
        the request is carried out first, so it lands although its caller never hears."""
        self._faults.append(_Fault(kind, times, seconds=seconds, after=after))

    def after(self, kind: str, action: Callable[[], None]) -> None:
        """Run `action` (kill the client, say) once the next `kind` request is carried out,
        before it is answered."""
        self._hooks.append((kind, action))

    def in_folder(self, folder_id: str) -> list[DriveFile]:
        return [f for f in self.files.values() if folder_id in f.parents and not f.trashed]

    @property
    def uploads(self) -> int:
        return self.calls["files.create"] + self.calls["files.update"]

    # -- requests --------------------------------------------------------------------------

    def _answer(
        self, method: str, raw: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        kind, file_id = route(method, split.path)
        with self._lock:
            self.calls[kind] += 1
            self.log.append((kind, method, raw))
            fault = self._take_fault(kind)
        if fault and fault.seconds and not fault.after:
            self._stopping.wait(fault.seconds)
        try:
            if fault and fault.status:
                reason = _FAULT_REASONS.get(fault.status, "backendError")
                raise DriveError(fault.status, f"Fake fault {fault.status}.", reason)
            if kind == "token":
                return (
                    200,
                    {},
                    as_json(
                        {
                            "access_token": "fake-drive-token",
                            "expires_in": 3600,
                            "token_type": "Bearer",
                        }
                    ),
                )
            if not headers.get("Authorization", "").startswith("Bearer "):
                raise DriveError(
                    401, "Request is missing required authentication credential.", "required"
                )
            with self._lock:
                status, answer, extra = self._dispatch(kind, file_id, query, headers, body)
                hooks = [h for h in self._hooks if h[0] == kind]
                self._hooks = [h for h in self._hooks if h[0] != kind]
            for _, action in hooks:
                action()
            if fault and fault.after:
                self._stopping.wait(fault.seconds)
            if isinstance(answer, bytes):
                return status, {"Content-Type": "application/octet-stream", **extra}, answer
            return status, extra, as_json(select(answer, query.get("fields"), kind))
        except DriveError as err:
            return err.code, {}, as_json(err.body())

    def _take_fault(self, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.kind in (None, kind):
                fault.times -= 1
                return fault
        return None

    def _dispatch(
        self, kind: str, file_id: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Json | bytes, dict[str, str]]:
        all_drives = query.get("supportsAllDrives") == "true"
        if kind in ("files.create", "files.update") and query.get("uploadType") == "resumable":
            return 200, b"", {"Location": self._start_session(kind, file_id, query, headers, body)}
        if kind == "resumable.put":
            return 200, self._finish_session(query, body), {}
        if kind == "files.create":
            return 200, self._create(*upload_parts(query, headers, body), all_drives), {}
        if kind == "files.update" and "uploadType" not in query:
            return 200, self._update_metadata(self._file(file_id, all_drives), body), {}
        if kind == "files.update":
            target = self._file(file_id, all_drives)
            return 200, self._update(target, *upload_parts(query, headers, body)), {}
        if kind == "files.delete":
            self._delete(self._file(file_id, all_drives))
            return 204, b"", {}
        if kind == "files.get" and file_id in self.folders:
            return 200, self._folder(file_id, all_drives), {}
        if kind == "files.get":
            found = self._file(file_id, all_drives)
            return 200, (found.content if query.get("alt") == "media" else found.resource()), {}
        if kind == "files.list":
            return 200, self._list(query), {}
        if kind == "permissions.create":
            return 200, self._permission(self._file(file_id, all_drives), query, body), {}
        raise DriveError(404, "Not Found", "notFound")

    def _start_session(
        self, kind: str, file_id: str, query: dict[str, str], headers: Any, body: bytes
    ) -> str:
        """A resumable upload's first request: the metadata; the content follows in a PUT to
        the session address answered in Location."""
        all_drives = query.get("supportsAllDrives") == "true"
        if kind == "files.update":
            self._file(file_id, all_drives)
        meta, _, media_type = upload_parts(query, headers, body)
        upload_id = secrets.token_urlsafe(16)
        self._sessions[upload_id] = (kind, file_id, meta, media_type, all_drives)
        path = "/upload/drive/v3/files" + (f"/{file_id}" if file_id else "")
        return f"{self.base_url}{path}?uploadType=resumable&upload_id={upload_id}"

    def _finish_session(self, query: dict[str, str], media: bytes) -> Json:
        session = self._sessions.pop(query.get("upload_id", ""), None)
        if session is None:
            raise DriveError(404, "No such upload session.", "notFound")
        kind, file_id, meta, media_type, all_drives = session
        if kind == "files.create":
            return self._create(meta, media, media_type, all_drives)
        return self._update(self._file(file_id, all_drives), meta, media, media_type)

    def _folder(self, folder_id: str, all_drives: bool) -> Json:
        shared = self.folders[folder_id]
        if shared and not all_drives:
            raise DriveError(404, f"File not found: {folder_id}.", "notFound")
        folder = {"kind": "drive#file", "id": folder_id, "name": "Factsheets"}
        folder["mimeType"] = "application/vnd.google-apps.folder"
        return {**folder, "driveId": "0ASharedDrive"} if shared else folder

    def _file(self, file_id: str, all_drives: bool) -> DriveFile:
        found = self.files.get(file_id)
        if found is None or (found.shared_drive and not all_drives):
            raise DriveError(404, f"File not found: {file_id}.", "notFound")
        return found

    def _create(self, meta: Json, media: bytes, media_type: str, all_drives: bool) -> Json:
        parents = meta.get("parents") or []
        if (
            len(parents) != 1
            or parents[0] not in self.folders
            or (self.folders[parents[0]] and not all_drives)
        ):
            raise DriveError(404, f"File not found: {parents[0] if parents else ''}.", "notFound")
        shared = self.folders[parents[0]]
        if self.no_storage and not shared:
            raise NO_STORAGE
        file_id = "1" + secrets.token_urlsafe(24)[:32].replace("-", "x")
        new = DriveFile(
            file_id,
            str(meta.get("name") or "Untitled"),
            str(meta.get("mimeType") or media_type),
            list(parents),
            media,
            _properties({}, meta.get("appProperties")),
            shared_drive=shared,
        )
        self.files[file_id] = new
        return new.resource()

    def _update(self, target: DriveFile, meta: Json, media: bytes, media_type: str) -> Json:
        if "parents" in meta:
            raise DriveError(
                403,
                "The parents field is not directly writable in update requests.",
                "fieldNotWritable",
            )
        target.revisions.append(target.content)
        target.content = media
        target.name = str(meta.get("name") or target.name)
        target.app_properties = _properties(target.app_properties, meta.get("appProperties"))
        return target.resource()

    def _update_metadata(self, target: DriveFile, body: bytes) -> Json:
        """files.update without content (PATCH on /drive/v3/files/ID): name, properties and
        `trashed`; the content and its revisions stay."""
        meta = json.loads(body or b"{}")
        if "parents" in meta:
            raise DriveError(
                403,
                "The parents field is not directly writable in update requests.",
                "fieldNotWritable",
            )
        target.name = str(meta.get("name") or target.name)
        target.app_properties = _properties(target.app_properties, meta.get("appProperties"))
        if "trashed" in meta:
            target.trashed = bool(meta["trashed"])
        return target.resource()

    def _delete(self, target: DriveFile) -> None:
        """files.delete: the file and its revisions are gone for good (no trash)."""
        if target.shared_drive and self.shared_drive_role != "organizer":
            raise DriveError(
                403,
                "The user does not have sufficient permissions for this file.",
                "insufficientFilePermissions",
            )
        del self.files[target.id]

    def _list(self, query: dict[str, str]) -> Json:
        all_drives = (
            query.get("includeItemsFromAllDrives") == "true"
            and query.get("supportsAllDrives") == "true"
        )
        if (
            query.get("includeItemsFromAllDrives") == "true"
            and not query.get("supportsAllDrives") == "true"
        ):
            raise DriveError(
                403,
                "The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.",
                "teamDrivesParameterNotSupported",
            )
        if self.plain_queries_only and "appProperties" in query.get("q", ""):
            raise DriveError(400, "Invalid Value", "invalid")
        terms = parse_query(query.get("q", ""))
        size = int(query.get("pageSize") or 100)
        if not 1 <= size <= 1000:
            raise DriveError(
                400,
                f"Invalid value '{size}'. Values must be within the range: [1, 1000]",
                "invalid",
            )
        matching = [
            f
            for f in self.files.values()
            if (all_drives or not f.shared_drive) and all(t(f) for t in terms)
        ]
        start = int(query.get("pageToken") or 0)
        page = matching[start : start + size]
        answer: Json = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [f.resource() for f in page],
        }
        if start + size < len(matching):
            answer["nextPageToken"] = str(start + size)
        return answer

    def _permission(self, target: DriveFile, query: dict[str, str], body: bytes) -> Json:
        perm = json.loads(body or b"{}")
        kind, role = perm.get("type"), perm.get("role")
        if role not in ("reader", "commenter", "writer", "fileOrganizer", "organizer", "owner"):
            raise DriveError(400, "The permission role field is required.", "required")
        if kind in ("user", "group") and not perm.get("emailAddress"):
            raise DriveError(400, "The permission emailAddress field is required.", "required")
        if kind == "domain" and not perm.get("domain"):
            raise DriveError(400, "The permission domain field is required.", "required")
        if kind not in ("user", "group", "domain", "anyone"):
            raise DriveError(400, "The permission type field is required.", "required")
        if "sendNotificationEmail" in query and kind not in ("user", "group"):
            raise DriveError(
                400,
                "sendNotificationEmail is only applicable for permissions of type 'user' or 'group'.",
                "invalidSharingRequest",
            )
        same = [
            p
            for p in target.permissions
            if all(p.get(k) == perm.get(k) for k in ("type", "role", "domain", "emailAddress"))
        ]
        if same:
            return same[0]  # Drive answers with the existing permission
        made = {"kind": "drive#permission", "id": secrets.token_hex(8), **perm}
        target.permissions.append(made)
        return made


def _properties(current: dict[str, str], update: Any) -> dict[str, str]:
    merged = dict(current)
    for key, value in (update or {}).items():
        if value is None:
            merged.pop(key, None)  # Drive removes a property set to null
        else:
            merged[str(key)] = str(value)
    return merged
