"""One sample registration and one sample run, shipped with the package.

`check` renders every template through the same builders the sync uses, fed with these; previews
and tests use them too. Every list is filled and every text holds awkward characters (markup,
quotes, Greek, Cyrillic, Maltese, an emoji), so a wrong tag anywhere in a template, inside a
`{% for %}` included, fails before a night does. `running_on` moves the registration in time so
that a report made on any day shows it running, with an activity coming up and an end soon.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from cluster_sync.mailqueue import DeliveryReport, QueueCounts
from cluster_sync.messages import Message
from cluster_sync.model import Address, Participant, Registration, RoadmapItem
from cluster_sync.publish.service import PublishReport
from cluster_sync.state import State, StoredRegistration
from cluster_sync.summary import RowResult, RunSummary

#: the day the documentation's example factsheet is shown on (templates/build_templates.py)
PREVIEW_DAY = date(2025, 6, 12)
CLUSTER_ID = "CL-2000-001"
#: the emails to partners, written in each language there are emails in (the others: English)
PARTNER_TEMPLATES = ("factsheet", "problems")
VERSION = 2
PROBLEMS = (
    'End date: "31/02/2025" is not a date; use the date picker.',
    "Contact email: “ana@example” has no domain such as example.org.",
)
EDIT_LINK = "https://docs.google.com/forms/d/e/1FAIpQLSdSampleForm0000/viewform?edit2=sample"
FORM_URL = "https://docs.google.com/forms/d/e/1FAIpQLSdSampleForm0000/viewform"
FACTSHEET_LINK = "https://www.example.org/factsheets/CL-2000-001-v2.pdf"


def sample_registration() -> Registration:
    """A realistic registration in several scripts, with markup, ampersands, quotes and an
    emoji in its text. tests/test_factsheet_render.py checks the page the documentation shows
    from it, so a change here may need one there."""
    return Registration(
        title='Posidonia meadows: R&D <pilot> & "quotes" for restoring seagrass 🌊',
        acronym="POSEIDON-R",
        question=(
            "Regions restoring Posidonia oceanica meadows lack a shared, tested protocol to choose "
            "sites, grow and transplant cuttings and monitor survival. How can the MPA4Change and "
            "COASTRUST restoration results be adopted by coastal authorities in Crete, Malta and "
            "Bulgaria within one planting season?"
        ),
        objectives=(
            "Adapt the MPA4Change site-selection protocol to three new coastal territories",
            "Train regional technicians in cutting collection, nursery and transplanting",
            "Agree a common survival-monitoring sheet shared by all pilot sites",
            "Feed a joint policy statement to WG4 on seagrass restoration funding",
        ),
        working_groups=(
            "WG1 Connectivity of ecosystems",
            "WG4 Ecosystem restoration and Nature-based Solutions",
        ),
        cluster_type="Territorial",
        lead_organisation="Περιφέρεια Κρήτης",
        lead_country="Greece",
        lead_role="Thematic Project consortium",
        contact_person="Γιώργος Παπαδόπουλος",
        contact_email=Address("g.papadopoulos@example.org", "Γιώργος Παπαδόπουλος"),
        participant_categories=("TPs", "TPs' APs", "Mission APs", "External partners"),
        thematic_projects=("MPA4Change", "COASTRUST", "GreenList4MMPAs"),
        participants=(
            Participant("María José Núñez", "mj.nunez@example.org", "Junta de Andalucía", "Spain"),
            Participant("Ġorġ Borġ", "gorg.borg@example.com", "ERA Malta", "Malta"),
            Participant(
                "Ana Đurđević",
                "ana.durdevic@example.org",
                "Ministarstvo ekologije, prostornog planiranja i urbanizma",
                "Montenegro",
            ),
            Participant(
                "Joëlle Lefèvre",
                "joelle.lefevre@example.org",
                "Office français de la biodiversité",
                "France",
            ),
            Participant("Стефан Димитров", "s.dimitrov@example.com", "Община Бургас", "Bulgaria"),
        ),
        results=(
            "The MPA4Change seagrass site-suitability model and field protocol, the COASTRUST "
            "nursery guidelines for Posidonia cuttings, and the GreenList4MMPAs monitoring "
            "indicators, packaged as a step-by-step transfer kit."
        ),
        transfer_levels=("Regional", "National", "International"),
        outcomes=("Transference", "Adoption", "Networking", "Input to policy statements"),
        start_date=date(2025, 3, 1),
        end_date=date(2025, 11, 30),
        roadmap=(
            RoadmapItem(date(2025, 3, 15), "Kick-off webinar and choice of pilot sites"),
            RoadmapItem(date(2025, 4, 10), "Field visit to the Crete nursery (Chania)"),
            RoadmapItem(date(2025, 5, 20), "Technician training in Malta, hands-on transplanting"),
            RoadmapItem(date(2025, 7, 1), "First transplanting at the three pilot sites"),
            RoadmapItem(date(2025, 9, 30), "Survival monitoring, shared results sheet"),
            RoadmapItem(date(2025, 11, 20), "Policy input to WG4 at the Institutional Dialogue"),
        ),
        expertise=(
            "A marine ecologist who has led a Posidonia transplanting programme, and an expert "
            "in EU funding for nature restoration."
        ),
        consent=True,
    )


def running_on(today: date) -> Registration:
    """The sample moved in time so that on `today` it is running, has an activity in the next
    weeks and ends within a month: every calendar list of a report made on `today` has it."""
    reg = sample_registration()
    shift = today - PREVIEW_DAY
    end = today + timedelta(days=30)
    roadmap = tuple(
        RoadmapItem(item.date + shift, item.activity)
        for item in reg.roadmap
        if item.date + shift <= end
    )
    return replace(reg, start_date=reg.start_date + shift, end_date=end, roadmap=roadmap)


def sample_changes() -> list[Message]:
    """What an update of the sample says changed (a date and a list), in any language."""
    from cluster_sync.changes import change_messages

    before = json.loads(sample_registration().to_json())
    return change_messages(before, {**before, "end_date": "2030-09-30", "objectives": ["New"]})


def sample_run() -> RunSummary:
    """A run in which every kind of row and every kind of trouble happened once."""
    summary = RunSummary(7, "the sample source", sheet_link="https://docs.google.com/x/edit")
    title = sample_registration().title
    summary.rows = 8
    summary.blank = 1
    summary.results = [
        RowResult(2, CLUSTER_ID, title, "new", "factsheet v1"),
        RowResult(3, "CL-2000-002", "Updated", "updated", "factsheet v2", changes=sample_changes()),
        RowResult(
            4,
            "CL-2000-003",
            "",
            "invalid",
            problems=[*PROBLEMS],
            since="3 March 2025, 14:05",
            told="told by email on 3 March 2025, 14:06",
        ),
        RowResult(5, "CL-2000-004", "", "invalid", problems=[PROBLEMS[0]], untold=True),
        RowResult(6, None, "Twice", "duplicate", "duplicate of CL-2000-001"),
        RowResult(7, "CL-2000-005", "Broken", "error", "OSError: disk full"),
        RowResult(8, "CL-2000-006", "Same", "unchanged"),
    ]
    summary.queued = 4
    summary.awaiting_approval = [summary.results[0]]
    summary.interrupted = ["run 6 was stopped before it finished"]
    summary.delivery = DeliveryReport(
        sent=1, failed=[(1, "subject", "550 no")], refused=[(2, "a@example.org", "550 no")]
    )
    summary.queue = QueueCounts(due=1, held=1, failed=1)
    summary.publishing = PublishReport(
        published=1, errors=["CL-2000-001.pdf v1: e"], failed=1, withdrawn=1
    )
    summary.erased_rows = [9]
    summary.pruned = {"email bodies": 2}
    return summary


def seed_state(state: State, today: date, now: str) -> None:
    """The sample registration stored as a sync stores it, and one that needs fixing, so a
    report made from `state` has a cluster, an activity, an ending and a problem to show."""
    reg = running_on(today)
    valid = StoredRegistration(
        cluster_id=CLUSTER_ID,
        natural_key="sample:valid",
        status="valid",
        title=reg.title,
        content_hash=reg.content_hash(),
        data=json.loads(reg.to_json()),
        problems=[],
        problems_hash=None,
        notified_problems_hash=None,
        version=VERSION,
        emailed_version=VERSION,
        approved=False,
        submitter=reg.contact_email.email,
        first_seen=now,
        last_seen=now,
        last_changed=now,
    )
    state.save_registration(valid)
    state.save_registration(
        replace(
            valid,
            cluster_id="CL-2000-003",
            natural_key="sample:invalid",
            status="invalid",
            title="Needs fixing & <checking>",
            content_hash=None,
            data={"consent": True},
            problems=[*PROBLEMS],
            version=0,
            emailed_version=0,
        )
    )


def sample_emails(today: date, form_url: str | None = FORM_URL) -> list[tuple[str, dict[str, Any]]]:
    """Every email template but the report's (made from a report: see checks.py), each with
    the tags its builder gives in every case the sync meets: a first factsheet, an update
    with its changes and a published link, problems, the digest as queued and as final."""
    from cluster_sync.render.messages import edit_link, factsheet_message, problems_message
    from cluster_sync.summary import digest_context
    from cluster_sync.validate import validate_row

    reg = sample_registration()
    broken = validate_row({"end_date": "someday", "contact_email": "a@", "consent": ""})
    personal, form = edit_link(EDIT_LINK, form_url), edit_link(None, form_url)
    first = factsheet_message(
        reg, CLUSTER_ID, 1, today, updated=False, changes=(), link=form, factsheet_link=None
    )
    linked = factsheet_message(
        reg,
        CLUSTER_ID,
        1,
        today,
        updated=False,
        changes=(),
        link=personal,
        factsheet_link=FACTSHEET_LINK,
    )
    update = factsheet_message(
        reg,
        CLUSTER_ID,
        VERSION,
        today,
        updated=True,
        changes=sample_changes(),
        link=personal,
        factsheet_link=FACTSHEET_LINK,
    )
    rerendered = factsheet_message(
        reg,
        CLUSTER_ID,
        VERSION + 1,
        today,
        updated=True,
        changes=(),
        link=form,
        factsheet_link=FACTSHEET_LINK,
        rerendered=True,
    )
    problems = problems_message(
        name=reg.contact_person,
        title=reg.title,
        cluster_id="CL-2000-003",
        submitted=datetime(2025, 3, 3, 14, 5),
        typed_stamp="03/03/2025 14:05:00",
        problems=broken.problems,
        link=personal,
    )
    run = sample_run()
    return [
        ("factsheet", first),
        ("factsheet", linked),
        ("factsheet", update),
        ("factsheet", rerendered),
        ("problems", problems),
        ("digest", digest_context(run, today, final=False)),
        ("digest", digest_context(run, today, final=True)),
    ]
