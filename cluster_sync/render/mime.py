"""The bytes of an email, written directly for the one shape cluster-sync sends: a plain-text
and an HTML alternative, and attached files after them.

The email package's builder (EmailMessage, set_content, add_attachment, as_bytes) parses every
header it is given into its header registry, rebuilds the message tree for each part added and
flattens it all again on output: 5 ms of the 13 ms each factsheet email cost. What it produces
for these messages is fixed, so it is written here once per message, with the same choices:

- headers come already encoded and folded (cluster_sync.render.email builds them): ASCII
  only, one mailbox or encoded word per line, CRLF line ends, as the SMTP policy writes them;
- a text part is 7bit when it is ASCII in lines of at most 78 characters; otherwise
  quoted-printable or base64, whichever is shorter (the email package's own rule, but never
  8bit, which would need the server's 8BITMIME), its line breaks written as CRLF;
- each attached file is base64 in lines of 76 characters; its lines are not written here but
  left for the queue to put in (cluster_sync/mailstore.py keeps each file once), so that what
  is built here is what the state stores, and the message is flattened only once.

tests/test_mime.py parses what is written here with the email package and compares every
header and part with what the email package builds for the same input.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from cluster_sync.mailstore import base64_lines
from cluster_sync.render.encoded_words import base64_length

CRLF = b"\r\n"
#: the longest line the 7bit form keeps (the email package's max_line_length)
SHORT_LINE = 78


#: a message body in order; an int stands for the base64 lines of that attached file
Pieces = list[bytes | int]


@dataclass(frozen=True)
class Written:
    """A message without its attachments' base64 lines, and where each file's lines go."""

    raw: bytes
    offsets: tuple[int, ...]


def header(name: str, lines: Sequence[str]) -> bytes:
    """One header, its value given as folded lines (each continuation starts with a space)."""
    if any("\r" in line or "\n" in line for line in lines):
        raise ValueError(f"the {name} header cannot hold a line break")
    try:
        return (f"{name}: " + "\r\n ".join(lines) + "\r\n").encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"the {name} header must be encoded before it is written") from None


def text_part(subtype: str, content: str) -> bytes:
    """A text/plain or text/html part, headers and body, UTF-8."""
    encoding, body = encode_text(content)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode("ascii")
        + body
    )


def encode_text(content: str) -> tuple[str, bytes]:
    """(transfer encoding, body ending with CRLF) for a UTF-8 text."""
    lines = content.encode("utf-8").splitlines()
    if content.isascii() and all(len(line) <= SHORT_LINE for line in lines):
        return "7bit", CRLF.join(lines) + CRLF
    # binascii's quoted-printable keeps line breaks as they are given and soft-breaks at 76
    quoted = binascii.b2a_qp(b"\n".join(lines) + b"\n", quotetabs=False, istext=True)
    quoted = quoted.replace(b"\n", CRLF)
    data = CRLF.join(lines) + CRLF
    # base64's length is known before it is written: written only when it is the shorter
    if _base64_size(len(data)) < len(quoted):
        return "base64", base64_lines(data) + CRLF
    return "quoted-printable", quoted


def _base64_size(octets: int) -> int:
    """len(base64_lines(data) + CRLF) for `octets` bytes of data: its characters in lines of
    76, each ending with CRLF."""
    characters = base64_length(octets)
    return characters + 2 * max(1, -(-characters // 76))


def attachment_head(filename: str, maintype: str, subtype: str) -> bytes:
    """The headers of an attached file's part, the blank line after them included."""
    return (
        f"Content-Type: {maintype}/{subtype}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment;\r\n {filename_parameter(filename)}\r\n\r\n"
    ).encode("ascii")


def filename_parameter(filename: str) -> str:
    """`filename="…"` for a plain ASCII name; RFC 2231 `filename*=utf-8''…` for any other."""
    if filename.isascii() and filename.isprintable():
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'filename="{escaped}"'
    return f"filename*=utf-8''{quote(filename, safe='')}"


def boundary(*contents: bytes) -> str:
    """A boundary no part's line can start with: `=_` appears in neither quoted-printable nor
    base64, and a 7bit text part is checked."""
    while True:
        candidate = f"=_{secrets.token_hex(12)}"
        marker = f"--{candidate}".encode("ascii")
        if not any(marker in content for content in contents):
            return candidate


def multipart(subtype: str, parts: Sequence[Pieces]) -> tuple[bytes, Pieces]:
    """(its Content-Type header, its body): each part given as pieces, where an int stands
    for the base64 lines of that attached file."""
    mark = boundary(*(p for part in parts for p in part if isinstance(p, bytes)))
    delimiter = f"--{mark}\r\n".encode("ascii")
    body: Pieces = []
    for part in parts:
        body += [delimiter, *part, CRLF]
    body.append(f"--{mark}--\r\n".encode("ascii"))
    return header("Content-Type", [f"multipart/{subtype};", f'boundary="{mark}"']), body


def message(headers: bytes, plain: bytes, html: bytes, attached: Sequence[bytes]) -> Written:
    """The whole message: `headers` (written with `header`), the two text parts (from
    `text_part`), then one part per file (its `attachment_head`; the lines are left out)."""
    content_type, body = multipart("alternative", [[plain], [html]])
    if attached:
        files: list[Pieces] = [[head, number, CRLF] for number, head in enumerate(attached)]
        content_type, body = multipart("mixed", [[content_type, CRLF, *body], *files])
    out: list[bytes] = []
    offsets: list[int] = []
    at = 0
    for piece in [headers, b"MIME-Version: 1.0\r\n", content_type, CRLF, *body]:
        if isinstance(piece, int):
            offsets.append(at)  # pieces come in file order
            continue
        out.append(piece)
        at += len(piece)
    return Written(b"".join(out), tuple(offsets))
