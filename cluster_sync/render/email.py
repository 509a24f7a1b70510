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
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2

from cluster_sync import text
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
        attachments: Sequence[Attachment] = (),
        now: datetime,
    ) -> list[Outgoing]:
        """One message, or several when the recipients exceed the per-message limit; each
        part has its own dedupe key and Message-ID."""
        subject, plain, html = self.render(template, context)
        files = [*([attachment] if attachment else []), *attachments]
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
            msg = self._message(subject, plain, html, main, copies, files, now)
            msg["Message-ID"] = self.message_id(key, f"{now.isoformat()}\n{subject}\n{plain}")
            result.append(
                Outgoing(
                    dedupe_key=key,
                    kind=kind,
                    cluster_id=cluster_id,
                    sender=self.sender.email,
                    recipients=tuple(a.email for a in chunk),
                    message=msg,
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
        files: Sequence[Attachment],
        now: datetime,
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = _header(self.sender)
        msg["To"] = [_header(a) for a in to]
        if cc:
            msg["Cc"] = [_header(a) for a in cc]
        msg["Reply-To"] = _header(self.reply_to)
        msg["Date"] = format_datetime(now)
        msg["Auto-Submitted"] = "auto-generated"  # tells vacation responders not to answer
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
        for attachment in files:
            msg.add_attachment(
                attachment.data,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
            )
        return msg


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
