"""Whether one email address is valid, and its normalised form: email-validator's verdict, with
its work done once per domain instead of once per address.

email-validator is most of validating a row: the part after the "@" (IDNA, Unicode tables, the
special-use domains) costs far more than the rest, and a sheet has thousands of addresses but
few domains. An address that is plain ASCII (a dot-atom before the "@", letters, digits,
hyphens and dots after it: nearly every address a partner types) goes through the very steps
`validate_email` takes for it, in its order, with its own functions, the domain's result kept;
anything else goes to `validate_email` itself. tests/test_address_syntax.py compares both
paths over a large corpus of generated and awkward addresses.
"""

from __future__ import annotations

import functools
import re

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT, CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.syntax import (
    DomainNameValidationResult,
    validate_email_domain_name,
    validate_email_length,
    validate_email_local_part,
)
from email_validator.types import ValidatedEmail

#: an address that is ASCII throughout, a dot-atom before its only "@" and a host name of
#: letters, digits and hyphens after it: nothing for email-validator to split, unquote or
#: normalise, so the library's own steps below apply to it unchanged. It is also one that
#: `email.utils.parseaddr` returns as it is, without a display name.
PLAIN = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")

#: (normalised address, its ASCII form, why it is not valid)
Verdict = tuple[str | None, str | None, str | None]


#: about 400 bytes an address: a first sync of 10,000 rows has some 130,000 addresses, and 65,536
#: of them kept took 26 MB for 7 % of hits, as many as 8,192 give (people repeat close together)
@functools.lru_cache(maxsize=8192)
def check(address: str) -> Verdict:
    """(normalised, ASCII form, None) for a valid address, (None, None, reason) for another;
    exactly `validate_email(address, check_deliverability=False)`'s verdict. Kept per address:
    the same people (a contact who is also the respondent, a partner in several clusters)
    appear many times in one sheet."""
    try:
        checked = _plain(address) if PLAIN.fullmatch(address) else _general(address)
    except EmailNotValidError as exc:
        return None, None, str(exc)
    return checked.normalized, checked.ascii_email, None


def _general(address: str) -> ValidatedEmail:
    return validate_email(address, check_deliverability=False)


def _plain(address: str) -> ValidatedEmail:
    """`validate_email` for an address PLAIN matches, step for step: with no display name,
    quotes or non-ASCII character, its split is at the "@" and Unicode normalisation changes
    nothing; the domain's result is the library's, kept per domain."""
    local, domain = address.split("@")
    ret = ValidatedEmail()
    ret.original = address
    ret.display_name = None
    info = validate_email_local_part(
        local,
        allow_smtputf8=email_validator.ALLOW_SMTPUTF8,
        allow_empty_local=email_validator.ALLOW_EMPTY_LOCAL,
        quoted_local_part=False,
        strict=email_validator.STRICT,
    )
    ret.smtputf8 = info["smtputf8"]
    ret.local_part = info["local_part"]
    ret.ascii_local_part = info["ascii_local_part"]
    if ret.ascii_local_part is not None and ret.ascii_local_part.lower() in (
        CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        ret.ascii_local_part = ret.ascii_local_part.lower()
        ret.local_part = ret.local_part.lower()
    found = _domain(domain)
    if isinstance(found, str):
        raise email_validator.EmailSyntaxError(found)
    ret.domain = found["domain"]
    ret.ascii_domain = found["ascii_domain"]
    ret.normalized = ret.local_part + "@" + ret.domain
    ret.ascii_email = (
        ret.ascii_local_part + "@" + ret.ascii_domain
        if ret.ascii_local_part and ret.ascii_domain
        else None
    )
    validate_email_length(ret)
    return ret


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> DomainNameValidationResult | str:
    """email-validator's result for the part after the "@", or why it is not valid."""
    try:
        return validate_email_domain_name(
            domain,
            test_environment=email_validator.TEST_ENVIRONMENT,
            globally_deliverable=email_validator.GLOBALLY_DELIVERABLE,
        )
    except EmailNotValidError as exc:
        return str(exc)
