"""The settings of publishing to a web folder (`[publish.folder]`): a module of its own, like
every backend's settings, so that the configuration reads them without loading the backend."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from cluster_sync.settings import Settings, octal_mode


class FolderPublishConfig(Settings):
    #: the folder a web server serves; files are named CL-2025-007.docx, replaced on a new version
    path: Path
    #: the address at which that folder is served, e.g. https://www.example.org/factsheets/
    base_url: str
    #: mode of the files put there: the web server must read them, through the folder's group
    #: by default (docs/privacy.md); "0644" when it shares no group with this account
    file_mode: str = "0640"

    @field_validator("file_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        return octal_mode(
            value,
            0o664,
            '"0640"',
            "must let the owner read and write, never execute, never let others write: "
            'use "0600", "0640", "0660" or "0644"',
        )

    @property
    def mode(self) -> int:
        return int(self.file_mode, 8)

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        from urllib.parse import quote, urlsplit, urlunsplit

        url = urlsplit(value.strip())
        if url.scheme not in ("https", "http") or not url.hostname or url.query or url.fragment:
            raise ValueError("is not a web address such as https://www.example.org/factsheets/")
        # "fact sheets/" is served as fact%20sheets/: a link never holds a space or a quote
        path = quote(url.path, safe="/-._~!$&()*+,;=:@%")
        return urlunsplit((url.scheme, url.netloc, path.rstrip("/") + "/", "", ""))
