"""A small HTTP server on 127.0.0.1 for the local fakes of Google's APIs.

The fake decides the answer; this only moves bytes: `handle(method, path, headers, body)` returns
(status, extra headers, body bytes). Each request runs in its own thread, so a stalled answer
does not hold back the others.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Handle = Callable[[str, str, Any, bytes], tuple[int, Mapping[str, str], bytes]]


class LoopbackServer:
    def __init__(self, handle: Handle) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(handle))
        self._server.daemon_threads = True

    def start(self) -> LoopbackServer:
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class LoopbackFake:
    """What every fake shares: serving itself on loopback, as a context manager. A subclass
    answers in `_answer` (the `Handle` signature) and waits on `_stopping` when it stalls, so
    that stopping the fake wakes it."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None

    def _answer(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        raise NotImplementedError

    def start(self) -> Self:
        self._server = LoopbackServer(self._answer).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled handlers
        if self._server:
            self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server, "start() the fake first"
        return self._server.base_url


def _handler_for(handle: Handle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, data = handle(self.command, self.path, self.headers, body)
            try:
                self.send_response(status)
                for name, value in {
                    "Content-Type": "application/json; charset=UTF-8",
                    **headers,
                }.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout) before the answer came

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests stay quiet

    return Handler
