"""RFC 2047 encoded words in UTF-8 for the headers cluster-sync writes (a display name, a
Subject), as the email package's Charset("utf-8") writes them, found with less work."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from email import base64mime, quoprimime
from email.charset import RFC2047_CHROME_LEN, Charset
from itertools import accumulate
from typing import Any

#: the octets an encoded word in quoted-printable writes as one character ("=XX" for others)
_QP_PLAIN = bytes(o for o in range(256) if quoprimime.header_length(bytes([o])) == 1)


def _qp_length(data: bytes) -> int:
    """quoprimime.header_length, counted in C."""
    return len(data) + 2 * len(data.translate(None, _QP_PLAIN))


def base64_length(octets: int) -> int:
    """The base64 characters of that many octets, before any line break (what
    base64mime.header_length counts): 4 for every 3 octets begun."""
    return (octets + 2) // 3 * 4


class _Utf8(Charset):
    """Charset("utf-8"), writing the same encoded words with less work: the email package
    measures a header's encoded length again for every character it adds to a line (its own
    comment calls it brute force), which made a Greek subject cost more than the rest of its
    message. Here each character's encoded length is counted once, and where a line ends is
    found from their running sum. The choice of encoding and the split into lines are the
    package's, step for step (tests/test_header_roundtrip.py compares both on generated
    text)."""

    def __init__(self) -> None:
        super().__init__("utf-8")

    def header_encode(self, string: str) -> str:
        data = string.encode("utf-8")
        return _encoder(data).header_encode(data, "utf-8")

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        quoted = _encoder(string.encode("utf-8")) is quoprimime
        encoder = quoprimime if quoted else base64mime
        extra = len("utf-8") + RFC2047_CHROME_LEN
        octets = [character.encode("utf-8") for character in string]
        # ends[i]: the encoded length (quoted-printable) or the octets (base64) of string[: i + 1]
        ends = list(accumulate(map(_qp_length, octets) if quoted else map(len, octets)))
        lines: list[str | None] = []
        start = low = before = 0  # the current line's start, where it may end, what precedes it
        while True:
            maxlen = next(maxlengths) - extra
            # the most a line may hold: base64 writes 4 characters for every 3 octets begun
            most = maxlen if quoted else maxlen // 4 * 3
            # the first character that does not fit; a line's first character is never
            # measured alone, but for the first line's
            at = bisect_right(ends, before + most, low)
            if at >= len(string):
                break
            if at == start:
                lines.append(None)  # nothing fits on the first line
            else:
                lines.append(encoder.header_encode(b"".join(octets[start:at]), "utf-8"))
            start, low, before = at, at + 1, ends[at - 1] if at else 0
        lines.append(encoder.header_encode(b"".join(octets[start:]), "utf-8"))
        return lines


def _encoder(data: bytes) -> Any:
    """The shorter of base64 and quoted-printable for these octets (quoted-printable on a
    tie), as Charset("utf-8") chooses."""
    return base64mime if base64_length(len(data)) < _qp_length(data) else quoprimime


UTF8 = _Utf8()
