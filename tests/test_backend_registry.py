"""Adding a backend is one module and one registry line: a mailer, a source or a publishing
target registered here (with its own settings model) is accepted by the configuration, its
table is validated by that model, and the registry opens it. Names nobody registered are
refused with the registered ones listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster_sync import config, mailers, publish, sources
from cluster_sync.config import Config, ConfigError, Settings, SourceSettings
from cluster_sync.plugins import Backend

HERE = __name__  # the registry imports the classes below from this module, as from any other

STATE_OUTPUT = """
[state]
database = "var/state.sqlite3"

[output]
directory = "var/output"
"""
SOURCE = """
[source]
path = "var/responses.csv"
"""
MAIL = """
[mail]
backend = "outbox"
outbox = "var/outbox"
from = "CoP <cop@example.org>"
reply_to = "Secretariat <secretariat@example.org>"
secretariat = ["Secretariat <secretariat@example.org>"]
"""
MEMORY_MAIL = (
    MAIL.replace('backend = "outbox"', 'backend = "memory"')
    + """
[mail.memory]
mailbox = "night run"
"""
)


class MemorySettings(Settings):
    mailbox: str
    keep: int = 10


class MemoryMailer:
    description = "a list in memory"

    def __init__(self, settings: MemorySettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, cfg: Config) -> MemoryMailer:
        return cls(cfg.mail.settings_of("memory"))


class TableSettings(SourceSettings):
    type: str = "table"
    write_back: bool = False
    table: str


class TableSource:
    def __init__(self, settings: TableSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, cfg: Config) -> TableSource:
        assert isinstance(cfg.source, TableSettings)
        return cls(cfg.source)


class ShelfSettings(Settings):
    shelf: str


class ShelfTarget:
    def __init__(self, settings: ShelfSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, cfg: Config, **_: Any) -> ShelfTarget:
        assert cfg.publish is not None
        return cls(cfg.publish.settings_of("shelf"))


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        mailers.BACKENDS, "memory", Backend(f"{HERE}:MemoryMailer", f"{HERE}:MemorySettings")
    )
    monkeypatch.setitem(
        sources.SOURCES, "table", Backend(f"{HERE}:TableSource", f"{HERE}:TableSettings")
    )
    monkeypatch.setitem(
        publish.TARGETS, "shelf", Backend(f"{HERE}:ShelfTarget", f"{HERE}:ShelfSettings")
    )


def load(tmp_path: Path, body: str) -> Config:
    path = tmp_path / "config" / "cluster-sync.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return config.load(path)


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, body)
    return caught.value.problems


@pytest.mark.usefixtures("registered")
def test_a_registered_mailer_is_configured_and_opened_with_its_own_settings(
    tmp_path: Path,
) -> None:
    cfg = load(tmp_path, SOURCE + STATE_OUTPUT + MEMORY_MAIL)
    assert cfg.mail.backend == "memory"
    mailer = mailers.open_mailer(cfg)
    assert isinstance(mailer, MemoryMailer)
    assert mailer.settings == MemorySettings(mailbox="night run", keep=10)


@pytest.mark.usefixtures("registered")
def test_a_registered_mailers_table_is_checked_by_its_model(tmp_path: Path) -> None:
    body = SOURCE + STATE_OUTPUT + MEMORY_MAIL.replace('mailbox = "night run"', "kept = 3")
    found = problems(tmp_path, body)
    assert "mail.memory.mailbox: missing; this setting is required." in found
    assert "mail.memory.kept: unknown setting (misspelt?); remove it or fix its name." in found


@pytest.mark.usefixtures("registered")
def test_a_registered_mailer_without_its_table_says_which_table(tmp_path: Path) -> None:
    body = SOURCE + STATE_OUTPUT + MAIL.replace('backend = "outbox"', 'backend = "memory"')
    assert any(
        "mail.backend = 'memory' needs a [mail.memory] table" in p for p in problems(tmp_path, body)
    )


@pytest.mark.usefixtures("registered")
def test_a_registered_source_is_configured_and_opened_with_its_own_settings(
    tmp_path: Path,
) -> None:
    body = '[source]\ntype = "table"\ntable = "tbl123"\n' + STATE_OUTPUT + MAIL
    cfg = load(tmp_path, body)
    assert cfg.source == TableSettings(table="tbl123")
    opened = sources.open_source(cfg)
    assert isinstance(opened, TableSource)
    assert opened.settings.table == "tbl123"
    missing = problems(tmp_path, '[source]\ntype = "table"\n' + STATE_OUTPUT + MAIL)
    assert missing == ["source.table: missing; this setting is required."]


@pytest.mark.usefixtures("registered")
def test_a_registered_publishing_target_is_configured_and_opened(tmp_path: Path) -> None:
    body = SOURCE + STATE_OUTPUT + MAIL + '\n[publish]\ntarget = "shelf"\n\n[publish.shelf]\n'
    cfg = load(tmp_path, body + 'shelf = "top"\n')
    target = publish.open_target(cfg)
    assert isinstance(target, ShelfTarget)
    assert target.settings == ShelfSettings(shelf="top")
    assert problems(tmp_path, body) == ["publish.shelf.shelf: missing; this setting is required."]


def test_unregistered_names_are_refused_with_the_registered_ones(tmp_path: Path) -> None:
    mail = problems(
        tmp_path, SOURCE + STATE_OUTPUT + MAIL.replace('backend = "outbox"', 'backend = "memory"')
    )
    assert mail == [
        "mail.backend = 'memory': is not a known mail backend; use one of: "
        + ", ".join(mailers.BACKENDS)
        + "."
    ]
    source = problems(tmp_path, '[source]\ntype = "table"\n' + STATE_OUTPUT + MAIL)
    assert source == ["source.type = 'table': is not a known source; use one of: file, google."]
    target = problems(tmp_path, SOURCE + STATE_OUTPUT + MAIL + '[publish]\ntarget = "shelf"\n')
    assert target == [
        "publish.target = 'shelf': is not a known publishing target; use one of: "
        + ", ".join(publish.TARGETS)
        + "."
    ]
