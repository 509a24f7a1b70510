"""PDF, converted from the Word document by LibreOffice headless (outputs/libreoffice.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.errors import ClusterSyncError
from cluster_sync.outputs import Made
from cluster_sync.outputs.libreoffice import LibreOffice

INSTALL_HINT = (
    "install LibreOffice and the fonts (Debian/Ubuntu: sudo apt-get install "
    "--no-install-recommends libreoffice-writer-nogui fonts-crosextra-carlito "
    "fonts-crosextra-caladea fonts-liberation2 fonts-dejavu-core fonts-noto-core), or set "
    "output.pdf.soffice to its path; docs/operations.md has the details."
)


class PdfFormat:
    name = "pdf"
    label = "PDF"
    maintype, subtype = "application", "pdf"

    def __init__(self, office: LibreOffice, template: Path) -> None:
        self.office = office
        self.template = template

    @classmethod
    def from_config(cls, config: Config) -> PdfFormat:
        settings = config.output.pdf
        profile = (
            config.path(settings.profile)
            if settings.profile
            else config.path(config.state.database).parent / "libreoffice-profile"
        )
        office = LibreOffice(
            settings.soffice,
            profile,
            settings.timeout_seconds,
            settings.retries,
            settings.batch_size,
        )
        return cls(office, config.path(config.output.factsheet_template))

    def target(self, document: Path) -> Path:
        return document.with_suffix(".pdf")

    def make(self, documents: Sequence[Path]) -> dict[Path, Made]:
        try:
            converted = self.office.convert(documents)
        except (OSError, TimeoutError) as exc:  # the lock, the profile folder, a full disk
            return {
                doc: Made(None, f"LibreOffice could not be started ({exc})") for doc in documents
            }
        return {
            doc: Made(result) if isinstance(result, Path) else Made(None, result)
            for doc, result in converted.items()
        }

    def check(self) -> str:
        """soffice found, its version, and one real conversion of a sample factsheet (with a
        throw-away profile, so `check` changes nothing)."""
        from cluster_sync.render.factsheet import factsheet_context, render_docx
        from cluster_sync.sample import sample_registration

        if self.office.find() is None:
            raise ClusterSyncError(
                f"PDF cannot be made: {self.office.missing_reason()}.", hint=INSTALL_HINT
            )
        version = self.office.version()
        with tempfile.TemporaryDirectory(prefix="cluster-sync-check-") as scratch:
            work = Path(scratch)
            sample = work / "sample.docx"
            context = factsheet_context(sample_registration(), "CL-2000-001", 1, date.today())
            render_docx(self.template, context, sample)
            trial = LibreOffice(
                self.office.executable,
                work / "profile",
                self.office.timeout_seconds,
                retries=0,
            )
            result = trial.convert([sample])[sample]
        if not isinstance(result, Path):
            raise ClusterSyncError(
                f"PDF cannot be made: a sample factsheet did not convert ({result}).",
                hint="run `soffice --headless --convert-to pdf` on a .docx by hand to see why; "
                "docs/operations.md lists the usual causes.",
            )
        return f"{version}; a sample factsheet converted to PDF"
