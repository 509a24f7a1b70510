"""docs/cli.md, the command reference, written from the commands' own --help, so the two never
disagree: `make docs` writes it, and a test fails when it is not current.

    python -m cluster_sync.cli.reference > docs/cli.md
"""

from __future__ import annotations

import click

from cluster_sync.cli import cli

HELP = ["-h", "--help"]
#: a fixed width, so the file does not depend on the terminal it was made in
WIDTH = 100
HEADER = """# Command reference

Every command and option, as `--help` shows them. This file is written by
`make docs` (`python -m cluster_sync.cli.reference > docs/cli.md`); edit the commands' help
texts, not this file. The README says what each command is for, with examples.
"""


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    context = click.Context(
        command,
        info_name=name,
        parent=parent,
        terminal_width=WIDTH,
        max_content_width=WIDTH,
        help_option_names=HELP,
    )
    return command.get_help(context)


def reference() -> str:
    """The whole reference, as Markdown: the group's help, then each command's."""
    root = click.Context(cli, info_name="cluster-sync", help_option_names=HELP)
    parts = [HEADER, "## cluster-sync", "", "```", _help(cli, "cluster-sync", None), "```", ""]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is None or command.hidden:
            continue
        parts += [f"## cluster-sync {name}", "", "```", _help(command, name, root), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
