"""Shared fixtures: a project folder in tmp_path with the real templates and example data, and
a configuration pointing into it (file source, SQLite state, outbox)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cluster_sync import config as config_mod
from cluster_sync.config import Config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

CONFIG_TEMPLATE = """
[source]
type = "file"
path = "responses.csv"
write_back = {write_back}

[form]
date_order = "DMY"
timezone = "Europe/Brussels"

[state]
database = "var/state.sqlite3"

[output]
directory = "var/output"
factsheet_template = "{root}/templates/factsheet.docx"
report_template = "{root}/templates/cop-report.docx"
email_templates = "{root}/templates/email"

[mail]
backend = "outbox"
outbox = "var/outbox"
from = "Natural Heritage CoP <cop@example.org>"
reply_to = "Secretariat <secretariat@example.org>"
secretariat = ["Secretariat <secretariat@example.org>"]
message_id_domain = "test.example.org"

[approval]
required = {approval}

[log]
file = "var/cluster-sync.log"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder holding a copy of the example responses."""
    shutil.copy(EXAMPLES / "responses.csv", tmp_path / "responses.csv")
    return tmp_path


@pytest.fixture
def make_config(project: Path) -> Callable[..., Config]:
    def make(write_back: bool = True, approval: bool = False, extra: str = "") -> Config:
        text = CONFIG_TEMPLATE.format(
            root=ROOT.as_posix(),
            write_back=str(write_back).lower(),
            approval=str(approval).lower(),
        )
        path = project / "cluster-sync.toml"
        path.write_text(text + extra, encoding="utf-8")
        return config_mod.load(path)

    return make
