"""Dedupe keys have one owner: cluster_sync/keys.py builds and reads them, and no other module
of the package writes a key's shape (`factsheet:{id}:v{n}`) or tests a key's prefix itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cluster_sync import keys

PACKAGE = Path(__file__).resolve().parent.parent / "cluster_sync"
OWNER = PACKAGE / "keys.py"


def _text(node: ast.AST) -> str | None:
    """A string literal as written, each `{...}` of an f-string kept as "{}"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }


def _literals(source: str) -> list[str]:
    """Every string literal of a module but its docstrings, f-strings as one piece."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside:
            continue
        text = _text(node)
        if text is not None:
            found.append(text)
    return found


def _prefixes() -> set[str]:
    """The word each key keys.py builds starts with (factsheet, problems, digest...)."""
    words = set()
    for text in _literals(OWNER.read_text(encoding="utf-8")):
        match = re.match(r"^([a-z][a-z-]*)[:;]", text)
        if match:
            words.add(match[1])
    return words


def _key_shaped(source: str, words: set[str]) -> list[str]:
    """The literals that write or test a key: a prefix word, ":" and no space after it, or
    any word in the shape of a version's key (`files:{id}:v{n}`); and the splits of a key
    (`dedupe_key.split(":")`, `d.key.partition("#")`)."""
    shape = re.compile(rf"^(?:(?:{'|'.join(sorted(words))})[:;](?!\s)|[a-z-]+:{{}}:v{{}})")
    found = [t for t in _literals(source) if shape.match(t)]
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("split", "rsplit", "partition", "rpartition")
            and node.args
            and _text(node.args[0]) in (":", "#")
            and re.search(r"dedupe_key|\.key$", ast.unparse(node.func.value))
        ):
            found.append(ast.unparse(node))
    return found


def test_keys_py_builds_every_kind_of_key() -> None:
    assert {"factsheet", "problems", "digest", "report", "resend", "preview"} <= _prefixes()


def test_no_other_module_writes_or_tests_a_key() -> None:
    words = _prefixes()
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != OWNER and (found := _key_shaped(path.read_text(encoding="utf-8"), words))
    }
    assert offenders == {}


def test_the_finder_sees_a_key_written_elsewhere() -> None:
    """What the test above looks for is found: an f-string key, a prefix tested, not prose."""
    words = _prefixes()
    source = (
        '"""A docstring may say factsheet:CL-2026-001:v1."""\n'
        'def key(cid, n):\n    return f"factsheet:{cid}:v{n}"\n'
        'def is_digest(k):\n    return k.startswith("digest:")\n'
        'LINE = "report: OK"\n'
        'def kind(dedupe_key):\n    return dedupe_key.split(":")[0]\n'
        'def files(cid, n):\n    return f"files:{cid}:v{n}"\n'
        'def period(text):\n    return text.partition(":")\n'
    )
    assert sorted(_key_shaped(source, words)) == [
        "dedupe_key.split(':')",
        "digest:",
        "factsheet:{}:v{}",
        "files:{}:v{}",
    ]


def test_keys_read_back_what_they_build() -> None:
    factsheet = keys.FACTSHEET.match(keys.part(keys.factsheet("CL-2026-001", 3), 2))
    assert factsheet and (factsheet["id"], factsheet["version"]) == ("CL-2026-001", "3")
    problems = keys.PROBLEMS.match(keys.problems("CL-2026-002", None, "ab12"))
    assert problems and (problems["id"], problems["hash"]) == ("CL-2026-002", "ab12")
    assert keys.whole(keys.part("report:2026-01-01:2026-01-31", 1)) == (
        "report:2026-01-01:2026-01-31"
    )
    assert keys.prefix(keys.digest(7)) == "digest"
    assert keys.run_scoped(keys.digest(7))
    assert not keys.run_scoped(keys.factsheet("CL-2026-001", 1))
    low, high = keys.FACTSHEETS
    assert low <= keys.factsheet("CL-2026-001", 1) < high
    assert not low <= keys.problems("CL-2026-001", None, "a") < high
