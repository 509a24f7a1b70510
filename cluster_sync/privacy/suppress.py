"""The suppression list: people who asked to be forgotten, kept as salted hashes of their
addresses (never the address), so that an old response in the sheet does not bring them back.

The same `suppress_data` cleans a stored registration at `forget` time and every fresh row at
sync time, so both give the same content hash and the sync sees nothing new.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from cluster_sync.privacy.search import EMAIL, REMOVED
from cluster_sync.state import State, now_utc

Suppressed = Callable[[str], bool]


def _salt(state: State) -> str:
    row = state.db.execute("SELECT value FROM privacy_settings WHERE key = 'salt'").fetchone()
    if row:
        return str(row[0])
    salt = secrets.token_hex(16)
    state.db.execute(
        "INSERT OR IGNORE INTO privacy_settings (key, value) VALUES ('salt', ?)", (salt,)
    )
    return str(
        state.db.execute("SELECT value FROM privacy_settings WHERE key = 'salt'").fetchone()[0]
    )


def address_hash(state: State, address: str) -> str:
    value = f"{_salt(state)}:{address.strip().casefold()}"
    return hashlib.sha256(value.encode()).hexdigest()


def add(state: State, address: str) -> None:
    state.db.execute(
        "INSERT OR IGNORE INTO suppressed (address_hash, created_at) VALUES (?, ?)",
        (address_hash(state, address), now_utc()),
    )


def checker(state: State) -> Suppressed | None:
    """A test for "is this address suppressed", or None when nobody is (the common case)."""
    hashes = {r[0] for r in state.db.execute("SELECT address_hash FROM suppressed")}
    if not hashes:
        return None
    salt = _salt(state)

    def suppressed(address: str) -> bool:
        value = f"{salt}:{address.strip().casefold()}"
        return hashlib.sha256(value.encode()).hexdigest() in hashes

    return suppressed


def names_suppressed(values: Mapping[str, Any], suppressed: Suppressed) -> bool:
    """Whether any cell of a row holds a suppressed address."""
    return any(
        suppressed(m.group(0))
        for value in values.values()
        if isinstance(value, str)
        for m in EMAIL.finditer(value)
    )


def scrub_addresses(value: Any, suppressed: Suppressed) -> Any:
    """Every address in every text of `value` (nested lists and dicts) for which `suppressed`
    says yes becomes "[removed]"."""
    if isinstance(value, str):
        return EMAIL.sub(lambda m: REMOVED if suppressed(m.group(0)) else m.group(0), value)
    if isinstance(value, list):
        return [scrub_addresses(v, suppressed) for v in value]
    if isinstance(value, dict):
        return {k: scrub_addresses(v, suppressed) for k, v in value.items()}
    return value


def suppress_data(data: dict[str, Any], suppressed: Suppressed) -> tuple[dict[str, Any], int]:
    """A registration's data without the suppressed people, and how many were removed: their
    participant entries go, a suppressed contact or respondent is blanked, and their address
    anywhere in free text becomes "[removed]"."""
    removed = 0
    data = dict(data)
    people = data.get("participants") or []
    kept = [p for p in people if not suppressed(str(p.get("email", "")))]
    removed += len(people) - len(kept)
    data["participants"] = kept
    contact = data.get("contact_email") or {}
    if contact.get("email") and suppressed(str(contact["email"])):
        data["contact_email"] = {"email": "", "name": ""}
        data["contact_person"] = ""
        removed += 1
    respondent = data.get("respondent_email") or {}
    if respondent.get("email") and suppressed(str(respondent["email"])):
        data["respondent_email"] = None
        removed += 1
    return scrub_addresses(data, suppressed), removed
