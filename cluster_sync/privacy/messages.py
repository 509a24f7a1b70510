"""An email without one person: off To/Cc, their address and names replaced in the text, and
for a message already sent, the body and attachments replaced by a short note."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, getaddresses

from cluster_sync.privacy.search import (
    REMOVED,
    document_text,
    mentions,
    parse_message,
    redact_text,
)

#: a response's own edit link (the "Edit link" column): it opens answers that name the person
_EDIT_LINK = re.compile(r"https://docs\.google\.com/forms/[^\s\"'<>]*edit2=[^\s\"'<>]*")

KEPT_HEADERS = ("From", "Reply-To", "Date", "Message-ID", "Subject", "In-Reply-To", "References")


def addressees(raw: bytes) -> list[str]:
    message = parse_message(raw)
    values = [str(v) for key in ("To", "Cc") for v in message.get_all(key, [])]
    return [address for _, address in getaddresses(values) if address]


def _headers(source: EmailMessage, target: EmailMessage, address: str, needles: list[str]) -> None:
    for key in KEPT_HEADERS:
        if source[key] is not None:
            target[key] = redact_text(str(source[key]), needles)
    for key in ("To", "Cc"):
        people = getaddresses([str(v) for v in source.get_all(key, [])])
        kept = [formataddr(p) for p in people if p[1] and p[1].casefold() != address.casefold()]
        if kept:
            target[key] = ", ".join(kept)
    if target["To"] is None and target["Cc"] is None:
        target["To"] = "undisclosed-recipients:;"


def _body(source: EmailMessage, target: EmailMessage, needles: list[str], note: str) -> None:
    plain = source.get_body(preferencelist=("plain",))
    html = source.get_body(preferencelist=("html",))
    target.set_content(_clean(str(plain.get_content()), needles) if plain is not None else note)
    if html is not None:
        target.add_alternative(_clean(str(html.get_content()), needles), subtype="html")
    for part in source.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or mentions(document_text(data), needles):
            continue  # an attached document naming them is left out
        maintype, _, subtype = part.get_content_type().partition("/")
        target.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=part.get_filename()
        )


def _clean(text: str, needles: list[str]) -> str:
    return _EDIT_LINK.sub(REMOVED, redact_text(text, needles))


def redact_message(raw: bytes, address: str, needles: list[str], keep_body: bool) -> bytes:
    """`keep_body` for a message still to be sent to others; otherwise only the headers stay
    (the audit trail: who sent what kind of message when, under which Message-ID)."""
    source = parse_message(raw)
    target = EmailMessage()
    _headers(source, target, address, needles)
    note = "The content of this message was removed on an erasure request."
    if keep_body:
        _body(source, target, needles, note)
    else:
        target.set_content(note)
    return target.as_bytes(policy=SMTP)


def pruned_message(raw: bytes) -> bytes:
    """The headers only (retention): recipients, Message-ID, subject and date stay."""
    source = parse_message(raw)
    target = EmailMessage()
    for key in (*KEPT_HEADERS, "To", "Cc"):
        for value in source.get_all(key, []):
            target[key] = str(value)
    target.set_content("The body of this message was pruned after the retention period.")
    return target.as_bytes(policy=SMTP)
