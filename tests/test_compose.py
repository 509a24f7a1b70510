"""Messages built from the shipped email templates: recipients, headers, stable ids."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from cluster_sync.errors import TemplateError
from cluster_sync.mailqueue import Outgoing
from cluster_sync.model import Address
from cluster_sync.render.email import Composer

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PROBLEMS = {
    "name": "",
    "title": "t",
    "cluster_id": "CL-2026-001",
    "submitted": "now",
    "problems": ["p"],
    "edit_link": None,
    "edit_link_personal": False,
}


def composer(limit: int = 100) -> Composer:
    return Composer(
        TEMPLATES, "CoP <cop@example.org>", "Secretariat <sec@example.org>", "example.org", limit
    )


def parsed(outgoing: Outgoing) -> EmailMessage:
    raw = outgoing.as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_more_than_the_recipient_limit_is_split_into_several_messages() -> None:
    people = [Address(f"person{n}@example.org", f"Person {n}") for n in range(250)]
    parts = composer(100).compose(
        dedupe_key="problems:x",
        kind="problems",
        cluster_id="CL-2026-001",
        template="problems",
        context=PROBLEMS,
        to=people[:1],
        cc=people[1:],
        now=NOW,
    )
    assert [len(p.recipients) for p in parts] == [100, 100, 50]
    assert sorted(r for p in parts for r in p.recipients) == sorted(a.email for a in people)
    assert len({p.dedupe_key for p in parts}) == 3
    assert len({p.message_id for p in parts}) == 3
    first = parsed(parts[0])
    assert "person0@example.org" in str(first["To"]) and "person1@example.org" in str(first["Cc"])


def test_message_id_is_stable_for_the_same_key() -> None:
    one = composer().message_id("factsheet:CL-2026-001:v1")
    assert one == composer().message_id("factsheet:CL-2026-001:v1")
    assert one != composer().message_id("factsheet:CL-2026-001:v2")
    assert one.startswith("<") and one.endswith("@example.org>")


def test_names_and_titles_cannot_add_headers() -> None:
    evil = Address("victim@example.org", "Ana\r\nBcc: spy@example.com")
    context = {**PROBLEMS, "title": "Title\nX-Injected: yes"}
    (part,) = composer().compose(
        dedupe_key="k",
        kind="problems",
        cluster_id=None,
        template="problems",
        context=context,
        to=[evil],
        now=NOW,
    )
    message = parsed(part)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert part.recipients == ("victim@example.org",)
    assert "\n" not in str(message["Subject"])


def test_html_part_escapes_form_text() -> None:
    context = {**PROBLEMS, "title": "<script>alert(1)</script> R&D", "problems": ["<b>bold</b>"]}
    (part,) = composer().compose(
        dedupe_key="k",
        kind="problems",
        cluster_id=None,
        template="problems",
        context=context,
        to=[Address("a@example.org")],
        now=NOW,
    )
    html = parsed(part).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "R&amp;D" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_template_without_subject_line_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "problems.txt.j2").write_text("Hello\n")
    (tmp_path / "problems.html.j2").write_text("<p>Hello</p>\n")
    broken = Composer(tmp_path, "cop@example.org", "sec@example.org", "example.org")
    with pytest.raises(TemplateError, match="must start with 'Subject: '"):
        broken.render("problems", PROBLEMS)


def test_a_missing_tag_names_the_template(tmp_path: Path) -> None:
    (tmp_path / "problems.txt.j2").write_text("Subject: {{ titel }}\nHello\n")
    (tmp_path / "problems.html.j2").write_text("<p>Hello</p>\n")
    broken = Composer(tmp_path, "cop@example.org", "sec@example.org", "example.org")
    with pytest.raises(TemplateError, match="titel"):
        broken.render("problems", PROBLEMS)
