"""`cluster-sync resend CL-ID [--to ADDRESS]` through the real CLI: the current factsheet again,
queued under a key of its own per request, recorded and delivered like any email."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from test_cli import run
from test_sync import outbox, read_eml, row_by_title, sync

from cluster_sync.config import Config
from cluster_sync.state import State


def _first_sync(make_config: Callable[..., Config], project: Path) -> tuple[Config, dict]:
    config = make_config()
    sync(config)
    return config, row_by_title(project / "responses.csv", "Adapting coastal plans")


def test_resend_to_everyone_then_to_one_address(
    make_config: Callable[..., Config], project: Path
) -> None:
    config, row = _first_sync(make_config, project)
    cid = row["Cluster ID"]
    before = set(outbox(config))
    code, output = run(config, "resend", cid)
    assert code == 0, output
    (new,) = set(outbox(config)) - before
    message = read_eml(new)
    first = next(p for p in before if cid in p.name and "-factsheet-" in p.name)
    original = read_eml(first)
    assert message["Subject"] == original["Subject"]
    assert sorted(str(message["To"]).split(", ") + str(message["Cc"]).split(", ")) == sorted(
        str(original["To"]).split(", ") + str(original["Cc"]).split(", ")
    )
    attached = next(message.iter_attachments()).get_content()
    assert attached == next(original.iter_attachments()).get_content()
    assert message["Message-ID"] != original["Message-ID"]
    people = len(str(original["Cc"]).split(", ")) + 1
    assert f"Factsheet v1 of {cid} queued for {people} recipients" in output
    assert "Sent 1, failed 0, still queued 0." in output

    code, output = run(config, "resend", cid.lower(), "--to", "Ana <ana.check@example.net>")
    assert code == 0, output
    (again,) = set(outbox(config)) - before - {new}
    resent = read_eml(again)
    assert [a.addr_spec for a in resent["To"].addresses] == ["ana.check@example.net"]
    assert resent["Cc"] is None
    state = State(config.path(config.state.database))
    kinds = state.db.execute(
        "SELECT kind, state, dedupe_key FROM messages WHERE cluster_id = ? ORDER BY id", (cid,)
    ).fetchall()
    state.close()
    assert [k["kind"] for k in kinds] == ["factsheet", "factsheet_resend", "factsheet_resend"]
    assert all(k["state"] == "sent" for k in kinds)
    assert len({k["dedupe_key"] for k in kinds}) == 3


def test_the_sheet_status_still_counts_the_first_delivery(
    make_config: Callable[..., Config], project: Path
) -> None:
    config, row = _first_sync(make_config, project)
    run(config, "resend", row["Cluster ID"], "--to", "someone@example.org")
    sync(config)
    after = row_by_title(project / "responses.csv", "Adapting coastal plans")
    assert after["Sync status"] == row["Sync status"]


def test_resend_says_what_to_do_when_there_is_nothing_to_send(
    make_config: Callable[..., Config], project: Path
) -> None:
    config, row = _first_sync(make_config, project)
    code, output = run(config, "resend", "CL-1999-999")
    assert code == 1 and "There is no registration 'CL-1999-999'" in output
    invalid = row_by_title(project / "responses.csv", "Marine heatwaves")
    code, output = run(config, "resend", invalid["Cluster ID"])
    assert code == 1 and "has no factsheet yet (its registration is invalid)" in output
    code, output = run(config, "resend", row["Cluster ID"], "--to", "not an address")
    assert code == 1 and "is not one email address" in output
    for path in config.path(config.output.directory).glob(f"factsheets/{row['Cluster ID']}-*"):
        path.unlink()
    code, output = run(config, "resend", row["Cluster ID"])
    assert code == 1 and "is not on disk" in output and "run `cluster-sync sync`" in output
    assert "Traceback" not in output
