"""A local fake of the Google Drive API v3 endpoints cluster-sync uses, over HTTP on 127.0.0.1.

It follows Google's reference: multipart/related uploads (files.create, files.update with the
same id, which keeps the earlier content as a revision), files.get and files.list with the query
terms `'ID' in parents`, `trashed = false`, `name = '…'` and `appProperties has { key='…' and
value='…' }` (string literals with Drive's escapes), the `fields` partial response,
permissions.create (domain and user readers, `allowFileDiscovery`, `sendNotificationEmail` only
for users), `supportsAllDrives` (files in a shared drive are invisible without it), and JSON
error bodies of Google's shape, including the 403 `storageQuotaExceeded` a service account
without storage receives. Faults can be injected (429, 5xx, stalls) and requests are counted by
kind ("files.create", "files.update", "files.list", "files.get", "permissions.create").

    with FakeDrive() as drive:
        drive.add_folder("FOLDER_ID", shared_drive=True)
        ...  # point publish.drive.api_base_url at drive.base_url
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cluster_sync.testing.loopback import LoopbackFake

Json = dict[str, Any]
_DEFAULT_FIELDS = "kind,id,name,mimeType"


class DriveError(Exception):
    def __init__(self, code: int, message: str, reason: str, domain: str = "global") -> None:
        super().__init__(message)
        self.code, self.message, self.reason, self.domain = code, message, reason, domain

    def body(self) -> Json:
        error = {"domain": self.domain, "reason": self.reason, "message": self.message}
        return {"error": {"code": self.code, "message": self.message, "errors": [error]}}


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
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []  # (kind, method, path with query)
        self._faults: list[_Fault] = []
        self._hooks: list[tuple[str, Callable[[], None]]] = []
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
        kind, file_id = _route(method, split.path)
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
                    _json(
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
                status, answer = self._dispatch(kind, file_id, query, headers, body)
                hooks = [h for h in self._hooks if h[0] == kind]
                self._hooks = [h for h in self._hooks if h[0] != kind]
            for _, action in hooks:
                action()
            if fault and fault.after:
                self._stopping.wait(fault.seconds)
            if isinstance(answer, bytes):
                return status, {"Content-Type": "application/octet-stream"}, answer
            return status, {}, _json(_select(answer, query.get("fields"), kind))
        except DriveError as err:
            return err.code, {}, _json(err.body())

    def _take_fault(self, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.kind in (None, kind):
                fault.times -= 1
                return fault
        return None

    def _dispatch(
        self, kind: str, file_id: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Json | bytes]:
        all_drives = query.get("supportsAllDrives") == "true"
        if kind == "files.create":
            return 200, self._create(query, headers, body, all_drives)
        if kind == "files.update":
            return 200, self._update(self._file(file_id, all_drives), query, headers, body)
        if kind == "files.get" and file_id in self.folders:
            return 200, self._folder(file_id, all_drives)
        if kind == "files.get":
            found = self._file(file_id, all_drives)
            return 200, (found.content if query.get("alt") == "media" else found.resource())
        if kind == "files.list":
            return 200, self._list(query)
        if kind == "permissions.create":
            return 200, self._permission(self._file(file_id, all_drives), query, body)
        raise DriveError(404, "Not Found", "notFound")

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

    def _create(self, query: dict[str, str], headers: Any, body: bytes, all_drives: bool) -> Json:
        meta, media, media_type = _upload(query, headers, body)
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

    def _update(self, target: DriveFile, query: dict[str, str], headers: Any, body: bytes) -> Json:
        meta, media, _ = _upload(query, headers, body)
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


# -- request parsing ---------------------------------------------------------------------------


def _route(method: str, path: str) -> tuple[str, str]:
    if path == "/token":
        return "token", ""
    for prefix, create, update in (
        ("/upload/drive/v3/files", "files.create", "files.update"),
        ("/drive/v3/files", "files.create", "files.update"),
    ):
        if path == prefix:
            return ({"POST": create, "GET": "files.list"}.get(method, "unknown"), "")
        if path.startswith(prefix + "/"):
            rest = path[len(prefix) + 1 :]
            file_id, _, sub = rest.partition("/")
            if sub == "permissions" and method == "POST":
                return "permissions.create", file_id
            if not sub:
                return ({"PATCH": update, "GET": "files.get"}.get(method, "unknown"), file_id)
    return "unknown", ""


def _upload(query: dict[str, str], headers: Any, body: bytes) -> tuple[Json, bytes, str]:
    """(metadata, media, media type) of an upload request."""
    upload_type = query.get("uploadType")
    content_type = headers.get("Content-Type", "")
    if upload_type == "multipart":
        return parse_multipart_related(body, content_type)
    if upload_type == "media":
        return {}, body, content_type
    if upload_type is None:
        return json.loads(body or b"{}"), b"", ""  # metadata only
    raise DriveError(400, f"Invalid value '{upload_type}' for uploadType.", "invalidParameter")


def parse_multipart_related(body: bytes, content_type: str) -> tuple[Json, bytes, str]:
    """The two parts of an uploadType=multipart body, split on the boundary (RFC 2046)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/related") or not m:
        raise DriveError(
            400,
            "Multipart upload needs a multipart/related content type with a boundary.",
            "badContent",
        )
    delimiter = b"--" + m[1].encode()
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0]
    if not first.startswith(delimiter):
        raise DriveError(400, "Malformed multipart body.", "badContent")
    parts = [first[len(delimiter) :], *chunks[1:]]
    if len(parts) != 3 or not parts[-1].startswith(b"--"):
        raise DriveError(
            400, "A multipart upload has exactly two parts: metadata, then media.", "badContent"
        )
    (meta_head, meta), (media_head, media) = (_part(p) for p in parts[:2])
    if "application/json" not in meta_head.get("content-type", ""):
        raise DriveError(
            400, "The first part of a multipart upload must be the JSON metadata.", "badContent"
        )
    return json.loads(meta), media, media_head.get("content-type", "application/octet-stream")


def _part(raw: bytes) -> tuple[dict[str, str], bytes]:
    raw = raw.removeprefix(b"\r\n")
    head, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        raise DriveError(400, "Malformed multipart part.", "badContent")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, content


# -- the query language (the subset of Drive's search terms cluster-sync needs) ----------------

_LITERAL = r"'((?:[^'\\]|\\.)*)'"
_TERMS = [
    (re.compile(_LITERAL + r"\s+in\s+parents"), lambda v: lambda f: v[0] in f.parents),
    (re.compile(r"trashed\s*=\s*(true|false)"), lambda v: lambda f: f.trashed == (v[0] == "true")),
    (re.compile(r"name\s*=\s*" + _LITERAL), lambda v: lambda f: f.name == v[0]),
    (
        re.compile(
            r"appProperties\s+has\s+\{\s*key\s*=\s*"
            + _LITERAL
            + r"\s+and\s+value\s*=\s*"
            + _LITERAL
            + r"\s*\}"
        ),
        lambda v: lambda f: f.app_properties.get(v[0]) == v[1],
    ),
]


def parse_query(q: str) -> list[Any]:
    """Predicates for `q`: terms joined by `and`; an unknown term is a 400 as at Google."""
    predicates = []
    rest = q.strip()
    while rest:
        for pattern, build in _TERMS:
            m = pattern.match(rest)
            if m:
                values = [_unescape(g) for g in m.groups()]
                predicates.append(build(values))
                rest = rest[m.end() :].strip()
                break
        else:
            raise DriveError(400, "Invalid Value", "invalid")
        if rest:
            if not rest.startswith("and "):
                raise DriveError(400, "Invalid Value", "invalid")
            rest = rest[4:].strip()
    return predicates


def _unescape(literal: str) -> str:
    """Drive's escapes in a string literal: \\' and \\\\ only."""
    if any(m[1] not in "\\'" for m in re.finditer(r"\\(.)", literal)):
        raise DriveError(400, "Invalid Value", "invalid")
    return re.sub(r"\\(.)", r"\1", literal)


def _properties(current: dict[str, str], update: Any) -> dict[str, str]:
    merged = dict(current)
    for key, value in (update or {}).items():
        if value is None:
            merged.pop(key, None)  # Drive removes a property set to null
        else:
            merged[str(key)] = str(value)
    return merged


def _select(answer: Json, fields: str | None, kind: str) -> Json:
    """Google's partial response: `fields=a,b,files(c,d)`; files get a default set without it."""
    if fields is None:
        if kind == "files.list":
            return {**answer, "files": [_pick(f, _DEFAULT_FIELDS) for f in answer["files"]]}
        if kind.startswith("files."):
            return _pick(answer, _DEFAULT_FIELDS)
        return answer
    if fields == "*":
        return answer
    return _pick(answer, fields)


def _pick(obj: Json, fields: str) -> Json:
    picked: Json = {}
    for name, inner in _split_fields(fields):
        if name not in obj:
            continue
        value = obj[name]
        if inner and isinstance(value, list):
            picked[name] = [_pick(v, inner) for v in value]
        else:
            picked[name] = value
    return picked


def _split_fields(fields: str) -> list[tuple[str, str]]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(fields + ","):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            item = fields[start:i].strip()
            name, _, inner = item.partition("(")
            out.append((name.strip(), inner.removesuffix(")")))
            start = i + 1
    return [(n, i) for n, i in out if n]


def _json(answer: Json) -> bytes:
    return json.dumps(answer, indent=2).encode() + b"\n"
