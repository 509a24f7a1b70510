"""Links to the registration form: a response's own edit link, or the form's address.

The "Edit link" column is filled by the Apps Script in extras/apps-script/, but it is still a
cell anyone with the sheet can type into. Only an https address on Google Forms is ever put in an
email; anything else in that cell is ignored (never followed, shown or interpreted).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

GOOGLE_FORMS_HOST = "docs.google.com"
MAX_LENGTH = 500
# Characters a Google Forms URL is made of (RFC 3986 unreserved, reserved and %); anything else
# (spaces, quotes, angle brackets, control characters) means the cell is not a plain link.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def google_form_link(value: object) -> str | None:
    """The cell's text when it is exactly one https link to a Google Form, else None."""
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    if not candidate or len(candidate) > MAX_LENGTH or not _URL_CHARS.fullmatch(candidate):
        return None
    try:
        url = urlsplit(candidate)
        port = url.port
    except ValueError:
        return None
    if url.scheme != "https" or url.hostname != GOOGLE_FORMS_HOST or port is not None:
        return None
    if url.username is not None or url.password is not None or url.netloc != GOOGLE_FORMS_HOST:
        return None
    if not url.path.startswith("/forms/"):
        return None
    return candidate


def registration_link(cell: object, form_url: str | None) -> tuple[str | None, bool]:
    """(link, personal): the response's own edit link when the cell holds one, else the form's
    address from the configuration (None when there is none)."""
    own = google_form_link(cell)
    if own:
        return own, True
    return form_url, False
