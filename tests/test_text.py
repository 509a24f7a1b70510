"""Cleaning text as partners paste it, without changing what it says."""

from __future__ import annotations

import unicodedata

import pytest

from cluster_sync.text import clean_line, clean_text, fold, one_line, split_lines

CONTROL = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85"]


def has_control(value: str, allow: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allow for ch in value)


# --- clean_line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Blue economy  ", "Blue economy"),
        ("Blue\u00a0economy", "Blue economy"),
        ("Blue\u202feconomy", "Blue economy"),
        ("Blue\u2009economy", "Blue economy"),
        ("Blue\teconomy", "Blue economy"),
        ("Blue \t \u00a0 economy", "Blue economy"),
        ("Blue\u200b economy\u200b", "Blue economy"),
        ("\ufeffBlue economy", "Blue economy"),
        ("eco\u00adnomy", "economy"),
        ("“Blue” economy", '"Blue" economy'),
        ("„Blaue“ Wirtschaft", '"Blaue" Wirtschaft'),
        ("fishers’ ‘communities’", "fishers' 'communities'"),
        ("line one\nline two", "line one line two"),
        ("line one\r\nline two", "line one line two"),
        ("line one\rline two", "line one line two"),
        ("line one\u2028line two\u2029three", "line one line two three"),
        ("Joe\u0308lle Lefe\u0300vre", "Joëlle Lefèvre"),
        ("Marcel·lí Vilà i Roig", "Marcel·lí Vilà i Roig"),
        ("Γιώργος Παπαδόπουλος", "Γιώργος Παπαδόπουλος"),
        ("Ѓорѓи Стојановски", "Ѓорѓи Стојановски"),
        ("Ġorġ Borġ, ċ ħ ż", "Ġorġ Borġ, ċ ħ ż"),
        ("R&D <pilot> 🌊", "R&D <pilot> 🌊"),
        ("", ""),
        ("\u00a0\t\u200b ", ""),
    ],
)
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected


@pytest.mark.parametrize("raw", ["a\nb", "a\r\nb", "a\rb", "a\u2028b", "a\u2029b", "\n\na\n"])
def test_clean_line_leaves_no_line_break(raw: str) -> None:
    cleaned = clean_line(raw)
    assert "\n" not in cleaned and "\r" not in cleaned
    assert len(cleaned.splitlines()) <= 1


def test_clean_line_is_idempotent() -> None:
    raw = "  “Blue”\u00a0economy\t\u200b for fishers’\ncommunities  "
    assert clean_line(clean_line(raw)) == clean_line(raw)


@pytest.mark.parametrize("char", CONTROL)
def test_clean_line_removes_control_characters(char: str) -> None:
    assert not has_control(clean_line(f"Title{char}with{char}text"))


# --- clean_text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("one\ntwo", "one\ntwo"),
        ("one  \r\ntwo\t", "one\ntwo"),
        ("one\rtwo", "one\ntwo"),
        ("\n\n  \none\n\ntwo\n\n\u00a0\n", "one\n\ntwo"),
        ("one\u2028two", "one\ntwo"),
        ("“quoted”\u00a0text\u200b", '"quoted" text'),
        ("  indented\n   also", "indented\nalso"),
        ("Ли\u0301ния", unicodedata.normalize("NFC", "Ли\u0301ния")),
        ("", ""),
        ("\n \n\t\n", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_keeps_inner_blank_lines() -> None:
    assert clean_text("Paragraph one.\n\nParagraph two.") == "Paragraph one.\n\nParagraph two."


@pytest.mark.parametrize("char", CONTROL)
def test_clean_text_removes_control_characters(char: str) -> None:
    assert not has_control(clean_text(f"a{char}b\nc{char}d"), allow="\n")


# --- split_lines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("one\ntwo\nthree", ["one", "two", "three"]),
        ("• one\n• two", ["one", "two"]),
        ("•\tone  \n•\u00a0two\t", ["one", "two"]),
        ("\u25aa one\n\u25cf two\n\u25e6 three\n\uf0b7 four", ["one", "two", "three", "four"]),
        ("- one\n* two\n– three\n— four", ["one", "two", "three", "four"]),
        ("1. one\n2) two\n10. ten", ["one", "two", "ten"]),
        ("\n\none\n\n\n\u00a0\ntwo\n\n", ["one", "two"]),
        ("one\r\ntwo\rthree", ["one", "two", "three"]),
        ("Kick-off – webinar", ["Kick-off – webinar"]),
        ("2025-03-15 – Kick-off", ["2025-03-15 – Kick-off"]),
        ("15.03.2025 – Kick-off", ["15.03.2025 – Kick-off"]),
        ("-5 degrees", ["-5 degrees"]),
        ("", []),
    ],
)
def test_split_lines(raw: str, expected: list[str]) -> None:
    assert split_lines(raw) == expected


# --- fold --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Cluster title", "cluster TITLE"),
        ("Cluster title", "  Cluster   title "),
        ("Cluster title", "Cluster\u00a0title"),
        ("Cluster title", "Cluster\ttitle\n"),
        ("TPs' APs", "TPs’ APs"),
        ("Straße", "STRASSE"),
        ("Joëlle", "Joe\u0308lle"),
    ],
)
def test_fold_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(("a", "b"), [("Thematic", "Territorial"), ("Crete", "Créte")])
def test_fold_different(a: str, b: str) -> None:
    assert fold(a) != fold(b)


# --- one_line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Subject\r\nBcc: victim@example.org", "Subject Bcc: victim@example.org"),
        ("Subject\nX-Injected: yes", "Subject X-Injected: yes"),
        ("a\rb", "a b"),
        ("a\u2028b\u2029c", "a b c"),
        ("a\x00b", "ab"),
        ("a\x07b\x1bc\x7fd", "abcd"),
        ("a\x0bb", "a b"),
        ("a\x0cb", "a b"),
        ("a\x85b", "a b"),
        ("left\u200eright\u202e", "leftright"),
        ("  many   spaces\t\there  ", "many spaces here"),
        ("“Blue” economy", '"Blue" economy'),
        ("Λιβάδια Ποσειδωνίας", "Λιβάδια Ποσειδωνίας"),
    ],
)
def test_one_line(raw: str, expected: str) -> None:
    assert one_line(raw) == expected


@pytest.mark.parametrize("char", [*CONTROL, "\n", "\r", "\u2028", "\u2029", "\u200e", "\u202e"])
def test_one_line_is_safe_for_a_header(char: str) -> None:
    result = one_line(f"Factsheet{char}Bcc: someone@example.org{char}")
    assert not has_control(result)
    assert not any(unicodedata.category(ch) in ("Cf", "Zl", "Zp") for ch in result)
    assert len(result.splitlines()) == 1


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven chars", 11, "eleven chars"[:10] + "…"),
        ("word word word", 10, "word word…"),
        ("Ποσειδωνία " * 5, 12, "Ποσειδωνία…"),
    ],
)
def test_one_line_limit(raw: str, limit: int, expected: str) -> None:
    result = one_line(raw, limit)
    assert result == expected
    assert len(result) <= limit


def test_one_line_default_limit_is_200() -> None:
    result = one_line("x" * 500)
    assert len(result) == 200
    assert result.endswith("…")


def test_safe_takes_out_the_same_characters_as_the_full_scan_for_every_code_point() -> None:
    """`safe` skips its scan for text that is printable but for line breaks: for every
    character, alone and between line breaks, the result is the full scan's."""
    from cluster_sync.text import _UNSAFE, safe

    def scanned(value: str) -> str:
        return _UNSAFE.sub("", value.replace("\x0b", "\n").replace("\x0c", "\n"))

    for code in range(0x110000):
        ch = chr(code)
        for value in (f"a{ch}b", f"\n{ch}\r\n"):
            assert safe(value) == scanned(value), hex(code)


def test_the_fold_table_is_applied_exactly_when_the_scan_finds_one_of_its_characters() -> None:
    """text._translated skips str.translate when no character of the table is in the text:
    the result is the same for every code point."""
    from cluster_sync.text import _TRANSLATE, _translated

    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        sample = f"a{chr(code)}b"
        assert _translated(sample) == sample.translate(_TRANSLATE), hex(code)
