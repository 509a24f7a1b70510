"""Realistic generated registrations for the benchmarks: the example rows' answers, with unique
multilingual titles, 5 to 20 participants and 3 to 10 roadmap lines each, and about one row in
twelve invalid (a date the form cannot read, or an end before the start). Deterministic: the
same count gives the same file."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST = [
    "Niccolò",
    "Joëlle",
    "Γιώργος",
    "Ana",
    "Стефан",
    "Ġorġ",
    "Ivana",
    "Mehmet",
    "Núria",
    "Eleni",
]
LAST = [
    "Mancà",
    "Lefèvre",
    "Παπαδόπουλος",
    "Đurđević",
    "Димитров",
    "Borġ",
    "Ćosić",
    "Yılmaz",
    "Puig",
    "Kostaki",
]
ORGS = [
    ("Regione Autonoma della Sardegna", "Italy"),
    ("Office français de la biodiversité", "France"),
    ("Περιφέρεια Κρήτης", "Greece"),
    ("Javna ustanova Priroda Dalmacije", "Croatia"),
    ("Община Бургас", "Bulgaria"),
    ("Awtorità għall-Ambjent u r-Riżorsi", "Malta"),
    ("Generalitat de Catalunya", "Spain"),
    ("Muğla Büyükşehir Belediyesi", "Türkiye"),
]
TOPICS = [
    "Restoring Posidonia meadows",
    "Αποκατάσταση υγροτόπων",
    "Възстановяване на дюни",
    "Gestione partecipata delle aree marine",
    "Corridors écologiques littoraux",
    "Obnova krških izvora",
    "Pesca artesanal y biodiversidad",
]
ACTIVITIES = ["Kick-off webinar", "Visita di studio", "Εργαστήριο", "Atelier de co-design", "Финален доклад", "Field survey"]  # fmt: skip


def _seed_rows() -> tuple[list[str], list[list[str]]]:
    with (ROOT / "examples" / "responses.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    valid_looking = [r for r in rows if any(c.strip() for c in r)]
    return header, valid_looking


def _participants(rng: random.Random, n: int) -> str:
    lines = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        org, country = rng.choice(ORGS)
        lines.append(
            f"{first} {last}; person{i}.{rng.randrange(10**6)}@example.org; {org}; {country}"
        )
    return "\n".join(lines)


def _roadmap(rng: random.Random, start: date, n: int) -> tuple[str, date]:
    day = start
    lines = []
    for _ in range(n):
        day += timedelta(days=rng.randint(10, 60))
        lines.append(f"{day:%d/%m/%Y} – {rng.choice(ACTIVITIES)}")
    return "\n".join(lines), day


def make_export(path: Path, count: int, seed: int = 11) -> None:
    """Write `count` responses to a CSV export at `path`."""
    rng = random.Random(seed)
    header, seeds = _seed_rows()
    col = {name: header.index(name) for name in header}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(count):
            row = list(rng.choice(seeds))
            row += [""] * (len(header) - len(row))
            start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 500))
            roadmap, last = _roadmap(rng, start, rng.randint(3, 10))
            row[col["Cluster title"]] = f"{rng.choice(TOPICS)} {i}"
            row[col["Participants"]] = _participants(rng, rng.randint(5, 20))
            row[col["Roadmap"]] = roadmap
            row[col["Start date"]] = f"{start:%d/%m/%Y}"
            row[col["End date"]] = f"{last + timedelta(days=30):%d/%m/%Y}"
            row[col["Timestamp"]] = f"{start - timedelta(days=40):%d/%m/%Y} 10:{i % 60:02d}:00"
            row[col["Email address"]] = f"contact{i}@example.org"
            row[col["Contact email"]] = f"contact{i}@example.org"
            row[col["Consent"]] = row[col["Consent"]] or "I agree"
            if i % 12 == 5:
                row[col["End date"]] = f"{start - timedelta(days=1):%d/%m/%Y}"  # before the start
            elif i % 12 == 11:
                row[col["Start date"]] = "sometime in spring"
            writer.writerow(row)


def edit_rows(path: Path, every: int, stamp: str) -> int:
    """Edit the Expected outcomes of one row in `every` (a partner's correction); returns how
    many rows changed."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    col = grid[0].index("TP results to transfer")
    changed = 0
    for i, line in enumerate(grid[1:]):
        if i % every == 0 and len(line) > col:
            line[col] = f"{line[col].split(' [')[0]} [{stamp}]"
            changed += 1
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(grid)
    return changed
