"""Clean up text as partners type or paste it (often from Word) without changing what it says."""

from __future__ import annotations

import re
import unicodedata

# Word and web pages bring typographic characters; we keep accents and scripts untouched and only
# fold the characters that break matching, splitting or layout.
_TRANSLATE = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2007": " ",
        "\u2009": " ",
        "\u200b": "",  # zero-width space
        "\ufeff": "",  # byte order mark pasted mid-text
        "\u00ad": "",  # soft hyphen
        "\t": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2028": "\n",
        "\u2029": "\n",
        "\r": "\n",
        "\x0b": "\n",  # Word's manual line break
        "\x0c": "\n",  # page break
        "\x85": "\n",
    }
    # other control characters break XML (the .docx) and email headers: dropped
    | {c: None for c in [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F]}
)
_BULLET = re.compile(
    r"^\s*(?:[\u2022\u2023\u25aa\u25cf\u25e6\u2043\u2219\u00b7\uf0b7\-\*–—]|\d{1,2}[.)](?!\s*\d{1,2}\.\s*\d{2,4}\b))\s+"
)
_SPACES = re.compile(r"[ ]{2,}")


def clean_line(value: str) -> str:
    """One line: NFC, typographic spaces and quotes folded, runs of spaces collapsed, trimmed."""
    text = unicodedata.normalize("NFC", value).translate(_TRANSLATE)
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def clean_text(value: str) -> str:
    """A paragraph answer: like clean_line per line, blank lines at both ends removed."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).translate(_TRANSLATE)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def split_lines(value: str) -> list[str]:
    """Non-empty lines of a paragraph answer, with list bullets ("•", "-", "1.") removed."""
    return [_BULLET.sub("", line).strip() for line in clean_text(value).split("\n") if line.strip()]


def fold(value: str) -> str:
    """Key for case- and spacing-insensitive comparison (headers, options, titles)."""
    return " ".join(clean_line(value).casefold().split())


def one_line(value: str, limit: int = 200) -> str:
    """Text safe for a single-line context such as an email header or a sheet status cell."""
    text = " ".join(clean_line(value).split())
    if not text.isprintable():  # printable text has no Cc/Cf character: skip the slow scan
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 organisation`, `2 organisations`, `0 countries` (with plural="countries"): a number
    and the noun that agrees with it, so no sentence needs "(s)"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
