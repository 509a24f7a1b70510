"""Queued messages keep their attachment once, apart, and only until sent; what is delivered is
the message with each file's base64 lines, as the email package writes them, where they go."""

from __future__ import annotations

import email
import email.policy
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from cluster_sync.config import LimitsConfig
from cluster_sync.mailers.outbox import OutboxMailer
from cluster_sync.mailpass import deliver
from cluster_sync.mailqueue import Outgoing, enqueue, requeue
from cluster_sync.model import Address
from cluster_sync.render.email import Attachment, Composer
from cluster_sync.state import State

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CONTEXT = {
    "name": "Γιώργος",
    "title": "Posidonia & <meadows>",
    "cluster_id": "CL-2026-001",
    "submitted": "now",
    "problems": ["p"],
}


def _compose(data: bytes, people: int = 3, limit: int = 100) -> list[Outgoing]:
    composer = Composer(
        TEMPLATES, "CoP <cop@example.org>", "Secretariat <sec@example.org>", "example.org", limit
    )
    everyone = [Address(f"p{n}@example.org", f"Ana Đurđević {n}") for n in range(people)]
    return composer.compose(
        dedupe_key="problems:CL-2026-001:a",
        kind="problems",
        cluster_id="CL-2026-001",
        template="problems",
        context=CONTEXT,
        to=everyone[:1],
        cc=everyone[1:],
        attachment=Attachment("CL-2026-001-posidonia-v1.docx", data),
        now=NOW,
    )


def _base64_as_the_email_package_writes_it(data: bytes) -> bytes:
    reference = EmailMessage()
    reference.add_attachment(data, maintype="application", subtype="octet-stream")
    payload = str(next(iter(reference.iter_attachments())).get_payload())
    return payload.rstrip("\n").replace("\n", "\r\n").encode("ascii")


def test_the_whole_message_has_the_file_where_it_was_left_out() -> None:
    data = os.urandom(40_000)
    (outgoing,) = _compose(data)
    whole = outgoing.as_bytes()
    (at,) = outgoing.offsets
    lines = _base64_as_the_email_package_writes_it(data)
    assert whole == outgoing.raw[:at] + lines + outgoing.raw[at:]
    parsed = email.message_from_bytes(whole, policy=email.policy.default)
    (attached,) = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert attached.get_content() == data
    assert "Đurđević" in str(parsed["Cc"]) and "p2@example.org" in str(parsed["Cc"])


def test_attachment_is_kept_once_and_dropped_once_sent(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    data = os.urandom(40_000)
    parts = _compose(data, people=250)  # split in three messages, one attachment
    with state.transaction():
        for outgoing in parts:
            assert enqueue(state, outgoing, None, NOW)
    assert state.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1
    stored = state.db.execute("SELECT sum(length(raw)) FROM messages").fetchone()[0]
    assert stored < sum(len(p.as_bytes()) for p in parts) - 2 * len(data)

    outbox = OutboxMailer(tmp_path / "outbox")
    report = deliver(state, outbox, LimitsConfig(), clock=lambda: NOW)
    assert report.sent == 3
    written = sorted((tmp_path / "outbox").glob("*.eml"))
    # the outbox adds its own header line in front ("X-Unsent"); the message follows whole
    assert all(f.read_bytes().endswith(p.as_bytes()) for f, p in zip(written, parts, strict=True))
    assert state.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
    assert state.db.execute("PRAGMA freelist_count").fetchone()[0] < 10  # pages given back


class Refusing(OutboxMailer):
    def send(self, envelope):  # type: ignore[no-untyped-def]
        from cluster_sync.mailers.base import PermanentFailure

        raise PermanentFailure("550 5.1.1 no such mailbox")


def test_a_failed_message_keeps_its_attachment_for_a_retry(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    data = os.urandom(1_000)
    (outgoing,) = _compose(data)
    with state.transaction():
        enqueue(state, outgoing, None, NOW)
    report = deliver(state, Refusing(tmp_path / "outbox"), LimitsConfig(), clock=lambda: NOW)
    assert len(report.failed) == 1
    assert state.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1
    assert requeue(state, report.failed[0][0])
    report = deliver(state, OutboxMailer(tmp_path / "outbox"), LimitsConfig(), clock=lambda: NOW)
    assert report.sent == 1
    (written,) = (tmp_path / "outbox").glob("*.eml")
    assert written.read_bytes().endswith(outgoing.as_bytes())


def test_several_attachments_are_each_kept_once_and_put_back_in_order(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    docx, pdf = os.urandom(30_000), os.urandom(20_000)
    composer = Composer(
        TEMPLATES, "CoP <cop@example.org>", "Secretariat <sec@example.org>", "example.org"
    )
    files = [
        Attachment("CL-2026-001-v1.docx", docx),
        Attachment("CL-2026-001-v1.pdf", pdf, "application", "pdf"),
    ]
    parts = [
        composer.compose(
            dedupe_key=f"problems:CL-2026-001:{n}",
            kind="problems",
            cluster_id="CL-2026-001",
            template="problems",
            context=CONTEXT,
            to=[Address("p@example.org", "Ana")],
            attachments=files,
            now=NOW,
        )[0]
        for n in range(2)
    ]
    with state.transaction():
        for outgoing in parts:
            assert enqueue(state, outgoing, None, NOW)
    assert state.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 2
    stored = state.db.execute("SELECT sum(length(raw)) FROM messages").fetchone()[0]
    assert stored < sum(len(p.as_bytes()) for p in parts) - 2 * (len(docx) + len(pdf))

    report = deliver(state, OutboxMailer(tmp_path / "outbox"), LimitsConfig(), clock=lambda: NOW)
    assert report.sent == 2
    for path, outgoing in zip(sorted((tmp_path / "outbox").glob("*.eml")), parts, strict=True):
        assert path.read_bytes().endswith(outgoing.as_bytes())
        parsed = email.message_from_bytes(outgoing.as_bytes(), policy=email.policy.default)
        attached = list(parsed.iter_attachments())  # type: ignore[attr-defined]
        assert [(a.get_filename(), a.get_content()) for a in attached] == [
            ("CL-2026-001-v1.docx", docx),
            ("CL-2026-001-v1.pdf", pdf),
        ]
    assert state.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
