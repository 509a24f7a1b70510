"""The registration form: its questions, the sheet headers they land under, and allowed answers.

This is the single source of truth for the form spec (docs/form.md describes the same in words).
Another form maps onto these keys through the `[form.columns]` table of the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    DATETIME = "date-time"
    EMAIL = "email"
    SHORT = "short answer"
    PARAGRAPH = "paragraph"
    LINES = "one item per line"
    CHOICE = "multiple choice"
    CHECKBOXES = "checkboxes"
    DATE = "date"
    CONSENT = "consent"
    LINK = "link"


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    kind: Kind
    required: bool = False
    options: tuple[str, ...] = ()
    max_length: int | None = None
    #: checkbox questions whose "Other" option lets people type their own answer
    allows_other: bool = False


WORKING_GROUPS = (
    "WG1 Connectivity of ecosystems",
    "WG2 Climate change mitigation and adaptation",
    "WG3 Socio-economic value of biodiversity",
    "WG4 Ecosystem restoration and Nature-based Solutions",
)
CLUSTER_TYPES = ("Thematic", "Territorial")
COUNTRIES = (
    "Albania",
    "Bosnia and Herzegovina",
    "Bulgaria",
    "Croatia",
    "Cyprus",
    "France",
    "Greece",
    "Italy",
    "Malta",
    "Montenegro",
    "North Macedonia",
    "Portugal",
    "Slovenia",
    "Spain",
    "Other",
)
LEAD_ROLES = ("C4N partner", "D4N partner", "Thematic Project consortium")
PARTICIPANT_CATEGORIES = ("C4N", "D4N", "Mission APs", "TPs", "TPs' APs", "External partners")
THEMATIC_PROJECTS = (
    "ARTEMIS",
    "Carbon4Soil Quality",
    "COASTRUST",
    "FRED",
    "Germ of Life",
    "GreenList4MMPAs",
    "LocAll4Flood",
    "MedSeaRise",
    "MPA4Change",
    "StrategyMedFor",
    "TREASURE",
    "WE GO COOP",
    "Wetland4Change",
)
TRANSFER_LEVELS = ("Local", "Regional", "National", "International")
OUTCOMES = (
    "Transference",
    "Networking",
    "Answering a specific problem",
    "Adoption",
    "Peer-revision of community results",
    "Input to policy statements",
)
CONSENT_TEXT = "I agree that this information is published in the factsheet and in CoP reports"

SHORT_LIMIT = 200
PARAGRAPH_LIMIT = 3000

FIELDS: tuple[Field, ...] = (
    Field("timestamp", "Timestamp", Kind.DATETIME),
    Field("respondent_email", "Email address", Kind.EMAIL),
    Field("title", "Cluster title", Kind.SHORT, True, max_length=120),
    Field("acronym", "Acronym", Kind.SHORT, max_length=30),
    Field(
        "question", "Question or need addressed", Kind.PARAGRAPH, True, max_length=PARAGRAPH_LIMIT
    ),
    Field("objectives", "Objectives", Kind.LINES, True, max_length=PARAGRAPH_LIMIT),
    Field("working_groups", "Working groups", Kind.CHECKBOXES, True, WORKING_GROUPS),
    Field("cluster_type", "Cluster type", Kind.CHOICE, True, CLUSTER_TYPES),
    Field("lead_organisation", "Lead organisation", Kind.SHORT, True, max_length=SHORT_LIMIT),
    Field("lead_country", "Lead organisation country", Kind.CHOICE, True, COUNTRIES),
    Field("lead_role", "Lead partner role", Kind.CHOICE, True, LEAD_ROLES),
    Field("contact_person", "Contact person", Kind.SHORT, True, max_length=SHORT_LIMIT),
    Field("contact_email", "Contact email", Kind.EMAIL, True),
    Field(
        "participant_categories",
        "Participant categories",
        Kind.CHECKBOXES,
        True,
        PARTICIPANT_CATEGORIES,
    ),
    Field(
        "thematic_projects",
        "Thematic Projects involved",
        Kind.CHECKBOXES,
        options=THEMATIC_PROJECTS,
        allows_other=True,
    ),
    Field("participants", "Participants", Kind.LINES, max_length=PARAGRAPH_LIMIT * 3),
    Field("results", "TP results to transfer", Kind.PARAGRAPH, True, max_length=PARAGRAPH_LIMIT),
    Field("transfer_levels", "Transfer level", Kind.CHECKBOXES, True, TRANSFER_LEVELS),
    Field("outcomes", "Expected outcomes", Kind.CHECKBOXES, True, OUTCOMES),
    Field("start_date", "Start date", Kind.DATE, True),
    Field("end_date", "End date", Kind.DATE, True),
    Field("roadmap", "Roadmap", Kind.LINES, True, max_length=PARAGRAPH_LIMIT),
    Field("expertise", "Expertise needed", Kind.PARAGRAPH, max_length=PARAGRAPH_LIMIT),
    Field("consent", "Consent", Kind.CONSENT, True, (CONSENT_TEXT,)),
)

# Columns to the right of the form's: read (approved) or owned (the other three) by the sync.
APPROVED = "Approved"
CLUSTER_ID = "Cluster ID"
SYNC_STATUS = "Sync status"
LAST_SYNCED = "Last synced"
STATUS_HEADERS = (CLUSTER_ID, SYNC_STATUS, LAST_SYNCED)
#: the link of the published factsheet ([publish] is configured)
FACTSHEET = "Factsheet"
#: owned columns added only once a run has a value to write in one (sources.base.owned_headers)
OPTIONAL_HEADERS = (FACTSHEET,)

#: Not a question: filled by the Apps Script in extras/apps-script/ with each response's own
#: edit link. Optional, mapped in `[form.columns]` like a question, never part of the content.
EDIT_LINK = Field("edit_link", "Edit link", Kind.LINK)
#: Optional question: the language of the emails to these people (English when absent,
#: blank or not one cluster-sync has; see docs/languages.md). Never part of the factsheet.
PREFERRED_LANGUAGE = Field("preferred_language", "Preferred language", Kind.SHORT)
#: every column read from the sheet, by key
COLUMNS: tuple[Field, ...] = (*FIELDS, EDIT_LINK, PREFERRED_LANGUAGE)

FIELDS_BY_KEY = {f.key: f for f in COLUMNS}
TRUTHY = frozenset({"true", "yes", "y", "x", "✓", "✔", "1", "ok", "approved", "oui", "sí", "si"})


def is_ticked(value: object) -> bool:
    """Whether a secretariat checkbox-like cell (Approved) counts as ticked."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().casefold() in TRUTHY
