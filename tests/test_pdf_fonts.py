"""The fonts a Word template asks for, read from the .docx, and which of them this machine lacks
(fontconfig answers, as it does for LibreOffice)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from cluster_sync.outputs.fonts import check_fonts, fontconfig_available, template_fonts


def test_the_templates_fonts_are_read_from_styles_and_theme() -> None:
    for name in ("factsheet.docx", "cop-report.docx"):
        fonts = template_fonts(ROOT / "templates" / name)
        assert fonts[0] == "Calibri"  # the document default, and the theme's heading font
        assert "MS Gothic" not in fonts and "ＭＳ 明朝" not in fonts  # declared, never used


@pytest.mark.skipif(not fontconfig_available(), reason="fontconfig (fc-match) is not installed")
def test_a_font_the_machine_lacks_is_named(tmp_path: Path) -> None:
    template = tmp_path / "factsheet.docx"
    with (
        zipfile.ZipFile(ROOT / "templates" / "factsheet.docx") as source,
        zipfile.ZipFile(template, "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/styles.xml":
                data = data.replace(b'w:ascii="Calibri"', b'w:ascii="Nowhere Grotesk Pro"')
            target.writestr(item, data)
    assert "Nowhere Grotesk Pro" in template_fonts(template)
    report = check_fonts([template])
    assert "Nowhere Grotesk Pro" in report.missing
    assert "Calibri" not in report.missing  # Carlito has Calibri's metrics
