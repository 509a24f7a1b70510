"""The settings of publishing to Google Drive (`[publish.drive]`): a module of its own, so that
the configuration reads them without loading google-auth or the Drive client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from cluster_sync.settings import Settings, api_address, check_addresses


class DrivePublishConfig(Settings):
    #: the folder's address in the browser (…/drive/folders/ID), or its ID; may be in a shared drive
    folder: str
    #: service_account: a key file (needs a shared drive, see docs/publishing.md);
    #: authorized_user: OAuth as a person, whose storage holds the files;
    #: "none": no real credentials, only for a local test server set in api_base_url
    credentials: Literal["service_account", "authorized_user", "none"] = "service_account"
    #: default: source.credentials_file when the source is a Google Sheet, else
    #: GOOGLE_APPLICATION_CREDENTIALS
    credentials_file: Path | None = None
    #: everyone signed in with an account of this domain may open the files by their link
    share_with_domain: str | None = None
    #: these people may open the files (they are not emailed by Google about it)
    share_with: list[str] = Field(default_factory=list)
    #: advanced: the Drive API address (a proxy or a local fake)
    api_base_url: str = "https://www.googleapis.com"
    retries: Annotated[int, Field(ge=0, le=10)] = 5
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 120.0

    @field_validator("api_base_url")
    @classmethod
    def _secure_url(cls, value: str) -> str:
        return api_address(value, "https://www.googleapis.com")

    @field_validator("folder")
    @classmethod
    def _folder_id(cls, value: str) -> str:
        # …/drive/folders/ID, …/drive/u/0/folders/ID?usp=sharing, or the ID itself
        found = re.search(r"/folders/([A-Za-z0-9_-]+)", value) or re.fullmatch(
            r"\s*([A-Za-z0-9_-]{10,})\s*", value
        )
        if not found:
            raise ValueError(
                "is neither a Drive folder's address (https://drive.google.com/drive/folders/…) "
                "nor its ID"
            )
        return found[1]

    @field_validator("share_with_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(?i)[a-z0-9-]+(\.[a-z0-9-]+)+", value):
            raise ValueError("is not a domain name such as example.org")
        return value

    @field_validator("share_with")
    @classmethod
    def _people(cls, value: list[str]) -> list[str]:
        check_addresses(value, single=True)
        return value
