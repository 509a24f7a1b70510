"""Turn one raw response row into a Registration, or into the list of everything wrong with it.

Every rule reports in the words of the form ("End date (3 March 2025) is before Start date
(1 April 2025)"), and a row is always checked in full, so the submitter fixes everything at once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cluster_sync import address_syntax, form, text
from cluster_sync.dates import _YEARS as PLAUSIBLE_YEARS
from cluster_sync.dates import (
    SERIAL_EPOCH,
    DateOrder,
    DateParseError,
    parse_date,
    parse_datetime,
)
from cluster_sync.form import Field
from cluster_sync.messages import Message, msg
from cluster_sync.model import Address, Participant, Problem, Registration, RoadmapItem

# Older names of options that still circulate (the domain's long name of WG3).
OPTION_ALIASES = {
    text.fold("WG3 Valorisation of the socio-economic value of biodiversity"): form.WORKING_GROUPS[
        2
    ],
}
_ROADMAP = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-] ?\d{1,2}[./-] ?\d{2,4}\.?"
    r"|\d{1,2}\.?\s+[^\W\d]+\.?,?\s+\d{4}|[^\W\d]+\.?\s+\d{1,2},?\s+\d{4})"
    r"\s*(?:[–—:|]|-(?=\s)|\s-\s)?\s*(?P<activity>.*)$"
)


@dataclass
class Outcome:
    """What validation made of one row."""

    registration: Registration | None
    problems: list[Problem] = field(default_factory=list)
    submitted_at: datetime | None = None

    @property
    def valid(self) -> bool:
        return self.registration is not None


@dataclass
class _Checker:
    values: Mapping[str, Any]
    order: DateOrder
    tz: ZoneInfo | None
    problems: list[Problem] = field(default_factory=list)

    def problem(self, f: Field, message: Message) -> None:
        self.problems.append(Problem(f.header, str(message), message))

    def raw(self, key: str) -> Any:
        value = self.values.get(key)
        return value.strip() if isinstance(value, str) else value

    def is_blank(self, key: str) -> bool:
        value = self.raw(key)
        if isinstance(value, str) and "!" <= value[:1] <= "~":
            return False  # printable ASCII: nothing text.clean_text does can remove it
        return value is None or (isinstance(value, str) and not text.clean_text(value))

    def required(self, key: str) -> bool:
        """False (and a problem) when a required answer is empty."""
        f = form.FIELDS_BY_KEY[key]
        if self.is_blank(key):
            if f.required:
                self.problem(f, msg("required", question=f.header))
            return False
        return True

    def limited(self, f: Field, value: str) -> str:
        if f.max_length and len(value) > f.max_length:
            self.problem(
                f, msg("too_long", question=f.header, length=len(value), limit=f.max_length)
            )
        return value

    def line(self, key: str) -> str:
        f = form.FIELDS_BY_KEY[key]
        return self.limited(f, text.clean_line(str(self.raw(key)))) if self.required(key) else ""

    def paragraph(self, key: str) -> str:
        f = form.FIELDS_BY_KEY[key]
        return self.limited(f, text.clean_text(str(self.raw(key)))) if self.required(key) else ""

    def lines(self, key: str) -> list[str]:
        f = form.FIELDS_BY_KEY[key]
        if not self.required(key):
            return []
        cleaned = self.limited(f, text.clean_text(str(self.raw(key))))
        return text.split_lines(cleaned)

    def choice(self, key: str) -> str:
        f = form.FIELDS_BY_KEY[key]
        if not self.required(key):
            return ""
        answer = text.clean_line(str(self.raw(key)))
        match = _match_option(answer, f.options)
        if match is None:
            self.problem(f, _not_an_option(f, answer))
            return ""
        return match

    def checkboxes(self, key: str) -> tuple[str, ...]:
        f = form.FIELDS_BY_KEY[key]
        if not self.required(key):
            return ()
        chosen, unknown = split_checkboxes(str(self.raw(key)), f.options)
        if unknown and not f.allows_other:
            for item in unknown:
                self.problem(f, _not_an_option(f, item))
        return tuple(chosen + (unknown if f.allows_other else []))

    def date(self, key: str) -> date | None:
        f = form.FIELDS_BY_KEY[key]
        if not self.required(key):
            return None
        raw = self.raw(key)
        try:
            found: date | None = parse_date(raw, self.order)
        except DateParseError:
            found = _implausible(raw)  # only ever a date outside the plausible years
        if found is None:
            example = _order_example(self.order)
            answer = text.excerpt(raw)
            self.problem(f, msg("not_a_date", question=f.header, answer=answer, example=example))
            return None
        if not PLAUSIBLE_YEARS[0] <= found.year <= PLAUSIBLE_YEARS[1]:
            # the same for a typed date, a date cell and a serial number, whatever the source
            self.problem(f, msg("implausible_date", question=f.header, answer=found.isoformat()))
            return None
        return found

    def email(self, key: str) -> Address | None:
        f = form.FIELDS_BY_KEY[key]
        if not self.required(key):
            return None
        found = _addresses(str(self.raw(key)))
        if len(found) > 1:
            people = form.FIELDS_BY_KEY["participants"].header
            self.problem(
                f,
                msg("several_addresses", question=f.header, count=len(found), participants=people),
            )
            return None
        address, error = found[0]
        if error:
            self.problem(f, msg("address", question=f.header, reason=error))
        return address


def _implausible(raw: Any) -> date | None:
    """A real calendar date outside the plausible years (year 1, 9999-12-31, or the serial
    number a sheet makes of such a date cell), so the problem can name it as a date; None for
    anything else. Never a date to accept: only for the message."""
    try:
        if isinstance(raw, date):  # a date cell (dates.py refuses it out of the years)
            found = raw.date() if isinstance(raw, datetime) else raw
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            found = (SERIAL_EPOCH + timedelta(days=int(raw))).date()
        elif isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            found = date.fromisoformat(raw.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return None if PLAUSIBLE_YEARS[0] <= found.year <= PLAUSIBLE_YEARS[1] else found


def parse_addresses(cell: str) -> list[tuple[Address | None, str | None]]:
    """Every address in a cell, each with either its Address or the reason it is not valid.
    Accepts display names ("Ana Đurđević <ana@example.org>", "Núñez, María <m@example.org>")
    and addresses separated by commas, semicolons, new lines or spaces."""
    return [(address, None if error is None else str(error)) for address, error in _addresses(cell)]


def _addresses(cell: str) -> list[tuple[Address | None, Message | None]]:
    """parse_addresses, each reason in words any language can give."""
    import email.utils

    results: list[tuple[Address | None, Message | None]] = []
    for part in _address_parts(cell):
        if "<" in part and part.rstrip().endswith(">"):
            # "Name <addr>" taken apart by hand: parseaddr trips over commas inside names
            name, addr = part[: part.index("<")].strip(), part[part.index("<") + 1 : -1].strip()
        elif address_syntax.PLAIN.fullmatch(part):
            name, addr = "", part  # what parseaddr makes of it, without its cost
        else:
            name, addr = email.utils.parseaddr(part)
            if not addr or " " in addr:
                name, addr = "", part
        normalized, plain, error = address_syntax.check(addr)
        if error is not None:
            reason = msg("invalid_address", address=text.excerpt(part), detail=error)
            results.append((None, reason))
            continue
        if plain is None or normalized is None:
            # Such an address needs SMTPUTF8 at every server on the way; many lack it, and the
            # message would bounce or be mangled. Refused, with what to do instead.
            results.append((None, msg("not_ascii_address", address=text.excerpt(part))))
            continue
        results.append((Address(normalized, _unquote(text.clean_line(name))), None))
    return results or [(None, msg("no_address"))]


def _unquote(name: str) -> str:
    """A display name without its enclosing quotes, escapes undone ("Núñez, \\"M\\"")."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


def _address_parts(cell: str) -> list[str]:
    """Split a cell into one text per address; a piece without "@" is part of the next
    piece's display name (a comma inside a name)."""
    cleaned = text.clean_line(cell)
    pieces = [
        p.strip() for p in re.split(r"[,;]|\s+(?=[^\s<>\"]+@[^\s<>\"]+\s*(?:$|[,;]))", cleaned)
    ]
    parts: list[str] = []
    pending = ""
    for piece in pieces:
        if not piece:
            continue
        if "@" not in piece:
            pending = f"{pending}, {piece}" if pending else piece
            continue
        parts.append(f"{pending}, {piece}" if pending and "<" in piece else piece)
        if pending and "<" not in piece:
            parts.insert(len(parts) - 1, pending)
        pending = ""
    if pending:
        parts.append(pending)
    return parts


def split_checkboxes(cell: str, options: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Google joins checkbox answers with ", " but options may contain commas themselves:
    take known options out first (longest first), then split what is left."""
    rest = text.clean_line(cell)
    found: list[tuple[int, str]] = []
    for option, pattern in _option_patterns(options):
        m = pattern.search(rest)
        if m:
            found.append((m.start(1), option))
            rest = rest[: m.start(1)] + "\0" * len(m.group(1)) + rest[m.end(1) :]
    unknown: list[str] = []
    for item in (p.strip(" \0") for p in rest.split(",")):
        if not item:
            continue
        alias = OPTION_ALIASES.get(text.fold(item)) or _match_option(item, options)
        if alias:
            found.append((len(found) * 1000, alias))
        else:
            unknown.append(item)
    chosen = list(dict.fromkeys(option for _, option in sorted(found)))
    return chosen, unknown


@functools.lru_cache(maxsize=64)
def _option_patterns(options: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each option with the pattern that finds it as a whole answer, between commas (or the
    ends), never inside an "Other" text; longest first."""
    return tuple(
        (option, re.compile(rf"(?:^|,)\s*({re.escape(option)})\s*(?=,|$)", re.IGNORECASE))
        for option in sorted(options, key=len, reverse=True)
    )


def _match_option(answer: str, options: tuple[str, ...]) -> str | None:
    key = text.fold(answer)
    folded = _folded(options)
    return folded[key] if key in folded else OPTION_ALIASES.get(key)


@functools.lru_cache(maxsize=64)
def _folded(options: tuple[str, ...]) -> dict[str, str]:
    """Each option under its folded form, the first one where two fold alike: folded once,
    not for every answer (the country list is folded for every participant otherwise)."""
    found: dict[str, str] = {}
    for option in options:
        found.setdefault(text.fold(option), option)
    return found


def _not_an_option(f: Field, answer: str) -> Message:
    options = "; ".join(f.options)
    return msg("not_an_option", question=f.header, answer=text.excerpt(answer), options=options)


def _order_example(order: DateOrder) -> str:
    return {"DMY": "15/03/2025", "MDY": "03/15/2025", "YMD": "2025/03/15"}[order]


def _participants(c: _Checker) -> tuple[Participant, ...]:
    f = form.FIELDS_BY_KEY["participants"]
    people: list[Participant] = []
    for number, line in enumerate(c.lines("participants"), start=1):
        parts = [p.strip() for p in line.split(";")]
        while len(parts) > 4 and not parts[-1]:
            parts.pop()
        if len(parts) != 4 or not all(parts[:3]):
            shown = text.one_line(line, 80)
            c.problem(f, msg("participant_format", question=f.header, line=number, text=shown))
            continue
        name, cell, organisation, country = parts
        found = _addresses(cell)
        address, error = found[0]
        if error or address is None or len(found) > 1:
            reason = error or msg("one_address_per_participant")
            who = text.excerpt(name)
            c.problem(
                f,
                msg("participant_address", question=f.header, line=number, name=who, reason=reason),
            )
            continue
        country = _match_option(country, form.COUNTRIES) or country
        people.append(Participant(name, address.email, organisation, country))
    return tuple(people)


def _roadmap(c: _Checker) -> tuple[RoadmapItem, ...]:
    f = form.FIELDS_BY_KEY["roadmap"]
    items: list[RoadmapItem] = []
    for number, line in enumerate(c.lines("roadmap"), start=1):
        m = _ROADMAP.match(line)
        when = None
        activity = m["activity"].strip(" -–—:|") if m else ""
        if m and activity:
            try:
                when = parse_date(m["date"], c.order)
            except DateParseError:
                when = None
        if when is None or m is None:
            shown = text.one_line(line, 80)
            c.problem(f, msg("roadmap_format", question=f.header, line=number, text=shown))
            continue
        items.append(RoadmapItem(when, activity))
    return tuple(sorted(items, key=lambda item: item.date))


def _consent(c: _Checker, wording: str) -> bool:
    f = form.FIELDS_BY_KEY["consent"]
    if c.is_blank("consent"):
        c.problem(f, msg("consent_missing", question=f.header, option=wording))
        return False
    answer = str(c.raw("consent"))
    if text.fold(answer) == text.fold(wording) or form.is_ticked(answer):
        return True
    c.problem(f, msg("consent_wrong", question=f.header, answer=text.one_line(answer, 80)))
    return False


def _date_order(c: _Checker, start: date | None, end: date | None) -> None:
    if start and end and end < start:
        f, first = form.FIELDS_BY_KEY["end_date"], form.FIELDS_BY_KEY["start_date"]
        said = msg(
            "end_before_start",
            end_question=f.header,
            end=end,
            start_question=first.header,
            start=start,
        )
        c.problem(f, said)


def _submitted_at(c: _Checker) -> datetime | None:
    try:
        return (
            None if c.is_blank("timestamp") else parse_datetime(c.raw("timestamp"), c.order, c.tz)
        )
    except DateParseError:
        return None  # the Timestamp is Google's, not the partner's: never a reason to reject


def validate_row(
    values: Mapping[str, Any],
    order: DateOrder = "DMY",
    tz: ZoneInfo | None = None,
    consent: str = form.CONSENT_TEXT,
) -> Outcome:
    """Check every question of one response and build its Registration when nothing is wrong."""
    c = _Checker(values, order, tz)
    respondent = None
    if not c.is_blank("respondent_email"):
        respondent = c.email("respondent_email")
    start, end = c.date("start_date"), c.date("end_date")
    _date_order(c, start, end)
    fields: dict[str, Any] = dict(
        title=c.line("title"),
        acronym=c.line("acronym"),
        question=c.paragraph("question"),
        objectives=tuple(c.lines("objectives")),
        working_groups=c.checkboxes("working_groups"),
        cluster_type=c.choice("cluster_type"),
        lead_organisation=c.line("lead_organisation"),
        lead_country=c.choice("lead_country"),
        lead_role=c.choice("lead_role"),
        contact_person=c.line("contact_person"),
        contact_email=c.email("contact_email"),
        participant_categories=c.checkboxes("participant_categories"),
        thematic_projects=c.checkboxes("thematic_projects"),
        participants=_participants(c),
        results=c.paragraph("results"),
        transfer_levels=c.checkboxes("transfer_levels"),
        outcomes=c.checkboxes("outcomes"),
        roadmap=_roadmap(c),
        expertise=c.paragraph("expertise"),
        consent=_consent(c, consent),
    )
    submitted = _submitted_at(c)
    if c.problems:
        return Outcome(None, c.problems, submitted)
    registration = Registration(
        **fields,
        start_date=start,  # type: ignore[arg-type]  # not None: no problems were found
        end_date=end,  # type: ignore[arg-type]
        respondent_email=respondent,
        submitted_at=submitted,
        language=text.one_line(str(c.raw(form.PREFERRED_LANGUAGE.key) or ""), 80),
    )
    return Outcome(registration, [], submitted)


def is_blank_row(values: Mapping[str, Any]) -> bool:
    """A row with no answer at all (a deleted response leaves one behind); an edit link alone
    is not an answer."""
    return all(
        v is None or (isinstance(v, str) and not text.clean_line(v))
        for k, v in values.items()
        if k != form.EDIT_LINK.key
    )
