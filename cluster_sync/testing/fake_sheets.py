"""A local fake of the Google Sheets API v4, served over HTTP on 127.0.0.1.

It answers the endpoints gspread uses, the way the recorded Google traffic shows them (range
normalisation, ragged rows, render options, JSON error bodies), plus an OAuth token endpoint so a
real service-account key file can be used against it. Faults can be injected (429 storms, 5xx,
stalls longer than the client's timeout, a column inserted between two requests), and every
request is counted by kind so a test can show how many API calls a sync costs.

    with FakeSheets() as fake:
        book = fake.add_spreadsheet("KEY", time_zone="Europe/Rome")
        book.add_sheet("Form responses 1").load(rows)
        ...  # point api_base_url at fake.base_url
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cluster_sync.testing import fake_sheets_api as api
from cluster_sync.testing.fake_sheets_api import ApiError, Spreadsheet
from cluster_sync.testing.sheet_model import RangeError

Json = dict[str, Any]


@dataclass
class _Fault:
    kind: str | None
    times: int
    status: int = 0
    seconds: float = 0.0
    message: str | None = None
    #: run once the fault has been answered: a person's edit while the client waits to retry
    then: Callable[[], None] | None = None


@dataclass
class _Hook:
    kind: str
    after: int
    action: Callable[[], None]
    before: bool = False


class FakeSheets:
    """The fake API server. Start it (or use it as a context manager) before pointing a client."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        #: requests received, by kind ("spreadsheets.get", "values.get", "values.batchUpdate"...)
        self.calls: Counter[str] = Counter()
        #: every request as (kind, method, path, body) for tests that inspect what was sent
        self.log: list[tuple[str, str, str, Any]] = []
        self._faults: list[_Fault] = []
        self._hooks: list[_Hook] = []
        self._missing: set[str] = set()
        self._tokens: dict[str, str] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- set-up ----------------------------------------------------------------------------

    def add_spreadsheet(
        self, key: str, title: str = "Cluster registrations", **kw: Any
    ) -> Spreadsheet:
        book = Spreadsheet(key, title, **kw)
        self.spreadsheets[key] = book
        return book

    def fail(
        self,
        status: int,
        times: int = 1,
        kind: str | None = None,
        message: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Answer the next `times` requests (of `kind`, or any) with an error `status`; `then`
        runs after the first of them is answered (an edit made while the client waits)."""
        self._faults.append(_Fault(kind, times, status=status, message=message, then=then))

    def stall(self, seconds: float, times: int = 1, kind: str | None = None) -> None:
        """Hold the next `times` requests for `seconds` before answering (past a client timeout)."""
        self._faults.append(_Fault(kind, times, seconds=seconds))

    def after(self, kind: str, action: Callable[[], None], count: int = 1) -> None:
        """Run `action` (e.g. insert a column) once the `count`-th request of `kind` is answered."""
        self._hooks.append(_Hook(kind, count, action))

    def before(self, kind: str, action: Callable[[], None], count: int = 1) -> None:
        """Run `action` when the `count`-th request of `kind` arrives, before it is carried out:
        a person's edit landing at the very moment of that request."""
        self._hooks.append(_Hook(kind, count, action, before=True))

    def without(self, *kinds: str) -> None:
        """Act as a server that lacks these endpoints (404) or batchUpdate requests (400), as an
        API without developer metadata would: e.g. "developerMetadata.search",
        "createDeveloperMetadata"."""
        self._missing.update(kinds)

    @property
    def api_calls(self) -> int:
        """Sheets API requests received (token requests are not Sheets API calls)."""
        return sum(n for kind, n in self.calls.items() if kind != "token")

    # -- server ----------------------------------------------------------------------------

    def start(self) -> FakeSheets:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled handlers
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSheets:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    # -- request handling ------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Json]:
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        kind, key, rest = _route(method, split.path)
        payload = _decode(body, headers.get("Content-Type", ""))
        with self._lock:
            self.calls[kind] += 1
            self.log.append((kind, method, raw_path, payload))
            fault = self._take_fault(kind)
        if fault and fault.seconds:
            self._stopping.wait(fault.seconds)
        if fault and fault.status:
            if fault.then:
                with self._lock:
                    action, fault.then = fault.then, None
                    action()
            return fault.status, ApiError(fault.status, fault.message).body()
        try:
            with self._lock:
                self._run_hooks(kind, before=True)
                self._refuse_missing(kind, payload)
                result = self._dispatch(kind, key, rest, query, payload, headers)
                self._run_hooks(kind)
            return 200, result
        except ApiError as err:
            return err.code, err.body()
        except RangeError as err:
            return 400, ApiError(400, str(err)).body()

    def _take_fault(self, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.kind in (None, kind):
                fault.times -= 1
                return fault
        return None

    def _run_hooks(self, kind: str, before: bool = False) -> None:
        for hook in list(self._hooks):
            if hook.kind == kind and hook.before == before and self.calls[kind] >= hook.after:
                self._hooks.remove(hook)
                hook.action()

    def _refuse_missing(self, kind: str, payload: Any) -> None:
        if kind in self._missing:
            raise ApiError(404, "The requested URL was not found on this server.")
        names = (
            [n for r in (payload or {}).get("requests", []) for n in r]
            if kind.endswith("batchUpdate") and isinstance(payload, dict)
            else []
        )
        for name in names:
            if name in self._missing:
                raise ApiError(400, f'Invalid JSON payload received. Unknown name "{name}".')

    def _dispatch(
        self,
        kind: str,
        key: str,
        rest: str,
        query: dict[str, list[str]],
        payload: Any,
        headers: Any,
    ) -> Json:
        if kind == "token":
            return self._issue_token(payload)
        if kind not in api.HANDLERS:
            raise ApiError(404, "The requested URL was not found on this fake server.")
        book = self._authorised(key, headers)
        return api.HANDLERS[kind](book, rest, query, payload)

    def _issue_token(self, form: Any) -> Json:
        identity = "anonymous"
        if isinstance(form, dict) and form.get("assertion"):
            # A service account signs a JWT whose issuer is its email; the fake trusts it.
            claims = form["assertion"].split(".")[1]
            padded = claims + "=" * (-len(claims) % 4)
            identity = json.loads(base64.urlsafe_b64decode(padded))["iss"]
        elif isinstance(form, dict) and form.get("client_id"):
            identity = form["client_id"]
        token = f"fake-token-{len(self._tokens) + 1}"
        self._tokens[token] = identity
        return {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _authorised(self, key: str, headers: Any) -> Spreadsheet:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise ApiError(401, "Request is missing required authentication credential.")
        book = self.spreadsheets.get(key)
        if book is None:
            raise ApiError(404)
        who = self._tokens.get(auth.removeprefix("Bearer "), "anonymous")
        if book.shared_with is not None and who not in book.shared_with:
            raise ApiError(403)
        return book


def _route(method: str, path: str) -> tuple[str, str, str]:
    """(kind, spreadsheet key, rest) from a request path; the range stays percent-encoded."""
    if path == "/token":
        return "token", "", ""
    prefix = "/v4/spreadsheets/"
    if not path.startswith(prefix):
        return "unknown", "", path
    tail = path[len(prefix) :]
    if "/developerMetadata" in tail:
        key, _, rest = tail.partition("/developerMetadata")
        if rest == ":search":
            return "developerMetadata.search", unquote(key), ""
        return "developerMetadata.get", unquote(key), unquote(rest.removeprefix("/"))
    if "/values" not in tail:
        key, _, verb = tail.partition(":")
        return (
            ("spreadsheets.batchUpdate" if verb == "batchUpdate" else "spreadsheets.get"),
            unquote(key),
            "",
        )
    key, _, rest = tail.partition("/values")
    if rest in (":batchGet", ":batchUpdate", ":batchGetByDataFilter", ":batchUpdateByDataFilter"):
        return "values" + rest.replace(":", "."), unquote(key), ""
    rng = rest.removeprefix("/")
    for verb in ("append", "clear"):
        if rng.endswith(":" + verb):
            return f"values.{verb}", unquote(key), unquote(rng[: -len(verb) - 1])
    return ("values.update" if method == "PUT" else "values.get"), unquote(key), unquote(rng)


def _decode(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    if "json" in content_type:
        return json.loads(body)
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def _handler_for(fake: FakeSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = fake.handle(self.command, self.path, self.headers, body)
            data = json.dumps(answer, indent=2).encode() + b"\n"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout) before the answer came

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests stay quiet

    return Handler
