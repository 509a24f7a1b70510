"""Emails to partners in their language: every shipped language complete (templates, tags and
sentences), dates in its words, the language chosen from the form's answer or the settings,
English for anything missing, and the demo's partners written to in theirs."""

from __future__ import annotations

import csv
import email
import email.policy
import logging
import re
import shutil
from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
from click.testing import CliRunner
from conftest import ROOT
from test_sync import outbox, read_eml

from cluster_sync.changes import change_messages
from cluster_sync.checks import partner_renders, partner_samples
from cluster_sync.cli import cli
from cluster_sync.config import Config
from cluster_sync.messages import ENGLISH, PLACEHOLDER, Message, msg
from cluster_sync.model import Address, Problem
from cluster_sync.render.email import Composer
from cluster_sync.render.languages import ENGLISH_CODE, PARTNER_TEMPLATES, Languages
from cluster_sync.validate import validate_row

TEMPLATES = ROOT / "templates" / "email"
SHIPPED = ["el", "en", "es", "fr", "it"]
LANGUAGES = Languages(TEMPLATES)
#: a closing every email of a language has
CLOSING = {
    "en": "With kind regards",
    "fr": "Bien cordialement",
    "es": "Atentamente",
    "it": "Cordiali saluti",
    "el": "Με εκτίμηση",
}
#: the translated templates write the co-funding line in their language instead of the tag
WRITTEN_OUT = {"co_funding"}


def composer(templates: Path = TEMPLATES) -> Composer:
    return Composer(templates, "cop@example.org", "secretariat@example.org", "test.example.org")


def test_the_five_languages_are_shipped() -> None:
    assert sorted(LANGUAGES.codes) == SHIPPED


# --- every language complete ------------------------------------------------------------------


@pytest.mark.parametrize("code", [c for c in SHIPPED if c != ENGLISH_CODE])
def test_every_sentence_is_translated_with_the_same_placeholders(code: str) -> None:
    language = LANGUAGES.get(code)
    assert language.folder is not None
    assert set(language.messages) == set(ENGLISH), "missing or unknown keys"
    for key, english in ENGLISH.items():
        wanted = set(PLACEHOLDER.findall(english))
        assert set(PLACEHOLDER.findall(language.messages[key])) == wanted, key
        sample = Message(key, tuple((name, f"<{name}>") for name in sorted(wanted)))
        said = language.say(sample)
        if key in language.identical:
            assert said == str(sample), f"{key} is marked identical but differs"
        else:
            assert said != str(sample), f"{key} is not translated into {code}"
    assert language.identical <= set(ENGLISH)


@pytest.mark.parametrize("code", [c for c in SHIPPED if c != ENGLISH_CODE])
@pytest.mark.parametrize(
    "name", [f"{t}.{s}.j2" for t in PARTNER_TEMPLATES for s in ("txt", "html")]
)
def test_every_template_is_translated_with_the_same_tags(code: str, name: str) -> None:
    env = jinja2.Environment()
    english = (TEMPLATES / name).read_text(encoding="utf-8")
    translated = (TEMPLATES / code / name).read_text(encoding="utf-8")
    tags = jinja2.meta.find_undeclared_variables(env.parse(english))
    theirs = jinja2.meta.find_undeclared_variables(env.parse(translated))
    assert theirs == tags - WRITTEN_OUT, (
        f"{code}/{name} lacks {tags - theirs} or adds {theirs - tags}"
    )
    if name.endswith(".html.j2"):
        assert f'<html lang="{code}">' in translated
    else:
        assert translated.startswith("Subject: ")


def _all_validation_problems() -> list[Problem]:
    """Rows that make validate.py say each thing it can say."""
    rows = [
        {"contact_email": "a@", "start_date": "someday", "end_date": "0001-01-01", "consent": ""},
        {
            "title": "x" * 130,
            "contact_email": "a@example.org, b@example.org",
            "respondent_email": "jürgen@example.org",
            "working_groups": "WG9 Nothing",
            "cluster_type": "Circular",
            "participants": "Ana, ana@example.org\nBo; b@; Org; Malta\nCy; c@x.org d@x.org; O; Italy",
            "roadmap": "Soon – kick-off",
            "consent": "maybe",
            "start_date": "2025-06-01",
            "end_date": "2025-03-01",
        },
        {"contact_email": ";"},
    ]
    return [p for row in rows for p in validate_row(row).problems]


def _keys(message: Message) -> set[str]:
    found = {message.key}
    for _, value in message.params:
        if isinstance(value, Message):
            found |= _keys(value)
    return found


def test_the_sample_rows_make_every_message_validate_can_give() -> None:
    source = (ROOT / "cluster_sync" / "validate.py").read_text(encoding="utf-8")
    written = set(re.findall(r'msg\(\s*"([a-z_]+)"', source))
    made = set().union(*(_keys(p.text) for p in _all_validation_problems() if p.text))
    assert written and written <= made, f"not tried: {written - made}"


@pytest.mark.parametrize("code", SHIPPED)
def test_every_template_renders_in_every_language_with_every_part(code: str) -> None:
    c = composer()
    language = LANGUAGES.get(code)
    problems = _all_validation_problems()
    for name, context in partner_renders():
        if name == "problems":
            context = {**context, "problems": problems}
        subject, plain, html = c.render(name, context, code)
        assert CLOSING[code] in plain and CLOSING[code] in html
        assert "Ana" not in subject and "Dear" not in subject  # the subject is one line only
        assert context["cluster_id"] in plain and context["edit_link"] in plain
        if name == "problems":
            for problem in problems:
                assert problem.text is not None
                said = language.say(problem.text)
                assert said in plain, said
                if code != ENGLISH_CODE and problem.text.key not in language.identical:
                    assert said != problem.message
        else:
            for line in context["changes"] if context["updated"] else []:
                assert language.say(line) in plain
            assert language.date(context["start_date"]) in plain
            assert context["factsheet_link"] in plain


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "3 March 2025"),
        ("fr", "3 mars 2025"),
        ("es", "3 de marzo de 2025"),
        ("it", "3 marzo 2025"),
        ("el", "3 Μαρτίου 2025"),  # the genitive month, as Greek dates need
    ],
)
def test_dates_in_each_language_name_the_month(code: str, expected: str) -> None:
    language = LANGUAGES.get(code)
    assert language.date(date(2025, 3, 3)) == expected
    assert language.moment(datetime(2025, 3, 3, 14, 5)) == f"{expected}, 14:05"


def test_a_problem_with_dates_gives_them_in_the_emails_language() -> None:
    [problem] = [
        p
        for p in validate_row({"start_date": "01/03/2026", "end_date": "30/11/2025"}).problems
        if p.text is not None and p.text.key == "end_before_start"
    ]
    assert problem.message == "End date (30 November 2025) is before Start date (1 March 2026)."
    said = LANGUAGES.get("es").say(problem.text)  # type: ignore[arg-type]
    assert (
        said == "End date (30 de noviembre de 2025) es anterior a Start date (1 de marzo de 2026)."
    )


# --- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Français", "fr"),
        ("francais", "fr"),
        ("FRENCH", "fr"),
        ("fr", "fr"),
        ("fr-FR", "fr"),
        ("Français (French)", "fr"),
        ("Ελληνικά", "el"),
        ("ελληνικα", "el"),
        ("Greek", "el"),
        ("el", "el"),
        ("Español", "es"),
        ("Spanish", "es"),
        ("Castellano", "es"),
        ("es_ES", "es"),
        ("Italiano", "it"),
        ("italian", "it"),
        ("English", "en"),
        ("Inglés", "en"),
        ("  Anglais ", "en"),
    ],
)
def test_reasonable_answers_choose_their_language(answer: str, code: str) -> None:
    assert LANGUAGES.choose(answer) == LANGUAGES.choose(None, answer, "en")
    choice = LANGUAGES.choose(answer)
    assert (choice.code, choice.note) == (code, None)


@pytest.mark.parametrize("answer", ["Klingon", "Português", "it does not matter", "no", "x"])
def test_an_unknown_answer_gives_english_and_says_so(answer: str) -> None:
    choice = LANGUAGES.choose(answer)
    assert choice.code == "en"
    assert choice.note is not None and answer in choice.note and "English" in choice.note


def test_the_settings_choose_when_the_form_does_not() -> None:
    assert LANGUAGES.choose(None, "", "French").code == "fr"  # no answer: [mail] language
    assert LANGUAGES.choose(None, "Klingon", "it").code == "it"  # an unknown answer, too
    assert LANGUAGES.choose("el", "Français", "it").code == "el"  # the secretariat's per-cluster
    assert LANGUAGES.choose(None, None, None) == LANGUAGES.choose()  # English, silently


# --- English beneath anything missing ---------------------------------------------------------


def test_a_new_language_is_one_folder_and_english_fills_its_gaps(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    templates = tmp_path / "email"
    shutil.copytree(TEMPLATES, templates)
    portuguese = templates / "pt"
    portuguese.mkdir()
    (portuguese / "messages.toml").write_text(
        'names = ["Português do Brasil"]\n[messages]\n'
        'required = "{question}: esta pergunta é obrigatória."\n',
        encoding="utf-8",
    )
    (portuguese / "problems.txt.j2").write_text(
        "Subject: Correção necessária\nOlá {{ name }},\n{% for p in problems %}- {{ p }}\n"
        "{% endfor %}Enviado: {{ submitted }}\n",
        encoding="utf-8",
    )
    c = composer(templates)
    assert c.languages.choose("Português").code == "pt"
    assert c.languages.choose("português do brasil").code == "pt"
    context = partner_samples()["problems"]
    problems = validate_row({"contact_email": "a@"}).problems
    with caplog.at_level(logging.WARNING):
        subject, plain, html = c.render("problems", {**context, "problems": problems}, "pt")
    assert subject == "Correção necessária"
    assert "Cluster title: esta pergunta é obrigatória." in plain  # its own sentence
    assert "Contact email: “a@” is not a valid email address" in plain  # English beneath
    assert "Enviado: 3 de março de 2025, 14:05" in plain  # its dates, from CLDR
    assert "Fix your registration here" in html  # no problems.html.j2 of its own: English
    warnings = caplog.text
    assert "has no problems.html.j2" in warnings
    assert "has no sentence 'address'" in warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        c.render("problems", {**context, "problems": problems}, "pt")
    assert caplog.text == ""  # each gap said once


def test_a_broken_messages_file_is_a_clear_error(tmp_path: Path) -> None:
    from cluster_sync.errors import TemplateError

    templates = tmp_path / "email"
    (templates / "fr").mkdir(parents=True)
    (templates / "fr" / "messages.toml").write_text('required = "unclosed\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"messages\.toml cannot be read"):
        composer(templates)


# --- the messages themselves -----------------------------------------------------------------


def test_each_email_says_its_language_and_keeps_partner_text_as_data() -> None:
    c = composer()
    context = partner_samples()["problems"]
    hostile = "R&D <b>{question}</b>"
    problems = validate_row({"cluster_type": hostile}).problems
    [outgoing] = c.compose(
        dedupe_key="k",
        kind="problems",
        cluster_id="CL-2000-001",
        template="problems",
        context={**context, "title": hostile, "problems": problems},
        to=[Address("ana@example.org", "Ana")],
        now=datetime(2025, 3, 3, 14, 5),
        language="fr",
    )
    message = email.message_from_bytes(outgoing.as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Content-Language"] == "fr"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "R&amp;D &lt;b&gt;{question}&lt;/b&gt;" in html and "<b>" not in html
    assert "« R&D <b>{question}</b> » ne fait pas partie des options" in plain
    assert (
        str(message["Subject"])
        == "Votre inscription de cluster doit être corrigée : R&D <b>{question}</b>"
    )


def test_the_change_list_of_an_update_is_in_the_emails_language() -> None:
    before = {"end_date": "2025-06-30", "participants": []}
    after = {
        "end_date": "2025-09-30",
        "participants": [
            {"name": "Ana Marić", "email": "a@x.org", "organisation": "", "country": ""}
        ],
    }
    lines = change_messages(before, after)
    assert [str(line) for line in lines] == [
        "Participants: added Ana Marić",
        "End date: 30 June 2025 → 30 September 2025",
    ]
    fr = LANGUAGES.get("fr")
    assert [fr.say(line) for line in lines] == [
        "Participants : ajout de Ana Marić",
        "End date : 30 juin 2025 → 30 septembre 2025",
    ]
    assert LANGUAGES.get("el").say(lines[1]) == "End date: 30 Ιουνίου 2025 → 30 Σεπτεμβρίου 2025"


def test_a_message_key_must_exist() -> None:
    with pytest.raises(KeyError):
        msg("no_such_sentence")


# --- the demo, through the command line ------------------------------------------------------

#: the demo's "Preferred language" answers and the language each must get
EXPECTED = {
    "Italiano": "it",
    "English": "en",
    "Français": "fr",
    "French": "fr",
    "Ελληνικά": "el",
    "Greek": "el",
    "Español": "es",
    "es": "es",
    "Português": "en",  # no Portuguese emails: English, and the log says so
    "Hrvatski": "en",
    "": "en",
}


def test_the_demos_partners_get_their_emails_in_their_language(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    result = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "sync"])
    assert result.exit_code == 0, result.output
    with (project / "responses.csv").open(encoding="utf-8", newline="") as handle:
        answers = {
            r["Cluster ID"]: r["Preferred language"]
            for r in csv.DictReader(handle)
            if r["Cluster ID"]
        }
    seen: set[str] = set()
    partner_emails = [
        p for p in outbox(config) if "-problems-" in p.name or "-factsheet-" in p.name
    ]
    assert len(partner_emails) == 23
    for path in partner_emails:
        cluster_id = next(c for c in answers if c in path.name)
        message = read_eml(path)
        code = EXPECTED[answers[cluster_id]]
        assert message["Content-Language"] == code, path.name
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert CLOSING[code] in plain, path.name
        seen.add(code)
    assert {"fr", "es", "it", "el"} <= seen  # at least three languages besides English
    # a Spanish problems email: the problem in Spanish, its dates in Spanish words
    eco = next(c for c, a in answers.items() if a == "Español" and _is_problems(config, c))
    text = _plain(config, eco, "-problems-")
    assert (
        "End date (30 de noviembre de 2025) es anterior a Start date (1 de marzo de 2026)." in text
    )
    # a French factsheet: its dates in French
    dunes = next(c for c, a in answers.items() if a == "French")
    assert re.search(r"du \d+ \w+ 20\d\d au \d+ \w+ 20\d\d", _plain(config, dunes, "-factsheet-"))
    # the digest to the secretariat stays English
    digest = [read_eml(p) for p in outbox(config) if "-digest-" in p.name]
    assert digest and all(m["Content-Language"] == "en" for m in digest)
    log = config.path(config.log.file).read_text(encoding="utf-8")
    assert "“Português” is not a language the emails are written in" in log


def _is_problems(config: Config, cluster_id: str) -> bool:
    return any(cluster_id in p.name and "-problems-" in p.name for p in outbox(config))


def _plain(config: Config, cluster_id: str, kind: str) -> str:
    [path] = [p for p in outbox(config) if cluster_id in p.name and kind in p.name]
    return read_eml(path).get_body(("plain",)).get_content()  # type: ignore[union-attr,no-any-return]


# --- checked before any email goes -------------------------------------------------------------


def _own_templates(config: Config, project: Path) -> tuple[Config, Path]:
    """The configuration with a copy of the email templates of its own, to break."""
    templates = project / "email"
    shutil.copytree(TEMPLATES, templates)
    path = project / "cluster-sync.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(TEMPLATES.as_posix(), templates.as_posix()), encoding="utf-8")
    output = config.output.model_copy(update={"email_templates": templates})
    return config.model_copy(update={"output": output}), templates


def test_a_broken_translation_stops_check_and_the_run_before_anything_is_sent(
    make_config: Callable[..., Config], project: Path
) -> None:
    from cluster_sync.unchanged import settings_digest

    config, templates = _own_templates(make_config(), project)
    before = settings_digest(config)
    problems = templates / "fr" / "problems.txt.j2"
    problems.write_text(problems.read_text(encoding="utf-8") + "{{ no_such_tag }}\n", "utf-8")
    assert settings_digest(config) != before  # so the next sync tries the templates again
    args = ["--config", str(project / "cluster-sync.toml")]
    result = CliRunner().invoke(cli, [*args, "check"])
    assert result.exit_code == 2 and "no_such_tag" in result.output, result.output
    result = CliRunner().invoke(cli, [*args, "sync"])
    assert result.exit_code == 2 and not outbox(config)


def test_an_unknown_configured_language_is_refused_by_check(
    make_config: Callable[..., Config], project: Path
) -> None:
    make_config(extra='\n[mail.cluster_languages]\n"CL-2025-001" = "Klingon"\n')
    result = CliRunner().invoke(cli, ["--config", str(project / "cluster-sync.toml"), "check"])
    assert result.exit_code == 2
    assert "mail.cluster_languages.CL-2025-001 = 'Klingon'" in result.output


def test_a_resent_factsheet_is_in_the_language_it_was_sent_in(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    args = ["--config", str(project / "cluster-sync.toml")]
    assert CliRunner().invoke(cli, [*args, "sync"]).exit_code == 0
    with (project / "responses.csv").open(encoding="utf-8", newline="") as handle:
        greek = next(
            r["Cluster ID"] for r in csv.DictReader(handle) if r["Preferred language"] == "Greek"
        )
    before = set(outbox(config))
    result = CliRunner().invoke(cli, [*args, "resend", greek])
    assert result.exit_code == 0, result.output
    (new,) = set(outbox(config)) - before
    message = read_eml(new)
    assert message["Content-Language"] == "el"
    assert str(message["Subject"]).startswith("Ενημερωτικό δελτίο του cluster σας")


def test_a_preview_is_in_the_language_its_people_get(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    args = ["--config", str(project / "cluster-sync.toml")]
    assert CliRunner().invoke(cli, [*args, "sync"]).exit_code == 0
    with (project / "responses.csv").open(encoding="utf-8", newline="") as handle:
        spanish = next(
            r["Cluster ID"] for r in csv.DictReader(handle) if r["Preferred language"] == "es"
        )
    out = project / "preview"
    result = CliRunner().invoke(cli, [*args, "preview", spanish, "--out", str(out)])
    assert result.exit_code == 0, result.output
    message = read_eml(out / "email.eml")
    sent = next(
        read_eml(p) for p in outbox(config) if spanish in p.name and "-factsheet-" in p.name
    )
    assert message["Content-Language"] == sent["Content-Language"] == "es"
    assert message["Subject"] == sent["Subject"]


def test_a_new_language_answer_alone_makes_no_new_version_but_is_used_from_then_on(
    make_config: Callable[..., Config], project: Path
) -> None:
    from test_sync import NOW, edit_cell, row_by_title, sync

    config = make_config()
    sync(config)
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    assert row["Preferred language"] == ""
    edit_cell(project / "responses.csv", row["Cluster ID"], "Preferred language", "Français")
    summary = sync(config, NOW.replace(day=26))
    assert summary.counts["factsheets"] == 0 and not summary.of("updated")
    before = set(outbox(config))
    args = ["--config", str(project / "cluster-sync.toml")]
    result = CliRunner().invoke(cli, [*args, "resend", row["Cluster ID"]])
    assert result.exit_code == 0, result.output
    (new,) = set(outbox(config)) - before
    assert read_eml(new)["Content-Language"] == "fr"
