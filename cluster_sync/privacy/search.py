"""Where a person appears: plain text, the decoded parts of an email (base64 and
quoted-printable bodies, encoded headers, attached documents) and the text of a .docx."""

from __future__ import annotations

import email
import html
import io
import re
import zipfile
from collections.abc import Iterable
from email import policy
from email.message import EmailMessage
from pathlib import Path

REMOVED = "[removed]"
#: an address inside free text (validation decides what is a valid one; this only finds them)
EMAIL = re.compile(r"[^\s<>(),;:\"'\[\]]+@[^\s<>(),;:\"'\[\]]+\.[A-Za-z]{2,}")
_TAG = re.compile(rb"<[^>]+>")
#: the end of a paragraph, cell or row, a tab or a break: words on either side stay apart
_BREAK = re.compile(rb"</(?:w:p|a:p|w:tc|si|c|row)>|<w:(?:tab|br|cr)/>")


def _bounded(needle: str) -> str:
    """A whole address or name only: anna@x.org is not inside joanna@x.org, Ann not in Anna."""
    if "@" in needle:
        return rf"(?<![\w.+%-]){re.escape(needle)}(?![\w-]|\.\w)"
    return rf"(?<!\w){re.escape(needle)}(?!\w)"


def _pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({n.strip() for n in needles if n and n.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(_bounded(w) for w in words), re.IGNORECASE)


def mentions(text: str, needles: Iterable[str]) -> bool:
    pattern = _pattern(needles)
    return bool(pattern and pattern.search(text))


def redact_text(text: str, needles: Iterable[str]) -> str:
    pattern = _pattern(needles)
    return pattern.sub(REMOVED, text) if pattern else text


def document_text(data: bytes) -> str:
    """The words of a .docx/.xlsx (every XML part, tags removed so split runs join), or the
    bytes read as text for anything else."""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                parts = [
                    _TAG.sub(b"", _BREAK.sub(b"\n", archive.read(name)))
                    for name in archive.namelist()
                    if name.endswith((".xml", ".rels"))
                ]
            return html.unescape(b"\n".join(parts).decode("utf-8", "replace"))
        except zipfile.BadZipFile:
            pass
    return data.decode("utf-8", "replace")


def parse_message(raw: bytes) -> EmailMessage:
    # the default policy makes an EmailMessage (get_body, iter_attachments)
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def message_text(raw: bytes) -> str:
    """Everything a reader of the email could see: the raw bytes, the decoded headers, every
    decoded text part and the words of every attached document."""
    message = parse_message(raw)
    pieces = [raw.decode("utf-8", "replace")]
    pieces += [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            pieces.append(document_text(payload))
    return "\n".join(pieces)


def file_mentions(path: Path, needles: Iterable[str]) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    text = message_text(data) if path.suffix == ".eml" else document_text(data)
    return mentions(text, needles)
