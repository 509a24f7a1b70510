"""The one TOML configuration file, validated up front: every problem is listed with its key,
its value and what is allowed. Secrets never live here: the file names environment variables.

This module holds the general sections. A backend's settings (a source's [source], a mail
backend's mail.NAME, a publishing target's [publish.NAME]) are validated by the model the
backend registers in plugins.py, which lives beside the backend and is imported only when the
file names that backend's table."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from cluster_sync import form, plugins
from cluster_sync.errors import ConfigError
from cluster_sync.settings import Settings, SourceSettings, check_addresses, octal_mode

#: a general section of the file (the backends' models subclass Settings too)
_Section = Settings

DEFAULT_PATH = Path("config/cluster-sync.toml")


class FormConfig(_Section):
    date_order: Literal["DMY", "MDY", "YMD"] = "DMY"
    #: time zone of timestamps in a file export (a Google source uses the sheet's own)
    timezone: str = "Europe/Brussels"
    #: field key -> header text, for a form whose questions are worded differently
    columns: dict[str, str] = Field(default_factory=dict)
    #: the form's address, put in emails to a submitter whose row has no edit link of its own
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return None
        url = urlsplit(value.strip())
        if url.scheme != "https" or not url.hostname or any(c.isspace() for c in value.strip()):
            raise ValueError(
                "is not an https address such as https://forms.gle/… (copy it from "
                "the form's Send button)"
            )
        return value.strip()

    #: the consent option exactly as the form words it (docs/privacy.md): a ticked answer
    #: with this text is consent to publish the factsheet and name the cluster in reports
    consent_text: str = Field(default=form.CONSENT_TEXT, min_length=10)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a time zone name such as Europe/Brussels") from None
        return value

    @field_validator("columns")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(form.FIELDS_BY_KEY))
        if unknown:
            raise ValueError(
                f"unknown question key(s) {', '.join(unknown)}; allowed: "
                + ", ".join(form.FIELDS_BY_KEY)
            )
        return value


class StateConfig(_Section):
    database: Path


class PdfConfig(_Section):
    #: the LibreOffice program: a name looked up on PATH, or a full path
    soffice: str = "soffice"
    #: time allowed per document; a batch of N documents is killed after N times this
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    #: further tries, each document on its own, after a batch left it without a PDF
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    #: documents per LibreOffice start
    batch_size: Annotated[int, Field(ge=1, le=500)] = 25
    #: LibreOffice's private profile folder; default: libreoffice-profile beside the state
    profile: Path | None = None


def _known_formats(value: list[str], key: str) -> list[str]:
    from cluster_sync.outputs import REGISTRY

    unknown = [name for name in value if name not in REGISTRY]
    if unknown:
        raise ValueError(
            f"unknown format(s) {', '.join(map(repr, unknown))}; {key} can list: "
            + ", ".join(REGISTRY)
        )
    if len(set(value)) != len(value):
        raise ValueError("names a format twice")
    return value


class OutputConfig(_Section):
    directory: Path
    factsheet_template: Path = Path("templates/factsheet.docx")
    report_template: Path = Path("templates/cop-report.docx")
    email_templates: Path = Path("templates/email")
    #: the files made for each factsheet and report draft; the .docx is always made first
    formats: list[str] = Field(default_factory=lambda: ["docx"])
    pdf: PdfConfig = PdfConfig()

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        _known_formats(value, "output.formats")
        if "docx" not in value:
            raise ValueError(
                'must include "docx": the Word document is rendered first and every other '
                'format is made from it (for example formats = ["docx", "pdf"])'
            )
        return value


class LimitsConfig(_Section):
    per_minute: Annotated[int, Field(ge=1)] = 60
    per_day: Annotated[int, Field(ge=1)] = 2000
    max_recipients: Annotated[int, Field(ge=1, le=100)] = 100
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    #: how long one run may wait for the per-minute cap before leaving the rest for the next run
    max_wait_minutes: Annotated[int, Field(ge=0, le=600)] = 30


class MailConfig(_Section):
    #: a name in plugins.MAILERS; its settings are mail.NAME
    backend: str = "outbox"
    sender: str = Field(alias="from")
    reply_to: str
    secretariat: list[str] = Field(min_length=1)
    message_id_domain: str = "cluster-sync.invalid"
    limits: LimitsConfig = LimitsConfig()
    digest: bool = True
    #: who gets the factsheet: the contact only, or the contact and every participant
    factsheet_to: Literal["contact", "contact_and_participants"] = "contact_and_participants"
    #: which of output.formats the factsheet and report emails attach; the .docx goes instead
    #: when none of them could be made
    attach: list[str] = Field(default_factory=lambda: ["docx"], min_length=1)
    #: the language of emails to partners who did not answer "Preferred language" (a code or
    #: a name: "fr", "French", "Français"); English when templates/email/ has no such folder
    language: str = "en"
    #: Cluster ID -> language, set by the secretariat; it wins over the form's answer
    cluster_languages: dict[str, str] = Field(default_factory=dict)
    #: the mail.NAME settings of registered backends (mail.outbox, [mail.smtp], ...), each
    #: validated by the settings model registered with the backend
    others: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _registered_tables(cls, data: Any) -> Any:
        return _backend_tables(data, plugins.MAILERS, cls.model_fields)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        return _registered(value, plugins.MAILERS, "mail backend")

    def settings_of(self, backend: str) -> Any:
        """The settings of a backend: mail.NAME, validated by the backend's own model."""
        return _settings_of(self, backend)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _with_backends(self, handler)

    @field_validator("attach")
    @classmethod
    def _attach(cls, value: list[str]) -> list[str]:
        return _known_formats(value, "mail.attach")

    @field_validator("sender", "reply_to")
    @classmethod
    def _one_address(cls, value: str) -> str:
        check_addresses([value], single=True)
        return value

    @field_validator("secretariat")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        check_addresses(value, single=True)
        return value

    @model_validator(mode="after")
    def _backend_settings(self) -> MailConfig:
        if self.settings_of(self.backend) is None:
            model = plugins.settings_model(plugins.MAILERS, self.backend)
            needs = getattr(model, "needed_as", f"a [mail.{self.backend}] table")
            raise ValueError(f"mail.backend = '{self.backend}' needs {needs}")
        return self


def _registered(name: str, registry: dict[str, Any], what: str) -> str:
    if name not in registry:
        raise ValueError(f"is not a known {what}; use one of: {', '.join(registry)}")
    return name


def _backend_tables(data: Any, registry: dict[str, Any], declared: dict[str, Any]) -> Any:
    """Move the tables of registered backends the section does not declare into `others`,
    each validated by its backend's own settings model (problems keep their key path)."""
    if not isinstance(data, dict):
        return data
    if "others" in data:
        raise ValueError("'others' is not a setting; name the backend's own table instead")
    data, others = dict(data), {}
    for name in registry:
        if name in declared or name not in data:
            continue
        value, model = data.pop(name), plugins.settings_model(registry, name)
        others[name] = _validated(model, value, (name,)) if model is not None else value
    if others:
        data["others"] = others
    return data


def _validated(model: type[BaseModel], value: Any, where: tuple[str, ...]) -> BaseModel:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ValidationError.from_exception_data(
            exc.title,
            [
                InitErrorDetails(
                    type=err["type"],
                    loc=(*where, *err["loc"]),
                    input=err["input"],
                    ctx=err.get("ctx", {}),
                )
                for err in exc.errors()
            ],
        ) from None


def _with_backends(section: BaseModel, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
    """A section's dump with its backends' settings under their own names, as in the file:
    the settings digest (unchanged.py) covers them like every other setting."""
    dumped: dict[str, Any] = handler(section)
    for name, settings in getattr(section, "others", {}).items():
        dumped[name] = (
            settings.model_dump(mode="json") if isinstance(settings, BaseModel) else settings
        )
    return dumped


def _settings_of(section: BaseModel, backend: str) -> Any:
    # every backend's settings are in `others`: no section declares one (a test checks)
    return getattr(section, "others", {}).get(backend)


class ApprovalConfig(_Section):
    #: hold factsheet emails to participants until the secretariat ticks "Approved"
    required: bool = False


class IdsConfig(_Section):
    prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,6}$")] = "CL"


class SafetyConfig(_Section):
    """The brake on mass changes: a run that would newly mark as invalid more than this share
    of the registrations that were valid (and at least `min_newly_invalid` of them) holds
    those rows back, tells the secretariat and exits 6, until a person confirms the change
    with `sync --accept-mass-change`."""

    max_newly_invalid_share: Annotated[float, Field(gt=0, le=1)] = 0.34
    min_newly_invalid: Annotated[int, Field(ge=1)] = 3


class LogConfig(_Section):
    file: Path | None = None
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class BrandingConfig(_Section):
    """The artwork printed on factsheets and reports. Relative paths are taken from the folder
    of the configuration file; without them the documents show a placeholder."""

    #: the programme logo (PNG or JPEG), printed in the header band of both documents
    programme_logo: Path | None = None
    #: the EU emblem (PNG or JPEG), printed with "Co-funded by the European Union"
    eu_emblem: Path | None = None

    @field_validator("programme_logo", "eu_emblem")
    @classmethod
    def _image_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            check_image(value)
        return value


def check_image(path: Path) -> None:
    """A readable PNG or JPEG file, or a ValueError saying what is wrong with it."""
    if not path.is_file():
        raise ValueError(f"there is no file at {path}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
        raise ValueError("is not a PNG or JPEG picture; export the artwork as PNG")


class ReportScheduleConfig(_Section):
    #: day of the month on which `sync` also sends the CoP report of the previous month
    monthly_on_day: Annotated[int, Field(ge=1, le=28)] | None = None


class PublishConfig(_Section):
    #: where new factsheet versions go, with their link written into the sheet's Factsheet
    #: column: a name in plugins.TARGETS, whose settings are [publish.NAME]
    target: str
    #: false: the factsheet email carries the link instead of the file (when the link is known)
    attach: bool = True
    #: the [publish.NAME] tables of registered targets, each validated by the target's model
    others: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _registered_tables(cls, data: Any) -> Any:
        return _backend_tables(data, plugins.TARGETS, cls.model_fields)

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        return _registered(value, plugins.TARGETS, "publishing target")

    def settings_of(self, target: str) -> Any:
        """The settings of a target: [publish.NAME], validated by the target's own model."""
        return _settings_of(self, target)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _with_backends(self, handler)

    @model_validator(mode="after")
    def _target_settings(self) -> PublishConfig:
        if self.settings_of(self.target) is None:
            raise ValueError(
                f"publish.target = '{self.target}' needs a [publish.{self.target}] table "
                "(see docs/publishing.md)"
            )
        return self


class PrivacyConfig(_Section):
    """How long personal data is kept and who may read the files (docs/privacy.md says why)."""

    #: mode of every file created (state, log, outbox, outputs); folders get the matching x bits
    file_mode: str = "0600"
    #: days after sending that an email's body and attachments are pruned (headers are kept)
    sent_body_days: Annotated[int, Field(ge=1)] | None = 90
    #: months after 31 December of the year a cluster ended that its people are anonymised
    anonymise_after_months: Annotated[int, Field(ge=1)] | None = 60
    #: factsheet versions kept per cluster (the newest ones); older files are deleted
    keep_factsheet_versions: Annotated[int, Field(ge=1)] | None = 3

    @field_validator("file_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        return octal_mode(
            value,
            0o660,
            '"0600" or "0640"',
            "must let the owner read and write, may add the group, never others or execute: "
            'use "0600", "0640" or "0660"',
        )

    @property
    def mode(self) -> int:
        return int(self.file_mode, 8)


class Config(_Section):
    #: the model of the source.type named in plugins.SOURCES (file when no type is given)
    source: SourceSettings
    form: FormConfig = FormConfig()
    state: StateConfig
    output: OutputConfig
    mail: MailConfig
    approval: ApprovalConfig = ApprovalConfig()
    ids: IdsConfig = IdsConfig()
    log: LogConfig = LogConfig()
    safety: SafetyConfig = SafetyConfig()
    report: ReportScheduleConfig = ReportScheduleConfig()
    publish: PublishConfig | None = None
    branding: BrandingConfig = BrandingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    #: the folder relative paths are resolved against (the config file's project root)
    base_dir: Path = Path(".")

    @field_validator("source", mode="before")
    @classmethod
    def _source_settings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        kind = value.get("type", "file")
        if not isinstance(kind, str) or kind not in plugins.SOURCES:
            known = ", ".join(plugins.SOURCES)
            raise ValidationError.from_exception_data(
                "source",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "unknown_source", f"is not a known source; use one of: {known}"
                        ),
                        loc=("type",),
                        input=kind,
                    )
                ],
            )
        model = plugins.settings_model(plugins.SOURCES, kind)
        if model is None:
            raise ValueError(f"the source {kind!r} registers no settings model")
        return _validated(model, value, ())

    @model_validator(mode="after")
    def _attach_made(self) -> Config:
        never = [name for name in self.mail.attach if name not in self.output.formats]
        if never:
            raise ValueError(
                f"mail.attach = {self.mail.attach!r} names {', '.join(map(repr, never))}, which "
                f"output.formats = {self.output.formats!r} does not make; add it to "
                "output.formats or remove it from mail.attach"
            )
        return self

    def path(self, value: Path) -> Path:
        """A configured path, relative ones taken from the project folder."""
        return value if value.is_absolute() else self.base_dir / value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.form.timezone)


def _source_default(raw: dict[str, Any]) -> None:
    source = raw.get("source")
    if isinstance(source, dict):
        source.setdefault("type", "file")


def _branding_paths(raw: dict[str, Any], folder: Path) -> None:
    """Artwork paths are relative to the configuration file, like an image link in a page."""
    branding = raw.get("branding")
    if isinstance(branding, dict):
        for key in ("programme_logo", "eu_emblem"):
            value = branding.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                branding[key] = str(folder / value)


def load(path: Path | str = DEFAULT_PATH) -> Config:
    """Read and validate a configuration file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"No configuration file at {path}.",
            [],
            hint="give one with --config PATH; config/cluster-sync.toml is a commented example.",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML.", [str(exc)]) from None
    _source_default(raw)
    _branding_paths(raw, path.resolve().parent)
    # Relative paths are relative to the folder that holds config/, so cron can run from anywhere.
    base = path.resolve().parent
    raw.setdefault("base_dir", str(base.parent if base.name == "config" else base))
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} has {exc.error_count()} problem(s):", _describe(exc)) from None


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-after", "tagged"))]
        key = ".".join(loc) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            problems.append(f"{key}: missing; this setting is required.")
        elif err["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown setting (misspelt?); remove it or fix its name.")
        elif len(loc) == 1 and isinstance(err.get("input"), dict):
            # a whole section's problem names its keys itself; its table is no help to read
            problems.append(f"{key}: {message}.")
        else:
            problems.append(f"{key} = {err.get('input')!r}: {message}.")
    return problems
