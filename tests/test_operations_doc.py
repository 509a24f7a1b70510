"""docs/operations.md and the files `cluster-sync init` writes agree: the folder the doc tells
the operator to init is the one the crontab line and the systemd service read their one
environment file from, the cron line the doc shows is the one init writes, the env file reads
the same in the shell (cron) and in systemd, and the units pass `systemd-analyze verify`."""

from __future__ import annotations

import ctypes
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cluster_sync.cli import cli
from cluster_sync.deployment import LAYOUT, filled, packaged

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
#: a password as people choose them: spaces, $, ;, &, quotes, backquotes, a backslash
HARD = 'ab cd $HOME; x&y "q" `z` \\e'


def _shipped(name: str) -> str:
    return (packaged("deploy") / name).read_text(encoding="utf-8")


def _doc_init() -> tuple[str, str]:
    """The program and the folder of the doc's `cluster-sync init` line."""
    (found,) = re.findall(r"^sudo -u cluster-sync (\S+/cluster-sync) init (\S+)$", DOC, re.M)
    return found


def _cron_command(crontab: str) -> str:
    (line,) = [x for x in crontab.splitlines() if x.strip() and not x.startswith("#")]
    return line.split(None, 5)[5]


def test_the_doc_shows_the_schedule_init_writes_for_its_folder() -> None:
    program, folder = _doc_init()
    values = {"@DIR@": folder, "@CLUSTER_SYNC@": program, "@USER@": "cluster-sync"}
    crontab = filled(_shipped("crontab"), values)
    (block,) = re.findall(r"```cron\n(.*?)```", DOC, re.S)
    shown = [x for x in block.splitlines() if x.strip() and not x.startswith("#")]
    assert shown == [x for x in crontab.splitlines() if x.strip() and not x.startswith("#")]
    # one environment file, where init writes it and the doc says to edit it
    env = f"{folder}/config/env"
    assert ("deploy", "env", "config/env") in LAYOUT
    assert f"set -a && . {env} && set +a && {program} " in _cron_command(crontab)
    service = filled(_shipped("cluster-sync.service"), values)
    assert re.findall(r"^EnvironmentFile=(.*)$", service, re.M) == [env]
    (start,) = re.findall(r"^ExecStart=(.*)$", service, re.M)
    assert _cron_command(crontab).endswith(start)  # the same command, after reading env
    assert f"cd {folder}\n" in DOC and "set -a && . config/env && set +a\n" in DOC
    for unit in ("cluster-sync.service", "cluster-sync.timer"):
        assert f"sudo cp {folder}/schedule/{unit} /etc/systemd/system/" in DOC


def _systemd_reads(path: Path) -> dict[str, str] | None:
    """The variables systemd's own parser (load_env_file, what EnvironmentFile= uses) reads
    from `path`, or None where systemd's shared library is not installed."""
    found = sorted(Path("/usr/lib").glob("*/systemd/libsystemd-shared-*.so"))
    if not found:
        return None
    lib = ctypes.CDLL(str(found[-1]))
    strings = ctypes.POINTER(ctypes.c_char_p)
    lib.load_env_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(strings)]
    result = strings()
    assert lib.load_env_file(None, str(path).encode(), ctypes.byref(result)) == 0
    pairs = []
    while result[len(pairs)]:
        pairs.append(result[len(pairs)].decode())
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_env_file_reads_the_same_for_cron_and_systemd(tmp_path: Path) -> None:
    folder = tmp_path / "deployment"
    (folder / "config").mkdir(parents=True)
    shipped = _shipped("env")
    env = folder / "config" / "env"
    env.write_text(
        shipped.replace("CLUSTER_SYNC_SMTP_PASSWORD=''", f"CLUSTER_SYNC_SMTP_PASSWORD='{HARD}'"),
        encoding="utf-8",
    )
    # the crontab line as init writes it, its program one that shows what it was given
    shows = tmp_path / "shows.py"
    shows.write_text(
        "import json, os, sys\n"
        "print(json.dumps([os.environ.get('CLUSTER_SYNC_SMTP_PASSWORD'), sys.argv[1:]]))\n"
    )
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(shows))}"
    crontab = filled(_shipped("crontab"), {"@DIR@": str(folder), "@CLUSTER_SYNC@": program})
    done = subprocess.run(
        ["/bin/sh", "-c", _cron_command(crontab)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"},  # as cron
        capture_output=True,
        text=True,
        check=True,
    )
    value, arguments = json.loads(done.stdout)
    assert value == HARD
    assert arguments == ["--config", f"{folder}/config/cluster-sync.toml", "-q", "sync"]
    systemd = _systemd_reads(env)
    if systemd is None:
        pytest.skip("systemd's shared library is not installed: only the shell side was read")
    assert systemd == {"CLUSTER_SYNC_SMTP_PASSWORD": HARD}
    (folder / "config" / "shipped").write_text(shipped, encoding="utf-8")
    assert _systemd_reads(folder / "config" / "shipped") == {"CLUSTER_SYNC_SMTP_PASSWORD": ""}


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not here")
def test_the_units_init_writes_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    folder = tmp_path / "deployment"
    result = CliRunner().invoke(cli, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    units = [folder / "schedule" / name for name in ("cluster-sync.service", "cluster-sync.timer")]
    done = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    # and the check can fail: a misspelt key is reported
    broken = folder / "schedule" / "broken.service"
    broken.write_text(units[0].read_text().replace("SuccessExitStatus", "SuccessExitCode"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(broken)], capture_output=True, text=True
    )
    assert "Unknown key 'SuccessExitCode'" in done.stderr
