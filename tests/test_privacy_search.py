"""Finding a person: whole addresses and names only, in any capitals, also inside base64 and
quoted-printable parts and attached documents; the suppression list keeps no address."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from email.policy import SMTP

from cluster_sync.privacy import suppress
from cluster_sync.privacy.search import mentions, message_text, redact_text
from cluster_sync.state import State


def test_whole_addresses_and_names_only() -> None:
    assert mentions("write to ANNA.Rossi@Example.org.", ["anna.rossi@example.org"])
    assert not mentions("joanna.rossi@example.org", ["anna.rossi@example.org"])
    assert not mentions("anna.rossi@example.org.uk", ["anna.rossi@example.org"])
    assert redact_text("Anna Rossi and Annabel", ["Anna Rossi", "Anna"]) == (
        "[removed] and Annabel"
    )


def test_found_inside_encoded_parts_and_attached_documents() -> None:
    message = EmailMessage()
    message["To"] = "someone@example.org"
    message.set_content("Grüße: lucia@example.org " * 20, cte="base64")
    message.add_alternative("<p>Lucía Vidal</p>", subtype="html", cte="quoted-printable")
    document = io.BytesIO()
    with zipfile.ZipFile(document, "w") as archive:
        # a name split over runs, as Word saves it
        archive.writestr("word/document.xml", "<w:t>Marta </w:t><w:t>Pérez</w:t>")
    message.add_attachment(
        document.getvalue(), maintype="application", subtype="zip", filename="a.docx"
    )
    raw = message.as_bytes(policy=SMTP)
    # all encoded: a search of the bytes alone would miss every one
    for plain in ("lucia@example.org", "Lucía Vidal", "Marta Pérez"):
        assert plain.encode() not in raw
        assert mentions(message_text(raw), [plain.upper()])


def test_the_suppression_list_holds_a_salted_hash_not_the_address() -> None:
    state = State(":memory:")
    suppress.add(state, "Anna.Rossi@Example.org")
    check = suppress.checker(state)
    assert check is not None and check("anna.rossi@example.org") and not check("x@example.org")
    dump = "\n".join(state.db.iterdump()).casefold()
    assert "anna.rossi" not in dump
    other = State(":memory:")
    suppress.add(other, "anna.rossi@example.org")
    hashes = [
        s.db.execute("SELECT address_hash FROM suppressed").fetchone()[0] for s in (state, other)
    ]
    assert hashes[0] != hashes[1]  # each installation has its own salt
