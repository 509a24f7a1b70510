"""Every generated message parses back to exactly the intended addresses and subject.

Rows are generated from realistic and hostile names (commas, quotes, parentheses, Greek, Arabic,
emoji, very long names, text that looks like an encoded word) and internationalised domains; each
goes through validation, the factsheet email and the problems email, and every message is parsed
back with the email package's modern parser."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from google_fixtures import answer_row

from cluster_sync import form, text
from cluster_sync.mailqueue import Outgoing
from cluster_sync.model import Address
from cluster_sync.render.email import Composer, ascii_address
from cluster_sync.render.factsheet import factsheet_context
from cluster_sync.validate import parse_addresses, validate_row

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

NAMES = [
    "Núñez, María",
    'Ana "la jefa" Đurđević',
    "Jean-Pierre (OFB) Dupont",
    "Ελένη Παπαδοπούλου",
    "محمد بن عبد الله",
    "שרה לוי",
    "Zoë 😀 Smith",
    "O'Brien, Seán",
    "Dr. A. B. Smith, PhD",
    "=?utf-8?q?not_a_word?=",
    "Łukasz Żółć; Anna",
    "Иван Петров <ivan>",
    "Ελένη Παπαδοπούλου-Καραγιαννοπούλου, Πανεπιστήμιο Αιγαίου, Τμήμα Περιβάλλοντος " * 2,
    "x" * 150,
    "Émilie\\Backslash",
    "",
]
DOMAINS = ["example.org", "bücher.example", "ελληνικά.example", "مثال.example", "uni-split.eu"]
TITLES = [
    "Restoring Posidonia meadows",
    "Ανάκαμψη υγροτόπων: μια πρόκληση",
    "Line one\nBcc: victim@example.org",
    "=?utf-8?b?SGVsbG8=?= looks encoded",
    "حماية الأراضي الرطبة",
    'Emoji 🌊🐢 cluster, with (parentheses) and "quotes"',
    "A" * 120,
]


def _cell(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


def _rows(count: int) -> list[dict[str, str]]:
    rng = random.Random(8)
    usable = [nm for nm in NAMES if ";" not in nm and "<" not in nm]  # others are refused
    rows = []
    for n in range(count):
        people = []
        for p in range(rng.randint(0, 4)):
            name = rng.choice([nm for nm in usable if nm])
            people.append(f"{name}; p{n}.{p}@{rng.choice(DOMAINS)}; Org {p}; France")
        values = dict(
            zip(
                [f.key for f in form.FIELDS],
                answer_row(
                    n,
                    title=rng.choice(TITLES),
                    acronym=rng.choice(["", "ΠΟΣ", "W&T"]),
                    contact_email=_cell(rng.choice(usable), f"contact{n}@{rng.choice(DOMAINS)}"),
                    participants="\n".join(people),
                ),
                strict=True,
            )
        )
        rows.append({k: str(text.safe_value(v)) for k, v in values.items()})
    return rows


def _parsed(outgoing: Outgoing) -> EmailMessage:
    raw = outgoing.as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _addresses(msg: EmailMessage, name: str) -> list[tuple[str, str]]:
    header = msg[name]
    if header is None:
        return []
    assert not header.defects, header.defects
    return [(a.display_name, a.addr_spec) for a in header.addresses]


def _intended(people: list[Address]) -> list[tuple[str, str]]:
    return [(text.one_line(a.name, 120), ascii_address(a.email)) for a in people]


def _composer() -> Composer:
    return Composer(
        TEMPLATES,
        "Natural Heritage CoP, Secretariat (Ελλάδα) <cop@example.org>",
        "Secrétariat <sec@bücher.example>",
        "example.org",
        100,
    )


def test_many_messages_from_hostile_rows_parse_back_exactly() -> None:
    composer = _composer()
    checked = 0
    for n, values in enumerate(_rows(300)):
        outcome = validate_row(values)
        assert outcome.registration is not None, outcome.problems
        reg = outcome.registration
        cluster_id = f"CL-2026-{n:03d}"
        context = factsheet_context(reg, cluster_id, 1, NOW.date())
        context.update(updated=False, short_name=reg.short_name)
        people = reg.recipients()
        [message] = composer.compose(
            dedupe_key=f"factsheet:{cluster_id}:v1",
            kind="factsheet",
            cluster_id=cluster_id,
            template="factsheet",
            context=context,
            to=people[:1],
            cc=people[1:],
            now=NOW,
        )
        msg = _parsed(message)
        assert _addresses(msg, "To") == _intended(people[:1])
        assert _addresses(msg, "Cc") == _intended(people[1:])
        assert _addresses(msg, "From") == [
            ("Natural Heritage CoP, Secretariat (Ελλάδα)", "cop@example.org")
        ]
        assert _addresses(msg, "Reply-To") == [("Secrétariat", "sec@xn--bcher-kva.example")]
        expected = text.one_line(f"Factsheet for your cluster {cluster_id}: {reg.short_name}", 180)
        assert msg["Subject"] == expected
        assert message.recipients == tuple(a for _, a in _intended(people))
        assert all(line.isascii() for line in msg.as_string().splitlines()[:12])
        checked += 1
    assert checked == 300


@pytest.mark.parametrize("title", TITLES)
def test_problems_subject_is_one_line_and_the_body_starts_with_the_greeting(title: str) -> None:
    to = Address("contact@bücher.example", "Núñez, María")
    context = {
        "name": to.name,
        "title": text.safe(title),
        "cluster_id": "CL-2026-001",
        "submitted": "now",
        "problems": ["Start date is required but was left empty."],
    }
    [message] = _composer().compose(
        dedupe_key="problems:x",
        kind="problems",
        cluster_id="CL-2026-001",
        template="problems",
        context=context,
        to=[to],
        now=NOW,
    )
    msg = _parsed(message)
    expected = text.one_line(f"Your cluster registration needs a correction: {title}", 180)
    assert msg["Subject"] == expected
    assert msg["Bcc"] is None
    assert _addresses(msg, "To") == [("Núñez, María", "contact@xn--bcher-kva.example")]
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().startswith("Hello Núñez, María,")


def test_two_non_ascii_names_in_cc_stay_two_addresses() -> None:
    """CPython gh-100884: the comma between them must not end up inside an encoded word."""
    cc = [Address("a@example.org", "Ελένη, Π."), Address("b@example.org", "Σοφία")]
    [message] = _composer().compose(
        dedupe_key="k",
        kind="problems",
        cluster_id=None,
        template="problems",
        context={"name": "", "title": "t", "cluster_id": "x", "submitted": "now", "problems": []},
        to=[Address("c@example.org", "")],
        cc=cc,
        now=NOW,
    )
    assert _addresses(_parsed(message), "Cc") == [
        ("Ελένη, Π.", "a@example.org"),
        ("Σοφία", "b@example.org"),
    ]


@pytest.mark.parametrize("cell", ["jürgen@example.org", "Δοκιμή <δοκιμή@example.org>"])
def test_a_non_ascii_local_part_is_a_clear_problem(cell: str) -> None:
    [(address, error)] = parse_addresses(cell)
    assert address is None
    assert error is not None and "before the @" in error and "many mail servers" in error


def test_an_internationalised_domain_is_accepted_and_sent_in_idna() -> None:
    [(address, error)] = parse_addresses("Ana <ana@bücher.example>")
    assert error is None and address is not None
    assert ascii_address(address.email) == "ana@xn--bcher-kva.example"


def _generated_text(rng: random.Random) -> str:
    """Text of every kind a header meets: ASCII words, accented Latin, Greek, Arabic, CJK,
    emoji, punctuation that quoted-printable escapes, and runs of spaces."""
    alphabets = [
        "abcdefghij KLMNOP 0123456789",
        "àéîõüçñ ÀÉÎÕÜ",
        "αβγδεζηθ ΑΒΓΔ",
        "ابتثجح خد",
        "漢字仮名交じり文",
        "😀🌊🐢🇪🇺",
        '=?_"(),.:;<>@[]\\ \t',
    ]
    pieces = [rng.choice(alphabets) for _ in range(rng.randrange(1, 4))]
    return "".join(rng.choice("".join(pieces)) for _ in range(rng.randrange(1, 260)))


def test_encoded_words_are_the_email_packages() -> None:
    """The composer's faster UTF-8 charset writes exactly the encoded words, and splits a
    subject into exactly the lines, that email.charset.Charset("utf-8") does."""
    from email.charset import Charset
    from email.header import Header

    from cluster_sync.render.encoded_words import UTF8

    stock = Charset("utf-8")
    rng = random.Random(11)
    texts = [*NAMES, *TITLES, *(_generated_text(rng) for _ in range(3000))]
    for value in texts:
        if not value:
            continue
        assert UTF8.header_encode(value) == stock.header_encode(value), value
        for width in (76, 40, 998):
            ours = Header(value, UTF8, header_name="Subject").encode("\n", maxlinelen=width)
            theirs = Header(value, stock, header_name="Subject").encode("\n", maxlinelen=width)
            assert ours == theirs, (value, width)
