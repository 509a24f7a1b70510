"""Validation of one response row: every rule, with the exact words the submitter reads."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cluster_sync import form
from cluster_sync.model import Address, Participant, RoadmapItem
from cluster_sync.validate import (
    Outcome,
    is_blank_row,
    parse_addresses,
    split_checkboxes,
    validate_row,
)

WG1, WG2, WG3, WG4 = form.WORKING_GROUPS
FORMAT_HINT = {
    "DMY": "write it as 2025-03-15 or 15/03/2025.",
    "MDY": "write it as 2025-03-15 or 03/15/2025.",
    "YMD": "write it as 2025-03-15 or 2025/03/15.",
}


def valid_values() -> dict[str, object]:
    """A complete, valid response row (question key -> cell text), as a partner fills it in."""
    return {
        "timestamp": "29/11/2024 10:15:00",
        "respondent_email": "maria.nunez@example.org",
        "title": "Λιβάδια Ποσειδωνίας: transferring monitoring protocols to Crete",
        "acronym": "ΠΟΣΕΙΔΩΝΙΑ",
        "question": (
            "Comment les gestionnaires d'aires marines protégées peuvent-ils adopter "
            "les protocoles de suivi de la Posidonia à Κρήτη ?"
        ),
        "objectives": (
            "Translate the MPA4Change protocol into Greek\n"
            "Train rangers of Περιφέρεια Κρήτης and Malta's ERA (Ġorġ Borġ's team)\n"
            "Publish a joint monitoring calendar"
        ),
        "working_groups": f"{WG1}, {WG4}",
        "cluster_type": "Territorial",
        "lead_organisation": "Περιφέρεια Κρήτης",
        "lead_country": "Greece",
        "lead_role": "D4N partner",
        "contact_person": "Γιώργος Παπαδόπουλος",
        "contact_email": "giorgos.papadopoulos@example.org",
        "participant_categories": "C4N, D4N, TPs' APs, External partners",
        "thematic_projects": "GreenList4MMPAs, MPA4Change",
        "participants": (
            "María José Núñez; maria.nunez@example.org; Office français de la biodiversité; France\n"
            "Ana Đurđević; ana.durdevic@example.com; "
            "Ministarstvo ekologije, prostornog planiranja i urbanizma; Montenegro\n"
            "Марија Јовановска; marija.jovanovska@example.org; Општина Охрид; North Macedonia"
        ),
        "results": "MPA4Change monitoring protocol; GreenList4MMPAs self-assessment grid.",
        "transfer_levels": "Regional, International",
        "outcomes": "Transference, Adoption, Peer-revision of community results",
        "start_date": "2025-03-01",
        "end_date": "30/11/2025",
        "roadmap": (
            "2025-03-15 – Kick-off webinar with Joëlle Lefèvre\n"
            "12/05/2025 – Field visit to Chania\n"
            "3 octobre 2025 – Joint report to the CoP"
        ),
        "expertise": "Un juriste spécialisé en droit de l'environnement; Marcel·lí Puig for GIS.",
        "consent": form.CONSENT_TEXT,
    }


def check(order: str = "DMY", tz: ZoneInfo | None = None, **changes: object) -> Outcome:
    return validate_row({**valid_values(), **changes}, order, tz)  # type: ignore[arg-type]


def messages(outcome: Outcome) -> list[str]:
    return [p.message for p in outcome.problems]


def only_problem(order: str = "DMY", **changes: object) -> str:
    """The single problem a change to the valid row causes."""
    outcome = check(order, **changes)
    assert outcome.registration is None
    assert len(outcome.problems) == 1, messages(outcome)
    return outcome.problems[0].message


def accepted(order: str = "DMY", **changes: object):
    outcome = check(order, **changes)
    assert outcome.problems == [], messages(outcome)
    assert outcome.registration is not None
    return outcome.registration


# --- the valid row -----------------------------------------------------------------------------


def test_valid_row_becomes_a_registration_with_every_answer() -> None:
    reg = accepted()
    assert reg.title == "Λιβάδια Ποσειδωνίας: transferring monitoring protocols to Crete"
    assert reg.acronym == "ΠΟΣΕΙΔΩΝΙΑ"
    assert reg.objectives == (
        "Translate the MPA4Change protocol into Greek",
        "Train rangers of Περιφέρεια Κρήτης and Malta's ERA (Ġorġ Borġ's team)",
        "Publish a joint monitoring calendar",
    )
    assert reg.working_groups == (WG1, WG4)
    assert reg.cluster_type == "Territorial"
    assert reg.lead_organisation == "Περιφέρεια Κρήτης"
    assert reg.lead_country == "Greece"
    assert reg.lead_role == "D4N partner"
    assert reg.contact_person == "Γιώργος Παπαδόπουλος"
    assert reg.contact_email == Address("giorgos.papadopoulos@example.org", "")
    assert reg.respondent_email == Address("maria.nunez@example.org", "")
    assert reg.participant_categories == ("C4N", "D4N", "TPs' APs", "External partners")
    assert reg.thematic_projects == ("GreenList4MMPAs", "MPA4Change")
    assert reg.participants == (
        Participant(
            "María José Núñez",
            "maria.nunez@example.org",
            "Office français de la biodiversité",
            "France",
        ),
        Participant(
            "Ana Đurđević",
            "ana.durdevic@example.com",
            "Ministarstvo ekologije, prostornog planiranja i urbanizma",
            "Montenegro",
        ),
        Participant(
            "Марија Јовановска",
            "marija.jovanovska@example.org",
            "Општина Охрид",
            "North Macedonia",
        ),
    )
    assert reg.transfer_levels == ("Regional", "International")
    assert reg.outcomes == ("Transference", "Adoption", "Peer-revision of community results")
    assert reg.start_date == date(2025, 3, 1)
    assert reg.end_date == date(2025, 11, 30)
    assert reg.roadmap == (
        RoadmapItem(date(2025, 3, 15), "Kick-off webinar with Joëlle Lefèvre"),
        RoadmapItem(date(2025, 5, 12), "Field visit to Chania"),
        RoadmapItem(date(2025, 10, 3), "Joint report to the CoP"),
    )
    assert reg.expertise.startswith("Un juriste spécialisé")
    assert reg.consent is True
    assert reg.submitted_at == datetime(2024, 11, 29, 10, 15)


def test_submission_time_takes_the_sheet_time_zone() -> None:
    zone = ZoneInfo("Europe/Brussels")
    outcome = check(tz=zone)
    assert outcome.submitted_at == datetime(2024, 11, 29, 10, 15, tzinfo=zone)
    assert outcome.registration is not None
    assert outcome.registration.submitted_at == outcome.submitted_at


@pytest.mark.parametrize("stamp", ["", None, "not a time", "31/02/2024 10:00:00"])
def test_missing_or_unreadable_timestamp_never_rejects_the_row(stamp: object) -> None:
    outcome = check(timestamp=stamp)
    assert outcome.valid
    assert outcome.submitted_at is None


# --- required answers --------------------------------------------------------------------------

REQUIRED = [f for f in form.FIELDS if f.required and f.kind is not form.Kind.CONSENT]


@pytest.mark.parametrize("blank", ["", "   ", None, " \t\n ", "\u00a0"])
@pytest.mark.parametrize("field", REQUIRED, ids=[f.key for f in REQUIRED])
def test_every_required_answer_left_empty_is_reported(field: form.Field, blank: object) -> None:
    outcome = check(**{field.key: blank})
    assert outcome.registration is None
    assert [(p.question, p.message) for p in outcome.problems] == [
        (field.header, f"{field.header} is required but was left empty.")
    ]


def test_required_questions_are_the_forms() -> None:
    assert {f.header for f in REQUIRED} | {"Consent"} == {
        "Cluster title",
        "Question or need addressed",
        "Objectives",
        "Working groups",
        "Cluster type",
        "Lead organisation",
        "Lead organisation country",
        "Lead partner role",
        "Contact person",
        "Contact email",
        "Participant categories",
        "TP results to transfer",
        "Transfer level",
        "Expected outcomes",
        "Start date",
        "End date",
        "Roadmap",
        "Consent",
    }


def test_missing_key_counts_as_empty() -> None:
    values = valid_values()
    del values["results"]
    outcome = validate_row(values, "DMY")
    assert messages(outcome) == ["TP results to transfer is required but was left empty."]


def test_required_answer_of_only_invisible_characters_is_empty() -> None:
    assert only_problem(title="\u200b\u200b") == "Cluster title is required but was left empty."


@pytest.mark.parametrize(
    "key", ["timestamp", "respondent_email", "acronym", "thematic_projects", "participants"]
)
def test_optional_answers_may_be_left_empty(key: str) -> None:
    reg = accepted(**{key: ""})
    assert getattr(reg, key, "") in ("", (), None)


def test_optional_expertise_may_be_left_empty() -> None:
    assert accepted(expertise="").expertise == ""


# --- lengths -----------------------------------------------------------------------------------


def test_title_of_121_characters_is_too_long() -> None:
    assert (
        only_problem(title="T" * 121)
        == "Cluster title is 121 characters long; the limit is 120. Please shorten it."
    )


@pytest.mark.parametrize("title", ["T" * 120, "Ω" * 120, "ė" * 120, "Ż" * 119 + "🌊"])
def test_title_of_120_characters_in_any_script_is_accepted(title: str) -> None:
    assert accepted(title=title).title == title


def test_title_length_is_counted_after_cleaning() -> None:
    # Trailing spaces and a decomposed accent (NFD) must not push a title over the limit.
    title = "E\u0301" * 120 + "   "
    assert accepted(title=title).title == "É" * 120


def test_acronym_over_its_limit() -> None:
    assert (
        only_problem(acronym="ACRONYM-" * 4)
        == "Acronym is 32 characters long; the limit is 30. Please shorten it."
    )


def test_acronym_at_its_limit_is_accepted() -> None:
    assert accepted(acronym="Ж" * 30).acronym == "Ж" * 30


def test_paragraph_over_its_limit() -> None:
    assert only_problem(results="r" * 3001) == (
        "TP results to transfer is 3001 characters long; the limit is 3000. Please shorten it."
    )


# --- email addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("nikos.georgiou@", "There must be something after the @-sign."),
        ("not-an-email", "An email address must have an @-sign."),
        ("@example.org", "There must be something before the @-sign."),
        ("ana@example", "The part after the @-sign is not valid. It should have a period."),
    ],
)
def test_invalid_contact_email(cell: str, reason: str) -> None:
    assert only_problem(contact_email=cell) == (
        f"Contact email: “{cell}” is not a valid email address ({reason})."
    )


@pytest.mark.parametrize(
    "cell",
    [
        "joao.simoes@example.org; geral@example.org",
        "joao.simoes@example.org, geral@example.org",
        "joao.simoes@example.org geral@example.org",
        "joao.simoes@example.org\ngeral@example.org",
        "João Simões <joao.simoes@example.org>, Geral <geral@example.org>",
    ],
)
def test_two_addresses_in_contact_email(cell: str) -> None:
    assert only_problem(contact_email=cell) == (
        "Contact email holds 2 addresses; give one address only (list the others under "
        "Participants)."
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Ana Đurđević <ana@example.org>", Address("ana@example.org", "Ana Đurđević")),
        ('"Núñez, María" <maria@example.org>', Address("maria@example.org", "Núñez, María")),
        ("Núñez, María <maria@example.org>", Address("maria@example.org", "Núñez, María")),
        ("Ġorġ Borġ <gorg.borg@example.com>", Address("gorg.borg@example.com", "Ġorġ Borġ")),
        ("Γιώργος <giorgos@example.org>", Address("giorgos@example.org", "Γιώργος")),
        ("  ana@example.org  ", Address("ana@example.org", "")),
        ("ana@EXAMPLE.ORG", Address("ana@example.org", "")),
    ],
)
def test_contact_email_with_display_name_is_accepted(cell: str, expected: Address) -> None:
    assert accepted(contact_email=cell).contact_email == expected


def test_parse_addresses_lists_each_address_with_its_reason() -> None:
    found = parse_addresses("Ana <ana@example.org>; broken@; lucia@example.net")
    assert found == [
        (Address("ana@example.org", "Ana"), None),
        (
            None,
            "“broken@” is not a valid email address (There must be something after the @-sign.).",
        ),
        (Address("lucia@example.net", ""), None),
    ]


def test_parse_addresses_of_empty_cell() -> None:
    assert parse_addresses("  ") == [(None, "no email address was given.")]


def test_respondent_email_is_optional() -> None:
    assert accepted(respondent_email="").respondent_email is None
    assert accepted(respondent_email=None).respondent_email is None


def test_respondent_email_is_validated_when_present() -> None:
    assert only_problem(respondent_email="maria.nunez@") == (
        "Email address: “maria.nunez@” is not a valid email address "
        "(There must be something after the @-sign.)."
    )


def test_respondent_email_with_display_name() -> None:
    reg = accepted(respondent_email="Joëlle Lefèvre <joelle.lefevre@example.org>")
    assert reg.respondent_email == Address("joelle.lefevre@example.org", "Joëlle Lefèvre")


# --- multiple choice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "answer", "options"),
    [
        ("cluster_type", "Thematic cluster", "Thematic; Territorial"),
        ("lead_country", "Germany", "; ".join(form.COUNTRIES)),
        ("lead_role", "M4N partner", "C4N partner; D4N partner; Thematic Project consortium"),
    ],
)
def test_choice_outside_the_options(key: str, answer: str, options: str) -> None:
    header = form.FIELDS_BY_KEY[key].header
    outcome = check(**{key: answer})
    assert [(p.question, p.message) for p in outcome.problems] == [
        (header, f"{header}: “{answer}” is not one of the options ({options}).")
    ]


@pytest.mark.parametrize(
    ("key", "answer", "expected"),
    [
        ("cluster_type", "territorial", "Territorial"),
        ("cluster_type", "  THEMATIC  ", "Thematic"),
        ("lead_country", "north   macedonia", "North Macedonia"),
        ("lead_country", "Bosnia\u00a0and Herzegovina", "Bosnia and Herzegovina"),
        ("lead_country", "other", "Other"),
        ("lead_role", "c4n PARTNER", "C4N partner"),
        ("lead_role", "Thematic\tProject consortium ", "Thematic Project consortium"),
    ],
)
def test_choice_matches_regardless_of_case_and_spacing(
    key: str, answer: str, expected: str
) -> None:
    assert getattr(accepted(**{key: answer}), key) == expected


# --- checkboxes --------------------------------------------------------------------------------

CUSTOM = ("Peer-revision, and review", "Adoption", "Networking")


@pytest.mark.parametrize(
    ("cell", "chosen", "unknown"),
    [
        ("Peer-revision, and review, Adoption", ["Peer-revision, and review", "Adoption"], []),
        ("Adoption, Peer-revision, and review", ["Adoption", "Peer-revision, and review"], []),
        ("Peer-revision, and review", ["Peer-revision, and review"], []),
        (
            "Adoption, Peer-revision, and review, Networking",
            ["Adoption", "Peer-revision, and review", "Networking"],
            [],
        ),
        ("adoption, PEER-REVISION, AND REVIEW", ["Adoption", "Peer-revision, and review"], []),
        ("Adoption, Fun", ["Adoption"], ["Fun"]),
        ("Peer-revision, Adoption", ["Adoption"], ["Peer-revision"]),
        ("", [], []),
        ("Adoption, Adoption", ["Adoption"], []),
    ],
)
def test_split_checkboxes_with_options_that_contain_commas(
    cell: str, chosen: list[str], unknown: list[str]
) -> None:
    assert split_checkboxes(cell, CUSTOM) == (chosen, unknown)


@pytest.mark.parametrize(
    ("cell", "chosen"),
    [
        ("C4N, TPs' APs, TPs", ["C4N", "TPs' APs", "TPs"]),
        ("TPs, TPs’ APs", ["TPs", "TPs' APs"]),  # curly apostrophe from a word processor
        ("Mission APs,TPs", ["Mission APs", "TPs"]),
    ],
)
def test_split_checkboxes_tells_options_that_contain_one_another(
    cell: str, chosen: list[str]
) -> None:
    assert split_checkboxes(cell, form.PARTICIPANT_CATEGORIES) == (chosen, [])


def test_checkboxes_joined_by_google_are_accepted() -> None:
    reg = accepted(
        working_groups=", ".join(form.WORKING_GROUPS),
        participant_categories=", ".join(form.PARTICIPANT_CATEGORIES),
        transfer_levels=", ".join(form.TRANSFER_LEVELS),
        outcomes=", ".join(form.OUTCOMES),
    )
    assert reg.working_groups == form.WORKING_GROUPS
    assert reg.participant_categories == form.PARTICIPANT_CATEGORIES
    assert reg.transfer_levels == form.TRANSFER_LEVELS
    assert reg.outcomes == form.OUTCOMES


def test_unknown_working_group_is_reported() -> None:
    assert only_problem(working_groups=f"{WG1}, WG5 Oceans") == (
        "Working groups: “WG5 Oceans” is not one of the options (WG1 Connectivity of "
        "ecosystems; WG2 Climate change mitigation and adaptation; WG3 Socio-economic value of "
        "biodiversity; WG4 Ecosystem restoration and Nature-based Solutions)."
    )


def test_each_unknown_checkbox_answer_is_reported() -> None:
    outcome = check(transfer_levels="Local, Galactic, Municipal")
    assert messages(outcome) == [
        "Transfer level: “Galactic” is not one of the options "
        "(Local; Regional; National; International).",
        "Transfer level: “Municipal” is not one of the options "
        "(Local; Regional; National; International).",
    ]


def test_unknown_expected_outcome_is_reported() -> None:
    assert only_problem(outcomes="Adoption, Fame") == (
        "Expected outcomes: “Fame” is not one of the options (Transference; Networking; "
        "Answering a specific problem; Adoption; Peer-revision of community results; "
        "Input to policy statements)."
    )


def test_thematic_projects_other_answer_is_kept() -> None:
    reg = accepted(thematic_projects="ARTEMIS, MedSeaRise, Blue Corridors Lab")
    assert reg.thematic_projects == ("ARTEMIS", "MedSeaRise", "Blue Corridors Lab")


def test_thematic_projects_only_other_answer() -> None:
    assert accepted(thematic_projects="Ποσειδών Lab").thematic_projects == ("Ποσειδών Lab",)


def test_other_answer_containing_an_option_name_stays_whole() -> None:
    assert split_checkboxes("ARTEMIS, Blue FRED Lab", form.THEMATIC_PROJECTS) == (
        ["ARTEMIS"],
        ["Blue FRED Lab"],
    )


@pytest.mark.parametrize(
    "cell",
    [
        "WG3 Valorisation of the socio-economic value of biodiversity",
        "wg3 valorisation of the socio-economic value of biodiversity",
        f"{WG1}, WG3 Valorisation of the socio-economic value of biodiversity",
    ],
)
def test_long_name_of_wg3_is_accepted(cell: str) -> None:
    reg = accepted(working_groups=cell)
    assert WG3 in reg.working_groups
    assert all(wg in form.WORKING_GROUPS for wg in reg.working_groups)


def test_checkbox_answer_matches_regardless_of_case() -> None:
    reg = accepted(working_groups="wg2 climate change MITIGATION and adaptation")
    assert reg.working_groups == (WG2,)


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "cell", "expected"),
    [
        ("DMY", "2025-03-15", date(2025, 3, 15)),
        ("MDY", "2025-03-15", date(2025, 3, 15)),
        ("DMY", "15/03/2025", date(2025, 3, 15)),
        ("DMY", "15.03.2025", date(2025, 3, 15)),
        ("DMY", "15-03-2025", date(2025, 3, 15)),
        ("DMY", "04/03/2025", date(2025, 3, 4)),
        ("MDY", "04/03/2025", date(2025, 4, 3)),
        ("MDY", "03/15/2025", date(2025, 3, 15)),
        ("YMD", "2025/03/15", date(2025, 3, 15)),
        ("DMY", 45731, date(2025, 3, 15)),
        ("DMY", 45731.0, date(2025, 3, 15)),
        ("DMY", 45731.75, date(2025, 3, 15)),
        ("DMY", "45731", date(2025, 3, 15)),
        ("DMY", datetime(2025, 3, 15, 9, 30), date(2025, 3, 15)),
        ("DMY", date(2025, 3, 15), date(2025, 3, 15)),
        ("DMY", "15 March 2025", date(2025, 3, 15)),
        ("DMY", "March 15, 2025", date(2025, 3, 15)),
        ("DMY", "15 mars 2025", date(2025, 3, 15)),
        ("DMY", "15 marzo 2025", date(2025, 3, 15)),
        ("DMY", "15 Mar. 2025", date(2025, 3, 15)),
        ("DMY", " 15/03/2025 ", date(2025, 3, 15)),
    ],
)
def test_start_date_in_accepted_forms(order: str, cell: object, expected: date) -> None:
    reg = accepted(order, start_date=cell, end_date="2025-12-31")
    assert reg.start_date == expected


@pytest.mark.parametrize(
    "cell",
    ["31/02/2025", "2025-02-30", "32 March 2025", "next spring", "15 Marchember 2025", "TBD"],
)
@pytest.mark.parametrize("order", ["DMY", "MDY", "YMD"])
def test_impossible_or_junk_date_is_reported_with_the_format_hint(order: str, cell: str) -> None:
    assert only_problem(order, start_date=cell) == (
        f"Start date “{cell}” is not a date; {FORMAT_HINT[order]}"
    )


@pytest.mark.parametrize("serial", [100, 29999, "12345", "99999"])
def test_implausible_serial_number_is_reported(serial: object) -> None:
    assert only_problem(end_date=serial) == (
        f"End date “{serial}” is not a date; write it as 2025-03-15 or 15/03/2025."
    )


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        (99999, "2173-10-13"),  # a date cell in a sheet, as its serial number
        (-693593, "0001-01-01"),
        (2958465, "9999-12-31"),
        ("0001-01-01", "0001-01-01"),
        ("9999-12-31", "9999-12-31"),
        (datetime(9999, 12, 31), "9999-12-31"),  # an .xlsx date cell
        (datetime(1899, 1, 1), "1899-01-01"),
    ],
)
def test_a_date_outside_the_plausible_years_is_named_as_a_date(cell: object, shown: str) -> None:
    assert only_problem(end_date=cell) == (
        f"End date ({shown}) is not a plausible date for a cluster; please check the year."
    )


def test_end_before_start_is_reported_in_words() -> None:
    outcome = check(start_date="01/04/2025", end_date="03/03/2025")
    assert [(p.question, p.message) for p in outcome.problems] == [
        ("End date", "End date (3 March 2025) is before Start date (1 April 2025).")
    ]


def test_end_before_start_across_formats() -> None:
    assert only_problem(start_date="1 April 2025", end_date=45719) == (
        "End date (3 March 2025) is before Start date (1 April 2025)."
    )


def test_end_on_the_start_day_is_accepted() -> None:
    reg = accepted(start_date="2025-04-01", end_date="01/04/2025")
    assert reg.start_date == reg.end_date == date(2025, 4, 1)


def test_bad_start_date_does_not_also_report_the_order() -> None:
    assert only_problem(start_date="soon") == (
        "Start date “soon” is not a date; write it as 2025-03-15 or 15/03/2025."
    )


# --- participants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (
            "Ana Đurđević; ana@example.org; Javna ustanova Priroda; Croatia",
            Participant("Ana Đurđević", "ana@example.org", "Javna ustanova Priroda", "Croatia"),
        ),
        (
            "Ana Đurđević; ana@example.org; Javna ustanova Priroda; croatia;",
            Participant("Ana Đurđević", "ana@example.org", "Javna ustanova Priroda", "Croatia"),
        ),
        (
            "•\tĠorġ Borġ;\tgorg.borg@example.com ;  ERA Malta ; Malta   ",
            Participant("Ġorġ Borġ", "gorg.borg@example.com", "ERA Malta", "Malta"),
        ),
        (
            "- Joëlle Lefèvre; Joëlle <joelle@example.org>; Office français de la biodiversité; "
            "France",
            Participant(
                "Joëlle Lefèvre",
                "joelle@example.org",
                "Office français de la biodiversité",
                "France",
            ),
        ),
        (
            "1. Γιώργος Παπαδόπουλος; giorgos@example.org; Περιφέρεια Κρήτης; Ελλάδα",
            Participant(
                "Γιώργος Παπαδόπουλος", "giorgos@example.org", "Περιφέρεια Κρήτης", "Ελλάδα"
            ),
        ),
    ],
)
def test_participant_lines_accepted(cell: str, expected: Participant) -> None:
    assert accepted(participants=cell).participants == (expected,)


def test_blank_participant_lines_are_skipped() -> None:
    cell = (
        "\n\nAna; ana@example.org; Org; Croatia\n\n\u00a0\nLucia; lucia@example.org; Org; Italy\n"
    )
    assert [p.name for p in accepted(participants=cell).participants] == ["Ana", "Lucia"]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "Petra Novak; petra.novak@example.org; Občina Sežana",
            "Petra Novak; petra.novak@example.org; Občina Sežana",
        ),
        ("Petra Novak; petra.novak@example.org", "Petra Novak; petra.novak@example.org"),
        (
            "Matej Žagar, matej.zagar@example.org, Občina Sežana, Slovenia",
            "Matej Žagar, matej.zagar@example.org, Občina Sežana, Slovenia",
        ),
        ("; petra@example.org; Občina; Slovenia", "; petra@example.org; Občina; Slovenia"),
        ("A; b@example.org; C; D; E", "A; b@example.org; C; D; E"),
    ],
)
def test_participant_line_with_wrong_fields(line: str, shown: str) -> None:
    cell = f"Ana Đurđević; ana@example.org; Priroda; Croatia\n{line}"
    assert only_problem(participants=cell) == (
        f"Participants, line 2 (“{shown}”) should read “Name; email; organisation; country”."
    )


def test_participant_with_bad_email() -> None:
    assert only_problem(participants="Ana Đurđević; ana.durdevic@; Priroda; Croatia") == (
        "Participants, line 1 (Ana Đurđević): “ana.durdevic@” is not a valid email address "
        "(There must be something after the @-sign.)."
    )


def test_participant_with_two_addresses() -> None:
    assert only_problem(participants="Ana; ana@example.org ana2@example.org; Priroda; Croatia") == (
        "Participants, line 1 (Ana): give one address per participant."
    )


def test_each_bad_participant_line_is_reported() -> None:
    outcome = check(participants="Ana; ana@; Org; HR\nOnly a name\nLucia; lucia@example.org; O; IT")
    assert messages(outcome) == [
        "Participants, line 1 (Ana): “ana@” is not a valid email address "
        "(There must be something after the @-sign.).",
        "Participants, line 2 (“Only a name”) should read “Name; email; organisation; country”.",
    ]


# --- roadmap -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "2025-03-15 – Kick-off webinar",
        "2025-03-15 - Kick-off webinar",
        "2025-03-15 — Kick-off webinar",
        "2025-03-15: Kick-off webinar",
        "2025-03-15 : Kick-off webinar",
        "2025-03-15\u00a0– Kick-off webinar",
        "15/03/2025 – Kick-off webinar",
        "15.03.2025 – Kick-off webinar",
        "15 March 2025 – Kick-off webinar",
        "March 15, 2025 – Kick-off webinar",
        "15 mars 2025 – Kick-off webinar",
        "•\t15/03/2025 – Kick-off webinar  ",
    ],
)
def test_roadmap_line_forms(line: str) -> None:
    reg = accepted(roadmap=line)
    assert reg.roadmap == (RoadmapItem(date(2025, 3, 15), "Kick-off webinar"),)


def test_roadmap_activity_keeps_its_own_dashes() -> None:
    reg = accepted(roadmap="20/05/2025 – Field test at Capo Testa – Punta Falcone")
    assert reg.roadmap == (
        RoadmapItem(date(2025, 5, 20), "Field test at Capo Testa – Punta Falcone"),
    )


def test_roadmap_dates_follow_the_sheet_order() -> None:
    reg = accepted("MDY", roadmap="04/03/2025 – Kick-off", start_date="2025-03-01")
    assert reg.roadmap[0].date == date(2025, 4, 3)


@pytest.mark.parametrize(
    "line", ["Restoration works with landowners – summer", "Kick-off webinar", "Q3 2025 – Report"]
)
def test_roadmap_line_without_a_date(line: str) -> None:
    cell = f"2025-03-15 – Kick-off\n2025-04-01 – Visit\n{line}"
    assert only_problem(roadmap=cell) == (
        f"Roadmap, line 3 (“{line}”) should read “date – activity”, "
        "for example “2025-03-15 – Kick-off webinar”."
    )


@pytest.mark.parametrize("line", ["2025-03-15 –", "2025-03-15", "15 March 2025:", "15/03/2025 — "])
def test_roadmap_line_without_an_activity(line: str) -> None:
    message = only_problem(roadmap=line)
    assert message == (
        f"Roadmap, line 1 (“{line.strip()}”) should read “date – activity”, "
        "for example “2025-03-15 – Kick-off webinar”."
    )


def test_roadmap_line_with_a_hyphen_and_no_activity() -> None:
    assert only_problem(roadmap="15/03/2025 -") == (
        "Roadmap, line 1 (“15/03/2025 -”) should read “date – activity”, "
        "for example “2025-03-15 – Kick-off webinar”."
    )


def test_roadmap_line_with_an_impossible_date() -> None:
    assert only_problem(roadmap="31/02/2025 – Kick-off") == (
        "Roadmap, line 1 (“31/02/2025 – Kick-off”) should read “date – activity”, "
        "for example “2025-03-15 – Kick-off webinar”."
    )


def test_roadmap_is_sorted_by_date() -> None:
    reg = accepted(
        roadmap="3 octobre 2025 – Report\n2025-03-15 – Kick-off\n12/05/2025 – Visit\n"
        "April 2, 2025 – Survey"
    )
    assert [(i.date, i.activity) for i in reg.roadmap] == [
        (date(2025, 3, 15), "Kick-off"),
        (date(2025, 4, 2), "Survey"),
        (date(2025, 5, 12), "Visit"),
        (date(2025, 10, 3), "Report"),
    ]


# --- consent -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        form.CONSENT_TEXT,
        form.CONSENT_TEXT.upper(),
        form.CONSENT_TEXT.lower(),
        f"  {form.CONSENT_TEXT}  ",
        form.CONSENT_TEXT.replace(" ", "\u00a0", 3),
        "TRUE",
        "true",
        "yes",
        "Yes",
        "x",
    ],
)
def test_consent_accepted(cell: str) -> None:
    assert accepted(consent=cell).consent is True


@pytest.mark.parametrize("cell", ["", "   ", None])
def test_consent_not_given(cell: object) -> None:
    outcome = check(consent=cell)
    assert [(p.question, p.message) for p in outcome.problems] == [
        (
            "Consent",
            "Consent was not given: tick “I agree that this information is published in the "
            "factsheet and in CoP reports” so the factsheet can be shared.",
        )
    ]


@pytest.mark.parametrize("cell", ["No", "FALSE", "I do not agree", "I agree"])
def test_consent_with_other_text(cell: str) -> None:
    assert only_problem(consent=cell) == f"Consent: “{cell}” is not the consent option."


# --- text pasted from a word processor ---------------------------------------------------------


def test_pasted_text_is_cleaned_not_rejected() -> None:
    reg = accepted(
        title="  “Blue” economy\u00a0for fishers’ communities\u200b  ",
        acronym="BLUE\u00adECO ",
        question="Which \u2018tools\u2019 work?\t\tAnd where?\r\nIn Salento.  ",
        objectives=(
            "•\tMap the fishers’ cooperatives  \n"
            "•\u00a0Test “co-management” charters\t\n"
            "\u2022 Share\u200b results\n\n"
        ),
        lead_organisation="Office\u00a0français de la biodiversité ",
        contact_person="Joe\u0308lle  Lefe\u0300vre\t",
        results="Line one.  \n\n  Line\u00a0two.\u2028Line three.",
        roadmap="•\t15/03/2025\u00a0– Kick-off “webinar”   \n\u2022 12/05/2025 – Visit",
        expertise="\ufeffA lawyer\u202ffamiliar with Italian law.   ",
    )
    assert reg.title == '"Blue" economy for fishers\' communities'
    assert reg.acronym == "BLUEECO"
    assert reg.question == "Which 'tools' work? And where?\nIn Salento."
    assert reg.objectives == (
        "Map the fishers' cooperatives",
        'Test "co-management" charters',
        "Share results",
    )
    assert reg.lead_organisation == "Office français de la biodiversité"
    assert reg.contact_person == "Joëlle Lefèvre"
    assert unicodedata.is_normalized("NFC", reg.contact_person)
    assert reg.results == "Line one.\n\nLine two.\nLine three."
    assert reg.roadmap == (
        RoadmapItem(date(2025, 3, 15), 'Kick-off "webinar"'),
        RoadmapItem(date(2025, 5, 12), "Visit"),
    )
    assert reg.expertise == "A lawyer familiar with Italian law."


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x00", "\x1b"])
def test_control_characters_do_not_reach_the_registration(char: str) -> None:
    reg = accepted(title=f"Governance{char}toolkit", question=f"Why{char}not?")
    for value in (reg.title, reg.question):
        assert not any(unicodedata.category(ch) == "Cc" for ch in value.replace("\n", ""))


# --- all problems at once ----------------------------------------------------------------------


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    outcome = check(
        title="X" * 130,
        contact_email="nikos.georgiou@",
        lead_country="Atlantis",
        working_groups="WG5 Oceans",
        results="",
        start_date="01/04/2025",
        end_date="03/03/2025",
        participants="Petra Novak; petra@example.org",
        roadmap="Kick-off webinar",
        consent="",
    )
    assert outcome.registration is None
    assert len(outcome.problems) == 9
    assert [p.question for p in outcome.problems] == [
        "End date",
        "Cluster title",
        "Working groups",
        "Lead organisation country",
        "Contact email",
        "Participants",
        "TP results to transfer",
        "Roadmap",
        "Consent",
    ]


def test_empty_row_reports_every_required_question() -> None:
    outcome = validate_row({}, "DMY")
    assert len(outcome.problems) == len(REQUIRED) + 1
    assert {p.question for p in outcome.problems} == {f.header for f in REQUIRED} | {"Consent"}


# --- content hash ------------------------------------------------------------------------------


def test_content_hash_ignores_the_submission_time() -> None:
    first = accepted(timestamp="29/11/2024 10:15:00")
    again = accepted(timestamp="18/11/2026 09:42:10")
    assert first.submitted_at != again.submitted_at
    assert first.content_hash() == again.content_hash()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("title", "Another title"),
        ("acronym", "OTHER"),
        ("question", "Another question?"),
        ("objectives", "One objective only"),
        ("working_groups", WG2),
        ("cluster_type", "Thematic"),
        ("lead_country", "Cyprus"),
        ("contact_email", "someone@example.org"),
        ("participants", ""),
        ("end_date", "01/12/2025"),
        ("roadmap", "2025-03-16 – Kick-off webinar"),
        ("expertise", ""),
        ("respondent_email", "ana@example.org"),
    ],
)
def test_content_hash_changes_when_an_answer_changes(key: str, value: str) -> None:
    assert accepted(**{key: value}).content_hash() != accepted().content_hash()


def test_content_hash_ignores_cleaning_differences() -> None:
    plain = accepted(title="Blue economy")
    pasted = accepted(title="  Blue\u00a0economy\u200b ")
    assert plain.content_hash() == pasted.content_hash()


# --- blank rows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"title": None, "timestamp": None},
        {"title": "", "question": "   ", "objectives": "\n\t"},
        {"title": "\u00a0", "consent": "\u200b"},
    ],
)
def test_blank_row(values: dict[str, object]) -> None:
    assert is_blank_row(values) is True


@pytest.mark.parametrize(
    "values",
    [
        {"title": "", "timestamp": "29/11/2024 10:15:00"},
        {"title": None, "start_date": 45731},
        {"start_date": datetime(2025, 3, 15)},
        {"consent": "x"},
        valid_values(),
    ],
)
def test_row_with_any_answer_is_not_blank(values: dict[str, object]) -> None:
    assert is_blank_row(values) is False
