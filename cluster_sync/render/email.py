"""Emails from jinja2 templates in templates/email/: a plain-text and an HTML alternative each.

The first line of every `*.txt.j2` template is `Subject: …`. Form text only ever reaches a
template as data (HTML templates autoescape it) and reaches a header through one_line() and
Python's header encoding, so a newline in a cluster title cannot add a header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header as EmailHeader
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import jinja2

from cluster_sync import mailstore, text
from cluster_sync.errors import TemplateError
from cluster_sync.mailqueue import Outgoing
from cluster_sync.model import Address

DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = DOCX_TYPE[0]
    subtype: str = DOCX_TYPE[1]


class Composer:
    """Builds messages ready to queue, with stable Message-IDs."""

    def __init__(
        self,
        templates: Path,
        sender: str,
        reply_to: str,
        domain: str,
        max_recipients: int = 100,
    ) -> None:
        self.templates = templates
        self.sender = _parse_one(sender, "mail.from")
        self.reply_to = _parse_one(reply_to, "mail.reply_to")
        self.domain = domain
        self.max_recipients = max_recipients
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def message_id(self, dedupe_key: str, content: str = "") -> str:
        """Stable for one queued message (its bytes are stored with it), and different for
        different content under the same key: after a state database is restored from an old
        backup, a new "v2" must not reuse the Message-ID of the v2 sent before, or receivers
        that collapse duplicates would drop it."""
        digest = hashlib.sha256(f"{dedupe_key}\0{content}".encode()).hexdigest()[:32]
        return f"<{digest}@{self.domain}>"

    def render(self, name: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, plain text, html) from `name.txt.j2` and `name.html.j2`."""
        try:
            plain = self.env.get_template(f"{name}.txt.j2").render(context)
            html = self.env.get_template(f"{name}.html.j2").render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"The email template {self.templates / str(exc.name)} is missing.",
                hint="restore it from templates/email/ in the cluster-sync distribution.",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"The email template {exc.filename or exc.name} line {exc.lineno}: {exc.message}."
            ) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"An email template {name}.*.j2 uses a tag that does not exist: {exc.message}.",
                hint="docs/templates.md lists the tags each email template can use.",
            ) from None
        first, _, body = plain.partition("\n")
        if not first.startswith("Subject:"):
            raise TemplateError(f"The email template {name}.txt.j2 must start with 'Subject: '.")
        return text.one_line(first.removeprefix("Subject:"), 180), body.lstrip("\n"), html

    def compose(
        self,
        *,
        dedupe_key: str,
        kind: str,
        cluster_id: str | None,
        template: str,
        context: dict[str, Any],
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        attachment: Attachment | None = None,
        now: datetime,
    ) -> list[Outgoing]:
        """One message, or several when the recipients exceed the per-message limit; each
        part has its own dedupe key and Message-ID."""
        subject, plain, html = self.render(template, context)
        everyone = [*to, *cc]
        chunks = [
            everyone[i : i + self.max_recipients]
            for i in range(0, len(everyone), self.max_recipients)
        ]
        result = []
        for number, chunk in enumerate(chunks, start=1):
            key = dedupe_key if len(chunks) == 1 else f"{dedupe_key}#{number}"
            main = [a for a in chunk if a in to] or chunk[:1]
            copies = [a for a in chunk if a not in main]
            msg = self._message(subject, plain, html, main, copies, attachment, now)
            msg["Message-ID"] = self.message_id(key, f"{now.isoformat()}\n{subject}\n{plain}")
            result.append(
                Outgoing(
                    dedupe_key=key,
                    kind=kind,
                    cluster_id=cluster_id,
                    sender=self.sender.email,
                    recipients=tuple(a.email for a in chunk),
                    message=msg,
                    attachment=attachment.data if attachment else None,
                )
            )
        return result

    def _message(
        self,
        subject: str,
        plain: str,
        html: str,
        to: Sequence[Address],
        cc: Sequence[Address],
        attachment: Attachment | None,
        now: datetime,
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        _addresses(msg, "From", [self.sender])
        _addresses(msg, "To", to)
        if cc:
            _addresses(msg, "Cc", cc)
        _addresses(msg, "Reply-To", [self.reply_to])
        # ASCII values the package would only parse and write back as they are
        msg.set_raw("Date", format_datetime(now))
        msg.set_raw("Auto-Submitted", "auto-generated")  # vacation responders do not answer
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
        if attachment:
            # The base64 of the attachment is left out here and put in by the queue, which
            # stores it once (cluster_sync/mailstore.py); Outgoing.as_bytes() gives it whole.
            msg.add_attachment(
                b"",
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
            )
            slot = list(msg.iter_attachments())[-1]
            slot.set_payload(mailstore.SLOT + "\n")
        return msg


def _addresses(msg: EmailMessage, name: str, addresses: Sequence[Address]) -> None:
    """An address header, folded here: one address a line, a long encoded name over several.
    The email package's header objects would parse and refold every address list again when
    the message is written, most of the time of composing a factsheet email to twenty people.
    Addresses outside ASCII (SMTPUTF8) take the package's way."""
    try:
        value = ",\n ".join(_folded(a) for a in addresses)
    except UnicodeEncodeError:
        value = ""
    lines = f"{name}: {value}".split("\n")
    if value and all(len(line) <= 78 for line in lines):
        msg.set_raw(name, value)
    else:
        msg[name] = [_header(a) for a in addresses]


def _folded(address: Address) -> str:
    addr = f"<{address.email.encode('ascii').decode()}>"
    name = text.one_line(address.name, 120)
    if not name:
        return addr
    if name.isascii():
        shown = formataddr((name, "x@x")).removesuffix(" <x@x>")  # quoted when it must be
    else:
        shown = EmailHeader(name, "utf-8", maxlinelen=76).encode(linesep="\n")
    last = shown.rsplit("\n", 1)[-1]
    return f"{shown}\n {addr}" if len(last) + len(addr) > 72 else f"{shown} {addr}"


def _header(address: Address) -> HeaderAddress:
    name = text.one_line(address.name, 120)
    local, _, domain = address.email.rpartition("@")
    return HeaderAddress(display_name=name, username=local, domain=domain)


def _parse_one(value: str, key: str) -> Address:
    from cluster_sync.validate import parse_addresses

    found = parse_addresses(value)
    address, error = found[0]
    if address is None or len(found) != 1:
        raise TemplateError(f"{key} = {value!r} is not one email address: {error or ''}")
    return address
