"""The languages partner emails are written in: one folder of files each, no code.

English is the templates folder itself (templates/email/*.j2) with the sentences of
cluster_sync/messages.py. Every other language is a folder beside them named by its language code
(templates/email/fr/), holding its own factsheet and problems templates and a `messages.toml`:

    locale = "fr"                 # optional: the CLDR locale for dates (default: the folder name)
    names = ["Français"]          # optional: more answers that choose it (CLDR names already do)
    identical = []                # optional: keys deliberately worded as in English
    [messages]
    required = "{question} : cette réponse est obligatoire mais elle est vide."

Anything a folder lacks falls back to English item by item (a template, a sentence), and each
fallback is logged once, so a half-done language still sends complete emails and says what is
missing. Dates are written from the CLDR data by Babel in the "long" form (3 mars 2025,
3 Μαρτίου 2025): always the month in words, never a day/month order to guess.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from cluster_sync.errors import TemplateError
from cluster_sync.messages import ENGLISH, Message, Param, fill

if TYPE_CHECKING:  # for hints only: the configuration's checks lead here
    from cluster_sync.config import MailConfig

log = logging.getLogger(__name__)

ENGLISH_CODE = "en"
#: British English writes 3 March 2025, as the rest of cluster-sync does
ENGLISH_LOCALE = "en_GB"
MESSAGES_FILE = "messages.toml"
#: the email templates a language folder translates (the digest and the report stay English)
PARTNER_TEMPLATES = ("factsheet", "problems")
_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@dataclass
class Language:
    """One language's sentences and date formats, with English beneath for what it lacks."""

    code: str
    locale: Locale
    folder: Path | None = None
    messages: dict[str, str] = field(default_factory=dict)
    identical: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()
    _told: set[str] = field(default_factory=set, repr=False)

    @property
    def name(self) -> str:
        return str(self.locale.get_language_name(ENGLISH_CODE) or self.code)

    def say(self, message: Message) -> str:
        """The message in this language (English for a sentence the folder lacks)."""
        sentence = self.messages.get(message.key)
        if sentence is None:
            sentence = ENGLISH[message.key]
            if self.folder is not None:
                self.once(
                    f"message:{message.key}",
                    f"{self.folder / MESSAGES_FILE} has no sentence {message.key!r}; "
                    "it is written in English",
                )
        return fill(sentence, message, self.value)

    def value(self, value: Param) -> str:
        if isinstance(value, Message):
            return self.say(value)
        if isinstance(value, datetime):
            return self.moment(value)
        if isinstance(value, date):
            return self.date(value)
        return str(value)

    def date(self, value: date) -> str:
        return str(format_date(value, "long", locale=self.locale))

    def moment(self, value: datetime) -> str:
        """The date and the 24-hour time in the value's own zone (3 mars 2025, 14:05)."""
        return f"{self.date(value)}, {format_time(value, 'HH:mm', locale=self.locale)}"

    def once(self, what: str, warning: str) -> None:
        if what not in self._told:
            self._told.add(what)
            log.warning("%s", warning)


@dataclass(frozen=True)
class Choice:
    """The language of one email and, when it is not the one asked for, why."""

    code: str
    note: str | None = None


class Languages:
    """Every language of one templates folder: English and each language folder in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_code: dict[str, Language] = {
            ENGLISH_CODE: Language(ENGLISH_CODE, Locale.parse(ENGLISH_LOCALE))
        }
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                if _CODE.match(folder.name) and folder.name != ENGLISH_CODE:
                    self.by_code[folder.name] = _load(folder)
        self._names = self._answers()

    @property
    def codes(self) -> list[str]:
        return list(self.by_code)

    def get(self, code: str) -> Language:
        return self.by_code.get(code) or self.by_code[ENGLISH_CODE]

    def find(self, answer: str) -> str | None:
        """The language an answer names ("Français", "French", "fr-FR", "Ελληνικά"), if any."""
        whole = _fold(answer)
        if whole in self._names:
            return self._names[whole]
        pieces = [p for p in re.split(r"[^\w]+|_", whole) if p]
        if _CODE.match(whole):  # fr-FR, pt_BR: the language is the first part
            return self._names.get(pieces[0])
        # "Français (French)": a name among words; never a short word taken for a code
        # ("it does not matter" is not Italian)
        return next((self._names[p] for p in pieces if len(p) > 3 and p in self._names), None)

    def choose(self, *answers: str | None) -> Choice:
        """The first answer that names a language there are emails in (the secretariat's
        setting for one cluster, the form's answer, the configured default), else English.
        An answer that names none is said in the note, never a reason to refuse."""
        unknown: list[str] = []
        for answer in answers:
            if not answer or not answer.strip():
                continue
            code = self.find(answer)
            if code is not None:
                note = None
                if unknown:
                    note = f"{_quoted(unknown)} is not a language the emails are written in; {code}"
                return Choice(code, note)
            unknown.append(answer.strip())
        note = None
        if unknown:
            known = ", ".join(self.codes)
            note = (
                f"{_quoted(unknown)} is not a language the emails are written in ({known}); English"
            )
        return Choice(ENGLISH_CODE, note)

    def _answers(self) -> dict[str, str]:
        """Every folded answer that names a language: its code, its names in CLDR in each of
        the languages here and in itself, and the names its messages.toml adds."""
        found: dict[str, str] = {}
        for code, language in self.by_code.items():
            names = [code, language.locale.language, *language.names]
            for other in [*self.by_code.values(), language]:
                name = language.locale.get_language_name(other.locale)
                if name:
                    names.append(name)
            for name in names:
                found.setdefault(_fold(name), code)
        return found


def choose_language(
    languages: Languages, mail: MailConfig, cluster_id: str | None, answer: object
) -> Choice:
    """The language of one registration's emails: the secretariat's setting for that cluster,
    else the form's "Preferred language" answer, else `[mail] language`, else English."""
    override = mail.cluster_languages.get(cluster_id or "")
    return languages.choose(override, str(answer or ""), mail.language)


def _load(folder: Path) -> Language:
    path = folder / MESSAGES_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TemplateError(
                f"{path} cannot be read: {exc}.",
                hint="it is a TOML file saved as UTF-8; compare it with templates/email/fr/.",
            ) from None
    locale_name = str(data.get("locale") or folder.name)
    try:
        locale = Locale.parse(locale_name.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise TemplateError(
            f"{folder} is not named by a language code cluster-sync knows ({locale_name!r}).",
            hint="name the folder by its two-letter code, such as pt or hr, or set "
            f'locale = "pt_BR" in its {MESSAGES_FILE}.',
        ) from None
    messages = data.get("messages", {})
    if not isinstance(messages, dict) or not all(isinstance(v, str) for v in messages.values()):
        raise TemplateError(f'{path}: [messages] must hold sentences (key = "text") only.')
    return Language(
        folder.name,
        locale,
        folder,
        {k: v for k, v in messages.items() if k in ENGLISH},
        frozenset(str(k) for k in data.get("identical", [])),
        tuple(str(n) for n in data.get("names", [])),
    )


def _fold(value: str) -> str:
    """Case and accents ignored: "Français", "francais" and "FRANÇAIS" are one answer."""
    plain = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in plain if not unicodedata.combining(c)).split())


def _quoted(answers: list[str]) -> str:
    return ", ".join(f"“{a[:40]}”" for a in answers)
