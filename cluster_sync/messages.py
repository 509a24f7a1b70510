"""What cluster-sync says to a partner about their answers, as keys with parameters.

A problem found by validation (cluster_sync/validate.py) or a line of the change list
(cluster_sync/changes.py) is a `Message`: a key into the catalogue below and the values that go in
its `{placeholders}`. `str(message)` is the English sentence that the state, the sheet's status
column and the digest keep; an email to a partner words the same message in the partner's language
from `templates/email/<language>/messages.toml` (cluster_sync/render/languages.py). The English
catalogue lives here, in code, so that every language always has a complete fallback.

Parameters are data, never templates: a partner's answer goes into a sentence as it is, and a
`{name}` inside an answer is never filled in (the sentence is filled once, left to right).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Union

from cluster_sync.dates import format_date, format_moment

#: one placeholder of a catalogue sentence
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

Param = Union[str, int, date, "Message"]

#: key -> English sentence. Every key is also in every messages.toml of templates/email/.
ENGLISH: dict[str, str] = {
    # --- problems with one answer (validate.py) ---------------------------------------------
    "required": "{question} is required but was left empty.",
    "too_long": "{question} is {length} characters long; the limit is {limit}. Please shorten it.",
    "not_an_option": "{question}: “{answer}” is not one of the options ({options}).",
    "not_a_date": "{question} “{answer}” is not a date; write it as 2025-03-15 or {example}.",
    "implausible_date": (
        "{question} ({answer}) is not a plausible date for a cluster; please check the year."
    ),
    "several_addresses": (
        "{question} holds {count} addresses; give one address only "
        "(list the others under {participants})."
    ),
    "address": "{question}: {reason}",
    "invalid_address": "“{address}” is not a valid email address ({detail}).",
    "not_ascii_address": (
        "“{address}” has characters other than Latin letters, digits and "
        "!#$%&'*+-/=?^_`{|}~. before the @, which many mail servers cannot deliver to; "
        "please give an address written with those characters only."
    ),
    "no_address": "no email address was given.",
    "participant_format": (
        "{question}, line {line} (“{text}”) should read “Name; email; organisation; country”."
    ),
    "participant_address": "{question}, line {line} ({name}): {reason}",
    "one_address_per_participant": "give one address per participant.",
    "roadmap_format": (
        "{question}, line {line} (“{text}”) should read “date – activity”, for example "
        "“2025-03-15 – Kick-off webinar”."
    ),
    "consent_missing": (
        "{question} was not given: tick “{option}” so the factsheet can be shared."
    ),
    "consent_wrong": "{question}: “{answer}” is not the consent option.",
    "end_before_start": "{end_question} ({end}) is before {start_question} ({start}).",
    # --- words of the emails themselves -------------------------------------------------------
    "recently": "recently",
    # --- the change list of an updated factsheet (changes.py) ---------------------------------
    "change": "{question}: {change}",
    "change_from_to": "{old} → {new}",
    "change_quoted": "“{text}”",
    "change_empty": "(empty)",
    "change_changed": "changed",
    "change_now_answered": "now answered",
    "change_now_empty": "now empty",
    "change_added": "added {items}",
    "change_removed": "removed {items}",
    "change_altered": "changed {items}",
    "change_more": "{items} and {count} more",
    "change_parts": "{first}; {rest}",
    "change_list": "{first}, {rest}",
    "change_same_items": "same items, new order",
    "change_same_people": "same people, new order",
    "change_same_lines": "same lines, new order",
    "change_person_now": "{before} now {after}",
    "change_person_where": "{name} ({where})",
    "change_roadmap_line": "{date} – {activity}",
    "change_moved": "{activity} moved from {old} to {new}",
}


@dataclass(frozen=True)
class Message:
    """One sentence in words any language can give: a catalogue key and its values."""

    key: str
    params: tuple[tuple[str, Param], ...] = ()

    def __post_init__(self) -> None:
        if self.key not in ENGLISH:
            raise KeyError(f"no message {self.key!r} in cluster_sync/messages.py")

    def __str__(self) -> str:
        return fill(ENGLISH[self.key], self, english)


def msg(key: str, **params: Param) -> Message:
    return Message(key, tuple(params.items()))


def fill(sentence: str, message: Message, show: Callable[[Param], str]) -> str:
    """The sentence with each placeholder replaced by its value as `show` writes it; a
    placeholder the message has no value for is left as written, so a slip shows."""
    values = dict(message.params)

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        return show(values[name]) if name in values else m.group(0)

    return PLACEHOLDER.sub(one, sentence)


def english(value: Param) -> str:
    """A parameter as the English sentences write it (3 March 2025)."""
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)


def joined(key: str, items: list[Message | str]) -> Message | str:
    """Items folded into one message with a two-place key ("a, b, c"), so that each language
    says how a list is joined."""
    if not items:
        return ""
    result: Message | str = items[-1]
    for item in reversed(items[:-1]):
        result = msg(key, first=item, rest=result)
    return result
