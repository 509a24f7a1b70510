"""Each backend owns its settings: the model registered with a source, a mail backend or a
publishing target lives beside that backend (never in config.py), in a module light enough
that reading a configuration loads only the backends it names: a configuration with the file
source and the outbox loads no Google library, no SMTP client and no Drive client."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_sync import config, plugins, settings
from cluster_sync.plugins import Backend

ROOT = Path(__file__).resolve().parent.parent
REGISTRIES = {"source": plugins.SOURCES, "mail": plugins.MAILERS, "publish": plugins.TARGETS}
ENTRIES = [
    (kind, name, entry) for kind, registry in REGISTRIES.items() for name, entry in registry.items()
]

#: what a backend nobody named must not bring in: Google's libraries, the SMTP client and
#: every backend module other than the ones named
HEAVY = ("gspread", "google.auth", "google.oauth2", "smtplib", "requests")


def _module(spec: str) -> str:
    return spec.partition(":")[0]


@pytest.mark.parametrize(("kind", "name", "entry"), ENTRIES, ids=lambda v: str(v)[:40])
def test_every_backend_registers_a_settings_model_beside_it(
    kind: str, name: str, entry: Backend
) -> None:
    assert entry.settings, f"{kind} backend {name!r} registers no settings model"
    backend_package = _module(entry.target).rpartition(".")[0]
    model_module = _module(entry.settings)
    assert model_module != "cluster_sync.config", (kind, name)
    assert model_module.rpartition(".")[0] == backend_package, (kind, name, model_module)
    model = plugins.settings_model(REGISTRIES[kind], name)
    assert model.__module__ == model_module  # defined there, not imported from elsewhere


def test_config_py_defines_no_backend_settings_model() -> None:
    tree = ast.parse((ROOT / "cluster_sync" / "config.py").read_text(encoding="utf-8"))
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    registered = {entry.settings.rpartition(":")[2] for _, _, entry in ENTRIES if entry.settings}
    assert not defined & registered
    # nor a model of a backend under another name: no source model, no section a registry
    # names as a table of its own
    for cls_name in defined:
        cls = getattr(config, cls_name)
        assert not issubclass(cls, settings.SourceSettings), cls_name
        fields = set(getattr(cls, "model_fields", {}))
        if cls_name in ("MailConfig", "PublishConfig"):
            registry = plugins.MAILERS if cls_name == "MailConfig" else plugins.TARGETS
            assert not fields & set(registry), (cls_name, fields & set(registry))


def _imported_after_loading(tmp_path: Path, body: str, code: str = "") -> set[str]:
    path = tmp_path / "config" / "cluster-sync.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    script = (
        "import json, sys\n"
        "from cluster_sync import config\n"
        f"cfg = config.load({str(path)!r})\n"
        f"{code}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    return set(json.loads(done.stdout))


BASE = """
[source]
path = "responses.csv"

[state]
database = "var/state.sqlite3"

[output]
directory = "var/output"

[mail]
backend = "outbox"
outbox = "var/outbox"
from = "CoP <cop@example.org>"
reply_to = "Secretariat <secretariat@example.org>"
secretariat = ["Secretariat <secretariat@example.org>"]
"""


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(HEAVY)}


def test_the_file_source_and_the_outbox_load_no_other_backend(tmp_path: Path) -> None:
    opened = "from cluster_sync import mailers, sources\nsources.open_source(cfg)\nmailers.open_mailer(cfg)"
    modules = _imported_after_loading(tmp_path, BASE, opened)
    assert "cluster_sync.sources.file" in modules and "cluster_sync.mailers.outbox" in modules
    assert _heavy(modules) == set()
    others = {
        _module(spec)
        for _, name, entry in ENTRIES
        if name not in ("file", "outbox")
        for spec in (entry.target, entry.settings or "")
        if spec
    }
    assert others & modules == set()


def test_a_named_backend_loads_its_settings_only(tmp_path: Path) -> None:
    # The check above can fail: naming SMTP and Google loads their settings modules, and
    # still no library of theirs until the backend itself is opened.
    body = BASE.replace('path = "responses.csv"', 'type = "google"\nspreadsheet = "1abcdefghijk"')
    body = body.replace('backend = "outbox"', 'backend = "smtp"') + (
        '\n[mail.smtp]\nhost = "smtp.example.org"\n'
        '\n[publish]\ntarget = "drive"\n\n[publish.drive]\nfolder = "1abcdefghijk"\n'
    )
    modules = _imported_after_loading(tmp_path, body)
    assert {
        "cluster_sync.sources.google_settings",
        "cluster_sync.mailers.smtp_settings",
        "cluster_sync.publish.drive_settings",
    } <= modules
    assert _heavy(modules) == set()
    assert not {"cluster_sync.sources.google", "cluster_sync.mailers.smtp"} & modules
    opened = "from cluster_sync import mailers\nmailers.open_mailer(cfg)"
    assert "smtplib" in _imported_after_loading(tmp_path, body, opened)
