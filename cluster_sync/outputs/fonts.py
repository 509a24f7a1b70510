"""Which fonts a Word template asks for, and whether this machine has them (for the PDF).

Word names fonts in run properties (`w:rFonts`, in the styles, the body, headers, footers and
list numbering) either directly or through the theme ("minorHAnsi" means the theme's body font).
The font table (`word/fontTable.xml`) also lists fonts nobody uses (Word declares its East Asian
defaults there), so only fonts that text refers to are checked. LibreOffice finds fonts through
fontconfig; a missing font is replaced by a metric-compatible one when it is installed (Carlito
for Calibri...), which keeps the page layout, or by any other font, which does not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_TEXT_PARTS = re.compile(r"word/(styles|document|numbering|header\d*|footer\d*)\.xml")

#: Word's fonts -> the free fonts with the same metrics (the same line and page breaks)
METRIC_COMPATIBLE = {
    "calibri": {"carlito"},
    "cambria": {"caladea"},
    "arial": {"liberation sans", "arimo"},
    "helvetica": {"liberation sans", "arimo", "nimbus sans"},
    "times new roman": {"liberation serif", "tinos"},
    "times": {"liberation serif", "tinos", "nimbus roman"},
    "courier new": {"liberation mono", "cousine"},
    "courier": {"liberation mono", "cousine", "nimbus mono ps"},
    "symbol": {"opensymbol"},  # LibreOffice draws Word's Symbol bullets with its own font
}
#: languages the registrations are written in beyond Latin-1 (fontconfig language codes)
SCRIPTS = {"el": "Greek", "ru": "Cyrillic", "mt": "Maltese"}
FONT_PACKAGES = (
    "fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation2 fonts-dejavu-core "
    "fonts-noto-core"
)


@dataclass(frozen=True)
class FontReport:
    asked: list[str]
    #: font -> what LibreOffice will draw it with instead
    missing: dict[str, str]
    scripts_missing: list[str]


def template_fonts(template: Path) -> list[str]:
    """The font names the template's text uses, in order of first mention."""
    names: list[str] = []
    with zipfile.ZipFile(template) as package:
        theme = _theme_fonts(package)
        for part in package.namelist():
            if not _TEXT_PARTS.fullmatch(part):
                continue
            root = ElementTree.fromstring(package.read(part))
            for fonts in root.iter(f"{W}rFonts"):
                for attr in ("ascii", "hAnsi", "cs"):
                    name = fonts.get(f"{W}{attr}") or theme.get(fonts.get(f"{W}{attr}Theme") or "")
                    if name and name not in names:
                        names.append(name)
    return names


def _theme_fonts(package: zipfile.ZipFile) -> dict[str, str]:
    """ "minorHAnsi" -> "Calibri", from word/theme/theme1.xml."""
    found: dict[str, str] = {}
    themes = [n for n in package.namelist() if n.startswith("word/theme/")]
    if not themes:
        return found
    root = ElementTree.fromstring(package.read(themes[0]))
    for kind in ("major", "minor"):
        font = root.find(f".//{A}{kind}Font")
        if font is None:
            continue
        latin, bidi = font.find(f"{A}latin"), font.find(f"{A}cs")
        for suffix, element in (("HAnsi", latin), ("Ascii", latin), ("Bidi", bidi)):
            if element is not None and element.get("typeface"):
                found[f"{kind}{suffix}"] = element.get("typeface", "")
    return found


def fontconfig_available() -> bool:
    return shutil.which("fc-match") is not None and shutil.which("fc-list") is not None


def substitute(name: str) -> str:
    """The family fontconfig gives LibreOffice for `name`."""
    done = subprocess.run(
        ["fc-match", "-f", "%{family}", name], capture_output=True, text=True, timeout=30
    )
    return done.stdout.split(",")[0].strip()


def has_script(language: str) -> bool:
    done = subprocess.run(
        ["fc-list", f":lang={language}", "family"], capture_output=True, text=True, timeout=30
    )
    return bool(done.stdout.strip())


def check_fonts(templates: list[Path]) -> FontReport:
    asked: list[str] = []
    for template in templates:
        asked += [n for n in template_fonts(template) if n not in asked]
    missing = {}
    for name in asked:
        got = substitute(name)
        if got.lower() != name.lower() and got.lower() not in METRIC_COMPATIBLE.get(
            name.lower(), set()
        ):
            missing[name] = got or "nothing"
    scripts = [label for code, label in SCRIPTS.items() if not has_script(code)]
    return FontReport(asked, missing, scripts)
