"""The embedded default: every message becomes one .eml file that any mail client opens."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.files import atomic_write, make_dirs, put_unsynced, sync_files
from cluster_sync.mailers.base import SAVED_REPLY, Envelope, SendResult, TemporaryFailure
from cluster_sync.mailers.outbox_settings import outbox_folder

#: Outlook opens a message with this header as a draft, ready to send; other clients ignore it
UNSENT_HEADER = b"X-Unsent: 1\r\n"


class OutboxMailer:
    limits_apply = False  # a folder has no sending limits
    saves_only = True  # a person sends these files; nothing leaves this machine
    waits_before_content = True  # calls envelope.before_content() before writing the file
    #: a message saved again lands on its own file again (path_for), whole (a rename)
    idempotent = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"the outbox folder {folder}"
        self._unsynced: list[Path] = []  # batched files written since the last settle()

    @classmethod
    def from_config(cls, config: Config) -> OutboxMailer:
        folder = outbox_folder(config)
        assert folder is not None  # checked when the config was loaded
        return cls(folder)

    def path_for(self, envelope: Envelope) -> Path:
        # The queue id orders the files and a token of the Message-ID makes the name unique:
        # a retried message lands on the same file, a different one (even with a queue id
        # reused after a state restore) never overwrites it.
        label = re.sub(r"[^A-Za-z0-9-]+", "-", f"{envelope.kind}-{envelope.cluster_id or ''}")
        token = hashlib.sha256(envelope.message_id.encode()).hexdigest()[:8]
        return self.folder / f"{envelope.id:05d}-{label.strip('-')}-{token}.eml"

    def check_settings(self) -> None:
        return None  # a folder needs no settings; open() creates it

    def open(self) -> None:
        try:
            make_dirs(self.folder)
        except OSError as exc:
            raise TemporaryFailure(f"cannot create {self.folder}: {exc.strerror}") from None

    def close(self) -> None:
        return None

    def send(self, envelope: Envelope) -> SendResult:
        path = self.path_for(envelope)
        envelope.before_content()  # raises (out of send) when the mark cannot be made durable
        try:
            if envelope.batched:  # its disk wait comes with the batch's, in settle()
                put_unsynced(path, UNSENT_HEADER + envelope.raw)
                self._unsynced.append(path)
            else:
                atomic_write(path, UNSENT_HEADER + envelope.raw)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to {self.folder}: {exc.strerror}") from None
        return SendResult(reply=SAVED_REPLY)

    def settle(self) -> None:
        written, self._unsynced = self._unsynced, []
        try:
            sync_files(written)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to {self.folder}: {exc.strerror}") from None

    def already_delivered(self, envelope: Envelope) -> bool:
        # A file appears whole or not at all (a rename), but a batched one reaches the disk
        # only at settle(): after a power loss its name may be there with less in it. Only
        # the whole message counts; anything else is written again, on the same name.
        try:
            return self.path_for(envelope).read_bytes() == UNSENT_HEADER + envelope.raw
        except OSError:  # not there, or not readable: saving it again replaces it
            return False
