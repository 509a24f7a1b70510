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
# Whether the table above has anything to change: a scan for its characters is many times faster
# than str.translate with a dict, and most cells hold none of them.
_TRANSLATABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in _TRANSLATE) + "]")
_BULLET = re.compile(
    r"^\s*(?:[\u2022\u2023\u25aa\u25cf\u25e6\u2043\u2219\u00b7\uf0b7\-\*–—]|\d{1,2}[.)](?!\s*\d{1,2}\.\s*\d{2,4}\b))\s+"
)
_SPACES = re.compile(r"[ ]{2,}")
_JOINERS = "\u200c\u200d"

# What no answer may carry anywhere (a document, a file name, an email, the state, a terminal):
# Unicode noncharacters, lone surrogates (a JSON "\ud800" escape decodes to one and breaks every
# UTF-8 encoder), bidi embeddings, overrides and isolates (they reorder what a reader sees: a
# file name or a status can be made to look like something else), C0 controls other than tab,
# line feed and carriage return, DEL and the C1 controls other than NEL. Right-to-left letters
# (Arabic, Hebrew) are untouched: their direction comes from the letters themselves.
_UNSAFE = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17))
    + "\ud800-\udfff\u202a-\u202e\u2066-\u2069"
    + "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]"
)


def safe(value: str) -> str:
    """A cell's text with what no answer may carry removed (see _UNSAFE); nothing else changes.
    Applied once where a value enters (the source row), so everything downstream is safe.
    Vertical tab and form feed (Word's line and page breaks) become line breaks."""
    if value.isprintable() or value.replace("\n", "").replace("\r", "").isprintable():
        # Every character _UNSAFE names is a control (Cc), a format character (Cf), a
        # surrogate (Cs) or a noncharacter (Cn), none of which is printable, and so are vertical
        # tab and form feed: a cell that is printable but for its line breaks (nearly all of
        # them) is returned as it is, without the much slower scan.
        return value
    return _UNSAFE.sub("", value.replace("\x0b", "\n").replace("\x0c", "\n"))


def safe_value(value: object) -> object:
    """`safe` for a text cell; numbers, dates and booleans are returned as they are."""
    return safe(value) if isinstance(value, str) else value


def excerpt(value: object, limit: int = 60) -> str:
    """A short one-line quotation of an answer for a problem message: a 50,000-character
    answer is quoted by its beginning, never whole (it would fill the email and the state)."""
    return one_line(str(value), limit)


def clean_line(value: str) -> str:
    """One line: NFC, typographic spaces and quotes folded, runs of spaces collapsed, trimmed."""
    text = _translated(unicodedata.normalize("NFC", safe(value)))
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def clean_text(value: str) -> str:
    """A paragraph answer: like clean_line per line, blank lines at both ends removed."""
    text = _translated(unicodedata.normalize("NFC", safe(value).replace("\r\n", "\n")))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _translated(text: str) -> str:
    return text.translate(_TRANSLATE) if _TRANSLATABLE.search(text) else text


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
        # invisible format characters go, but not the joiners that emoji and Persian words need
        text = "".join(
            ch for ch in text if ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
        )
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 organisation`, `2 organisations`, `0 countries` (with plural="countries"): a number
    and the noun that agrees with it, so no sentence needs "(s)"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
