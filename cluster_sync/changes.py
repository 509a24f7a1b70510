"""What changed between the version a partner last received and the new one, in plain words.

Both sides are a registration as stored (Registration.to_json()): dates as ISO text, people and
roadmap lines as small dicts. One line per question that changed, in the form's order, worded
for the partner: "End date: 30 June 2025 → 30 September 2025".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from cluster_sync import form
from cluster_sync.dates import format_date
from cluster_sync.form import Kind

#: a text answer longer than this is reported as changed, not quoted in full
QUOTE_LIMIT = 80
#: at most this many items are named per "added"/"removed" list
MAX_ITEMS = 10
#: not the partner's answers, or never different between two valid versions
SKIPPED = frozenset({"timestamp", "consent", "submitted_at"})


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One plain line per question whose answer differs, in the form's order."""
    lines = []
    for f in form.FIELDS:
        if f.key in SKIPPED or before.get(f.key) == after.get(f.key):
            continue
        describe = _SPECIAL.get(f.key) or _BY_KIND.get(f.kind, _text)
        line = describe(before.get(f.key), after.get(f.key))
        if line:
            lines.append(f"{f.header}: {line}")
    return lines


def _quote(value: object) -> str:
    text = " ".join(str(value or "").split())
    return f"“{text}”" if text else "(empty)"


def _text(old: Any, new: Any) -> str:
    if len(str(old or "")) > QUOTE_LIMIT or len(str(new or "")) > QUOTE_LIMIT:
        return "changed" if old and new else ("now answered" if new else "now empty")
    return f"{_quote(old)} → {_quote(new)}"


def _date(old: Any, new: Any) -> str:
    return f"{_day(old)} → {_day(new)}"


def _day(value: object) -> str:
    try:
        return format_date(date.fromisoformat(str(value)))
    except ValueError:
        return _quote(value)


def _address(old: Any, new: Any) -> str:
    return f"{_person(old)} → {_person(new)}"


def _person(value: object) -> str:
    if not isinstance(value, Mapping):
        return "(empty)"
    name, email = value.get("name") or "", value.get("email") or ""
    return f"{name} <{email}>" if name else str(email)


def _items(old: Any, new: Any, show: Callable[[Any], str] = str) -> str:
    before, after = list(old or []), list(new or [])
    added = [show(i) for i in after if i not in before]
    removed = [show(i) for i in before if i not in after]
    parts = []
    if added:
        parts.append("added " + _some(added))
    if removed:
        parts.append("removed " + _some(removed))
    return "; ".join(parts) or "same items, new order"


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_ITEMS])
    more = len(items) - MAX_ITEMS
    return shown + (f" and {more} more" if more > 0 else "")


def _lines(old: Any, new: Any) -> str:
    return _items(old, new, _quote)


def _participant(p: Mapping[str, Any]) -> str:
    where = ", ".join(x for x in (p.get("organisation"), p.get("country")) if x)
    return f"{p.get('name') or p.get('email')}" + (f" ({where})" if where else "")


def _participants(old: Any, new: Any) -> str:
    """People are matched by address, so a new organisation is a change, not a swap."""
    before = {str(p.get("email", "")).casefold(): p for p in old or []}
    after = {str(p.get("email", "")).casefold(): p for p in new or []}
    added = [_participant(p) for k, p in after.items() if k not in before]
    removed = [_participant(p) for k, p in before.items() if k not in after]
    changed = [
        f"{_participant(before[k])} now {_participant(p)}"
        for k, p in after.items()
        if k in before and p != before[k]
    ]
    parts = []
    if added:
        parts.append("added " + _some(added))
    if removed:
        parts.append("removed " + _some(removed))
    if changed:
        parts.append("changed " + _some(changed))
    return "; ".join(parts) or "same people, new order"


def _roadmap_line(item: Mapping[str, Any]) -> str:
    return f"{_day(item.get('date'))} – {' '.join(str(item.get('activity') or '').split())}"


def _roadmap(old: Any, new: Any) -> str:
    """An activity whose date moved is said so; other lines are added or removed."""
    before, after = list(old or []), list(new or [])
    gone = [i for i in before if i not in after]
    came = [i for i in after if i not in before]
    moved = []
    for item in list(came):
        same = next((g for g in gone if g.get("activity") == item.get("activity")), None)
        if same is not None:
            gone.remove(same)
            came.remove(item)
            moved.append(
                f"{_quote(item.get('activity'))} moved from {_day(same.get('date'))} "
                f"to {_day(item.get('date'))}"
            )
    parts = []
    if came:
        parts.append("added " + _some([_roadmap_line(i) for i in came]))
    if gone:
        parts.append("removed " + _some([_roadmap_line(i) for i in gone]))
    if moved:
        parts.append(_some(moved))
    return "; ".join(parts) or "same lines, new order"


_BY_KIND: dict[Kind, Callable[[Any, Any], str]] = {
    Kind.DATE: _date,
    Kind.EMAIL: _address,
    Kind.CHECKBOXES: _items,
    Kind.LINES: _lines,
}
_SPECIAL: dict[str, Callable[[Any, Any], str]] = {
    "participants": _participants,
    "roadmap": _roadmap,
}
