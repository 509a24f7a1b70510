"""The documentation that can go stale is checked: the command reference is the commands' own
--help, every command is in the README, and CI runs the test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

from cluster_sync.cli import cli
from cluster_sync.cli.reference import reference

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_reference_is_current() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == reference(), "docs/cli.md is stale: run `make docs`"


def test_the_reference_has_every_command_and_option() -> None:
    text = reference()
    for name, command in cli.commands.items():
        if command.hidden:  # an old name kept for scripts (`outbox`), not documented
            assert f"## cluster-sync {name}\n" not in text
            continue
        assert f"## cluster-sync {name}\n" in text
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--"):
                    assert option in text, (name, option)


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        if not command.hidden:
            assert f"`cluster-sync {name}" in readme, name


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (documented,) = re.findall(r"^(make check)\s+#", readme, re.M)
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands[-1] == documented
