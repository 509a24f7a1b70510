"""Emails to partners read well on a phone: a viewport, the programme as a light header,
labels aligned to the top, the contact person's name in To:, dates nobody can misread."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from test_sync import outbox, read_eml, row_by_title, rows, sync

from cluster_sync.config import Config

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
# 03/04/2025, 3-4-25, 03.04.2025: forms in which a reader may swap day and month (2025-04-03,
# the ISO order, cannot be misread)
NUMERIC_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")


def test_every_html_email_has_a_viewport_and_partners_get_the_header(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    sync(config)
    paths = outbox(config)
    assert {p.name.split("-")[1] for p in paths} == {"factsheet", "problems", "digest"}
    for path in paths:
        html = read_eml(path).get_body(("html",)).get_content()
        assert VIEWPORT in html, path.name
        to_partner = "-digest-" not in path.name
        assert ("Natural Heritage Community of Practice" in html) is to_partner
        assert ("Interreg Euro-MED · Natural Heritage mission</div>" in html) is to_partner
        if "-factsheet-" in path.name:
            labels = re.findall(r"<td style=\"([^\"]*)\">", html)
            assert labels and all("vertical-align: top" in style for style in labels)


def test_dates_in_partner_emails_are_never_day_month_numbers(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    sync(config)
    for path in outbox(config):
        message = read_eml(path)
        body = message.get_body(("plain",)).get_content()
        # links carry numbers of their own, and a partner's answer is quoted as typed (“…”):
        # only the email's own words count
        words = re.sub(r"https://\S+|“[^”]*”", "", body)
        assert not NUMERIC_DATE.findall(words), (path.name, NUMERIC_DATE.findall(words))
    problems = [read_eml(p) for p in outbox(config) if "-problems-" in p.name]
    english = next(m for m in problems if m["Content-Language"] == "en")
    assert re.search(
        r"submitted \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d",
        english.get_body(("plain",)).get_content(),
    )
    # in every language the moment is written with its month in words (3 de marzo de 2025)
    for message in problems:
        plain = message.get_body(("plain",)).get_content()
        assert re.search(r"\d{1,2} (?:de )?[^\W\d]{3,} (?:de )?\d{4}, \d\d:\d\d", plain)


def test_the_contact_persons_name_is_in_to(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    # row 2 types a bare address; the Contact person question holds the name
    row = row_by_title(project / "responses.csv", "Governance toolkit")
    assert "<" not in row["Contact email"]
    factsheet = next(
        read_eml(p) for p in outbox(config) if row["Cluster ID"] in p.name and "factsheet" in p.name
    )
    (to,) = factsheet["To"].addresses
    assert (to.display_name, to.addr_spec) == (row["Contact person"], row["Contact email"])
    # row 3 types "Ana Đurđević <ana.durdevic@example.org>": that name is kept
    typed = row_by_title(project / "responses.csv", "Adapting coastal plans")
    factsheet = next(
        read_eml(p)
        for p in outbox(config)
        if typed["Cluster ID"] in p.name and "factsheet" in p.name
    )
    (to,) = factsheet["To"].addresses
    assert to.display_name == "Ana Đurđević"


def test_a_problems_email_to_the_contact_names_them(
    make_config: Callable[..., Config], project: Path
) -> None:
    config = make_config()
    sync(config)
    named = 0
    for path in (p for p in outbox(config) if "-problems-" in p.name):
        (to,) = read_eml(path)["To"].addresses
        row = next(
            r
            for r in rows(project / "responses.csv")
            if r["Cluster ID"] and r["Cluster ID"] in path.name
        )
        if to.addr_spec.casefold() in row["Contact email"].casefold() and row["Contact person"]:
            assert to.display_name, path.name
            named += 1
    assert named >= 3
