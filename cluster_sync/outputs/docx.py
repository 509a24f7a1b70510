"""The Word document: rendered from the template before any other format, so "making" it only
confirms that the file is there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cluster_sync.config import Config
from cluster_sync.outputs import Made
from cluster_sync.render.email import DOCX_TYPE


class DocxFormat:
    name = "docx"
    label = "Word"
    maintype, subtype = DOCX_TYPE

    @classmethod
    def from_config(cls, config: Config) -> DocxFormat:
        return cls()

    def target(self, document: Path) -> Path:
        return document

    def make(self, documents: Sequence[Path]) -> dict[Path, Made]:
        return {
            doc: Made(doc) if doc.is_file() else Made(None, "the Word file is missing")
            for doc in documents
        }

    def check(self) -> str:
        return "Word documents are rendered from the template"
