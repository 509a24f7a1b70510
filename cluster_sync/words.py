"""Counted nouns that agree with their numbers: "1 organisation", "2 organisations", never
"organisation(s)". Used by the console, the sheet, the digest (as the `count` filter) and logs."""

from __future__ import annotations

#: plurals that are not the singular plus "s"
_IRREGULAR = {
    "person": "people",
    "country": "countries",
    "delivery": "deliveries",
    "reply": "replies",
    "registration that needs fixing": "registrations that need fixing",
    "address was": "addresses were",
    "submitter was": "submitters were",
    "message is": "messages are",
    "message was": "messages were",
    "it": "they",
}


def plural(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def count(number: int, noun: str, many: str | None = None) -> str:
    """`count(1, "row")` is "1 row"; `count(3, "row")` is "3 rows"; `many` for a plural that
    the rules above do not know."""
    return f"{number} {noun if number == 1 else (many or plural(noun))}"
