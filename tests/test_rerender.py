"""`cluster-sync rerender [CL-ID… | --all] [--notify]` and the template fingerprint in
`cluster-sync status`, through the real CLI: new versions with the current template, nobody
emailed without --notify, the sync's own dedupe keys with it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import docx
from test_cli import run
from test_sync import NOW, edit_cell, outbox, read_eml, row_by_title, rows, sync

from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.mailers.outbox_settings import outbox_folder
from cluster_sync.state import State

ROOT = Path(__file__).resolve().parent.parent
NEW_LOGO = '[branding]\nprogramme_logo = "logo.png"\n'


def _versions(config: Config) -> dict[str, tuple[str, int, int]]:
    state = State(config.path(config.state.database))
    try:
        return {
            r.cluster_id: (r.status, r.version, r.emailed_version) for r in state.registrations()
        }
    finally:
        state.close()


def _messages(config: Config) -> list[tuple[str, str, str]]:
    state = State(config.path(config.state.database))
    try:
        found = state.db.execute("SELECT dedupe_key, kind, state FROM messages ORDER BY id")
        return [tuple(r) for r in found]
    finally:
        state.close()


def _with_new_logo(make_config: Callable[..., Config], project: Path) -> Config:
    """The same project after the secretariat added the programme logo: a new template."""
    shutil.copy(
        ROOT / "examples" / "branding" / "programme-logo-placeholder.png", project / "logo.png"
    )
    return make_config(extra=NEW_LOGO)


def _pictures(path: Path) -> int:
    return len(docx.Document(str(path)).inline_shapes)


def test_after_a_template_change_status_points_to_rerender_all(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    code, output = run(config, "status")
    assert code == 0 and "older template" not in output and "rerender" not in output
    valid = sorted(cid for cid, (status, *_) in _versions(config).items() if status == "valid")

    config = _with_new_logo(make_config, project)
    code, output = run(config, "status")
    assert code == 0, output
    assert f"Factsheets made with an older template: {len(valid)} ({', '.join(valid[:8])}" in output
    assert "`cluster-sync rerender --all`" in output
    code, output = run(config, "status", "--json")
    assert '"older": [' in output and valid[0] in output


def test_rerender_all_makes_new_versions_and_emails_nobody(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    before = _versions(config)
    messages = _messages(config)
    sent = sorted(outbox(config))
    sheet = {r["Cluster ID"]: r["Sync status"] for r in rows(project / "responses.csv")}
    config = _with_new_logo(make_config, project)

    code, output = run(config, "rerender", "--all")
    assert code == 0, output
    after = _versions(config)
    valid = sorted(cid for cid, (status, *_) in before.items() if status == "valid")
    made = ", ".join(f"{cid} v{before[cid][1] + 1}" for cid in valid)
    assert f"Made again with the current template: {len(valid)} factsheets ({made})." in output
    assert "Nobody was emailed" in output
    assert sorted(outbox(config)) == sent and _messages(config) == messages
    for cid, (status, version, emailed) in after.items():
        old = before[cid]
        if status == "valid":
            assert version == old[1] + 1 and emailed == version  # they had the same answers
            new = next(
                config.path(config.output.directory).glob(f"factsheets/{cid}-*-v{version}.docx")
            )
            assert _pictures(new) > 0  # the logo reached the existing factsheet
        else:
            assert (status, version, emailed) == old  # needs fixing: left alone

    code, output = run(config, "status")
    assert "older template" not in output
    code, output = run(config, "rerender", "--all")
    assert code == 0 and "already made with the current template; nothing to do" in output
    assert _versions(config) == after

    sync(config, NOW.replace(day=26))  # the night after: no email, the sheet says the new version
    assert sorted(outbox(config)) == sent
    for line in rows(project / "responses.csv"):
        cid = line["Cluster ID"]
        if after.get(cid, ("",))[0] == "valid":
            assert f"factsheet v{after[cid][1]}" in line["Sync status"], line["Sync status"]
            assert line["Sync status"] != sheet[cid]


def test_rerender_notify_sends_under_the_sync_key_once(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    cid = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    config = _with_new_logo(make_config, project)
    # The mail backend cannot be used: the email must wait in the queue, not be lost.
    outbox_dir = outbox_folder(config)
    parked = outbox_dir.with_name("parked")
    outbox_dir.rename(parked)
    outbox_dir.write_text("a file where the outbox folder should be")

    code, output = run(config, "rerender", cid.lower(), "--notify")
    assert code == 4, output
    assert f"Made again with the current template: 1 factsheet ({cid} v2)." in output
    assert f"Factsheet emails queued: 1 ({cid})." in output
    assert "Warning: mail delivery stopped" in output
    assert (f"factsheet:{cid}:v2", "factsheet_update", "queued") in _messages(config)

    outbox_dir.unlink()
    parked.rename(outbox_dir)
    before = set(outbox(config))
    code, output = run(config, "send")
    assert code == 0, output
    (new,) = set(outbox(config)) - before
    message = read_eml(new)
    assert str(message["Subject"]).startswith("Updated factsheet for your cluster " + cid)
    body = message.get_body(("plain",)).get_content()
    assert "has a new layout" in body and "your registration is unchanged" in body
    attached = next(message.iter_attachments())
    assert attached.get_filename().endswith("-v2.docx")
    run(config, "send")
    sync(config, NOW.replace(day=26))
    assert set(outbox(config)) - before == {new}  # never twice, not even by the sync
    assert (f"factsheet:{cid}:v2", "factsheet_update", "sent") in _messages(config)


def test_a_version_not_yet_sent_is_left_to_the_sync(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config(approval=True)
    sync(config)
    held = next(
        r for r in rows(project / "responses.csv") if "waiting for approval" in r["Sync status"]
    )
    cid = held["Cluster ID"]
    code, output = run(config, "rerender", cid, "--notify")
    assert code == 0, output
    assert f"earlier version not being sent yet (waiting for approval): {cid}" in output
    assert "Factsheet emails queued: 0 (none)." in output
    assert _versions(config)[cid][1:] == (2, 0)
    edit_cell(project / "responses.csv", cid, "Approved", "TRUE")
    sync(config, NOW.replace(day=26))
    (sent,) = [read_eml(p) for p in outbox(config) if cid in p.name]
    assert str(sent["Subject"]).startswith("Factsheet for your cluster")
    assert next(sent.iter_attachments()).get_filename().endswith("-v2.docx")


def test_factsheets_from_before_the_fingerprint_count_as_unknown(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    cid = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    state = State(config.path(config.state.database))
    state.db.execute("DELETE FROM factsheet_templates WHERE cluster_id = ?", (cid,))
    state.close()
    code, output = run(config, "status")
    assert f"made before templates were recorded (template unknown): 1 ({cid})." in output
    code, output = run(config, "rerender", "--all")
    assert code == 0, output
    assert f"Made again with the current template: 1 factsheet ({cid} v2)." in output
    assert "Already made with the current template (left alone):" in output
    code, output = run(config, "status")
    assert "template unknown" not in output


def test_rerender_says_what_to_do_and_does_nothing_on_a_bad_request(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    before = _versions(config)
    good = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    invalid = row_by_title(project / "responses.csv", "Marine heatwaves")["Cluster ID"]
    code, output = run(config, "rerender", good, "CL-1999-999")
    assert code == 1 and "There is no registration 'CL-1999-999'" in output
    code, output = run(config, "rerender", invalid)
    assert code == 1 and f"{invalid} has no factsheet yet" in output
    code, output = run(config, "rerender")
    assert code == 1 and "Name the clusters to re-render, or give --all." in output
    code, output = run(config, "rerender", good, "--all")
    assert code == 1 and "Give Cluster IDs or --all, not both" in output
    assert "Traceback" not in output
    assert _versions(config) == before


def test_rerender_makes_every_format_and_publishes_the_new_version(
    make_config: Callable[..., Config], project: Path
) -> None:
    from publish_fixtures import responses
    from test_publish_folder import folder_section

    responses(project, 2)
    web = project / "www"
    web.mkdir()
    make_config()  # writes the file this test edits: PDF as well, and a web folder
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8").replace(
        "[mail]\n", 'formats = ["docx", "pdf"]\n\n[mail]\nattach = ["pdf"]\n'
    )
    path.write_text(text + folder_section(web), encoding="utf-8")
    sync(config_mod.load(path))
    shutil.copy(
        ROOT / "examples" / "branding" / "programme-logo-placeholder.png", project / "logo.png"
    )
    path.write_text(text + folder_section(web) + NEW_LOGO, encoding="utf-8")
    config = config_mod.load(path)

    code, output = run(config, "rerender", "--all")
    assert code == 0, output
    assert "Made again with the current template: 2 factsheets" in output
    assert "Factsheet files published: 4, not published yet: 0." in output
    state = State(config.path(config.state.database))
    try:
        files = state.db.execute(
            "SELECT format, path FROM factsheet_files WHERE version = 2 ORDER BY cluster_id, format"
        ).fetchall()
        published = state.db.execute(
            "SELECT format FROM published WHERE version = 2 AND state = 'done' ORDER BY format"
        ).fetchall()
    finally:
        state.close()
    assert [f["format"] for f in files] == ["docx", "pdf", "docx", "pdf"]
    for _, pdf in (f for f in files if f["format"] == "pdf"):
        assert Path(pdf).read_bytes().startswith(b"%PDF")
    assert sorted(p[0] for p in published) == ["docx", "docx", "pdf", "pdf"]


def test_a_factsheet_that_cannot_be_written_exits_5_and_the_others_are_made(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    before = _versions(config)
    one = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    other = row_by_title(project / "responses.csv", "Governance toolkit")["Cluster ID"]
    folder = config.path(config.output.directory) / "factsheets"
    (v1,) = folder.glob(f"{one}-*-v1.docx")
    (folder / v1.name.replace("-v1.docx", "-v2.docx")).mkdir()  # in the way of the new file

    code, output = run(config, "rerender", one, other)
    assert code == 5, output
    assert f"Made again with the current template: 1 factsheet ({other} v2)." in output
    assert f"{one}: could not be made again: its factsheet could not be written" in output
    assert "Warning: 1 factsheet could not be made" in output
    after = _versions(config)
    assert after[one] == before[one] and after[other][1] == 2


def test_a_new_version_that_cannot_be_published_exits_7(
    make_config: Callable[..., Config], project: Path
) -> None:
    from test_publish_folder import folder_section

    web = project / "www"
    web.mkdir()
    config = make_config(extra=folder_section(web))
    sync(config)
    cid = row_by_title(project / "responses.csv", "Adapting coastal plans")["Cluster ID"]
    shutil.rmtree(web)
    web.write_text("a file where the web folder should be")

    code, output = run(config, "rerender", cid)
    assert code == 7, output
    assert f"Made again with the current template: 1 factsheet ({cid} v2)." in output
    assert "Factsheet files published: 0, not published yet: 1." in output
    assert "Warning: some factsheet files were not published" in output


def test_after_a_lost_state_database_the_templates_are_unknown(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    valid = sorted(cid for cid, (status, *_) in _versions(config).items() if status == "valid")
    sent = sorted(outbox(config))
    config.path(config.state.database).unlink()
    sync(config, NOW.replace(day=26))  # rebuilt from the sheet, the files and the outbox
    code, output = run(config, "status")
    assert f"(template unknown): {len(valid)} (" in output, output
    code, output = run(config, "rerender", "--all")
    assert code == 0, output
    assert f"Made again with the current template: {len(valid)} factsheets" in output
    assert sorted(outbox(config)) == sent
    code, output = run(config, "status")
    assert "template unknown" not in output
