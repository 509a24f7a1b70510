"""The bytes cluster-sync writes for each email (cluster_sync/render/mime.py) mean exactly what
the email package's own builder makes of the same input: every header's decoded value and every
part's type, parameters and decoded content, for every kind of message, language, recipient
list and attachment; and they keep the RFC limits."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from cluster_sync import keys, text
from cluster_sync.mailqueue import Outgoing
from cluster_sync.model import Address
from cluster_sync.render.email import KEY_HEADER, Attachment, Composer, ascii_address
from cluster_sync.render.mime import encode_text
from cluster_sync.sample import sample_emails

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SENDER = Address("cop@example.org", "Natural Heritage CoP")
REPLY_TO = Address("sec@example.org", "Secretariat")
DOCX = bytes(range(256)) * 160  # every byte value, 40 KB
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 7
ADDRESS_HEADERS = {"from", "to", "cc", "reply-to"}
PARTNER_LANGUAGES = ["en", "fr", "es", "it", "el"]
PEOPLE = [
    Address("ana@example.org", "Ana Đurđević"),
    Address("giorgos@example.gr", "Γιώργος Παπαδόπουλος"),
    Address("plain@example.org", ""),
    Address("doe@example.org", 'Doe, John "JJ" (lead)'),
    Address("tricky@example.org", "=?utf-8?q?not_an_encoded_word?="),
    Address("idn@bücher.example", "Zoë Müller-Lüdenscheidt"),
    Address("zh@example.cn", "王小明"),
    Address("long@example.org", "A very long display name " * 6),
]


def composer(limit: int = 100) -> Composer:
    return Composer(
        TEMPLATES,
        f"{SENDER.name} <{SENDER.email}>",
        f"{REPLY_TO.name} <{REPLY_TO.email}>",
        "example.org",
        limit,
    )


@dataclass(frozen=True)
class Expected:
    built: EmailMessage  # by the email package
    subject: str
    to: Sequence[Address]
    cc: Sequence[Address]


def _box(address: Address) -> HeaderAddress:
    name = text.one_line(address.name, 120)
    local, _, domain = ascii_address(address.email).rpartition("@")
    return HeaderAddress(display_name=name, username=local, domain=domain)


def reference(
    c: Composer,
    key: str,
    rendered: tuple[str, str, str],
    to: Sequence[Address],
    cc: Sequence[Address],
    files: Sequence[Attachment],
    language: str,
    extra: dict[str, str] | None = None,
    key_header: bool = True,
) -> Expected:
    """The message as the email package builds it from the same input."""
    subject, plain, html = rendered
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = _box(c.sender)
    msg["To"] = [_box(a) for a in to]
    if cc:
        msg["Cc"] = [_box(a) for a in cc]
    msg["Reply-To"] = _box(c.reply_to)
    msg["Date"] = format_datetime(NOW)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(plain)
    msg.add_alternative(html, subtype="html")
    for f in files:
        msg.add_attachment(f.data, maintype=f.maintype, subtype=f.subtype, filename=f.filename)
    # after the content: set_content drops every Content-* header set before it
    msg["Message-ID"] = c.message_id(key, f"{NOW.isoformat()}\n{subject}\n{plain}")
    if key_header:
        msg[KEY_HEADER] = key
    msg["Content-Language"] = language
    for name, value in (extra or {}).items():
        msg[name] = value
    return Expected(msg, subject, to, cc)


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    """Every header decoded, but the address headers and the Subject (compared with what was
    meant: see _intended) and the top Content-Type (compared with the parts)."""
    found = []
    for name, value in msg.items():
        assert not value.defects, (name, value.defects)
        if name.lower() not in ADDRESS_HEADERS | {"content-type", "subject"}:
            found.append((name.lower(), str(value)))
    return sorted(found)


def _addresses(msg: EmailMessage) -> dict[str, list[tuple[str, str]]]:
    return {
        name.lower(): [(a.display_name, a.addr_spec) for a in value.addresses]
        for name, value in msg.items()
        if name.lower() in ADDRESS_HEADERS
    }


def _intended(to: Sequence[Address], cc: Sequence[Address]) -> dict[str, list[tuple[str, str]]]:
    """The address headers as they are meant: compared with the input itself, because the email
    package's own folder changes some names (it decodes a name that looks like an encoded
    word, adds a space inside a long one: CPython gh-136052, gh-100884), which is why
    cluster_sync.render.email writes them itself."""

    def boxes(addresses: Sequence[Address]) -> list[tuple[str, str]]:
        return [(b.display_name, b.addr_spec) for b in map(_box, addresses)]

    found = {"from": boxes([SENDER]), "to": boxes(to), "reply-to": boxes([REPLY_TO])}
    return found | ({"cc": boxes(cc)} if cc else {})


def _content(part: EmailMessage) -> Any:
    content = part.get_content()
    # a text part's line breaks are CRLF on the wire whichever way it was encoded
    return content.replace("\r\n", "\n") if isinstance(content, str) else content


def _parts(msg: EmailMessage) -> list[tuple[Any, ...]]:
    return [
        (
            part.get_content_type(),
            sorted((k, v) for k, v in part.get_params() or [] if k != "boundary"),
            part.get_content_disposition(),
            part.get_filename(),
            None if part.is_multipart() else _content(part),
        )
        for part in msg.walk()
    ]


def assert_same(outgoing: Outgoing, expected: Expected) -> None:
    raw = outgoing.as_bytes()
    assert_within_limits(raw)
    ours, theirs = _parse(raw), _parse(expected.built.as_bytes(policy=email.policy.SMTP))
    assert not ours.defects and not any(p.defects for p in ours.walk())
    assert _headers(ours) == _headers(theirs)
    assert _addresses(ours) == _intended(expected.to, expected.cc)
    assert _parts(ours) == _parts(theirs)
    assert outgoing.message_id == str(theirs["Message-ID"])
    # the email package's folder can add a space to a long Subject too (gh-136052)
    assert str(ours["Subject"]) == outgoing.subject == expected.subject


def assert_within_limits(raw: bytes) -> None:
    assert raw.isascii()  # 7-bit clean: headers encoded, bodies quoted-printable or base64
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    head = raw[: raw.index(b"\r\n\r\n")]
    # a folded header line starts with a space; every other one is `Name: value`
    assert all(line[:1] == b" " or b": " in line for line in head.split(b"\r\n"))


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for template, context in sample_emails(date(2026, 11, 25)):
        languages = PARTNER_LANGUAGES if template in ("factsheet", "problems") else ["en"]
        cases += [(template, code, context) for code in languages]
    return cases


@pytest.mark.parametrize(("template", "language", "context"), _cases())
def test_every_kind_and_language_means_what_the_email_package_builds(
    template: str, language: str, context: dict[str, Any]
) -> None:
    c = composer()
    files = [Attachment("CL-2026-001.docx", DOCX)] if template == "factsheet" else []
    key = f"{template}:CL-2026-001:v2"
    (outgoing,) = c.compose(
        dedupe_key=key,
        kind=template,
        cluster_id="CL-2026-001",
        template=template,
        context=context,
        to=PEOPLE[:2],
        cc=PEOPLE[2:],
        attachments=files,
        now=NOW,
        language=language,
    )
    rendered = c.render(template, context, language)
    assert_same(outgoing, reference(c, key, rendered, PEOPLE[:2], PEOPLE[2:], files, language))


def test_the_report_with_several_files_and_a_non_ascii_file_name() -> None:
    c = composer()
    figures = dict.fromkeys(
        ("clusters", "new", "planned", "active", "completed", "organisations", "countries"), 3
    )
    context = {
        "report_title": "Rapport des clusters — Été",
        "period_label": "novembre 2026",
        "generated_on": "25 novembre 2026",
        "draft": 2,
        "summary": "Résumé : 3 clusters, 2 pays.\n" + "Long line without breaks " * 20,
        "figures": {**figures, "thematic_projects": 1},
        "correction": True,
        "filename": "rapport-été.docx",
        "open_problems": 1,
        "awaiting_approval": 2,
        "ending_soon": 0,
        "upcoming": 4,
        "upcoming_weeks": 6,
        "ending_days": 30,
    }
    files = [
        Attachment("rapport-été.docx", DOCX),
        Attachment('report 2026 "final".pdf', PDF, "application", "pdf"),
    ]
    (outgoing,) = c.compose(
        dedupe_key="report:2026-11",
        kind="report",
        cluster_id=None,
        template="report",
        context=context,
        to=[REPLY_TO],
        attachments=files,
        now=NOW,
    )
    assert len(outgoing.offsets) == 2 and outgoing.attachments == (DOCX, PDF)
    rendered = c.render("report", context)
    assert_same(outgoing, reference(c, "report:2026-11", rendered, [REPLY_TO], [], files, "en"))


def test_more_than_the_limit_is_split_and_each_part_means_the_same() -> None:
    c = composer(100)
    people = [Address(f"p{n}@example.org", f"Πρόσωπο {n} Ånström") for n in range(250)]
    rendered = ("Ενημέρωση: " + "μακρύς τίτλος " * 12, "Γεια σας\n" * 30, "<p>Γεια</p>\n")
    files = [Attachment("CL.docx", DOCX)]
    parts = c.compose(
        dedupe_key="factsheet:CL:v1",
        kind="factsheet",
        cluster_id="CL",
        rendered=rendered,
        to=people[:3],
        cc=people[3:],
        attachments=files,
        now=NOW,
        language="el",
    )
    assert [len(p.recipients) for p in parts] == [100, 100, 50]
    for number, part in enumerate(parts, start=1):
        chunk = people[(number - 1) * 100 : number * 100]
        to = [a for a in chunk if a in people[:3]] or chunk[:1]
        cc = [a for a in chunk if a not in to]
        key = keys.part("factsheet:CL:v1", number)
        assert part.dedupe_key == key
        assert_same(part, reference(c, key, rendered, to, cc, files, "el"))


@pytest.mark.parametrize(
    "body",
    [
        "plain ASCII in short lines\n\nsecond paragraph\n",
        "a line far longer than seventy-eight characters, " * 5 + "\nand a short one\n",
        "trailing spaces   \nand a tab\t\n= signs =3D and =\n.\n.starts with a dot\nFrom here\n",
        "Ελληνικά μόνο, κάθε γράμμα εκτός ASCII\n" * 20,
        "中文内容，没有空格的一行" * 20 + "\n",
        "no final line break",
        "",
        "CRLF\r\nline\rbreaks\r\n\r\n",
        "--=_looks-like-a-boundary\n--=_\n",
    ],
)
def test_any_text_body_decodes_to_what_was_given(body: str) -> None:
    c = composer()
    rendered = (f"[TEST] Ünïcode body of {len(body)} characters", body, f"<pre>{body}</pre>")
    (outgoing,) = c.compose(
        dedupe_key="preview:x",
        kind="preview",
        cluster_id="CL",
        rendered=rendered,
        to=[PEOPLE[1]],
        headers={"X-Cluster-Sync-Test": "test send"},
        now=NOW,
        key_header=False,
    )
    expected = reference(
        c,
        "preview:x",
        rendered,
        [PEOPLE[1]],
        [],
        [],
        "en",
        {"X-Cluster-Sync-Test": "test send"},
        key_header=False,
    )
    assert_same(outgoing, expected)
    assert KEY_HEADER.encode() not in outgoing.raw


@pytest.mark.parametrize("text_body", ["ascii\n", "é" * 10 + "\n", "Ω" * 400 + "\n", "a" * 90])
def test_the_transfer_encoding_is_7bit_only_for_short_ascii_lines(text_body: str) -> None:
    encoding, body = encode_text(text_body)
    short_ascii = text_body.isascii() and max(map(len, text_body.splitlines())) <= 78
    assert (encoding == "7bit") == short_ascii
    assert encoding in ("7bit", "quoted-printable", "base64") and body.isascii()


def test_a_message_under_another_message_id_keeps_its_attachments_in_place() -> None:
    c = composer()
    (outgoing,) = c.compose(
        dedupe_key="factsheet:CL:v1",
        kind="factsheet",
        cluster_id="CL",
        rendered=("s", "p\n", "<p>h</p>\n"),
        to=[PEOPLE[0]],
        attachments=[Attachment("a.docx", DOCX), Attachment("b.pdf", PDF, "application", "pdf")],
        now=NOW,
    )
    moved = outgoing.with_message_id("<older-and-longer-message-id@example.org>")
    parsed = _parse(moved.as_bytes())
    assert str(parsed["Message-ID"]) == "<older-and-longer-message-id@example.org>"
    assert [a.get_content() for a in parsed.iter_attachments()] == [DOCX, PDF]
    assert _parts(parsed) == _parts(_parse(outgoing.as_bytes()))


def test_base64_size_is_the_length_written() -> None:
    """A text part's base64 is written only when it is shorter than its quoted-printable,
    measured before it is written: the measure is the written length, for every size."""
    import os

    from cluster_sync.mailstore import base64_lines
    from cluster_sync.render.mime import CRLF, _base64_size

    for octets in [*range(0, 500), 4096, 65_537]:
        assert _base64_size(octets) == len(base64_lines(os.urandom(octets)) + CRLF), octets
