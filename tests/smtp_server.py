"""A real SMTP server on loopback for the SMTP tests and the benchmark: aiosmtpd with STARTTLS
(or implicit TLS) from a trustme CA, AUTH PLAIN/LOGIN/XOAUTH2, and a handler that records every
message and can be told to misbehave (451 once, 550 for an address, drop the connection, refuse
AUTH, take its time)."""

from __future__ import annotations

import asyncio
import base64
import email.policy
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from cluster_sync.mailqueue import Outgoing

USER = "cop-secretariat@example.org"
SENDER = "cop-secretariat@example.org"
PASSWORD = "pw-Zq8!kT3v-never-shown"
ACCESS_TOKEN = "ya29.test-access-token-never-shown"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str:
    match = _MESSAGE_ID.search(data)
    return match.group(1).decode() if match else ""


def outgoing(
    number: int, recipients: tuple[str, ...] = ("lead@example.org",), attachment: bytes = b""
) -> Outgoing:
    """A factsheet email as the sync queues it (stable Message-ID, optional .docx)."""
    message = EmailMessage()
    message["From"] = f"Natural Heritage CoP <{SENDER}>"
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"Factsheet of cluster CL-2025-{number:03d}"
    message["Message-ID"] = f"<factsheet.CL-2025-{number:03d}.v1@cluster-sync.test>"
    message.set_content(f"Dear participants,\n\nthe factsheet of cluster {number} is attached.\n")
    if attachment:
        message.add_attachment(
            attachment,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename=f"CL-2025-{number:03d}.docx",
        )
    return from_message(
        message,
        dedupe_key=f"factsheet:CL-2025-{number:03d}:v1",
        kind="factsheet",
        cluster_id=f"CL-2025-{number:03d}",
        sender=SENDER,
        recipients=recipients,
    )


def from_message(
    message: EmailMessage,
    dedupe_key: str,
    kind: str,
    cluster_id: str | None,
    sender: str,
    recipients: tuple[str, ...],
) -> Outgoing:
    """A message the email package built, queued whole (its attachments are not kept apart)."""
    return Outgoing(
        dedupe_key=dedupe_key,
        kind=kind,
        cluster_id=cluster_id,
        sender=sender,
        recipients=recipients,
        message_id=str(message["Message-ID"]),
        subject=str(message["Subject"]),
        raw=message.as_bytes(policy=email.policy.SMTP),
    )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message_id: str
    data: bytes
    connection: int


@dataclass
class Recorder:
    """The handler: records what arrives; the public sets say how to misbehave."""

    keep_data: bool = True
    #: offer PIPELINING (RFC 2920) in the EHLO reply. aiosmtpd reads one command at a time
    #: from its buffer and answers each in order, which is what the RFC asks of a server; it
    #: only does not say so
    pipelining: bool = False
    delay: float = 0.0  # seconds per message, before it is accepted
    answer_451_once: set[str] = field(default_factory=set)  # Message-IDs
    answer_451_first: int = 0  # this many DATA commands answered 451 before any is accepted
    answer_451_subject: str = ""  # every message whose bytes hold this text is answered 451
    refuse_recipients: set[str] = field(default_factory=set)
    drop_at_mail: set[int] = field(default_factory=set)  # the n-th MAIL FROM (1-based)
    closing_421_at_mail: set[int] = field(default_factory=set)  # 421, then hang up
    drop_after_data: set[str] = field(default_factory=set)  # Message-IDs, dropped once, not kept
    refuse_auth: bool = False
    busy_at_connection: set[int] = field(default_factory=set)  # greeted with 421, then closed
    on_accept: Callable[[Received], None] | None = None  # called before the 250 goes out
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    mails: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login)
    auth_attempts: int = 0  # every AUTH PLAIN/LOGIN tried, accepted or not
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m.message_id for m in self.messages]

    # -- aiosmtpd hooks ---------------------------------------------------------------------

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # what aiosmtpd does itself when no handler takes EHLO
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")  # before the last line, "250 HELP"
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.mails in self.drop_at_mail:
            await _hang_up(server)
        if self.mails in self.closing_421_at_mail:
            assert server.transport is not None
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply
            return "421 4.3.2 Service shutting down, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content)
        message_id = message_id_of(data)
        if self.delay:
            await asyncio.sleep(self.delay)
        if message_id in self.answer_451_once:
            self.answer_451_once.discard(message_id)
            return "451 4.3.0 Mail server temporarily rejected message, try again later"
        if self.answer_451_first > 0:
            self.answer_451_first -= 1
            return "451 4.3.0 Mail server temporarily rejected message, try again later"
        if self.answer_451_subject and self.answer_451_subject.encode() in data:
            return "451 4.7.1 Greylisted, try again later"
        if message_id in self.drop_after_data:
            self.drop_after_data.discard(message_id)
            await _hang_up(server)
        received = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            message_id,
            data if self.keep_data else b"",
            getattr(server, "number", 0),
        )
        with self.lock:
            self.messages.append(received)
        if self.on_accept:
            self.on_accept(received)
        return f"250 2.0.0 Ok: queued as {len(self.messages)}"

    def authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        """aiosmtpd's `authenticator` for PLAIN and LOGIN."""
        self.auth_attempts += 1
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
            and not self.refuse_auth
        )
        if ok:
            self.logins.append((mechanism, data.login.decode()))
        return AuthResult(success=ok, handled=False)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """Google's mechanism: base64 of `user=…^Aauth=Bearer …^A^A`; on failure a 334 with
        a JSON error, an empty line from the client, then 535."""
        blob = base64.b64decode(args[1]) if len(args) > 1 else b""
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        if fields.get("auth") == f"Bearer {ACCESS_TOKEN}" and not self.refuse_auth:
            self.logins.append(("XOAUTH2", fields.get("user", "")))
            return AuthResult(success=True, auth_data=fields.get("user"))
        await server.challenge_auth(b'{"status":"400","schemes":"Bearer"}')
        return AuthResult(success=False, handled=False)


async def _hang_up(server: SMTP) -> None:
    """Close the connection without a reply, as a crashing or overloaded server does; the
    pending command never gets its answer (the handler task is cancelled on disconnect)."""
    assert server.transport is not None
    server.transport.close()
    await asyncio.Event().wait()


class _Controller(Controller):
    """aiosmtpd's threaded controller, on a free port, counting connections."""

    def __init__(self, handler: Recorder, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)
        self.recorder = handler

    def factory(self) -> SMTP:
        server = super().factory()
        self.recorder.connections += 1
        server.number = self.recorder.connections  # type: ignore[attr-defined]
        if server.number in self.recorder.busy_at_connection:  # type: ignore[attr-defined]
            server.__class__ = _Busy
        return server

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Busy(SMTP):
    """A server too busy for this connection: 421 instead of the 220 greeting, then hang up."""

    async def _handle_client(self) -> None:
        await self.push("421 4.3.2 Too many connections, try again later")
        assert self.transport is not None
        self.transport.close()


@dataclass
class Tls:
    """A private CA and a certificate for 127.0.0.1 / localhost, as files (so that a server in
    another process can load them)."""

    ca_file: Path
    cert_file: Path  # the server's key and certificate chain

    @classmethod
    def make(cls, folder: Path) -> Tls:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        folder.mkdir(parents=True, exist_ok=True)
        tls = cls(folder / "test-ca.pem", folder / "server.pem")
        ca.cert_pem.write_to_path(str(tls.ca_file))
        cert.private_key_and_cert_chain_pem.write_to_path(str(tls.cert_file))
        return tls

    @property
    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file)
        return context


@dataclass
class Server:
    host: str
    port: int
    recorder: Recorder
    ca_file: Path


@contextmanager
def smtp_server(
    tls: Tls,
    recorder: Recorder | None = None,
    *,
    implicit_tls: bool = False,
    starttls: bool = True,
    smtputf8: bool = True,
    exclude_auth: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Run the server in a thread for the duration of the block."""
    recorder = recorder or Recorder()
    options: dict[str, Any] = {
        "server_hostname": "localhost",
        "authenticator": recorder.authenticate,
        "auth_exclude_mechanism": list(exclude_auth),
        "data_size_limit": 10 * 2**20,
        "enable_SMTPUTF8": smtputf8,
    }
    if implicit_tls:
        # aiosmtpd only counts STARTTLS as encryption; on port 465 the socket itself is TLS.
        options.update(ssl_context=tls.server_context, auth_require_tls=False)
    elif starttls:
        options.update(tls_context=tls.server_context, require_starttls=True)
    controller = _Controller(recorder, **options)
    controller.start()
    recorder.connections = 0  # the controller's own start-up probe
    try:
        yield Server(controller.hostname, controller.port, recorder, tls.ca_file)
    finally:
        controller.stop()


# -- a stand-in for Google's OAuth token endpoint ------------------------------------------------


@dataclass
class TokenService:
    url: str
    token: str = ACCESS_TOKEN
    requests: list[dict[str, str]] = field(default_factory=list)

    @staticmethod
    def claims(request: dict[str, str]) -> dict[str, Any]:
        """The claims of a service account's signed JWT (not verified: we made it)."""
        payload = request["assertion"].split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@contextmanager
def token_service_running() -> Iterator[TokenService]:
    service = TokenService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            service.requests.append(dict(parse_qsl(body)))
            answer = json.dumps(
                {"access_token": service.token, "expires_in": 3600, "token_type": "Bearer"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{httpd.server_address[1]}/token"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        httpd.shutdown()
        httpd.server_close()
