"""The settings of the SMTP backend (`[mail.smtp]`): a module of its own, so that the
configuration reads them without loading smtplib, ssl or google-auth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from cluster_sync.settings import Settings


class SmtpConfig(Settings):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    #: name of the environment variable that holds the password (never the password itself)
    password_env: str | None = None
    auth: Literal["password", "xoauth2", "none"] = "password"
    #: for xoauth2: service-account or authorised-user file; default GOOGLE_APPLICATION_CREDENTIALS
    oauth_credentials_file: Path | None = None
    #: CA bundle to trust instead of the system's (a private relay, or tests)
    ca_file: Path | None = None
    verify_certificate: bool = True
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
