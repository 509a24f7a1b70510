"""One exception family. Every third-party error is wrapped where it happens, with the context a
person needs to act on it; the CLI prints these without a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class ClusterSyncError(Exception):
    """Base of every error cluster-sync reports to a person."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  What to do: {self.hint}"


class UserError(ClusterSyncError):
    """Several problems found at once, all shown together (config, templates, headers)."""

    exit_code = 2

    def __init__(self, summary: str, problems: Iterable[str], hint: str | None = None) -> None:
        self.problems = list(problems)
        body = summary + "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(body, hint)


class ConfigError(UserError):
    """The configuration file is missing, unreadable or invalid."""


class SourceError(ClusterSyncError):
    """The responses sheet or export could not be read or written."""


class ExportError(SourceError):
    """A local export that cannot be used as it is (missing, unreadable, damaged): the person
    running the sync has to fix or download it again, like a configuration problem."""

    exit_code = 2


class TemplateError(ClusterSyncError):
    """A Word or email template is broken (names the template and the tag)."""

    exit_code = 2


class StateError(ClusterSyncError):
    """The state database could not be opened or migrated."""


class LockedError(ClusterSyncError):
    """Another sync holds the lock."""

    exit_code = 75  # EX_TEMPFAIL: cron may simply try again later


class PublishError(ClusterSyncError):
    """A factsheet could not be published (Drive or the web folder); the link waits."""

    def __init__(self, message: str, hint: str | None = None, *, stop: bool = False) -> None:
        super().__init__(message, hint)
        #: the target itself is unusable (down, out of storage, refused): try no more files now
        self.stop = stop
        #: the HTTP status the target answered, when it answered one
        self.status: int | None = None
