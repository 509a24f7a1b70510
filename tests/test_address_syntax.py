"""address_syntax.check gives email-validator's own verdict and normalised form, and PLAIN
matches only what parseaddr leaves as it is: compared over generated and awkward addresses."""

from __future__ import annotations

import random
from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email

from cluster_sync import address_syntax
from cluster_sync.validate import parse_addresses

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
ODD = ' ."@<>(),;:[]\\éßø\u0301\u200b\u00a0\tİ＠'
DOMAINS = [
    "example.org",
    "EXAMPLE.ORG",
    "Uni-Wien.ac.at",
    "mail.example.co.uk",
    "localhost",
    "test",
    "example.test",
    "x.local",
    "a.b.invalid",
    "foo.onion",
    "1.168.192.in-addr.arpa",
    "example",
    "example.com",
    "org",
    "host.123",
    "123.456",
    "xn--nxasmq6b.com",
    "xn--abc.org",
    "xn--80ak6aa92e.com",
    "ab--cd.org",
    "-lead.org",
    "trail-.org",
    "a.-b.org",
    "a..b.org",
    ".a.org",
    "a.org.",
    "a_b.org",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "bücher.de",
    "münchen.DE",
    "例え.jp",
    "x" * 63 + ".org",
    "x" * 64 + ".org",
    ".".join(["y" * 60] * 4) + ".org",
    ".".join(["z" * 50] * 5),
    "",
]
LOCALS = [
    "info",
    "Postmaster",
    "ABUSE",
    "Sales",
    "a.b",
    "a..b",
    ".a",
    "a.",
    "o'brien",
    "first+tag",
    '"quoted"',
    '"with space"',
    "maría",
    "jürgen",
    "x" * 64,
    "x" * 65,
    "y" * 200,
    "",
]


def _generated(rng: random.Random, n: int) -> list[str]:
    found = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.35:
            length = rng.choice([1, 2, 5, 10, 20, 63, 64, 65, 120, 240])
            local = "".join(rng.choice(ATEXT + "..") for _ in range(length))
        elif kind < 0.5:
            local = "".join(rng.choice(ATEXT + ODD) for _ in range(rng.randrange(0, 12)))
        else:
            local = rng.choice(LOCALS)
        if rng.random() < 0.3:
            labels = rng.randrange(1, 6)
            domain = ".".join(
                "".join(rng.choice("abcXYZ019-") for _ in range(rng.choice([1, 3, 30, 63, 64])))
                for _ in range(labels)
            )
        else:
            domain = rng.choice(DOMAINS)
        found.append(f"{local}@{domain}")
    return found


def corpus() -> list[str]:
    rng = random.Random(20261130)
    extra = [
        "person1.123456@example.org",
        "a@b.co",
        "plain",
        "two@@example.org",
        "a@b@example.org",
        "Name <a@example.org>",
        "a@example.org ",
        " a@example.org",
        "x" * 64 + "@" + ".".join(["d" * 60] * 3) + ".org",
        "x" * 10 + "@" + ".".join(["d" * 61] * 3) + ".org",
    ]
    return extra + _generated(rng, 20000)


def reference(address: str) -> address_syntax.Verdict:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, None, str(exc)
    return checked.normalized, checked.ascii_email, None


def test_the_verdict_is_email_validators_for_every_address() -> None:
    differing = [a for a in corpus() if address_syntax.check(a) != reference(a)]
    assert differing == []


def test_the_corpus_takes_both_paths_and_both_verdicts() -> None:
    """The comparison above means something: many plain addresses are refused for their
    domain or their length, many are accepted, and many take the general path."""
    plain = [a for a in corpus() if address_syntax.PLAIN.fullmatch(a)]
    refused = [a for a in plain if reference(a)[2] is not None]
    changed = [a for a in plain if reference(a)[0] not in (None, a)]
    assert len(plain) > 5000 and len(refused) > 1000 and len(plain) - len(refused) > 1000
    assert changed  # normalised: upper-case domains, Postmaster
    assert len(corpus()) - len(plain) > 5000


def test_a_plain_address_is_what_parseaddr_makes_of_it() -> None:
    plain = [a for a in corpus() if address_syntax.PLAIN.fullmatch(a)]
    assert [a for a in plain if parseaddr(a) != ("", a)] == []


def test_cells_read_the_same_as_before() -> None:
    """The cell parser's words for plain, named and broken addresses."""
    cell = "Ana <ana@example.org>, bob@EXAMPLE.org; Postmaster@example.org bad@example.test"
    found = parse_addresses(cell)
    assert [(a.email, a.name) if a else None for a, _ in found[:3]] == [
        ("ana@example.org", "Ana"),
        ("bob@example.org", ""),
        ("postmaster@example.org", ""),
    ]
    assert found[3][0] is None and "special-use" in str(found[3][1])
