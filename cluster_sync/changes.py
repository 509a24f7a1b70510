"""What changed between the version a partner last received and the new one, in plain words.

Both sides are a registration as stored (Registration.to_json()): dates as ISO text, people and
roadmap lines as small dicts. One line per question that changed, in the form's order, worded
for the partner: "End date: 30 June 2025 → 30 September 2025". Each line is a Message
(cluster_sync/messages.py), so an email words it in its own language; str() is the English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from cluster_sync import form
from cluster_sync.form import Kind
from cluster_sync.messages import Message, Param, joined, msg

#: a text answer longer than this is reported as changed, not quoted in full
QUOTE_LIMIT = 80
#: at most this many items are named per "added"/"removed" list
MAX_ITEMS = 10
#: not the partner's answers, or never different between two valid versions
SKIPPED = frozenset({"timestamp", "consent", "submitted_at"})


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One plain English line per question whose answer differs, in the form's order."""
    return [str(line) for line in change_messages(before, after)]


def change_messages(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Message]:
    """describe_changes, each line in words any language can give."""
    lines = []
    for f in form.FIELDS:
        if f.key in SKIPPED or before.get(f.key) == after.get(f.key):
            continue
        describe = _SPECIAL.get(f.key) or _BY_KIND.get(f.kind, _text)
        line = describe(before.get(f.key), after.get(f.key))
        lines.append(msg("change", question=f.header, change=line))
    return lines


def _quote(value: object) -> Message:
    text = " ".join(str(value or "").split())
    return msg("change_quoted", text=text) if text else msg("change_empty")


def _text(old: Any, new: Any) -> Param:
    if len(str(old or "")) > QUOTE_LIMIT or len(str(new or "")) > QUOTE_LIMIT:
        key = (
            "change_changed"
            if old and new
            else ("change_now_answered" if new else "change_now_empty")
        )
        return msg(key)
    return msg("change_from_to", old=_quote(old), new=_quote(new))


def _date(old: Any, new: Any) -> Param:
    return msg("change_from_to", old=_day(old), new=_day(new))


def _day(value: object) -> Param:
    """A date in the email's own words (3 mars 2025); what is not a date, quoted."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return _quote(value)


def _address(old: Any, new: Any) -> Param:
    return msg("change_from_to", old=_person(old), new=_person(new))


def _person(value: object) -> Param:
    if not isinstance(value, Mapping):
        return msg("change_empty")
    name, email = value.get("name") or "", value.get("email") or ""
    return f"{name} <{email}>" if name else str(email)


def _listed(added: Sequence[Param], removed: Sequence[Param], same: str) -> Param:
    parts: list[Message | str] = []
    if added:
        parts.append(msg("change_added", items=_some(added)))
    if removed:
        parts.append(msg("change_removed", items=_some(removed)))
    return joined("change_parts", parts) or (msg(same) if same else "")


def _items(old: Any, new: Any, show: Callable[[Any], Param] = str) -> Param:
    before, after = list(old or []), list(new or [])
    added = [show(i) for i in after if i not in before]
    removed = [show(i) for i in before if i not in after]
    return _listed(added, removed, "change_same_items")


def _some(items: Sequence[Param]) -> Param:
    shown = joined("change_list", [_plain(i) for i in items[:MAX_ITEMS]])
    more = len(items) - MAX_ITEMS
    return msg("change_more", items=shown, count=more) if more > 0 else shown


def _plain(item: Param) -> Message | str:
    return item if isinstance(item, Message) else str(item)


def _lines(old: Any, new: Any) -> Param:
    return _items(old, new, _quote)


def _participant(p: Mapping[str, Any]) -> Param:
    where = ", ".join(x for x in (p.get("organisation"), p.get("country")) if x)
    name = f"{p.get('name') or p.get('email')}"
    return msg("change_person_where", name=name, where=where) if where else name


def _participants(old: Any, new: Any) -> Param:
    """People are matched by address, so a new organisation is a change, not a swap."""
    before = {str(p.get("email", "")).casefold(): p for p in old or []}
    after = {str(p.get("email", "")).casefold(): p for p in new or []}
    added = [_participant(p) for k, p in after.items() if k not in before]
    removed = [_participant(p) for k, p in before.items() if k not in after]
    changed = [
        msg("change_person_now", before=_participant(before[k]), after=_participant(p))
        for k, p in after.items()
        if k in before and p != before[k]
    ]
    listed = _listed(added, removed, "change_same_people")
    if not changed:
        return listed
    altered = msg("change_altered", items=_some(changed))
    return msg("change_parts", first=listed, rest=altered) if added or removed else altered


def _roadmap_line(item: Mapping[str, Any]) -> Message:
    activity = " ".join(str(item.get("activity") or "").split())
    return msg("change_roadmap_line", date=_day(item.get("date")), activity=activity)


def _roadmap(old: Any, new: Any) -> Param:
    """An activity whose date moved is said so; other lines are added or removed."""
    before, after = list(old or []), list(new or [])
    gone = [i for i in before if i not in after]
    came = [i for i in after if i not in before]
    moved: list[Param] = []
    for item in list(came):
        same = next((g for g in gone if g.get("activity") == item.get("activity")), None)
        if same is not None:
            gone.remove(same)
            came.remove(item)
            moved.append(
                msg(
                    "change_moved",
                    activity=_quote(item.get("activity")),
                    old=_day(same.get("date")),
                    new=_day(item.get("date")),
                )
            )
    listed = _listed([_roadmap_line(i) for i in came], [_roadmap_line(i) for i in gone], "")
    if not moved:
        return listed if came or gone else msg("change_same_lines")
    return msg("change_parts", first=listed, rest=_some(moved)) if came or gone else _some(moved)


_BY_KIND: dict[Kind, Callable[[Any, Any], Param]] = {
    Kind.DATE: _date,
    Kind.EMAIL: _address,
    Kind.CHECKBOXES: _items,
    Kind.LINES: _lines,
}
_SPECIAL: dict[str, Callable[[Any, Any], Param]] = {
    "participants": _participants,
    "roadmap": _roadmap,
}
