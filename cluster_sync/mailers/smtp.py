"""Delivery over SMTP: one connection for the whole batch, STARTTLS or implicit TLS with the
certificate checked, AUTH with a password from the environment or XOAUTH2 (Google Workspace).

Replies map onto the queue's vocabulary: 4xx and dropped connections are TemporaryFailure,
5xx for the message (or for every recipient) is PermanentFailure, 5xx for some recipients while
others were accepted is a SendResult listing the refused ones. Secrets never reach a log line or
an exception text: only the name of the environment variable that holds them does.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster_sync.config import Config
from cluster_sync.logs import register_secret
from cluster_sync.mailers.base import Envelope, PermanentFailure, SendResult, TemporaryFailure
from cluster_sync.mailers.smtp_settings import SmtpConfig
from cluster_sync.net import is_loopback

log = logging.getLogger(__name__)

GMAIL_SCOPE = "https://mail.google.com/"
#: smtplib closes the connection itself after this reply; we must reconnect
SERVICE_CLOSING = 421
#: a "." at the start of a line, which DATA must double (smtplib's own pattern)
_LINE_START_DOT = re.compile(rb"(?m)^\.")


@functools.cache
def _ehlo_name() -> str:
    # smtplib would look this up again for every connection; once per process is enough.
    return socket.getfqdn()


def _nodelay(sock: socket.socket | None) -> None:
    """Send each write at once. smtplib writes a message in one sendall; over TLS that is a run
    of 16 KB records, and under Nagle each record's tail waits for the receiver's delayed ACK
    (about 40 ms): a 60 KB attachment would cost a fifth of a second in waiting alone."""
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _words(code: int, text: bytes | str) -> str:
    """A reply as a person reads it: `550 5.1.1 <a@b.org>: no such user`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


class _ConnectionDropped(Exception):
    """The server closed the connection (EOF, reset, 421, timeout) during a transaction."""

    def __init__(self, reply: str, before_message: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        #: dropped before MAIL FROM was answered: nothing of this message reached the server
        self.before_message = before_message


@dataclass(frozen=True)
class _Login:
    """How to authenticate; `secret` is read when connecting and kept nowhere else."""

    mechanism: str  # "password", "xoauth2" or "none"
    username: str | None
    secret: Callable[[], str]


class SmtpMailer:
    """The Mailer for an SMTP server (a relay, Gmail, Microsoft 365, a local Postfix)."""

    limits_apply = True  # the server's sending limits apply ([mail.limits])
    saves_only = False
    #: sent twice, a message arrives twice: one at a time, with the window docs/mail.md tells
    idempotent = False
    #: calls envelope.before_content() before DATA: the queue's disk sync overlaps MAIL/RCPT
    waits_before_content = True

    def __init__(self, settings: SmtpConfig, environ: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ
        self.description = f"the SMTP server {settings.host}:{settings.port}"
        self._smtp: smtplib.SMTP | None = None
        self._credentials: Any = None  # google-auth credentials, refreshed when expired
        #: a refusal no retry can change (a wrong password, an untrusted certificate): kept
        #: for the rest of the run, so that a wrong password costs one login attempt, not one
        #: per message or pass (servers lock accounts after a few)
        self._refusal: PermanentFailure | None = None
        self.last_reply = "250 OK"  # the server's answer to the last DATA

    @classmethod
    def from_config(cls, config: Config) -> SmtpMailer:
        settings = config.mail.settings_of("smtp")
        assert isinstance(settings, SmtpConfig)  # checked when the config was loaded
        paths = {
            key: config.path(value)
            for key, value in (
                ("ca_file", settings.ca_file),
                ("oauth_credentials_file", settings.oauth_credentials_file),
            )
            if value is not None
        }
        return cls(settings.model_copy(update=paths))

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # -- the Mailer protocol ----------------------------------------------------------------

    def check_settings(self) -> None:
        self._login()  # the login settings and the password variable; no connection, no token
        self._tls_context()  # a configured CA bundle must exist and be readable

    def open(self) -> None:
        """Connect, secure and log in; a setting a person must fix is a PermanentFailure."""
        if self._smtp is None:
            self._smtp = self._connect()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the server went first; nothing was pending
        finally:
            smtp.close()

    def send(self, envelope: Envelope) -> SendResult:
        reused = self._smtp is not None
        if not reused:
            envelope.started()  # the queue's records before a connection, not after it
        try:
            refused = self._transaction(self._connection(), envelope)
        except _ConnectionDropped as exc:
            self._drop()
            if not (reused and exc.before_message):
                raise TemporaryFailure(exc.reply) from None
            # An idle connection the server had already closed: nothing of this message was
            # sent, so one fresh connection and one more try are safe.
            log.info("%s closed the connection (%s); reconnecting", self.where, exc.reply)
            envelope.started()
            try:
                refused = self._transaction(self._connection(), envelope)
            except _ConnectionDropped as again:
                self._drop()
                raise TemporaryFailure(again.reply) from None
        return SendResult(refused=refused, reply=self.last_reply)

    def settle(self) -> None:
        return None  # a message the server accepted is the server's

    def already_delivered(self, envelope: Envelope) -> None:
        # SMTP has no way to ask whether a server already has a message.
        return None

    # -- the connection ---------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one. A problem while reconnecting mid-batch is
        temporary for the message at hand: it is the server's state, not the message's."""
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except PermanentFailure as exc:
                raise TemporaryFailure(exc.reply) from None
        return self._smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        if self._refusal is not None:
            raise self._refusal
        try:
            login = self._login()  # fails before any network traffic when a secret is missing
            smtp = self._greet(self._tls_context())
            try:
                self._authenticate(smtp, login)
            except BaseException:
                smtp.close()
                raise
        except PermanentFailure as exc:
            self._refusal = exc
            raise
        log.info(
            "connected to %s (%s, %s)",
            self.where,
            self.settings.security,
            f"AUTH {login.mechanism} as {login.username}" if login.username else "no AUTH",
        )
        return smtp

    def _greet(self, context: ssl.SSLContext | None) -> smtplib.SMTP:
        """Connect, say EHLO and switch to TLS; errors in the words of the configuration."""
        try:
            return self._handshake(context)
        except ssl.SSLCertVerificationError as exc:
            raise PermanentFailure(
                f"the certificate of {self.where} could not be verified ({exc.verify_message}); "
                "if the server uses a private CA, give its bundle in mail.smtp.ca_file"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._failure(exc.smtp_code, exc.smtp_error, "answered") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"cannot connect to {self.where}: {_describe(exc)}") from None

    def _handshake(self, context: ssl.SSLContext | None) -> smtplib.SMTP:
        # The host goes to the constructor: smtplib checks the certificate against the name
        # given there, not the one given to connect().
        settings = self.settings
        timeout = settings.timeout_seconds
        smtp = (
            smtplib.SMTP_SSL(
                settings.host, settings.port, _ehlo_name(), timeout=timeout, context=context
            )
            if settings.security == "tls"
            else smtplib.SMTP(settings.host, settings.port, _ehlo_name(), timeout=timeout)
        )
        try:
            _nodelay(smtp.sock)
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentFailure(
                        f"{self.where} does not offer STARTTLS; refusing to send in clear "
                        "(set mail.smtp.security to 'tls' for port 465)"
                    )
                smtp.starttls(context=context)
                _nodelay(smtp.sock)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _failure(
        self, code: int, text: bytes | str, verb: str
    ) -> TemporaryFailure | PermanentFailure:
        reply = f"{self.where} {verb} {_words(code, text)}"
        return TemporaryFailure(reply) if code < 500 else PermanentFailure(reply)

    def _tls_context(self) -> ssl.SSLContext | None:
        settings = self.settings
        if settings.security == "none":
            return None
        ca_file = str(settings.ca_file) if settings.ca_file else None
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PermanentFailure(
                f"cannot read the CA bundle {ca_file} (mail.smtp.ca_file): {_describe(exc)}"
            ) from None
        if not settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # -- authentication ---------------------------------------------------------------------

    def _login(self) -> _Login:
        settings = self.settings
        if settings.auth == "none":
            return _Login("none", None, str)
        if not settings.username:
            raise PermanentFailure(f"mail.smtp.auth = '{settings.auth}' needs mail.smtp.username")
        if settings.security == "none" and not is_loopback(settings.host):
            raise PermanentFailure(
                f"refusing to log in to {self.where} without encryption; set mail.smtp.security "
                "to 'starttls' (port 587) or 'tls' (port 465)"
            )
        if settings.auth == "xoauth2":
            return _Login("xoauth2", settings.username, self._access_token)
        name = settings.password_env
        if not name:
            raise PermanentFailure(
                "mail.smtp.password_env is not set: name the environment variable that holds "
                "the SMTP password"
            )
        password = self.environ.get(name)
        if not password:
            state = "is empty" if name in self.environ else "is not set"
            raise PermanentFailure(
                f"the environment variable {name} (mail.smtp.password_env) {state}; put the "
                "SMTP password in it (a deployment's config/env, which the nightly run reads: "
                "docs/operations.md) before running"
            )
        register_secret(password)  # masked in every log line, should anything ever quote it
        return _Login("password", settings.username, lambda: password)

    def _authenticate(self, smtp: smtplib.SMTP, login: _Login) -> None:
        if login.mechanism == "none" or login.username is None:
            return
        try:
            if login.mechanism == "xoauth2":
                token = f"user={login.username}\x01auth=Bearer {login.secret()}\x01\x01"
                # On failure the server sends a 334 challenge (a JSON error) and expects an
                # empty line before its final 535.
                smtp.auth("XOAUTH2", lambda challenge=None: "" if challenge is not None else token)
            else:
                _password_login(smtp, login.username, login.secret())
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure(
                f"{self.where} refused the login of {login.username}: "
                f"{_words(exc.smtp_code, exc.smtp_error)}; check the username and the "
                + (
                    "OAuth credentials"
                    if login.mechanism == "xoauth2"
                    else f"password in {self.settings.password_env}"
                )
            ) from None
        except (smtplib.SMTPNotSupportedError, _NoMechanism):
            raise PermanentFailure(
                f"{self.where} offers no AUTH this client can use (after "
                f"{self.settings.security}); check mail.smtp.security and mail.smtp.auth"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._failure(exc.smtp_code, exc.smtp_error, "answered AUTH with") from None

    def _access_token(self) -> str:
        """A fresh OAuth access token for XOAUTH2 (refreshed only when expired)."""
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        if self._credentials is None:
            self._credentials = self._load_credentials()
        try:
            if not self._credentials.valid:
                # google-auth would wait 120 s for the token service; use the SMTP timeout
                request = functools.partial(Request(), timeout=self.settings.timeout_seconds)
                self._credentials.refresh(request)
        except google.auth.exceptions.TransportError as exc:
            raise TemporaryFailure(f"cannot reach the Google token service: {exc}") from None
        except google.auth.exceptions.RefreshError as exc:
            raise PermanentFailure(
                f"Google refused an access token for {self.settings.username}: {exc}; check "
                "the credentials file and the domain-wide delegation of the mail scope"
            ) from None
        token = str(self._credentials.token)
        register_secret(token)
        return token

    def _load_credentials(self) -> Any:
        from google.oauth2 import credentials as user_credentials
        from google.oauth2 import service_account

        configured = self.settings.oauth_credentials_file
        path = configured or self.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if not path:
            raise PermanentFailure(
                "mail.smtp.auth = 'xoauth2' needs mail.smtp.oauth_credentials_file or "
                "GOOGLE_APPLICATION_CREDENTIALS"
            )
        try:
            info = json.loads(Path(path).read_text(encoding="utf-8"))
            if info.get("type") == "service_account":
                # Domain-wide delegation: the service account acts as the sending user.
                return service_account.Credentials.from_service_account_info(
                    info, scopes=[GMAIL_SCOPE], subject=self.settings.username
                )
            return user_credentials.Credentials.from_authorized_user_info(info)
        except (OSError, ValueError) as exc:
            # ValueError covers bad JSON and missing fields; neither message quotes the key.
            raise PermanentFailure(f"cannot use the OAuth credentials file {path}: {exc}") from None

    # -- one message ------------------------------------------------------------------------

    def _transaction(self, smtp: smtplib.SMTP, envelope: Envelope) -> dict[str, str]:
        """MAIL, RCPT for each recipient, DATA; returns the recipients refused while others
        were accepted. Written out (not smtplib's sendmail) to know how far a dropped
        connection got, and to pipeline the envelope where the server offers it."""
        utf8 = smtp.has_extn("smtputf8")
        sender = _envelope_address(envelope.sender, utf8)
        if sender is None:
            raise PermanentFailure(
                f"the sender {envelope.sender} needs SMTPUTF8, which {self.where} does not offer"
            )
        targets = {a: _envelope_address(a, utf8) for a in envelope.recipients}
        options = [f"size={len(envelope.raw)}"] if smtp.has_extn("size") else []
        if not all(a.isascii() for a in (sender, *targets.values()) if a):
            options.append("SMTPUTF8")
        sendable = {a: t for a, t in targets.items() if t is not None}
        data: tuple[int, bytes] | None = None  # DATA's reply, when it went with the envelope
        rcpts = list(sendable.values())
        if rcpts and smtp.has_extn("pipelining"):
            replies, data = self._pipelined(smtp, sender, options, rcpts, envelope)
        else:
            replies = self._stepwise(smtp, sender, options, rcpts, envelope)
        answers = dict(zip(sendable, replies, strict=True))
        refused: dict[str, str] = {}
        temporary = False
        for address in targets:
            if address not in answers:
                refused[address] = f"not sent: the address needs SMTPUTF8, which {self.where} lacks"
                continue
            code, text = answers[address]
            if code not in (250, 251):
                refused[address] = _words(code, text)
                temporary = temporary or code < 500
        if len(refused) == len(targets):
            self._abandon(smtp, data)
            reply = "; ".join(f"{address}: {words}" for address, words in refused.items())
            # when some were only deferred (4xx), a later try may reach them
            raise TemporaryFailure(reply) if temporary else PermanentFailure(reply)
        if data is not None and data[0] != 354:
            self._reset(smtp)
            raise self._message_failure(*data)
        try:
            envelope.before_content()  # raises (out of send) when the mark cannot be made durable
        except BaseException:
            self._abandon(smtp, data)
            raise
        step = _content if data is not None else _data
        code, text = self._command(smtp, functools.partial(step, smtp, envelope), False)
        if code != 250:
            self._reset(smtp)
            raise self._message_failure(code, text)
        self.last_reply = _words(code, text)
        return refused

    def _stepwise(
        self,
        smtp: smtplib.SMTP,
        sender: str,
        options: list[str],
        rcpts: list[str],
        envelope: Envelope,
    ) -> list[tuple[int, bytes]]:
        """MAIL, then each RCPT, each waiting for its reply; DATA is left to the content."""
        code, text = self._command(
            smtp, functools.partial(_mail, smtp, sender, options, envelope.started), True
        )
        if code != 250:
            self._reset(smtp)
            raise self._message_failure(code, text)
        return [self._command(smtp, functools.partial(smtp.rcpt, r), False) for r in rcpts]

    def _pipelined(
        self,
        smtp: smtplib.SMTP,
        sender: str,
        options: list[str],
        rcpts: list[str],
        envelope: Envelope,
    ) -> tuple[list[tuple[int, bytes]], tuple[int, bytes]]:
        """RFC 2920: MAIL, every RCPT and DATA in one write, then their replies in order (DATA
        is the last of a group, so the content waits for its 354). Returns the RCPT replies
        and DATA's. One round trip where stepwise takes one per command: with a remote
        server and ten recipients, ten fewer waits a message."""
        group = [_mail_line(smtp, sender, options)]
        group += [_line("rcpt", f"TO:{smtplib.quoteaddr(r)}") for r in rcpts]
        try:
            smtp.send("".join(group) + "data\r\n")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _ConnectionDropped(f"connection lost: {_describe(exc)}", True) from None
        envelope.started()
        code, text = self._command(smtp, smtp.getreply, True)
        replies = [self._command(smtp, smtp.getreply, False) for _ in rcpts]
        data = self._command(smtp, smtp.getreply, False)
        if code != 250:
            self._abandon(smtp, data)
            raise self._message_failure(code, text)
        return replies, data

    def _abandon(self, smtp: smtplib.SMTP, data: tuple[int, bytes] | None) -> None:
        """End a transaction whose content must not go: after a 354 the server reads whatever
        comes next as content, so the connection is closed (the server drops what it has,
        the next message connects again); before it, RSET."""
        if data is not None and data[0] == 354:
            self._drop()
        else:
            self._reset(smtp)

    @staticmethod
    def _command(
        smtp: smtplib.SMTP, call: Callable[[], tuple[int, bytes]], first: bool
    ) -> tuple[int, bytes]:
        try:
            code, text = call()
        except smtplib.SMTPDataError as exc:  # DATA refused before the content went out
            code = exc.smtp_code
            text = exc.smtp_error if isinstance(exc.smtp_error, bytes) else exc.smtp_error.encode()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _ConnectionDropped(f"connection lost: {_describe(exc)}", first) from None
        if code == SERVICE_CLOSING or code == -1:
            raise _ConnectionDropped(_words(code, text), first)
        return code, text

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> None:
        """End a failed transaction so the connection can carry the next message."""
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # the next send() sees the closed socket and reconnects

    @staticmethod
    def _message_failure(code: int, text: bytes) -> TemporaryFailure | PermanentFailure:
        reply = _words(code, text)
        return TemporaryFailure(reply) if code < 500 else PermanentFailure(reply)


class _NoMechanism(Exception):
    """The server offers none of the password mechanisms smtplib speaks."""


def _password_login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login(), with one mechanism only: login() tries every mechanism the server
    offers in turn, so one wrong password would count as two or three failed logins."""
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = smtp.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in ("CRAM-MD5", "PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise _NoMechanism(offered)
    smtp.user, smtp.password = username, password
    method = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    smtp.auth(mechanism, method)  # raises SMTPAuthenticationError on a refusal


def _mail_line(smtp: smtplib.SMTP, sender: str, options: list[str]) -> str:
    """The MAIL FROM command as smtplib.SMTP.mail writes it (and its switch to UTF-8 commands
    for SMTPUTF8)."""
    optionlist = ""
    if options and smtp.does_esmtp:
        if any(option.lower() == "smtputf8" for option in options):
            if not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            smtp.command_encoding = "utf-8"
        optionlist = " " + " ".join(options)
    return _line("mail", f"FROM:{smtplib.quoteaddr(sender)}{optionlist}")


def _line(verb: str, args: str) -> str:
    """One command as smtplib.SMTP.putcmd writes it, refusing line breaks as it does: an
    address holding one would end the command and start another of its own."""
    if "\r" in args or "\n" in args:
        raise ValueError(f"a line break in the arguments of {verb.upper()}: not sent")
    return f"{verb} {args}\r\n"


def _mail(
    smtp: smtplib.SMTP, sender: str, options: list[str], started: Callable[[], None]
) -> tuple[int, bytes]:
    """smtplib.SMTP.mail, step for step, with `started` called between the command and its
    reply: the queue's commit runs while the server answers."""
    smtp.send(_mail_line(smtp, sender, options))
    started()
    return smtp.getreply()


def _data(smtp: smtplib.SMTP, envelope: Envelope) -> tuple[int, bytes]:
    """smtplib.SMTP.data for bytes, step for step (the same command, replies and exceptions)."""
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    return _content(smtp, envelope)


def _content(smtp: smtplib.SMTP, envelope: Envelope) -> tuple[int, bytes]:
    """The message after DATA's 354, and the server's verdict. The dot-stuffing regex runs
    only when some line starts with ".": on a message with a 57 KB attachment it costs more
    than everything else the client does. A base64 or quoted-printable body never starts a
    line with "." unless the text did. While the server reads the content, the queue
    prepares the next message (Envelope.after_content)."""
    raw = envelope.raw
    if raw.startswith(b".") or b"\n." in raw:
        raw = _LINE_START_DOT.sub(b"..", raw)  # RFC 5321 4.5.2, as smtplib's _quote_periods
    if raw[-2:] != b"\r\n":
        raw += b"\r\n"
    smtp.send(raw + b".\r\n")
    envelope.after_content()
    return smtp.getreply()


def _envelope_address(address: str, smtputf8: bool) -> str | None:
    """The address as MAIL FROM / RCPT TO can carry it: an internationalised domain in its
    ASCII (IDNA) form; a non-ASCII local part only to a server that offers SMTPUTF8."""
    if address.isascii() or smtputf8:
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        return None
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
