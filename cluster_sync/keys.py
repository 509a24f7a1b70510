"""Dedupe keys: what the mail queue calls each message, built and read here only.

A key is never queued twice (the `messages` table holds it unique), so a key says exactly which
message a crash must not send again. A message split because it has too many recipients is
queued as parts `KEY#1`, `KEY#2`, ...
"""

from __future__ import annotations

import re

#: a Cluster ID as cluster-sync makes them (CL-2025-007)
CLUSTER_ID = r"[A-Z]{1,6}-\d{4}-\d{3,5}"
_PART = r"(?:#\d+)?"
FACTSHEET = re.compile(rf"^factsheet:(?P<id>{CLUSTER_ID}):v(?P<version>\d+){_PART}$")
PROBLEMS = re.compile(rf"^problems:(?P<id>{CLUSTER_ID}):[^>]*>(?P<hash>[0-9a-f]+){_PART}$")
#: keys that name one run of one database: a restored database counts its runs again
_RUN_SCOPED = ("digest:",)


def factsheet(cluster_id: str, version: int) -> str:
    return f"factsheet:{cluster_id}:v{version}"


def problems(cluster_id: str | None, previous: str | None, current: str) -> str:
    """The previous set is part of the key: problems that go A, B, then A again are told three
    times (each is a change), yet a crash never tells the same change twice."""
    return f"problems:{cluster_id}:{previous}>{current}"


def digest(run_id: int) -> str:
    return f"digest:run:{run_id}"


def mass_change(situation: str) -> str:
    """Told once per distinct situation (cluster_sync/brake.py)."""
    return f"mass-change:{situation}"


def report(start: str, end: str) -> str:
    """One CoP report per period, ISO dates."""
    return f"report:{start}:{end}"


def correction(report_key: str, draft: int) -> str:
    """A corrected draft of a period sent before (`report --send --correction`): each draft
    once, on purpose."""
    return f"{report_key}:draft{draft}"


def resend(cluster_id: str, version: int, request: str) -> str:
    """Each request its own: asking twice sends twice."""
    return f"resend:{cluster_id}:v{version}:{request}"


def preview(cluster_id: str, request: str) -> str:
    """`preview --send-to`: each request its own."""
    return f"preview:{cluster_id}:{request}"


def run_scoped(key: str) -> bool:
    """Whether the key names one run of one database (a digest): a restored database counts
    its runs again, so such a key found outside it says nothing about this database's runs."""
    return key.startswith(_RUN_SCOPED)


def prefix(key: str) -> str:
    """The word a key starts with (`factsheet`, `problems`, `digest`...): the kind of message
    recorded for a key recovered without its message."""
    return key.partition(":")[0]


def part(key: str, number: int) -> str:
    return f"{key}#{number}"


def whole(key: str) -> str:
    """The key a part belongs to (itself, when it is not a part)."""
    return key.partition("#")[0]


#: every factsheet key, as a range of `dedupe_key` the unique index answers (";" follows ":")
FACTSHEETS = ("factsheet:", "factsheet;")


def with_parts(key: str) -> tuple[str, str, str]:
    """(key, low, high): `dedupe_key = key OR (dedupe_key >= low AND dedupe_key < high)` finds
    the key and its parts ("$" sorts right after "#"), a range the unique index answers."""
    return key, f"{key}#", f"{key}$"
