"""The layers hold: the library never needs click (only the command line, cluster_sync.cli and
cluster_sync.console, imports it), and no module of the library imports, even lazily inside a
function, a module that imports it back."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cluster_sync"
COMMAND_LINE = ("cluster_sync.cli", "cluster_sync.console", "cluster_sync.__main__")
#: the local fakes of Google's APIs, for tests and demos (their own two pairs of lazy imports
#: are known and stay inside cluster_sync.testing)
FAKES = "cluster_sync.testing"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
LIBRARY = sorted(m for m in MODULES if not m.startswith((*COMMAND_LINE, FAKES)))


def _imports(path: Path) -> set[str]:
    """Every cluster_sync module `path` imports, at the top or inside a function; imports
    made only for type checking are left out (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.Import):
            found |= {_module(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {_module(f"{node.module}.{a.name}") for a in node.names}
    return {m for m in found if m}


def _module(name: str) -> str | None:
    """The module a dotted name lives in (`cluster_sync.outputs.SOURCE` is in
    cluster_sync.outputs)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_outside_the_command_line_imports_click() -> None:
    """Importing the whole library, engine first, loads no click."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in ["cluster_sync.engine", *LIBRARY])
    code += "assert 'click' not in sys.modules, 'click was imported'\nprint(len(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_only_the_command_line_names_click() -> None:
    naming = {m for m, p in MODULES.items() if "click" in _third_party(p)}
    assert naming and all(m.startswith(COMMAND_LINE) for m in naming), sorted(naming)


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_import_cycle() -> None:
    graph = {m: _imports(p) - {m} for m, p in MODULES.items() if not m.startswith(FAKES)}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


#: the mail queue owns `messages`: cluster_sync.mailqueue, its delivery pass
#: cluster_sync.mailpass, and cluster_sync.mailstore (the queue's storage of the bodies,
#: through which the privacy work reads and rewrites them).
#: Nothing else runs SQL on the table; the state only creates and migrates it (its MIGRATIONS
#: list, left out of the search).
MESSAGES_SQL_ALLOWED = {"cluster_sync.mailqueue", "cluster_sync.mailpass", "cluster_sync.mailstore"}
#: the reports' repository owns `reports`
REPORTS_SQL_ALLOWED = {"cluster_sync.report.records"}


def _sql_on(table: str) -> re.Pattern[str]:
    return re.compile(rf"\b(FROM|INTO|UPDATE|JOIN|TABLE)\s+{table}\b", re.I)


def _migrations(tree: ast.Module) -> set[int]:
    """The nodes of the state's migration list, where every table is created."""
    return {
        id(node)
        for top in tree.body
        if isinstance(top, ast.AnnAssign | ast.Assign)
        and "MIGRATIONS" in ast.unparse(top.target if isinstance(top, ast.AnnAssign) else top)
        for node in ast.walk(top)
    }


def _runs_sql(source: str, sql: re.Pattern[str]) -> bool:
    """Whether a string in `source`, outside a MIGRATIONS list, is SQL matching `sql`."""
    tree = ast.parse(source)
    migrations = _migrations(tree)
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in migrations
        and sql.search(node.value)
        for node in ast.walk(tree)
    )


def _running(table: str) -> set[str]:
    return {
        m for m, p in MODULES.items() if _runs_sql(p.read_text(encoding="utf-8"), _sql_on(table))
    }


def test_only_the_mail_queue_runs_sql_on_messages() -> None:
    running = _running("messages")
    assert "cluster_sync.mailqueue" in running  # the finder finds the owner
    assert running <= MESSAGES_SQL_ALLOWED, sorted(running - MESSAGES_SQL_ALLOWED)


def test_only_the_reports_repository_runs_sql_on_reports() -> None:
    running = _running("reports")
    assert running == REPORTS_SQL_ALLOWED, sorted(running ^ REPORTS_SQL_ALLOWED)


def test_the_sql_finder_sees_a_query_outside_the_migrations() -> None:
    """A query in a function is found, the same words in the migration list are not."""
    source = (
        'MIGRATIONS: list[str] = ["CREATE TABLE messages (id INTEGER)"]\n'
        "def f(db):\n"
        '    db.execute("UPDATE messages SET state = 1")\n'
    )
    assert _runs_sql(source, _sql_on("messages"))
    assert not _runs_sql(source.split("def")[0], _sql_on("messages"))
    assert not _runs_sql('x = "SELECT * FROM pruned_messages"', _sql_on("messages"))
