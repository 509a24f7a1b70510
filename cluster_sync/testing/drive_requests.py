"""How the fake Drive API reads requests: routes, multipart/related bodies, Drive's query
language (the terms cluster-sync uses, with its string escapes) and the `fields` selector, each
as Google documents it; and Google's JSON error body."""

from __future__ import annotations

import json
import re
from typing import Any

Json = dict[str, Any]
_DEFAULT_FIELDS = "kind,id,name,mimeType"


class DriveError(Exception):
    def __init__(self, code: int, message: str, reason: str, domain: str = "global") -> None:
        super().__init__(message)
        self.code, self.message, self.reason, self.domain = code, message, reason, domain

    def body(self) -> Json:
        error = {"domain": self.domain, "reason": self.reason, "message": self.message}
        return {"error": {"code": self.code, "message": self.message, "errors": [error]}}


# -- request parsing ---------------------------------------------------------------------------


def route(method: str, path: str) -> tuple[str, str]:
    if path == "/token":
        return "token", ""
    for prefix, create, update in (
        ("/upload/drive/v3/files", "files.create", "files.update"),
        ("/drive/v3/files", "files.create", "files.update"),
    ):
        if path == prefix:
            kinds = {"POST": create, "GET": "files.list", "PUT": "resumable.put"}
            return kinds.get(method, "unknown"), ""
        if path.startswith(prefix + "/"):
            rest = path[len(prefix) + 1 :]
            file_id, _, sub = rest.partition("/")
            if sub == "permissions" and method == "POST":
                return "permissions.create", file_id
            if not sub:
                kinds = {
                    "PATCH": update,
                    "GET": "files.get",
                    "PUT": "resumable.put",
                    "DELETE": "files.delete",
                }
                return kinds.get(method, "unknown"), file_id
        if path == prefix and method == "PUT":
            return "resumable.put", ""
    return "unknown", ""


def upload_parts(query: dict[str, str], headers: Any, body: bytes) -> tuple[Json, bytes, str]:
    """(metadata, media, media type) of an upload request."""
    upload_type = query.get("uploadType")
    content_type = headers.get("Content-Type", "")
    if upload_type == "multipart":
        return parse_multipart_related(body, content_type)
    if upload_type == "media":
        return {}, body, content_type
    if upload_type in (None, "resumable"):  # metadata only (a resumable session's start)
        return json.loads(body or b"{}"), b"", headers.get("X-Upload-Content-Type", "")
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


def select(answer: Json, fields: str | None, kind: str) -> Json:
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


def as_json(answer: Json) -> bytes:
    return json.dumps(answer, indent=2).encode() + b"\n"
