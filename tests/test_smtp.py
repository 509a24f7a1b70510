"""SmtpMailer against a real aiosmtpd server on loopback, through the real queue and state DB."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from smtp_server import (
    PASSWORD,
    SENDER,
    USER,
    Server,
    Tls,
    TokenService,
    outgoing,
    smtp_server,
    token_service_running,
)

from cluster_sync import mailpass, mailqueue
from cluster_sync.config import LimitsConfig
from cluster_sync.errors import StateError
from cluster_sync.mailers.base import PermanentFailure
from cluster_sync.mailers.smtp import SmtpMailer
from cluster_sync.mailers.smtp_settings import SmtpConfig
from cluster_sync.mailqueue import DeliveryReport, Outgoing
from cluster_sync.render import mime
from cluster_sync.state import State

PASSWORD_ENV = "CLUSTER_SYNC_TEST_SMTP_PASSWORD"
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
ROOMY = LimitsConfig(per_minute=1000, per_day=10_000)


class FakeClock:
    """Time that moves only when the queue sleeps (no real waiting in tests)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=[False, True], ids=["stepwise", "pipelined"])
def server(tls: Tls, request: pytest.FixtureRequest) -> Iterator[Server]:
    """Every test that takes this server runs twice: against a server that answers one
    command at a time, and against one that offers PIPELINING (the client then sends MAIL,
    every RCPT and DATA at once): the outcomes must be the same."""
    with smtp_server(tls) as running:
        running.recorder.pipelining = request.param
        yield running


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    db = State(tmp_path / "state.db")
    yield db
    db.close()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def settings(server: Server, **overrides: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "starttls",
        "username": USER,
        "password_env": PASSWORD_ENV,
        "ca_file": server.ca_file,
        "timeout_seconds": 5,
    }
    return SmtpConfig(**(values | overrides))


def queue(state: State, *messages: Outgoing) -> list[str]:
    for message in messages:
        assert mailqueue.enqueue(state, message, None, START)
    return [m.message_id for m in messages]


def deliver(
    state: State, mailer: SmtpMailer, limits: LimitsConfig = ROOMY, clock: FakeClock | None = None
) -> DeliveryReport:
    clock = clock or FakeClock()
    return mailpass.deliver(state, mailer, limits, clock=clock, sleep=clock.sleep)


def rows(state: State) -> dict[str, dict[str, Any]]:
    found = state.db.execute("SELECT * FROM messages ORDER BY id").fetchall()
    return {r["message_id"]: dict(r) for r in found}


# -- the batch -------------------------------------------------------------------------------


def test_a_batch_goes_through_one_connection(server: Server, state: State) -> None:
    ids = queue(state, *(outgoing(n, (f"p{n}@example.org", "lead@example.org")) for n in range(8)))

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 8 and not report.failed and not report.deferred
    assert server.recorder.connections == 1
    assert server.recorder.logins == [("PLAIN", USER)]
    assert server.recorder.message_ids() == ids
    first = server.recorder.messages[0]
    assert first.mail_from == SENDER
    assert first.rcpt_tos == ["p0@example.org", "lead@example.org"]
    assert {r["state"] for r in rows(state).values()} == {"sent"}


def test_nagle_is_off_after_starttls(server: Server) -> None:
    mailer = SmtpMailer(settings(server))
    mailer.open()
    try:
        sock = mailer._smtp.sock  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.version().startswith("TLS")
    finally:
        mailer.close()


def test_auth_login_when_plain_is_not_offered(tls: Tls, state: State) -> None:
    with smtp_server(tls, exclude_auth=("PLAIN",)) as server:
        queue(state, outgoing(1))
        assert deliver(state, SmtpMailer(settings(server))).sent == 1
    assert server.recorder.logins == [("LOGIN", USER)]


def test_implicit_tls(tls: Tls, state: State) -> None:
    with smtp_server(tls, implicit_tls=True) as server:
        queue(state, outgoing(1), outgoing(2))
        report = deliver(state, SmtpMailer(settings(server, security="tls")))
    assert report.sent == 2
    assert server.recorder.connections == 1


def test_already_delivered_cannot_be_known(server: Server, state: State) -> None:
    queue(state, outgoing(1))
    envelope = mailqueue._load(state, mailpass._due(state, START)[0])
    assert SmtpMailer(settings(server)).already_delivered(envelope) is None


# -- replies ---------------------------------------------------------------------------------


def test_a_451_is_retried_within_the_run(server: Server, state: State) -> None:
    ids = queue(state, outgoing(1), outgoing(2), outgoing(3))
    server.recorder.answer_451_once.add(ids[1])
    clock = FakeClock()

    report = deliver(state, SmtpMailer(settings(server)), clock=clock)

    assert report.sent == 3 and not report.deferred
    assert server.recorder.message_ids() == ids
    assert rows(state)[ids[1]]["attempts"] == 2
    assert len(clock.sleeps) == 1  # one in-run wait, on the fake clock
    assert server.recorder.connections == 1  # a 4xx does not cost the connection


def test_a_refused_recipient_does_not_stop_the_others(server: Server, state: State) -> None:
    ghost = "left-the-project@example.org"
    server.recorder.refuse_recipients.add(ghost)
    ids = queue(
        state,
        outgoing(1, ("lead@example.org", ghost, "p1@example.org")),
        outgoing(2, (ghost,)),
        outgoing(3, ("lead@example.org",)),
    )

    report = deliver(state, SmtpMailer(settings(server)))

    stored = rows(state)
    assert stored[ids[0]]["state"] == "sent"
    assert ghost in json.loads(stored[ids[0]]["last_reply"])
    assert json.loads(stored[ids[0]]["last_reply"])[ghost].startswith("550 5.1.1")
    assert report.refused == [
        (stored[ids[0]]["id"], ghost, json.loads(stored[ids[0]]["last_reply"])[ghost])
    ]
    assert stored[ids[1]]["state"] == "failed"
    assert "550 5.1.1" in stored[ids[1]]["last_reply"]
    assert "User unknown" in stored[ids[1]]["last_reply"]  # the server's words
    assert stored[ids[2]]["state"] == "sent"
    assert server.recorder.message_ids() == [ids[0], ids[2]]
    assert server.recorder.messages[0].rcpt_tos == ["lead@example.org", "p1@example.org"]
    assert server.recorder.connections == 1  # RSET after the refusal keeps the connection


def test_a_dropped_connection_before_the_message_is_picked_up_again(
    server: Server, state: State
) -> None:
    ids = queue(state, *(outgoing(n) for n in range(6)))
    server.recorder.drop_at_mail.add(3)  # the server vanishes between two messages

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 6 and not report.deferred
    assert server.recorder.message_ids() == ids  # each once, in order
    assert server.recorder.connections == 2
    assert {r["attempts"] for r in rows(state).values()} == {1}  # reconnected transparently


def test_a_421_closes_and_the_next_send_reconnects(server: Server, state: State) -> None:
    ids = queue(state, *(outgoing(n) for n in range(4)))
    server.recorder.closing_421_at_mail.add(2)

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 4
    assert server.recorder.message_ids() == ids
    assert server.recorder.connections == 2


def test_a_connection_dropped_after_data_is_a_temporary_failure(
    server: Server, state: State
) -> None:
    ids = queue(state, *(outgoing(n) for n in range(4)))
    server.recorder.drop_after_data.add(ids[1])  # the server dies before accepting it
    clock = FakeClock()

    report = deliver(state, SmtpMailer(settings(server)), clock=clock)

    assert report.sent == 4
    assert server.recorder.message_ids() == ids
    assert rows(state)[ids[1]]["attempts"] == 2
    assert len(clock.sleeps) == 1
    assert server.recorder.connections == 2


@pytest.mark.parametrize("pipelining", [False, True], ids=["stepwise", "pipelined"])
def test_internationalised_addresses(tls: Tls, state: State, pipelining: bool) -> None:
    with smtp_server(tls) as server:  # offers SMTPUTF8
        server.recorder.pipelining = pipelining
        queue(state, outgoing(1, ("čebelar@example.org", "ana@šola.si")))
        assert deliver(state, SmtpMailer(settings(server))).sent == 1
    assert server.recorder.messages[0].rcpt_tos == ["čebelar@example.org", "ana@šola.si"]


@pytest.mark.parametrize("pipelining", [False, True], ids=["stepwise", "pipelined"])
def test_without_smtputf8_domains_become_idna(tls: Tls, state: State, pipelining: bool) -> None:
    with smtp_server(tls, smtputf8=False) as server:
        server.recorder.pipelining = pipelining
        ids = queue(
            state,
            outgoing(1, ("ana@šola.si", "čebelar@example.org")),
            outgoing(2, ("čebelar@example.org",)),
        )
        report = deliver(state, SmtpMailer(settings(server)))
    assert report.sent == 1 and len(report.failed) == 1
    assert server.recorder.messages[0].rcpt_tos == ["ana@" + "šola.si".encode("idna").decode()]
    stored = rows(state)
    assert "SMTPUTF8" in json.loads(stored[ids[0]]["last_reply"])["čebelar@example.org"]
    assert stored[ids[1]]["state"] == "failed"


def test_a_server_that_goes_away_mid_batch_loses_nothing(server: Server, state: State) -> None:
    ids = queue(state, *(outgoing(n) for n in range(5)))
    server.recorder.drop_at_mail.update(range(3, 1000))  # from the third message on, it fails
    clock = FakeClock()

    first = deliver(state, SmtpMailer(settings(server)), clock=clock)

    assert (first.sent, first.deferred, first.failed) == (2, 3, [])
    assert [r["state"] for r in rows(state).values()] == ["sent"] * 2 + ["queued"] * 3
    server.recorder.drop_at_mail.clear()  # it is back
    clock.now += timedelta(days=1)
    second = deliver(state, SmtpMailer(settings(server)), clock=clock)
    assert second.sent == 3
    assert server.recorder.message_ids() == ids  # each exactly once


# -- caps ------------------------------------------------------------------------------------


def test_the_daily_cap_holds_the_rest_for_the_next_run(server: Server, state: State) -> None:
    ids = queue(state, *(outgoing(n) for n in range(5)))
    limits = LimitsConfig(per_minute=1000, per_day=3)
    clock = FakeClock()

    first = deliver(state, SmtpMailer(settings(server)), limits, clock)

    assert (first.sent, first.deferred) == (3, 2)
    assert first.stop_reason and "daily cap of 3" in first.stop_reason
    assert [r["state"] for r in rows(state).values()] == ["sent"] * 3 + ["queued"] * 2
    assert server.recorder.message_ids() == ids[:3]

    clock.now += timedelta(hours=12)  # still within the day
    assert deliver(state, SmtpMailer(settings(server)), limits, clock).sent == 0
    clock.now += timedelta(hours=12, seconds=1)
    assert deliver(state, SmtpMailer(settings(server)), limits, clock).sent == 2
    assert server.recorder.message_ids() == ids


def test_the_minute_cap_spreads_a_run_out(server: Server, state: State) -> None:
    queue(state, *(outgoing(n) for n in range(5)))
    clock = FakeClock()

    report = deliver(state, SmtpMailer(settings(server)), LimitsConfig(per_minute=2), clock)

    assert report.sent == 5
    sent_at = sorted(datetime.fromisoformat(r["sent_at"]) for r in rows(state).values())
    for index in range(len(sent_at) - 2):
        assert sent_at[index + 2] - sent_at[index] >= timedelta(minutes=1)
    assert clock.now - START >= timedelta(minutes=2)  # waited on the fake clock only
    assert server.recorder.connections == 1


# -- what a person must fix ------------------------------------------------------------------


def test_an_untrusted_certificate_stops_delivery_and_marks_nothing(
    server: Server, state: State
) -> None:
    queue(state, outgoing(1), outgoing(2))

    report = deliver(state, SmtpMailer(settings(server, ca_file=None)))

    assert report.sent == 0 and report.deferred == 2
    assert (
        report.stop_reason
        and "certificate" in report.stop_reason
        and "ca_file" in report.stop_reason
    )
    assert {r["state"] for r in rows(state).values()} == {"queued"}
    assert {r["attempts"] for r in rows(state).values()} == {0}
    assert server.recorder.messages == []


def test_starttls_not_offered_is_refused(tls: Tls) -> None:
    with (
        smtp_server(tls, starttls=False) as server,
        pytest.raises(PermanentFailure, match="does not offer STARTTLS"),
    ):
        SmtpMailer(settings(server)).open()
    assert server.recorder.logins == []


def test_an_unset_password_variable_is_named(
    server: Server, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(PermanentFailure, match=f"environment variable {PASSWORD_ENV}"):
        SmtpMailer(settings(server)).open()
    queue(state, outgoing(1))
    report = deliver(state, SmtpMailer(settings(server)))
    assert report.stop_reason and PASSWORD_ENV in report.stop_reason
    assert server.recorder.connections == 0  # found out before connecting


def test_an_empty_password_variable_is_told_apart_from_an_unset_one(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "")  # config/env as init writes it, not filled in yet
    with pytest.raises(PermanentFailure, match=f"variable {PASSWORD_ENV} .* is empty"):
        SmtpMailer(settings(server)).open()
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(PermanentFailure, match=f"variable {PASSWORD_ENV} .* is not set"):
        SmtpMailer(settings(server)).open()
    assert server.recorder.connections == 0


def test_no_password_in_clear_to_a_remote_host() -> None:
    remote = SmtpConfig(
        host="smtp.example.org", security="none", username=USER, password_env=PASSWORD_ENV
    )
    with pytest.raises(PermanentFailure, match="without encryption"):
        SmtpMailer(remote).open()


def test_the_password_never_leaks(
    server: Server, state: State, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    queue(state, outgoing(1, ("lead@example.org", "gone@example.org")), outgoing(2))
    server.recorder.refuse_recipients.add("gone@example.org")
    texts = [str(deliver(state, SmtpMailer(settings(server))))]
    server.recorder.refuse_auth = True
    with pytest.raises(PermanentFailure) as refused:
        SmtpMailer(settings(server)).open()
    texts += [str(refused.value), refused.value.reply]
    assert "refused the login" in refused.value.reply
    assert PASSWORD_ENV in refused.value.reply

    state.db.commit()
    dump = "\n".join(state.db.iterdump())
    for text in (caplog.text, dump, *texts):
        assert PASSWORD not in text
    assert "connected to" in caplog.text  # logging was on


# -- XOAUTH2 ---------------------------------------------------------------------------------


def test_xoauth2_with_an_authorised_user_file(
    server: Server, state: State, tmp_path: Path, token_service: TokenService
) -> None:
    credentials = tmp_path / "authorized-user.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "client.apps.googleusercontent.com",
                "client_secret": "client-secret",
                "refresh_token": "refresh-token",
                "token_uri": token_service.url,
            }
        )
    )
    queue(state, outgoing(1), outgoing(2))
    mailer = SmtpMailer(
        settings(server, auth="xoauth2", password_env=None, oauth_credentials_file=credentials)
    )

    assert deliver(state, mailer).sent == 2
    assert server.recorder.logins == [("XOAUTH2", USER)]
    assert [r["grant_type"] for r in token_service.requests] == ["refresh_token"]


def test_xoauth2_with_a_delegated_service_account(
    server: Server, tmp_path: Path, token_service: TokenService
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = tmp_path / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "cop",
                "private_key_id": "1",
                "private_key": pem,
                "client_email": "sync@cop.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_service.url,
            }
        )
    )
    mailer = SmtpMailer(
        settings(server, auth="xoauth2", password_env=None, oauth_credentials_file=credentials)
    )
    mailer.open()
    mailer.close()

    (claims,) = [token_service.claims(r) for r in token_service.requests]
    assert claims["sub"] == USER  # acts as the sending user (domain-wide delegation)
    assert claims["scope"] == "https://mail.google.com/"
    assert server.recorder.logins == [("XOAUTH2", USER)]


def test_xoauth2_refused_token(server: Server, tmp_path: Path, token_service: TokenService) -> None:
    token_service.token = "ya29.revoked"
    credentials = tmp_path / "authorized-user.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
                "token_uri": token_service.url,
            }
        )
    )
    mailer = SmtpMailer(
        settings(server, auth="xoauth2", password_env=None, oauth_credentials_file=credentials)
    )
    with pytest.raises(PermanentFailure, match="refused the login") as refused:
        mailer.open()
    assert "ya29.revoked" not in refused.value.reply


@pytest.fixture
def token_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenService]:
    import google.oauth2.credentials

    with token_service_running() as service:
        # google-auth sends every authorised-user refresh to Google, whatever the file says
        monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", service.url)
        yield service


# -- DATA ------------------------------------------------------------------------------------


def written(number: int, text: str) -> Outgoing:
    """A message as cluster-sync's own MIME writer composes it (7bit or quoted-printable text)."""
    headers = b"".join(
        [
            mime.header("From", [f"Natural Heritage CoP <{SENDER}>"]),
            mime.header("To", ["lead@example.org"]),
            mime.header("Subject", [f"Factsheet {number}"]),
            mime.header("Message-ID", [f"<dots.{number}@cluster-sync.test>"]),
        ]
    )
    composed = mime.message(
        headers, mime.text_part("plain", text), mime.text_part("html", f"<p>{text}</p>"), []
    )
    return Outgoing(
        dedupe_key=f"dots:{number}",
        kind="factsheet",
        cluster_id=None,
        sender=SENDER,
        recipients=("lead@example.org",),
        message_id=f"<dots.{number}@cluster-sync.test>",
        subject=f"Factsheet {number}",
        raw=composed.raw,
    )


def test_lines_starting_with_a_dot_arrive_intact(server: Server, state: State) -> None:
    dotted = ".first line\n..two dots\n.\nmiddle\n. a line of its own\nlast."
    messages = [
        written(1, dotted),  # 7bit
        written(2, dotted.replace("middle", "Größe")),  # quoted-printable
        written(3, "no line here starts with a dot.\nnor here"),
    ]
    assert b"\r\n." in messages[0].raw and b"\r\n." in messages[1].raw
    assert b"\n." not in messages[2].raw
    queue(state, *messages)

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 3 and not report.failed
    assert [m.data for m in server.recorder.messages] == [m.raw for m in messages]


# -- the `sending` mark reaches the disk before the content leaves ---------------------------


def wal_fsyncs(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[str]:
    """Every fsync of the state's WAL file, noted when it returns (or refused with an I/O
    error, as a failing disk would)."""
    import errno
    import os

    done: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith("-wal") and fail:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)
        if name.endswith("-wal"):
            done.append(name)

    monkeypatch.setattr(os, "fsync", fsync)
    return done


def test_each_message_reaches_the_server_after_its_mark_is_on_the_disk(
    tls: Tls, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WAL's fsync runs while MAIL and RCPT are answered; DATA waits for it. Each sync is
    held back until the server has the message or 50 ms have gone by, so a client that did
    not wait would deliver first and fail here (the count below is one short)."""
    import os
    import threading

    done = wal_fsyncs(monkeypatch)
    arrived = threading.Event()
    real_fsync = os.fsync

    def held_fsync(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            arrived.wait(0.05)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    synced_at_arrival: list[int] = []

    def accepted(_: Any) -> None:
        synced_at_arrival.append(len(done))
        arrived.set()

    queue(state, *(outgoing(n) for n in range(5)))
    with smtp_server(tls) as server:
        server.recorder.on_accept = accepted
        report = deliver(state, SmtpMailer(settings(server)))
        arrived.clear()

    assert report.sent == 5
    assert all(synced >= n for n, synced in enumerate(synced_at_arrival, start=1))


def test_a_mark_that_cannot_reach_the_disk_stops_the_message_before_its_content(
    server: Server, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    (message_id,) = queue(state, outgoing(1))
    with monkeypatch.context() as failing_disk:
        wal_fsyncs(failing_disk, fail=True)
        with pytest.raises(StateError, match="could not be written to the disk"):
            deliver(state, SmtpMailer(settings(server)))

    assert server.recorder.mails == 1 and server.recorder.messages == []  # no DATA
    assert rows(state)[message_id]["state"] == "sending"
    again = deliver(state, SmtpMailer(settings(server)))  # the next run sends it
    assert again.recovered == 1 and again.sent == 1
    assert server.recorder.message_ids() == [message_id]


# -- the queue's own work runs while the server answers ---------------------------------------


def states_seen_elsewhere(state: State) -> dict[str, str]:
    """Each message's state as another connection (a later run) reads it: what is committed."""
    import sqlite3

    assert state.path is not None
    other = sqlite3.connect(state.path)
    try:
        found = other.execute("SELECT message_id, state FROM messages ORDER BY id").fetchall()
    finally:
        other.close()
    return {str(m): str(s) for m, s in found}


def test_one_message_at_a_time_is_between_its_mark_and_its_record(
    server: Server, state: State
) -> None:
    """The `sending` mark commits while the server answers MAIL, with the `sent` mark of the
    message before. When a message's content arrives, it is `sending` and every message
    before it is recorded `sent`: a crash can leave only that one message in doubt. A
    reconnect (the server hangs up at the third MAIL) does not change that."""
    ids = queue(state, *(outgoing(n) for n in range(6)))
    server.recorder.drop_at_mail.add(3)
    seen: list[dict[str, str]] = []
    server.recorder.on_accept = lambda _: seen.append(states_seen_elsewhere(state))

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 6 and server.recorder.connections == 2
    assert server.recorder.message_ids() == ids
    for arrived, states in enumerate(seen):
        assert [states[i] for i in ids[:arrived]] == ["sent"] * arrived
        assert states[ids[arrived]] == "sending"
        assert {states[i] for i in ids[arrived + 1 :]} <= {"queued"}
    assert set(states_seen_elsewhere(state).values()) == {"sent"}
    assert {r["attempts"] for r in rows(state).values()} == {1}


def composed(count: int) -> list[Outgoing]:
    """Factsheet emails from the real templates, each with an attachment of its own (kept
    apart in the state, its base64 put back when the message is built for delivery)."""
    import os

    from cluster_sync.model import Address
    from cluster_sync.render.email import Attachment, Composer

    composer = Composer(
        Path(__file__).resolve().parent.parent / "templates" / "email",
        f"CoP <{SENDER}>",
        "Secretariat <sec@example.org>",
        "example.org",
    )
    found: list[Outgoing] = []
    for n in range(count):
        found += composer.compose(
            dedupe_key=f"factsheet:CL-2026-{n:03d}:v1",
            kind="factsheet",
            cluster_id=f"CL-2026-{n:03d}",
            template="problems",
            context={
                "name": "Ana",
                "title": f"Cluster {n}",
                "cluster_id": f"CL-2026-{n:03d}",
                "submitted": "now",
                "problems": ["p"],
            },
            to=[Address(f"p{n}@example.org", "Ana")],
            attachment=Attachment(f"CL-2026-{n:03d}.docx", os.urandom(30_000 + n)),
            now=START,
        )
    return found


def test_each_message_built_ahead_is_the_one_sent(server: Server, state: State) -> None:
    """The next message's bytes are built while the server reads the one before: every
    message arrives as queued, attachment and all, in order, once, including the one a
    temporary refusal sends again."""
    messages = composed(7)
    queue(state, *messages)
    server.recorder.answer_451_once.add(messages[3].message_id)

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 7
    assert [m.data for m in server.recorder.messages] == [m.as_bytes() for m in messages]


def test_a_message_that_cannot_be_built_ahead_stops_at_its_own_turn(
    server: Server, state: State
) -> None:
    """Building the next message while the server reads one never disturbs that one: when the
    next one's attachment is gone (the state damaged), the message before is still delivered
    and recorded, and the error stops the pass at the broken message's own turn, which is
    left queued."""
    first, second = composed(2)
    queue(state, first, second)
    with state.transaction() as db:
        db.execute(
            "DELETE FROM attachments WHERE hash = (SELECT hash FROM message_attachments "
            "WHERE message = (SELECT id FROM messages WHERE message_id = ?))",
            (second.message_id,),
        )

    with pytest.raises(LookupError, match="no longer kept"):
        deliver(state, SmtpMailer(settings(server)))

    assert server.recorder.message_ids() == [first.message_id]
    assert states_seen_elsewhere(state) == {first.message_id: "sent", second.message_id: "queued"}


def test_the_envelope_goes_in_one_write_only_to_a_server_that_offers_pipelining(
    server: Server, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 2920: where the server says PIPELINING, MAIL, every RCPT and DATA leave in one
    write and the content after DATA's 354; elsewhere each command waits for its reply."""
    import smtplib

    writes: list[bytes] = []
    real_send = smtplib.SMTP.send

    def send(self: smtplib.SMTP, data: str | bytes) -> None:
        writes.append(data.encode() if isinstance(data, str) else data)
        real_send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    message = outgoing(1, ("a@example.org", "b@example.org", "c@example.org"))
    queue(state, message)

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 1
    # (the commands as smtplib writes them: lower-case verbs, which RFC 5321 allows)
    commands = [w for w in writes if w[:4] in (b"mail", b"rcpt", b"data")]
    if server.recorder.pipelining:
        assert commands == [
            b"mail FROM:<" + SENDER.encode() + b"> size=" + str(len(message.raw)).encode()
            + b"\r\nrcpt TO:<a@example.org>\r\nrcpt TO:<b@example.org>\r\n"
            b"rcpt TO:<c@example.org>\r\ndata\r\n"
        ]  # fmt: skip
    else:
        assert [c[:4] for c in commands] == [b"mail", b"rcpt", b"rcpt", b"rcpt", b"data"]
    assert server.recorder.messages[0].rcpt_tos == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    assert server.recorder.messages[0].data == message.raw


def test_a_line_break_in_an_address_never_makes_a_command_of_its_own(
    server: Server, state: State
) -> None:
    """Addresses are data: one holding a line break (a damaged state, a hostile value that got
    past validation) reaches the server as its address part only, with or without pipelining;
    no RCPT or RSET of its own."""
    message = outgoing(1, ("lead@example.org",))
    hostile = "lead@example.org\r\nRCPT TO:<evil@example.org>"
    queue(state, replace(message, recipients=(hostile, "other@example.org\nRSET")))

    report = deliver(state, SmtpMailer(settings(server)))

    assert report.sent == 1
    assert server.recorder.messages[0].rcpt_tos == ["lead@example.org", "other@example.org"]
