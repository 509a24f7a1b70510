"""The bounded retry loop every Google API client shares (Sheets, Drive).

Google's guidance for 408, 429, 5xx and dropped connections: wait, doubling each time with some
jitter, up to a cap, and try again. A nightly job must also give up at some point, so the number
of tries is bounded; the caller turns the last failure into a plain-words error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import requests
from google.auth.exceptions import TransportError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: the longest single wait between two tries, as Google's backoff guidance suggests
MAX_WAIT_SECONDS = 32.0


#: network failures worth trying again (ChunkedEncodingError: a connection cut mid-answer)
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    TransportError,
)


def transient_status(status: int) -> bool:
    """HTTP answers worth trying again: timeouts, rate limits, server trouble."""
    return status in (408, 429) or status >= 500


def with_retries(
    call: Callable[[], T],
    transient: Callable[[BaseException], str | None],
    *,
    retries: int,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """`call()`, tried again up to `retries` times while `transient(error)` names a reason
    (it returns None for an error that trying again cannot fix, which is raised at once)."""
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as err:
            reason = transient(err)
            if reason is None or attempt == retries:
                raise
        wait = min(2**attempt + jitter(), MAX_WAIT_SECONDS)
        log.warning(
            "%s: %s; trying again in %.1f s (try %d of %d)",
            what,
            reason,
            wait,
            attempt + 2,
            retries + 1,
        )
        sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")
