"""Email addresses as people type them into a form or a configuration: one or several in a
cell, with or without display names; each parsed on its own, or refused with the reason in
the form's words. Addresses become `model.Address`; nothing else parses them."""

from __future__ import annotations

import email.utils
import re
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email

from cluster_sync import text
from cluster_sync.model import Address

if TYPE_CHECKING:
    from cluster_sync.config import Config


def parse_addresses(cell: str) -> list[tuple[Address | None, str | None]]:
    """Every address in a cell, each with either its Address or the reason it is not valid.
    Accepts display names ("Ana Đurđević <ana@example.org>", "Núñez, María <m@example.org>")
    and addresses separated by commas, semicolons, new lines or spaces."""
    results: list[tuple[Address | None, str | None]] = []
    for part in _address_parts(cell):
        if "<" in part and part.rstrip().endswith(">"):
            # "Name <addr>" taken apart by hand: parseaddr trips over commas inside names
            name, addr = part[: part.index("<")].strip(), part[part.index("<") + 1 : -1].strip()
        else:
            name, addr = email.utils.parseaddr(part)
            if not addr or " " in addr:
                name, addr = "", part
        try:
            checked = validate_email(addr, check_deliverability=False)
        except EmailNotValidError as exc:
            results.append((None, f"“{text.excerpt(part)}” is not a valid email address ({exc})."))
            continue
        if checked.ascii_email is None:
            # Such an address needs SMTPUTF8 at every server on the way; many lack it, and the
            # message would bounce or be mangled. Refused, with what to do instead.
            results.append((None, _not_ascii(part)))
            continue
        results.append((Address(checked.normalized, _unquote(text.clean_line(name))), None))
    return results or [(None, "no email address was given.")]


def _unquote(name: str) -> str:
    """A display name without its enclosing quotes, escapes undone ("Núñez, \\"M\\"")."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


def _not_ascii(part: str) -> str:
    return (
        f"“{text.excerpt(part)}” has characters other than Latin letters, digits and "
        "!#$%&'*+-/=?^_`{|}~. before the @, which many mail servers cannot deliver to; "
        "please give an address written with those characters only."
    )


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


def secretariat(config: Config) -> list[Address]:
    """Who receives the digest, the notices and the CoP report (`mail.secretariat`; the
    configuration refused any cell that is not one address)."""
    return [a for cell in config.mail.secretariat for a, _ in parse_addresses(cell) if a]
