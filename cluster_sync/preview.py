"""`cluster-sync preview`: one cluster's factsheet (every configured format) and its factsheet
email, made now with the current templates into a folder of their own, changing no state.

The state is read from an in-memory copy, so not even a schema upgrade touches the database;
nothing is queued, recorded, published or written back. The email is the one the partner would
get next: "updated", with what changed since the version they received, when they received one.
Both the saved email and a test send carry the `X-Cluster-Sync-Test` header and no dedupe key
header, so that rebuilding a lost state database from the outbox never takes one for a
delivered factsheet. A test send goes to the one address given, with "[TEST]" before its
subject, straight through the mail backend (the outbox folder or SMTP), outside the queue: it
is no one's factsheet email.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cluster_sync import keys
from cluster_sync.changes import change_messages
from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.factsheet_mail import (
    email_context,
    email_language,
    emailed_data,
    one_address,
    people,
    with_factsheet,
)
from cluster_sync.files import atomic_write
from cluster_sync.mailers.base import Envelope, Mailer, PermanentFailure, TemporaryFailure
from cluster_sync.mailqueue import Outgoing
from cluster_sync.model import Address
from cluster_sync.outputs import Made, attachments, make_outputs, problems
from cluster_sync.render.branding import logo_images
from cluster_sync.render.factsheet import factsheet_context, factsheet_filename, render_docx
from cluster_sync.report.service import report_composer
from cluster_sync.state import State

log = logging.getLogger(__name__)

TEST_HEADER = "X-Cluster-Sync-Test"
TEST_PREFIX = "[TEST] "
EMAIL_FILE = "email.eml"


@dataclass
class Preview:
    cluster_id: str
    version: int
    folder: Path
    files: list[Path] = field(default_factory=list)  # what was written into the folder
    recipients: list[str] = field(default_factory=list)  # who the real email would go to
    problems: list[str] = field(default_factory=list)  # a format that could not be made
    sent_to: str | None = None  # the test send's address
    sent_reply: str = ""  # the mail backend's answer to it


def preview_folder(out: Path | None, cluster_id: str) -> Path:
    """`out` (created, or empty: a preview never overwrites what is there), else a new temporary
    folder."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix=f"cluster-sync-preview-{cluster_id}-"))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ClusterSyncError(
            f"{out} is not an empty folder; a preview does not write over files.",
            hint="give --out a new or empty folder, or leave --out out for a temporary one.",
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def preview(
    config: Config,
    state: State,
    cluster_id: str,
    now: datetime,
    out: Path | None = None,
    send_to: str | None = None,
    mailer: Mailer | None = None,
) -> Preview:
    """Render into `out` (or a new temporary folder); with `send_to` and `mailer`, send the
    email marked as a test to that one address. `state` is only read."""
    stored, reg = with_factsheet(state, cluster_id)
    test_address = one_address(send_to, "--send-to") if send_to else None
    cid, version = stored.cluster_id, stored.version
    folder = preview_folder(out, cid)
    today = now.astimezone(config.zone).date()
    docx = folder / factsheet_filename(cid, reg.title, version)
    render_docx(
        config.path(config.output.factsheet_template),
        factsheet_context(reg, cid, version, today),
        docx,
        extras=logo_images(config.branding),
    )
    files = make_outputs(config, [docx], fresh=[docx])[docx]
    done = Preview(cid, version, folder, [docx], problems=problems(config, files))
    done.files += [m.path for m in files.values() if m.path and m.path != docx]
    # An update waiting to be sent: that email, with what changed; else the factsheet email as
    # `resend` sends it
    waiting = 0 < stored.emailed_version < version
    received = emailed_data(state, stored) if waiting else None
    changes = change_messages(received, stored.data) if received and stored.data else []
    context = email_context(config, reg, cid, version, today, updated=waiting, changes=changes)
    context["factsheet_link"] = None
    recipients = people(config, reg)
    done.recipients = [a.email for a in recipients]
    # in the language the registration's people get it in (docs/languages.md)
    language = email_language(config, report_composer(config), cid, reg)
    saved = _message(config, context, recipients, docx, files, now, language)
    atomic_write(folder / EMAIL_FILE, saved.as_bytes())
    done.files.append(folder / EMAIL_FILE)
    if test_address is not None and mailer is not None:
        test = _message(config, context, [test_address], docx, files, now, language, test=True)
        done.sent_reply = _send(mailer, test, cid)
        done.sent_to = test_address.email
    return done


def _message(
    config: Config,
    context: dict[str, object],
    to: list[Address],
    docx: Path,
    files: dict[str, Made],
    now: datetime,
    language: str,
    test: bool = False,
) -> Outgoing:
    composer = report_composer(config)
    subject, plain, html = composer.render("factsheet", context, language)
    (outgoing,) = composer.compose(
        dedupe_key=keys.preview(str(context["cluster_id"]), uuid.uuid4().hex),
        kind="preview",
        cluster_id=str(context["cluster_id"]),
        rendered=(TEST_PREFIX + subject if test else subject, plain, html),
        to=to[:1],
        cc=to[1:],
        attachments=attachments(config, docx, files),
        headers={TEST_HEADER: "test send" if test else "preview"},
        now=now,
        language=language,
        key_header=False,  # never taken for a queued message (see the module's words)
    )
    return outgoing


def _send(mailer: Mailer, test: Outgoing, cluster_id: str) -> str:
    """Straight through the backend, outside the queue; the answer, or an error in words."""
    envelope = Envelope(
        id=0,
        message_id=test.message_id,
        kind="preview",
        cluster_id=cluster_id,
        sender=test.sender,
        recipients=test.recipients,
        raw=test.as_bytes(),
    )
    try:
        mailer.check_settings()
        mailer.open()
        result = mailer.send(envelope)
    except (TemporaryFailure, PermanentFailure) as exc:
        raise ClusterSyncError(
            f"The test message could not be sent ({mailer.description}): {exc.reply}",
            hint="the preview files are made; check the mail settings with "
            "`cluster-sync check --connect`, then try again.",
        ) from None
    finally:
        mailer.close()
    log.info("preview of %s: test message sent to %s", cluster_id, ", ".join(test.recipients))
    return result.reply
