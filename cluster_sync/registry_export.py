"""The cluster registry as a file for the programme's databases: one row per valid cluster whose
registration consents to publication, as CSV, JSON or XLSX.

Column names follow keep.eu's project and partner fields (project acronym, project name, lead
partner, partner organisation and country, a partner identifier for the PIC), so the file can be
matched with keep.eu and Jems exports; docs/export.md describes every column. Countries become
ISO 3166-1 alpha-2 codes; a country that cannot be recognised is kept exactly as typed and
listed in `unrecognised_countries`. Nothing a partner typed is changed: a cell that looks like a
formula stays text.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cluster_sync import text
from cluster_sync.errors import ClusterSyncError
from cluster_sync.files import atomic_write
from cluster_sync.report.gather import Cluster, cluster_from
from cluster_sync.state import State

FORMATS = ("csv", "json", "xlsx")
#: how lists are joined in one CSV or XLSX cell (JSON keeps them as arrays)
SEPARATOR = "; "

#: column -> what it holds; the order of the file's columns (docs/export.md repeats this)
COLUMNS: dict[str, str] = {
    "cluster_id": "the cluster's ID, e.g. CL-2025-007",
    "project_acronym": "the cluster's acronym (may be empty)",
    "project_name": "the cluster's title",
    "start_date": "start date, YYYY-MM-DD",
    "end_date": "end date, YYYY-MM-DD",
    "status": "planned, active or completed on the day of the export",
    "working_groups": "the working groups, as named in the form",
    "cluster_type": "Thematic or Territorial",
    "lead_partner": "the lead organisation",
    "lead_partner_country": "the lead organisation's country, ISO 3166-1 alpha-2",
    "thematic_projects": "the Thematic Projects involved",
    "partner_organisations": "every organisation involved, the lead first, each once",
    "partner_countries": "their countries, ISO 3166-1 alpha-2, in the same order",
    "partner_pics": "the partners' PIC (Participant Identification Code): empty, the form "
    "does not ask for it",
    "unrecognised_countries": "countries that could not be turned into a code, as typed",
    "factsheet_version": "the version of the current factsheet",
    "factsheet_url": "where the factsheet is published; empty until it is published",
}

# ISO 3166-1 alpha-2 codes for the names partners type: English, the country's own languages
# and the main languages of the Euro-MED area (French, Italian, Spanish, Portuguese, Greek,
# Croatian/Serbian/Bosnian/Montenegrin, Slovenian, Albanian, Macedonian, Bulgarian, Maltese,
# Turkish, German, Arabic). Matching ignores case, accents and spacing.
_NAMES: dict[str, tuple[str, ...]] = {
    "AL": ("Albania", "Shqipëri", "Shqipëria", "Albanie", "Albanien", "Албания", "Албанија",
           "Αλβανία", "Albanija", "Arnavutluk"),
    "BA": ("Bosnia and Herzegovina", "Bosnia-Herzegovina", "Bosnia & Herzegovina", "Bosnia",
           "Bosna i Hercegovina", "Босна и Херцеговина", "Bosnie-Herzégovine",
           "Bosnia ed Erzegovina", "Bosnia y Herzegovina", "Bósnia e Herzegovina",
           "Bosnien und Herzegowina", "Βοσνία-Ερζεγοβίνη", "Bosna in Hercegovina",
           "Bosnja u Ħerzegovina", "BiH"),
    "BG": ("Bulgaria", "България", "Bulgarie", "Bulgarien", "Βουλγαρία", "Bugarska",
           "Bolgarija", "Bullgaria", "Бугарија", "Bulgária", "Bulgaristan"),
    "HR": ("Croatia", "Hrvatska", "Croatie", "Croazia", "Croacia", "Croácia", "Kroatien",
           "Κροατία", "Hırvatistan", "Hrvaška", "Kroacia", "Хърватия", "Хрватска", "Kroazja"),
    "CY": ("Cyprus", "Κύπρος", "Kıbrıs", "Chypre", "Cipro", "Chipre", "Zypern", "Cipar",
           "Ciper", "Qipro", "Кипър", "Кипар"),
    "FR": ("France", "Francia", "França", "Frankreich", "Γαλλία", "Francuska", "Francija",
           "Franca", "Франция", "Франција", "Franza", "Fransa"),
    "GR": ("Greece", "Ελλάδα", "Ελλάς", "Hellas", "Grèce", "Grecia", "Grécia",
           "Griechenland", "Grčka", "Grčija", "Greqia", "Гърция", "Грција", "Greċja",
           "Yunanistan", "EL"),
    "IT": ("Italy", "Italia", "Italie", "Itália", "Italien", "Ιταλία", "Italija", "Italija",
           "Italia", "Италия", "Италија", "Italja", "İtalya"),
    "MT": ("Malta", "Malte", "Μάλτα", "Малта", "Maltë"),
    "ME": ("Montenegro", "Crna Gora", "Црна Гора", "Monténégro", "Μαυροβούνιο", "Mali i Zi",
           "Черна гора", "Karadağ"),
    "MK": ("North Macedonia", "Macedonia", "Republic of North Macedonia", "Северна Македонија",
           "Macédoine du Nord", "Macedonia del Nord", "Macedonia del Norte",
           "Macedónia do Norte", "Nordmazedonien", "Βόρεια Μακεδονία", "Sjeverna Makedonija",
           "Severna Makedonija", "Maqedonia e Veriut", "Северна Македония",
           "Kuzey Makedonya", "FYROM"),
    "PT": ("Portugal", "Portogallo", "Πορτογαλία", "Portugalija", "Portugalia", "Португалия",
           "Португалија", "Portugall", "Portugalja", "Portekiz"),
    "SI": ("Slovenia", "Slovenija", "Slovénie", "Eslovenia", "Eslovénia", "Slowenien",
           "Σλοβενία", "Sllovenia", "Словения", "Словенија", "Slovenja", "Slovenya"),
    "ES": ("Spain", "España", "Espanya", "Espainia", "Espagne", "Spagna", "Espanha",
           "Spanien", "Ισπανία", "Španjolska", "Španija", "Španija", "Spanja", "Испания",
           "Шпанија", "Spanja", "İspanya"),
    "AT": ("Austria", "Österreich", "Autriche"),
    "BE": ("Belgium", "Belgique", "België", "Belgio", "Bélgica"),
    "CH": ("Switzerland", "Suisse", "Schweiz", "Svizzera"),
    "DE": ("Germany", "Deutschland", "Allemagne", "Germania", "Alemania", "Alemanha",
           "Γερμανία"),
    "DZ": ("Algeria", "Algérie", "الجزائر"),
    "EG": ("Egypt", "Égypte", "Egitto", "مصر"),
    "GB": ("United Kingdom", "UK", "Great Britain", "Royaume-Uni", "Regno Unito"),
    "HU": ("Hungary", "Magyarország", "Hongrie", "Ungheria"),
    "IE": ("Ireland", "Éire", "Irlande", "Irlanda"),
    "IL": ("Israel", "Israël", "Israele", "ישראל"),
    "JO": ("Jordan", "Jordanie", "Giordania", "الأردن"),
    "LB": ("Lebanon", "Liban", "Libano", "لبنان"),
    "LY": ("Libya", "Libye", "Libia", "ليبيا"),
    "MA": ("Morocco", "Maroc", "Marocco", "Marruecos", "المغرب"),
    "NL": ("Netherlands", "Nederland", "Pays-Bas", "Paesi Bassi", "Países Bajos"),
    "PS": ("Palestine", "Palestina", "فلسطين"),
    "RO": ("Romania", "România", "Roumanie"),
    "RS": ("Serbia", "Srbija", "Србија", "Serbie", "Σερβία"),
    "SK": ("Slovakia", "Slovensko", "Slovaquie", "Slovacchia"),
    "TN": ("Tunisia", "Tunisie", "Túnez", "تونس"),
    "TR": ("Türkiye", "Turkey", "Turquie", "Turchia", "Turquía", "Τουρκία"),
    "XK": ("Kosovo", "Kosova", "Косово"),
}  # fmt: skip


def _key(value: str) -> str:
    """Case, accents and spacing folded, so `ESPAÑA `, `Espana` and `España` match."""
    decomposed = unicodedata.normalize("NFKD", text.fold(value))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace(".", "")


_CODES: dict[str, str] = {
    **{_key(code): code for code in _NAMES},
    **{_key(name): code for code, names in _NAMES.items() for name in names},
}


def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name typed in one of several languages, or
    of a code typed as is (`es`, `EL` for Greece); None when it is not recognised."""
    return _CODES.get(_key(name)) if name.strip() else None


@dataclass(frozen=True)
class RegistryRow:
    values: dict[str, Any]  # column -> str, int or list of str

    def flat(self) -> dict[str, str]:
        """Every value as one text cell: lists joined with `; `."""
        return {
            k: SEPARATOR.join(v) if isinstance(v, list) else ("" if v is None else str(v))
            for k, v in self.values.items()
        }


def _organisations(cluster: Cluster) -> list[tuple[str, str]]:
    """(organisation, country) of the lead and then every participant, each organisation once
    however it is spelt in capitals or spacing."""
    seen: dict[str, tuple[str, str]] = {}
    pairs = [(cluster.lead_organisation, cluster.lead_country)]
    pairs += [(p.organisation, p.country) for p in cluster.people]
    for name, country in pairs:
        if name.strip():
            seen.setdefault(text.fold(name), (text.clean_line(name), text.clean_line(country)))
    return list(seen.values())


def _coded(countries: list[str]) -> tuple[list[str], list[str]]:
    """Codes in order (a name left as typed where none is known), and the unknown names."""
    codes, unknown = [], []
    for name in countries:
        code = country_code(name)
        codes.append(code or name)
        if code is None and name and name not in unknown:
            unknown.append(name)
    return codes, unknown


def registry_row(cluster: Cluster, today: date, factsheet_url: str) -> RegistryRow:
    organisations = _organisations(cluster)
    partner_countries, unknown = _coded([country for _, country in organisations])
    lead_codes, lead_unknown = _coded([text.clean_line(cluster.lead_country)])
    return RegistryRow(
        {
            "cluster_id": cluster.cluster_id,
            "project_acronym": cluster.acronym,
            "project_name": cluster.title,
            "start_date": cluster.start.isoformat() if cluster.start else "",
            "end_date": cluster.end.isoformat() if cluster.end else "",
            "status": cluster.status(today),
            "working_groups": list(cluster.working_groups),
            "cluster_type": cluster.cluster_type,
            "lead_partner": cluster.lead_organisation,
            "lead_partner_country": lead_codes[0],
            "thematic_projects": list(cluster.thematic_projects),
            "partner_organisations": [name for name, _ in organisations],
            "partner_countries": partner_countries,
            "partner_pics": [],
            "unrecognised_countries": list(dict.fromkeys(lead_unknown + unknown)),
            "factsheet_version": cluster.version,
            "factsheet_url": factsheet_url,
        }
    )


def _published_urls(db: sqlite3.Connection) -> dict[str, str]:
    """cluster ID -> the address its factsheet is published at, from whichever state table
    records publishing (a `cluster_id` and a `published_url` column); empty when none does."""
    found: dict[str, str] = {}
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
        if {"cluster_id", "published_url"} <= columns:
            rows = db.execute(
                f'SELECT cluster_id, published_url FROM "{table}" '
                "WHERE published_url IS NOT NULL AND published_url != '' ORDER BY rowid"
            )
            found.update({str(cid): str(url) for cid, url in rows})  # the latest row wins
    return found


def registry(state: State, today: date) -> list[RegistryRow]:
    """One row per valid registration that consents to publication, by cluster ID."""
    urls = _published_urls(state.db)
    clusters = [cluster_from(r) for r in state.registrations() if r.status == "valid"]
    named = sorted((c for c in clusters if c.consent), key=lambda c: c.cluster_id)
    return [registry_row(c, today, urls.get(c.cluster_id, "")) for c in named]


def to_csv(rows: list[RegistryRow]) -> bytes:
    """UTF-8 with a byte order mark, so Excel reads accents and scripts right. CSV has no cell
    types: text that starts with = + - @ is written as typed (docs/export.md says how to open
    it without a spreadsheet reading it as a formula)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(row.flat() for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_json(rows: list[RegistryRow]) -> bytes:
    data = {"columns": COLUMNS, "clusters": [row.values for row in rows]}
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_xlsx(rows: list[RegistryRow]) -> bytes:
    """Every cell is a text cell (a value that looks like a formula is never one) except the
    factsheet version, a number."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Clusters"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, (key, value) in enumerate(row.flat().items(), start=1):
            cell = sheet.cell(row=number, column=column)
            if key == "factsheet_version" and value.isdigit():
                cell.value = int(value)
            else:
                cell.value = value
                cell.data_type = "s"  # openpyxl would make "=..." a formula
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


WRITERS = {"csv": to_csv, "json": to_json, "xlsx": to_xlsx}


def export_registry(state: State, fmt: str, out: Path, today: date) -> int:
    """Write the registry to `out` in `fmt`; the number of clusters written."""
    if fmt not in WRITERS:
        raise ClusterSyncError(
            f"Unknown export format {fmt!r}.", hint=f"use one of {', '.join(FORMATS)}."
        )
    rows = registry(state, today)
    atomic_write(out, WRITERS[fmt](rows))
    return len(rows)
