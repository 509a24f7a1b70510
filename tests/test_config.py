"""The TOML configuration: the shipped files load, and every problem is listed with its key."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cluster_sync import config
from cluster_sync.config import Config, ConfigError
from cluster_sync.errors import UserError
from cluster_sync.sources.file_settings import FileSourceConfig
from cluster_sync.sources.google_settings import GoogleSourceConfig

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """
[source]
type = "file"
path = "var/responses.csv"
"""
STATE = """
[state]
database = "var/state.sqlite3"
"""
OUTPUT = """
[output]
directory = "var/output"
"""
MAIL = """
[mail]
backend = "outbox"
outbox = "var/outbox"
from = "Natural Heritage CoP <cop-secretariat@example.org>"
reply_to = "Secretariat <secretariat@example.org>"
secretariat = ["Secretariat <secretariat@example.org>"]
"""
MINIMAL = SOURCE + STATE + OUTPUT + MAIL


def write(tmp_path: Path, body: str, name: str = "config/cluster-sync.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, body))
    return caught.value.problems


# --- shipped configurations --------------------------------------------------------------------


def test_demo_config_is_valid() -> None:
    cfg = config.load(ROOT / "config" / "demo.toml")
    assert isinstance(cfg.source, FileSourceConfig)
    assert cfg.source.write_back is True
    assert cfg.form.date_order == "DMY"
    assert cfg.zone == ZoneInfo("Europe/Brussels")
    assert cfg.mail.backend == "outbox"
    assert cfg.base_dir == ROOT
    assert cfg.path(cfg.source.path) == ROOT / "var/demo/responses.csv"


def test_example_config_is_valid() -> None:
    path = ROOT / "config" / "cluster-sync.toml"
    if not path.exists():
        pytest.skip("config/cluster-sync.toml is not in this tree")
    cfg = config.load(path)
    assert cfg.base_dir == ROOT
    assert cfg.mail.secretariat


def test_minimal_config_takes_the_defaults(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, MINIMAL))
    assert cfg.form.date_order == "DMY"
    assert cfg.form.timezone == "Europe/Brussels"
    assert cfg.form.columns == {}
    assert cfg.approval.required is False
    assert cfg.ids.prefix == "CL"
    assert cfg.mail.limits.per_day == 2000
    assert cfg.mail.factsheet_to == "contact_and_participants"


def test_source_type_defaults_to_file(tmp_path: Path) -> None:
    body = MINIMAL.replace('type = "file"\n', "")
    cfg = config.load(write(tmp_path, body))
    assert isinstance(cfg.source, FileSourceConfig)


def test_google_source(tmp_path: Path) -> None:
    body = (
        '[source]\ntype = "google"\nspreadsheet = "1AbCdEf"\ncredentials_file = "keys/sa.json"\n'
        + STATE
        + OUTPUT
        + MAIL
    )
    cfg = config.load(write(tmp_path, body))
    assert isinstance(cfg.source, GoogleSourceConfig)
    assert cfg.source.worksheet == "Form responses 1"
    assert cfg.source.write_back is True
    assert cfg.source.credentials_file is not None
    assert cfg.path(cfg.source.credentials_file) == tmp_path / "keys" / "sa.json"


def test_form_columns_map_known_questions(tmp_path: Path) -> None:
    body = MINIMAL + '[form]\ncolumns = { title = "Name of the cluster", consent = "Accord" }\n'
    cfg = config.load(write(tmp_path, body))
    assert cfg.form.columns == {"title": "Name of the cluster", "consent": "Accord"}


# --- many problems at once ---------------------------------------------------------------------

BROKEN = """
[source]
type = "file"
path = "responses.csv"
write_bak = true

[form]
date_order = "DD/MM"
timezone = "Europe/Bruxelles"
columns = { titel = "Name of the cluster" }

[output]
directory = "out"

[mail]
backend = "outbox"
outbox = "outbox"
from = "CoP <cop@example.org>"
reply_to = "secretariat@example.org"
secretariat = ["secretariat@example.org"]
limits = { per_minute = "sixty" }

[log]
level = "LOUD"
"""


def test_every_problem_is_listed_with_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    error = caught.value
    assert isinstance(error, UserError)
    assert error.problems == [
        "source.write_bak: unknown setting (misspelt?); remove it or fix its name.",
        "form.date_order = 'DD/MM': Input should be 'DMY', 'MDY' or 'YMD'.",
        "form.timezone = 'Europe/Bruxelles': is not a time zone name such as Europe/Brussels.",
        "form.columns = {'titel': 'Name of the cluster'}: unknown question key(s) titel; "
        "allowed: timestamp, respondent_email, title, acronym, question, objectives, "
        "working_groups, cluster_type, lead_organisation, lead_country, lead_role, "
        "contact_person, contact_email, participant_categories, thematic_projects, "
        "participants, results, transfer_levels, outcomes, start_date, end_date, roadmap, "
        "expertise, consent, edit_link, preferred_language.",
        "state: missing; this setting is required.",
        "mail.limits.per_minute = 'sixty': Input should be a valid integer, unable to parse "
        "string as an integer.",
        "log.level = 'LOUD': Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'.",
    ]
    assert str(error).startswith(f"{path} has 7 problem(s):")
    for problem in error.problems:
        assert f"\n  - {problem}" in str(error)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[approval]\nrequierd = true\n", "approval.requierd: unknown setting"),
        ("[extras]\nx = 1\n", "extras: unknown setting"),
        ('[ids]\nprefix = "cl-"\n', "ids.prefix = 'cl-': String should match pattern"),
        (
            "[approval]\nrequired = 'maybe'\n",
            "approval.required = 'maybe': Input should be a valid boolean",
        ),
        (
            "[report]\nmonthly_on_day = 31\n",
            "report.monthly_on_day = 31: Input should be less than or equal to 28",
        ),
        ('[form]\ntimezone = "CET+1"\n', "form.timezone = 'CET+1': is not a time zone name"),
        (
            '[form]\ndate_order = "dmy"\n',
            "form.date_order = 'dmy': Input should be 'DMY', 'MDY' or 'YMD'",
        ),
        (
            '[form]\ncolumns = { start = "Début" }\n',
            "form.columns = {'start': 'Début'}: unknown question key(s) start",
        ),
        ('[log]\nlevel = "info"\n', "log.level = 'info': Input should be"),
    ],
)
def test_single_problem_names_its_key(tmp_path: Path, extra: str, expected: str) -> None:
    problems = problems_of(tmp_path, MINIMAL + extra)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected)


@pytest.mark.parametrize("section", ["state", "output", "mail", "source"])
def test_missing_required_section(tmp_path: Path, section: str) -> None:
    parts = {"source": SOURCE, "state": STATE, "output": OUTPUT, "mail": MAIL}
    body = "".join(text for name, text in parts.items() if name != section)
    assert problems_of(tmp_path, body) == [f"{section}: missing; this setting is required."]


def test_missing_required_keys_inside_sections(tmp_path: Path) -> None:
    body = '[source]\ntype = "file"\n[state]\n[output]\n' + MAIL.replace(
        'reply_to = "Secretariat <secretariat@example.org>"\n', ""
    )
    assert problems_of(tmp_path, body) == [
        "source.path: missing; this setting is required.",
        "state.database: missing; this setting is required.",
        "output.directory: missing; this setting is required.",
        "mail.reply_to: missing; this setting is required.",
    ]


def test_unknown_source_type(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL.replace('type = "file"', 'type = "ftp"'))
    assert len(problems) == 1
    assert problems[0].startswith("source")
    assert "'ftp'" in problems[0]


def test_outbox_backend_needs_a_folder(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL.replace('outbox = "var/outbox"\n', ""))
    assert len(problems) == 1
    assert problems[0].startswith("mail")
    assert "mail.backend = 'outbox' needs mail.outbox (a folder)" in problems[0]


def test_smtp_backend_needs_its_table(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL.replace('backend = "outbox"', 'backend = "smtp"'))
    assert len(problems) == 1
    assert "mail.backend = 'smtp' needs a [mail.smtp] table" in problems[0]


def test_smtp_settings_are_checked(tmp_path: Path) -> None:
    body = MINIMAL + '[mail.smtp]\nhost = "smtp.example.org"\nport = 70000\nsecurity = "ssl"\n'
    problems = problems_of(tmp_path, body)
    assert [p.split(" ", 1)[0] for p in problems] == ["mail.smtp.port", "mail.smtp.security"]


# --- the file itself ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert caught.value.message.startswith(f"No configuration file at {path}.")
    assert caught.value.problems == []
    assert caught.value.hint is not None and "--config" in caught.value.hint


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, '[source]\npath = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert str(caught.value).startswith(f"{path} is not valid TOML.")
    assert len(caught.value.problems) == 1
    assert "line 2" in caught.value.problems[0]


def test_config_error_exit_code() -> None:
    assert ConfigError("x", []).exit_code == 2


# --- relative paths ----------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_project_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    cfg = config.load(write(project, MINIMAL))
    assert cfg.base_dir == project.resolve()
    assert cfg.path(cfg.source.path) == project.resolve() / "var" / "responses.csv"
    assert cfg.path(cfg.state.database) == project.resolve() / "var" / "state.sqlite3"
    assert cfg.path(cfg.output.factsheet_template) == project.resolve() / "templates/factsheet.docx"


def test_relative_paths_do_not_depend_on_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    path = write(project, MINIMAL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = config.load(Path("..") / "project" / "config" / "cluster-sync.toml")
    assert cfg.path(cfg.output.directory) == project.resolve() / "var" / "output"
    assert path.exists()


def test_file_outside_a_config_folder_resolves_against_its_own_folder(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, MINIMAL, name="settings/sync.toml"))
    assert cfg.base_dir == (tmp_path / "settings").resolve()
    assert cfg.path(cfg.source.path) == (tmp_path / "settings").resolve() / "var/responses.csv"


def test_absolute_paths_stay_as_they_are(tmp_path: Path) -> None:
    absolute = tmp_path / "data" / "responses.xlsx"
    body = MINIMAL.replace('path = "var/responses.csv"', f"path = {str(absolute)!r}")
    cfg = config.load(write(tmp_path / "project", body))
    assert cfg.path(cfg.source.path) == absolute


def test_config_model_is_frozen(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, MINIMAL))
    assert isinstance(cfg, Config)
    with pytest.raises(Exception, match="frozen"):
        cfg.form.date_order = "MDY"  # type: ignore[misc]


def test_google_api_address_must_be_https_unless_on_this_machine(tmp_path: Path) -> None:
    base = (
        '[state]\ndatabase = "s"\n[output]\ndirectory = "o"\n[mail]\noutbox = "o"\n'
        'from = "a@example.org"\nreply_to = "a@example.org"\nsecretariat = ["a@example.org"]\n'
    )
    path = tmp_path / "c.toml"
    for url, ok in [
        ("http://proxy.example.org", False),
        ("ftp://127.0.0.1", False),
        ("http://127.0.0.1:8080", True),
        ("https://sheets.example.org/", True),
    ]:
        path.write_text(
            f'[source]\ntype = "google"\nspreadsheet = "abc1234567890"\napi_base_url = "{url}"\n'
            + base
        )
        if ok:
            assert config.load(path).source.api_base_url == url.rstrip("/")  # type: ignore[union-attr]
        else:
            with pytest.raises(ConfigError, match="api_base_url"):
                config.load(path)
