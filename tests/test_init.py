"""`cluster-sync init DIR`: a deployment folder from the package's own data, never over a file;
and an installed wheel, far from this checkout, that runs init, check and sync on the shipped
example data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from cluster_sync.cli import cli
from cluster_sync.deployment import plan

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = (".*", "var", "build", "dist", "*.egg-info", "__pycache__", "tests", "benchmarks")


def _init(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", str(folder)])
    return result.exit_code, result.output


def test_init_writes_a_deployment_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deployment"
    code, output = _init(folder)
    assert code == 0, output
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert written == sorted(p.destination.relative_to(folder).as_posix() for p in plan(folder))
    for name in ("config/cluster-sync.toml", "templates/factsheet.docx", "form.md"):
        assert name in written
    shipped = ROOT / "templates" / "email"
    emails = {p.relative_to(shipped) for p in shipped.rglob("*") if p.suffix in (".j2", ".toml")}
    written_emails = folder / "templates" / "email"
    assert {
        p.relative_to(written_emails) for p in written_emails.rglob("*") if p.is_file()
    } == emails
    assert any(len(p.parts) == 2 for p in emails)  # the languages' folders too
    assert (folder / "templates" / "factsheet.docx").read_bytes() == (
        ROOT / "templates" / "factsheet.docx"
    ).read_bytes()
    assert (folder / "config" / "env").stat().st_mode & 0o077 == 0  # the secrets: owner only
    service = (folder / "schedule" / "cluster-sync.service").read_text(encoding="utf-8")
    crontab = (folder / "schedule" / "crontab").read_text(encoding="utf-8")
    for text in (service, crontab):
        assert "@DIR@" not in text and "@CLUSTER_SYNC@" not in text
        assert f"--config {folder.resolve()}/config/cluster-sync.toml -q sync" in text
        assert f"{folder.resolve()}/config/env" in text
    assert "@USER@" not in service
    assert f"{len(written)} files" in output


def test_init_never_writes_over_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "deployment"
    (folder / "templates").mkdir(parents=True)
    edited = folder / "templates" / "factsheet.docx"
    edited.write_bytes(b"edited in Word")
    code, output = _init(folder)
    assert code == 2, output
    assert "Nothing was written" in output and "templates/factsheet.docx" in output
    assert edited.read_bytes() == b"edited in Word"
    assert [p for p in folder.rglob("*") if p.is_file()] == [edited]


def test_init_over_its_own_folder_refuses_and_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "deployment"
    assert _init(folder)[0] == 0
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    code, output = _init(folder)
    assert code == 2
    assert f"{len(before)} files" in output
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_inits_checks_and_syncs(tmp_path: Path) -> None:
    """Built offline from this checkout, installed with no download: the new environment sees
    this one's dependencies through a path file, never this checkout's cluster_sync."""
    # built from a copy, so that nothing left in this checkout's build/ can slip into it
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    wheels = tmp_path / "wheels"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)],
         tmp_path, env)  # fmt: skip
    (wheel,) = wheels.glob("cluster_sync-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
             tmp_path, env).stdout.strip()
    )  # fmt: skip
    # this environment's dependencies (a path file adds the folder only: its own path files,
    # among them the editable install of this checkout, are not read)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
         tmp_path, env)  # fmt: skip
    where = _run([str(python), "-c", "import cluster_sync; print(cluster_sync.__file__)"],
                 tmp_path, env).stdout  # fmt: skip
    assert where.startswith(str(site)), where
    cluster_sync = str(venv / "bin" / "cluster-sync")
    folder = tmp_path / "deployment"
    _run([cluster_sync, "init", str(folder)], tmp_path, env)
    assert (folder / "templates" / "email" / "digest.txt.j2").is_file()
    checked = _run([cluster_sync, "--config", "config/example.toml", "check"], folder, env)
    assert "templates: OK" in checked.stdout and "report: OK" in checked.stdout
    synced = _run([cluster_sync, "--config", "config/example.toml", "sync"], folder, env)
    assert "Factsheets:" in synced.stdout
    factsheets = list((folder / "var" / "example" / "output" / "factsheets").glob("*.docx"))
    emails = list((folder / "var" / "example" / "outbox").glob("*.eml"))
    assert len(factsheets) >= 10 and len(emails) >= 10
