"""Emails from jinja2 templates in templates/email/: a plain-text and an HTML alternative each.

The first line of every `*.txt.j2` template is `Subject: …`. Form text only ever reaches a
template as data (HTML templates autoescape it). A line break inside a value never ends the
Subject line: values are rendered with their line breaks marked, so the Subject is exactly the
template's first line, made one line, and the body what follows it.

Address and Subject headers are built here, not by the email package's folding: each mailbox is
encoded on its own (a non-ASCII display name as one encoded word, a domain in IDNA), one mailbox a
line. On the Pythons this project supports, the package's folder can turn the comma between two
addresses into part of an encoded word, merging them (CPython gh-100884), and can add a space to
a name (gh-136052); every header here parses back to exactly the intended addresses and subject.
The message's bytes are written by cluster_sync/render/mime.py, once: what is queued is what is
delivered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import jinja2
from email_validator import EmailNotValidError, validate_email

from cluster_sync import keys, text
from cluster_sync.errors import TemplateError
from cluster_sync.mailqueue import Outgoing
from cluster_sync.messages import Message
from cluster_sync.model import Address, Problem
from cluster_sync.render import mime
from cluster_sync.render.encoded_words import UTF8
from cluster_sync.render.languages import ENGLISH_CODE, PARTNER_TEMPLATES, Language, Languages

# Marks a line break that came from a value, not from the template (a noncharacter: no answer
# can hold one, text.safe removes them where answers enter).
_VALUE_BREAK = "\ufdd0"
KEY_HEADER = "X-Cluster-Sync-Key"
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
        self.languages = Languages(templates)
        self._envs: dict[str, jinja2.Environment] = {}
        self._fallbacks_told: set[tuple[str, str]] = set()
        # the same in every message it composes
        self._sender_lines = address_lines([self.sender])
        self._reply_to_lines = address_lines([self.reply_to])
        #: the Date header of each moment (a run's messages share one)
        self._dates: dict[tuple[datetime, Any], bytes] = {}

    def environment(self, code: str) -> jinja2.Environment:
        """Templates in one language: its folder first, then the English ones beneath, with
        dates and messages written in that language wherever a template shows them."""
        if code not in self._envs:
            language = self.languages.get(code)
            folders = [str(language.folder)] if language.folder else []
            self._envs[code] = jinja2.Environment(
                loader=jinja2.FileSystemLoader([*folders, str(self.templates)]),
                autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                finalize=_finalizer(language),
                # the Composer lives for one run (or one command): its templates are read
                # and compiled once (jinja's cache), not checked for changes at every render
                auto_reload=False,
            )
        return self._envs[code]

    def _date(self, now: datetime) -> bytes:
        key = (now, now.tzinfo)  # the same moment in another zone is written otherwise
        found = self._dates.get(key)
        if found is None:
            found = self._dates[key] = mime.header("Date", [format_datetime(now)])
        return found

    def message_id(self, dedupe_key: str, content: str = "") -> str:
        """Stable for one queued message (its bytes are stored with it), and different for
        different content under the same key: after a state database is restored from an old
        backup, a new "v2" must not reuse the Message-ID of the v2 sent before, or receivers
        that collapse duplicates would drop it."""
        digest = hashlib.sha256(f"{dedupe_key}\0{content}".encode()).hexdigest()[:32]
        return f"<{digest}@{self.domain}>"

    def render(
        self, name: str, context: dict[str, Any], language: str = ENGLISH_CODE
    ) -> tuple[str, str, str]:
        """(subject, plain text, html) from `name.txt.j2` and `name.html.j2`, in the given
        language's folder when it has them (else the English ones, and a warning)."""
        self._fallbacks(name, self.languages.get(language))
        env = self.environment(language)  # its cache keeps each template compiled
        try:
            plain = env.get_template(f"{name}.txt.j2").render(context)
            html = env.get_template(f"{name}.html.j2").render(context)
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
        subject = text.one_line(first.removeprefix("Subject:").replace(_VALUE_BREAK, " "), 180)
        body = body.lstrip("\n").replace(_VALUE_BREAK, "\n")
        return subject, body, html.replace(_VALUE_BREAK, "\n")

    def _fallbacks(self, name: str, language: Language) -> None:
        if language.folder is None or name not in PARTNER_TEMPLATES:
            return
        if (name, language.code) in self._fallbacks_told:
            return  # said once per run (Language.once), and the folder is read once
        self._fallbacks_told.add((name, language.code))
        for suffix in ("txt", "html"):
            if not (language.folder / f"{name}.{suffix}.j2").exists():
                language.once(
                    f"template:{name}.{suffix}",
                    f"{language.folder} has no {name}.{suffix}.j2; that part of the "
                    f"{language.name} emails is written from the English template",
                )

    def compose(
        self,
        *,
        dedupe_key: str,
        kind: str,
        cluster_id: str | None,
        template: str = "",
        context: dict[str, Any] | None = None,
        rendered: tuple[str, str, str] | None = None,
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        attachment: Attachment | None = None,
        attachments: Sequence[Attachment] = (),
        headers: dict[str, str] | None = None,
        now: datetime,
        language: str = ENGLISH_CODE,
        key_header: bool = True,
    ) -> list[Outgoing]:
        """One message, or several when the recipients exceed the per-message limit; each
        part has its own dedupe key and Message-ID. The text comes from `template` rendered
        with `context` in `language`, or is given `rendered` as (subject, plain text, html).
        `headers` are added as they are (our own tokens, never partner text); `key_header`
        False leaves out the X-Cluster-Sync-Key (a preview is never a queued message)."""
        language = self.languages.get(language).code
        subject, plain, html = rendered or self.render(template, context or {}, language)
        files = [*([attachment] if attachment else []), *attachments]
        everyone = [*to, *cc]
        chunks = [
            everyone[i : i + self.max_recipients]
            for i in range(0, len(everyone), self.max_recipients)
        ]
        # What every part has in common is written once: a split message repeats its text
        # and its files.
        same = _Shared(
            subject=mime.header("Subject", subject_header(subject)),
            sender=mime.header("From", self._sender_lines),
            reply_to=mime.header("Reply-To", self._reply_to_lines),
            date=self._date(now),
            plain=mime.text_part("plain", plain),
            html=mime.text_part("html", html),
            files=[mime.attachment_head(f.filename, f.maintype, f.subtype) for f in files],
            # a code from a folder name, never partner text; then our own tokens (hashes)
            trailer=b"".join(
                mime.header(name, [value])
                for name, value in [("Content-Language", language), *(headers or {}).items()]
            ),
        )
        result = []
        for number, chunk in enumerate(chunks, start=1):
            key = dedupe_key if len(chunks) == 1 else keys.part(dedupe_key, number)
            main = [a for a in chunk if a in to] or chunk[:1]
            copies = [a for a in chunk if a not in main]
            message_id = self.message_id(key, f"{now.isoformat()}\n{subject}\n{plain}")
            written = same.message(main, copies, message_id, key if key_header else None)
            result.append(
                Outgoing(
                    dedupe_key=key,
                    kind=kind,
                    cluster_id=cluster_id,
                    sender=ascii_address(self.sender.email),
                    recipients=tuple(ascii_address(a.email) for a in chunk),
                    message_id=message_id,
                    subject=subject,
                    raw=written.raw,
                    offsets=written.offsets,
                    attachments=tuple(f.data for f in files),
                )
            )
        return result


@dataclass(frozen=True)
class _Shared:
    """The written headers and parts that every part of one (split) message shares."""

    subject: bytes
    sender: bytes
    reply_to: bytes
    date: bytes
    plain: bytes
    html: bytes
    files: list[bytes]
    trailer: bytes

    def message(
        self, to: Sequence[Address], cc: Sequence[Address], message_id: str, key: str | None
    ) -> mime.Written:
        headers = [
            self.subject,
            self.sender,
            mime.header("To", address_lines(to)),
            mime.header("Cc", address_lines(cc)) if cc else b"",
            self.reply_to,
            self.date,
            b"Auto-Submitted: auto-generated\r\n",  # tells vacation responders not to answer
            mime.header("Message-ID", [message_id]),
            # What the state calls this message: a lost or restored state database finds
            # what was already delivered again in the outbox (see cluster_sync/recovery.py).
            mime.header(KEY_HEADER, [key]) if key is not None else b"",
            self.trailer,
        ]
        return mime.message(b"".join(headers), self.plain, self.html, self.files)


def _shown(value: Any, language: Language) -> Any:
    """A value as a template shows it: a problem or a message in the email's language, a date
    in its words (3 mars 2025); anything else as it is."""
    if isinstance(value, Problem):
        return language.say(value.text) if value.text is not None else value.message
    if isinstance(value, Message | date):  # a datetime is a date too
        return language.value(value)
    return value


def _mark_breaks(value: Any) -> Any:
    return value.replace("\n", _VALUE_BREAK) if isinstance(value, str) else value


def _finalizer(language: Language) -> Callable[[Any], Any]:
    """What a template shows for each value (`_shown`, its line breaks marked), with each
    date written once per language: a date is the same words in every email, and babel
    takes longer to write one than jinja to render the rest of an expression."""
    dates: dict[date, Any] = {}

    def finalize(value: Any) -> Any:
        if type(value) is str:  # most values: answers as they are
            return value.replace("\n", _VALUE_BREAK)
        if type(value) is date:  # never a datetime, written in its own zone
            shown = dates.get(value)
            if shown is None:
                shown = dates[value] = _mark_breaks(_shown(value, language))
            return shown
        return _mark_breaks(_shown(value, language))

    return finalize


def ascii_address(address: str) -> str:
    """The address as it goes on the wire: the domain in IDNA ("xn--…"). Addresses with a
    non-ASCII part before the @ never get this far: validation refuses them."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise TemplateError(
            f"The address {address!r} cannot be written in a header: {exc}"
        ) from None
    return f"{local}@{checked.ascii_domain}"


def mailbox(address: Address) -> str:
    """One mailbox, alone: `Name <a@b>`, the name quoted when it holds specials, or one
    RFC 2047 encoded word when it is not plain ASCII (or looks like an encoded word itself)."""
    addr = ascii_address(address.email)
    name = text.one_line(address.name, 120)
    if not name:
        return addr
    if name.isascii() and "=?" not in name:
        return formataddr((name, addr))
    return f"{UTF8.header_encode(name)} <{addr}>"


def address_lines(addresses: Sequence[Address]) -> list[str]:
    """An address header's folded lines: one mailbox a line, a comma after all but the last."""
    boxes = [mailbox(a) for a in addresses]
    return [box + ("," if i < len(boxes) - 1 else "") for i, box in enumerate(boxes)]


def subject_header(subject: str) -> list[str]:
    """The Subject's folded lines: plain ASCII folded at spaces, anything else as encoded words
    (the unstructured Subject joins adjacent encoded words back exactly)."""
    if subject.isascii() and "=?" not in subject:
        lines: list[str] = []
        for word in subject.split(" "):  # one_line left single spaces only
            if lines and len(lines[-1]) + 1 + len(word) <= 76:
                lines[-1] += " " + word
            else:
                lines.append(word)  # the fold's leading space stands for the one split on
        return lines
    encoded = Header(subject, UTF8, header_name="Subject").encode(linesep="\n", maxlinelen=76)
    return [line.strip() for line in encoded.split("\n")]


def _parse_one(value: str, key: str) -> Address:
    from cluster_sync.validate import parse_addresses

    found = parse_addresses(value)
    address, error = found[0]
    if address is None or len(found) != 1:
        raise TemplateError(f"{key} = {value!r} is not one email address: {error or ''}")
    return address
