"""Consent as the form asks it: the wording lives in the configuration, and a response whose
consent is withdrawn is no longer published (not emailed again, not named, not exported)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from test_sync import NOW, edit_cell, row_by_title, sync

from cluster_sync import config as config_mod
from cluster_sync.config import Config
from cluster_sync.registry_export import registry
from cluster_sync.report.gather import Period
from cluster_sync.report.service import make_report
from cluster_sync.state import State

WORDING = "Ich stimme der Veröffentlichung im Factsheet und in den CoP-Berichten zu"


def test_the_consent_wording_comes_from_the_configuration(
    make_config: Callable[..., Config], project: Path
) -> None:
    make_config()
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[form]\n", f'[form]\nconsent_text = "{WORDING}"\n'), "utf-8")
    config = config_mod.load(path)
    assert config.form.consent_text == WORDING
    responses = project / "responses.csv"
    sync(config)
    title = "Governance toolkit"
    cluster_id = row_by_title(responses, title)["Cluster ID"]
    # the example's answers carry the form's default wording, not this configuration's
    assert "is not the consent option" in row_by_title(responses, title)["Sync status"]
    edit_cell(responses, cluster_id, "Consent", WORDING)
    sync(config, NOW.replace(day=26))
    assert row_by_title(responses, title)["Sync status"].startswith("OK")
    edit_cell(responses, cluster_id, "Consent", "")
    sync(config, NOW.replace(day=27))
    status = row_by_title(responses, title)["Sync status"]
    assert "Needs fixing" in status and WORDING in status


def test_withdrawn_consent_is_no_longer_published(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    responses = project / "responses.csv"
    sync(config)
    cluster_id = row_by_title(responses, "Governance toolkit")["Cluster ID"]
    state = State(config.path(config.state.database))
    assert cluster_id in {r.values["cluster_id"] for r in registry(state, NOW.date())}
    state.close()
    edit_cell(responses, cluster_id, "Consent", "")
    later = sync(config, NOW.replace(day=26))
    assert cluster_id in {r.cluster_id for r in later.of("invalid")}
    assert later.counts["updated"] == 0  # no factsheet made or emailed from it
    state = State(config.path(config.state.database))
    assert cluster_id not in {r.values["cluster_id"] for r in registry(state, NOW.date())}
    report = make_report(config, state, Period(date(2024, 1, 1), date(2027, 12, 31)), NOW.date())
    state.close()
    assert "Governance toolkit" not in report.markdown.read_text(encoding="utf-8")


def test_a_factsheet_whose_consent_was_withdrawn_is_not_resent(
    make_config: Callable[..., Config], project: Path
) -> None:
    import pytest

    from cluster_sync.errors import ClusterSyncError
    from cluster_sync.resend import resend

    config = make_config()
    responses = project / "responses.csv"
    sync(config)
    cluster_id = row_by_title(responses, "Governance toolkit")["Cluster ID"]
    edit_cell(responses, cluster_id, "Consent", "No")
    sync(config, NOW.replace(day=26))
    state = State(config.path(config.state.database))
    before = state.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    with pytest.raises(ClusterSyncError, match="no longer gives consent"):
        resend(config, state, cluster_id, None, NOW.replace(day=27))
    assert state.db.execute("SELECT count(*) FROM messages").fetchone()[0] == before
    state.close()
