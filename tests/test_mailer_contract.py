"""What every mail backend promises the queue. One class of tests, one small subclass per
backend: the outbox folder in tmp_path, and SMTP against a real aiosmtpd server on loopback. A
new backend (Microsoft Graph, the Gmail API) adds a subclass here and passes the same tests."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from smtp_server import PASSWORD, USER, Server, Tls, outgoing, smtp_server

from cluster_sync import mailpass, mailqueue
from cluster_sync.config import LimitsConfig
from cluster_sync.mailers import BACKENDS
from cluster_sync.mailers.base import (
    SAVED_REPLY,
    Envelope,
    Mailer,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from cluster_sync.mailers.outbox import UNSENT_HEADER, OutboxMailer
from cluster_sync.mailers.smtp import SmtpMailer
from cluster_sync.mailers.smtp_settings import SmtpConfig
from cluster_sync.state import State

ROOMY = LimitsConfig(per_minute=1000, per_day=10_000)
PASSWORD_ENV = "CLUSTER_SYNC_CONTRACT_SMTP_PASSWORD"


def envelope(number: int, recipients: tuple[str, ...] = ("lead@example.org",)) -> Envelope:
    queued = outgoing(number, recipients, attachment=b"PK\x03\x04 a .docx")
    return Envelope(
        id=number,
        message_id=queued.message_id,
        kind=queued.kind,
        cluster_id=queued.cluster_id,
        sender=queued.sender,
        recipients=queued.recipients,
        raw=queued.as_bytes(),
    )


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


class MailerContract:
    """Subclasses give a working mailer, one whose destination cannot be used, and what
    has arrived at the destination (each message's bytes)."""

    #: the `mail.backend` of the backend under test
    backend = ""

    @pytest.fixture
    def mailer(self, tmp_path: Path) -> Mailer:
        raise NotImplementedError

    @pytest.fixture
    def unusable(self, tmp_path: Path) -> Mailer:
        raise NotImplementedError

    def received(self) -> list[bytes]:
        raise NotImplementedError

    # -- what it says about itself -----------------------------------------------------------

    def test_it_describes_itself(self, mailer: Mailer) -> None:
        assert isinstance(mailer.description, str) and mailer.description.startswith("the ")
        assert isinstance(mailer.limits_apply, bool) and isinstance(mailer.saves_only, bool)

    def test_checking_the_settings_delivers_nothing(self, mailer: Mailer) -> None:
        assert mailer.check_settings() is None
        assert self.received() == []

    def test_close_without_open_is_harmless(self, mailer: Mailer) -> None:
        mailer.close()
        mailer.close()

    # -- sending -----------------------------------------------------------------------------

    def test_a_message_arrives_as_it_was_given(self, mailer: Mailer) -> None:
        sent = envelope(1, ("lead@example.org", "participant@example.org"))
        mailer.open()
        try:
            result = mailer.send(sent)
        finally:
            mailer.close()
        assert isinstance(result, SendResult) and result.refused == {}
        (raw,) = self.received()
        original, arrived = parsed(sent.raw), parsed(raw)
        assert arrived["Message-ID"] == sent.message_id
        assert arrived["Subject"] == original["Subject"]
        assert (
            arrived.get_body(("plain",)).get_content()
            == original.get_body(  # type: ignore[union-attr]
                ("plain",)
            ).get_content()
        )
        (attachment,) = list(arrived.iter_attachments())
        assert attachment.get_content() == b"PK\x03\x04 a .docx"

    def test_its_reply_says_whether_it_was_sent_or_saved(self, mailer: Mailer) -> None:
        mailer.open()
        try:
            reply = mailer.send(envelope(2)).reply
        finally:
            mailer.close()
        assert (reply == SAVED_REPLY) == mailer.saves_only

    def test_it_never_claims_an_unsent_message_and_never_denies_a_sent_one(
        self, mailer: Mailer
    ) -> None:
        first, second = envelope(3), envelope(4)
        mailer.open()
        try:
            assert mailer.already_delivered(first) in (False, None)
            mailer.send(first)
            assert mailer.already_delivered(first) in (True, None)
            assert mailer.already_delivered(second) in (False, None)
        finally:
            mailer.close()

    def test_one_open_serves_many_messages(self, mailer: Mailer) -> None:
        mailer.open()
        try:
            for number in range(5):
                mailer.send(envelope(10 + number))
        finally:
            mailer.close()
        ids = sorted(str(parsed(raw)["Message-ID"]) for raw in self.received())
        assert ids == sorted(envelope(10 + n).message_id for n in range(5))

    # -- through the queue -------------------------------------------------------------------

    def test_the_queue_delivers_through_it_and_records_each(
        self, mailer: Mailer, tmp_path: Path
    ) -> None:
        state = State(tmp_path / "state.sqlite3")
        try:
            queued = [outgoing(20 + n) for n in range(3)]
            for message in queued:
                assert mailqueue.enqueue(state, message, None, datetime.now(UTC))
            report = mailpass.deliver(state, mailer, ROOMY, sleep=lambda _s: None)
            states = [r[0] for r in state.db.execute("SELECT state FROM messages")]
        finally:
            state.close()
        assert report.sent == 3 and not report.failed and not report.deferred
        assert report.saved_only == mailer.saves_only
        assert states == ["sent"] * 3
        ids = sorted(str(parsed(raw)["Message-ID"]) for raw in self.received())
        assert ids == sorted(m.message_id for m in queued)

    def test_an_unusable_destination_loses_nothing(self, unusable: Mailer, tmp_path: Path) -> None:
        with pytest.raises((TemporaryFailure, PermanentFailure)):
            unusable.open()
        unusable.close()
        state = State(tmp_path / "state.sqlite3")
        try:
            assert mailqueue.enqueue(state, outgoing(30), None, datetime.now(UTC))
            report = mailpass.deliver(state, unusable, ROOMY, sleep=lambda _s: None)
            states = [r[0] for r in state.db.execute("SELECT state FROM messages")]
        finally:
            state.close()
        assert report.sent == 0 and report.unreachable  # said, for the digest and the exit code
        assert states == ["queued"]  # kept for the next run


class TestOutboxMailer(MailerContract):
    backend = "outbox"

    @pytest.fixture
    def mailer(self, tmp_path: Path) -> Mailer:
        self.folder = tmp_path / "outbox"
        return OutboxMailer(self.folder)

    @pytest.fixture
    def unusable(self, tmp_path: Path) -> Mailer:
        self.folder = tmp_path / "outbox"
        taken = tmp_path / "a-file"
        taken.write_text("not a folder")
        return OutboxMailer(taken / "outbox")

    def received(self) -> list[bytes]:
        files = sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else []
        return [p.read_bytes().removeprefix(UNSENT_HEADER) for p in files]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls.make(tmp_path_factory.mktemp("tls"))


class TestSmtpMailer(MailerContract):
    backend = "smtp"

    @pytest.fixture
    def server(self, tls: Tls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        with smtp_server(tls) as running:
            self.server = running
            yield running

    def settings(self, host: str, port: int, ca_file: Path) -> SmtpConfig:
        return SmtpConfig(
            host=host,
            port=port,
            security="starttls",
            username=USER,
            password_env=PASSWORD_ENV,
            ca_file=ca_file,
            timeout_seconds=5,
        )

    @pytest.fixture
    def mailer(self, server: Server) -> Mailer:
        return SmtpMailer(self.settings(server.host, server.port, server.ca_file))

    @pytest.fixture
    def unusable(self, server: Server) -> Mailer:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return SmtpMailer(self.settings("127.0.0.1", port, server.ca_file))

    def received(self) -> list[bytes]:
        return [m.data for m in self.server.recorder.messages]


def test_every_registered_backend_is_under_contract() -> None:
    # the configuration takes its choices from BACKENDS (tests/test_backend_registry.py)
    tested = {case.backend for case in MailerContract.__subclasses__()}
    assert set(BACKENDS) == tested
