"""The hostile corpus: what partners type, paste or break, each with its exact expected outcome.

A case replaces some answers of an otherwise valid response. It either goes through (`stored`:
the registration's fields exactly as the state keeps them; `shown`: text that must appear
literally in the factsheet) or is refused with exactly `problems`. `needs` names what a source
must be able to hold for the case to apply (an .xlsx cannot hold a NUL, no file a lone
surrogate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HUGE = "Wetlands " * 5556  # 50,004 characters
LATER = "Please shorten it."
NOT_A_DATE = "is not a date; write it as 2025-03-15 or 15/03/2025."
IMPLAUSIBLE = "is not a plausible date for a cluster; please check the year."


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, str]
    problems: tuple[str, ...] = ()
    stored: dict[str, Any] = field(default_factory=dict)
    shown: tuple[str, ...] = ()
    #: what a source must hold: "nul" (C0 controls), "xml-illegal" (U+FFFE, U+FFFF, C0),
    #: "surrogate" (a lone surrogate); documentation only, the kinds test the values
    needs: frozenset[str] = frozenset()
    #: the To header's (display name, address) for a valid row, when the case is about it
    to: tuple[str, str] | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


def _needs(*names: str) -> frozenset[str]:
    return frozenset(names)


CASES: list[Case] = [
    # -- formula text: stored, shown and written as text, never evaluated ---------------------
    Case(
        "formula-hyperlink",
        {"results": '=HYPERLINK("http://evil.example/x","Click me")'},
        stored={"results": '=HYPERLINK("http://evil.example/x","Click me")'},
        shown=('=HYPERLINK("http://evil.example/x","Click me")',),
    ),
    Case(
        "formula-plus",
        {"question": "+1 555 0100 -2+3"},
        stored={"question": "+1 555 0100 -2+3"},
        shown=("+1 555 0100 -2+3",),
    ),
    Case(
        "formula-at",
        {"expertise": "@SUM(A1:A9)"},
        stored={"expertise": "@SUM(A1:A9)"},
        shown=("@SUM(A1:A9)",),
    ),
    Case(
        "formula-dde",
        {"results": "=cmd|' /C calc'!A0"},
        stored={"results": "=cmd|' /C calc'!A0"},
        shown=("=cmd|' /C calc'!A0",),
    ),
    Case(
        "formula-title",
        {"title": "=1+1 wetlands", "acronym": "-2+3"},
        stored={"title": "=1+1 wetlands", "acronym": "-2+3"},
        shown=("=1+1 wetlands",),
    ),
    Case(
        "formula-participant",
        {"participants": "=1+1; p1@example.org; =HYPERLINK(0); France"},
        stored={
            "participants": [
                {
                    "name": "=1+1",
                    "email": "p1@example.org",
                    "organisation": "=HYPERLINK(0)",
                    "country": "France",
                }
            ]
        },
    ),
    # -- template text: data, never a template -----------------------------------------------
    Case(
        "jinja-expression",
        {"title": "{{ 7*7 }} wetlands"},
        stored={"title": "{{ 7*7 }} wetlands"},
        shown=("{{ 7*7 }} wetlands",),
    ),
    Case(
        "jinja-block",
        {"question": "{% for x in range(3) %}loop{% endfor %}"},
        stored={"question": "{% for x in range(3) %}loop{% endfor %}"},
        shown=("{% for x in range(3) %}loop{% endfor %}",),
    ),
    Case(
        "jinja-internals",
        {"expertise": "{{ ''.__class__.__mro__ }} {# x #} {{ config }}"},
        stored={"expertise": "{{ ''.__class__.__mro__ }} {# x #} {{ config }}"},
        shown=("{{ ''.__class__.__mro__ }} {# x #} {{ config }}",),
    ),
    Case(
        "jinja-roadmap",
        {"roadmap": "2025-03-15 – {{ 7*7 }} kick-off"},
        stored={"roadmap": [{"date": "2025-03-15", "activity": "{{ 7*7 }} kick-off"}]},
        shown=("{{ 7*7 }} kick-off",),
    ),
    Case(
        "docxtpl-tags",
        {"results": "{%p if x %}{%tr for r in rows %}{{r}}{%tr endfor %}"},
        stored={"results": "{%p if x %}{%tr for r in rows %}{{r}}{%tr endfor %}"},
        shown=("{%p if x %}{%tr for r in rows %}{{r}}{%tr endfor %}",),
    ),
    # -- XML-breaking text --------------------------------------------------------------------
    Case(
        "xml-cdata",
        {"results": "]]> end of CDATA <![CDATA["},
        stored={"results": "]]> end of CDATA <![CDATA["},
        shown=("]]> end of CDATA <![CDATA[",),
    ),
    Case(
        "xml-word-tags",
        {"question": '<w:t>injected</w:t></w:r><w:r><w:t xml:space="preserve">'},
        stored={"question": '<w:t>injected</w:t></w:r><w:r><w:t xml:space="preserve">'},
        shown=('<w:t>injected</w:t></w:r><w:r><w:t xml:space="preserve">',),
    ),
    Case(
        "xml-ampersand",
        {"title": 'Fish & Chips <b>bold</b> "quoted" &amp; &#x41;'},
        stored={"title": 'Fish & Chips <b>bold</b> "quoted" &amp; &#x41;'},
        shown=('Fish & Chips <b>bold</b> "quoted" &amp; &#x41;',),
    ),
    Case(
        "html-script",
        {"expertise": "<script>alert(1)</script><img src=x onerror=alert(2)>"},
        stored={"expertise": "<script>alert(1)</script><img src=x onerror=alert(2)>"},
        shown=("<script>alert(1)</script><img src=x onerror=alert(2)>",),
    ),
    # -- right-to-left text: kept exactly -----------------------------------------------------
    Case(
        "rtl-arabic",
        {"title": "حماية الأراضي الرطبة", "lead_organisation": "جامعة القاهرة"},
        stored={"title": "حماية الأراضي الرطبة", "lead_organisation": "جامعة القاهرة"},
        shown=("حماية الأراضي الرطبة", "جامعة القاهرة"),
    ),
    Case(
        "rtl-hebrew-mixed",
        {"question": 'שיקום בתי גידול (דו"ח 2025) and English'},
        stored={"question": 'שיקום בתי גידול (דו"ח 2025) and English'},
        shown=('שיקום בתי גידול (דו"ח 2025) and English',),
    ),
    Case(
        "rtl-persian-zwnj",
        {"contact_person": "مهسا\u200cزاده"},
        stored={"contact_person": "مهسا\u200cزاده"},
    ),
    # -- bidi controls, noncharacters, surrogates, control characters: removed ---------------
    Case(
        "bidi-override",
        {"title": "Wetlands \u202egnp.exe\u202c plan"},
        stored={"title": "Wetlands gnp.exe plan"},
        shown=("Wetlands gnp.exe plan",),
    ),
    Case(
        "bidi-isolates",
        {"acronym": "\u2066ABC\u2069\u2067D\u2068E\u2069", "lead_organisation": "\u202aOFB\u202b"},
        stored={"acronym": "ABCDE", "lead_organisation": "OFB"},
    ),
    Case(
        "nonchar-fffe",
        {"title": "Posidonia\ufffe meadows"},
        stored={"title": "Posidonia meadows"},
        shown=("Posidonia meadows",),
        needs=_needs("xml-illegal"),
    ),
    Case(
        "nonchar-planes",
        {"question": "a\uffffb \U0001fffe\U0010ffffc \ufdd0d"},
        stored={"question": "ab c d"},
        needs=_needs("xml-illegal"),
    ),
    Case(
        "nonchar-fdd0",
        {"results": "x\ufdd0y\ufdefz"},
        stored={"results": "xyz"},
    ),
    Case(
        "lone-surrogate-title",
        {"title": "Coastal \ud800dunes \udfff"},
        stored={"title": "Coastal dunes"},
        shown=("Coastal dunes",),
        needs=_needs("surrogate"),
    ),
    Case(
        "lone-surrogate-email-name",
        {"contact_email": "Ana \udc80Núñez <ana.nunez@example.org>"},
        stored={"contact_email": {"email": "ana.nunez@example.org", "name": "Ana Núñez"}},
        to=("Ana Núñez", "ana.nunez@example.org"),
        needs=_needs("surrogate"),
    ),
    Case(
        "c0-controls",
        {"contact_person": "Ana\x00\x07 Núñez\x1b[31m"},
        stored={"contact_person": "Ana Núñez[31m"},
        needs=_needs("nul", "xml-illegal"),
    ),
    Case(
        "c1-controls-del",
        {"lead_organisation": "Office\x9b fran\x7fçais\x80"},
        stored={"lead_organisation": "Office français"},
    ),
    Case(
        "invisible-only-title",
        {"title": "\u202e\u2066\u200b\ufeff"},
        problems=("Cluster title is required but was left empty.",),
    ),
    # -- line breaks and header injection ----------------------------------------------------
    Case(
        "title-line-break-bcc",
        {"title": "Line one\r\nBcc: victim@example.org\nSubject: hi", "acronym": ""},
        stored={"title": "Line one Bcc: victim@example.org Subject: hi"},
        shown=("Line one Bcc: victim@example.org Subject: hi",),
    ),
    Case(
        "title-unicode-line-separators",
        {"title": "Part one\u2028Part two\u2029Part three\x85end", "acronym": ""},
        stored={"title": "Part one Part two Part three end"},
    ),
    Case(
        "contact-person-crlf",
        {"contact_person": "Ana\r\nBcc: x@example.org"},
        stored={"contact_person": "Ana Bcc: x@example.org"},
    ),
    Case(
        "contact-email-injection",
        {"contact_email": "ana@example.org\r\nBcc: victim@example.org"},
        problems=(
            "Contact email holds 2 addresses; give one address only (list the others under "
            "Participants).",
        ),
    ),
    Case(
        "contact-email-two-names",
        {"contact_email": "Evil <a@example.org>, Bcc <b@example.org>"},
        problems=(
            "Contact email holds 2 addresses; give one address only (list the others under "
            "Participants).",
        ),
    ),
    # -- internationalised and awkward addresses ---------------------------------------------
    Case(
        "idn-domain",
        {"contact_email": "Jürgen Groß <kontakt@bücher.example>"},
        stored={"contact_email": {"email": "kontakt@bücher.example", "name": "Jürgen Groß"}},
        to=("Jürgen Groß", "kontakt@xn--bcher-kva.example"),
    ),
    Case(
        "greek-name-with-comma",
        {"contact_email": "Παπαδοπούλου, Ελένη <eleni@example.gr>"},
        stored={"contact_email": {"email": "eleni@example.gr", "name": "Παπαδοπούλου, Ελένη"}},
        to=("Παπαδοπούλου, Ελένη", "eleni@example.gr"),
    ),
    Case(
        "emoji-and-quotes-name",
        {"contact_email": '"Zoë 🌊 (OFB), \\"boss\\"" <zoe@example.org>'},
        stored={"contact_email": {"email": "zoe@example.org", "name": 'Zoë 🌊 (OFB), "boss"'}},
        to=('Zoë 🌊 (OFB), "boss"', "zoe@example.org"),
    ),
    Case(
        "encoded-word-lookalike-name",
        {"contact_email": "=?utf-8?q?Admin?= <ana@example.org>"},
        stored={"contact_email": {"email": "ana@example.org", "name": "=?utf-8?q?Admin?="}},
        to=("=?utf-8?q?Admin?=", "ana@example.org"),
    ),
    Case(
        "non-ascii-local-part",
        {"contact_email": "jürgen@example.org"},
        problems=(
            "Contact email: “jürgen@example.org” has characters other than Latin letters, "
            "digits and !#$%&'*+-/=?^_`{|}~. before the @, which many mail servers cannot "
            "deliver to; please give an address written with those characters only.",
        ),
    ),
    # -- huge answers: refused, quoted by a short excerpt only -------------------------------
    Case(
        "huge-paragraph",
        {"question": HUGE},
        problems=(
            f"Question or need addressed is 50003 characters long; the limit is 3000. {LATER}",
        ),
    ),
    Case(
        "huge-choice",
        {"cluster_type": "Thematic" + "x" * 50000},
        problems=(
            "Cluster type: “Thematicxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…” is "
            "not one of the options (Thematic; Territorial).",
        ),
    ),
    Case(
        "huge-paragraph-32k",
        {"results": "Wetlands " * 3555},
        problems=(f"TP results to transfer is 31994 characters long; the limit is 3000. {LATER}",),
    ),
    Case(
        "huge-date",
        {"start_date": "First week of March " * 2500},
        problems=(
            f"Start date “First week of March First week of March First week of March…” {NOT_A_DATE}",
        ),
    ),
    # -- impossible dates ---------------------------------------------------------------------
    Case(
        "date-31-february",
        {"start_date": "31/02/2025"},
        problems=(f"Start date “31/02/2025” {NOT_A_DATE}",),
    ),
    Case(
        "date-year-0001",
        {"start_date": "0001-01-01"},
        problems=(f"Start date (0001-01-01) {IMPLAUSIBLE}",),
    ),
    Case(
        "date-9999-12-31",
        {"end_date": "9999-12-31"},
        problems=(f"End date (9999-12-31) {IMPLAUSIBLE}",),
    ),
    Case(
        "date-end-before-start",
        {"start_date": "30/06/2025", "end_date": "03/02/2025"},
        problems=("End date (3 February 2025) is before Start date (30 June 2025).",),
    ),
    # -- scripts and symbols ------------------------------------------------------------------
    Case(
        "emoji-zwj-title",
        {"title": "Sea 🌊 turtles 🐢 family 👨\u200d👩\u200d👧"},
        stored={"title": "Sea 🌊 turtles 🐢 family 👨\u200d👩\u200d👧"},
        shown=("Sea 🌊 turtles 🐢 family 👨\u200d👩\u200d👧",),
    ),
    Case(
        "greek-cyrillic-long",
        {"lead_organisation": "Περιφέρεια Κρήτης – Регионална дирекция по горите " * 3},
        stored={
            "lead_organisation": ("Περιφέρεια Κρήτης – Регионална дирекция по горите " * 3).strip()
        },
    ),
    Case(
        "word-paste-objectives",
        {"objectives": "• Map sites\x0b– Share methods\x0c1. Train\u00a0staff"},
        stored={"objectives": ["Map sites", "Share methods", "Train staff"]},
    ),
    Case(
        "consent-with-bidi",
        {
            "consent": "\u202eI agree that this information is published in the factsheet and in "
            "CoP reports\u202c"
        },
        stored={"consent": True},
    ),
]
