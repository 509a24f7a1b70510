"""Word templates rendered many times from one preparation.

docxtpl, used the obvious way, re-reads the .docx, re-parses and re-compiles every XML part and
re-compresses the whole package (styles.xml alone is 350 KB) for every document: 98 % of its time
goes into work that is the same for every factsheet. Here docxtpl's own preparation (merging runs
around tags, turning `{%p %}`/`{%tr %}` into jinja) runs once per template file, jinja compiles
the result once, and each document is written by copying the compressed bytes of the parts that
no tag touches; only the parts with tags (the body, headers, footers, footnotes) are rendered
and compressed again (a part that renders as it did for an earlier document is reused). The
rendered parts go through the same steps as in docxtpl (listing resolution, table grid repair,
drawing ids, python-docx's serialisation), so the document text is docxtpl's.

Templates that need the document object while rendering (inline images, sub-documents) or have
tags in their core properties are not prepared here: `prepare` returns None and the caller
renders them with docxtpl itself.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from lxml import etree
from markupsafe import Markup

from cluster_sync.errors import TemplateError

#: zlib level for the re-rendered parts. Level 3 compresses the factsheet's body (25 KB of XML)
#: in under half the time of level 6 (python-docx's, zipfile's default) for about 440 bytes more
#: a document (1 % of its 43 KB); levels 1 and 2 are no faster and larger still. The text of
#: every part is the same at any level: only its compressed bytes differ.
COMPRESS_LEVEL = 3
Extras = Callable[[Any], dict[str, Any]]
_TAG = re.compile(r"\{[{%#]")
_CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


def new_environment() -> jinja2.Environment:
    """The one jinja environment for Word templates: escaped values, unknown tags are errors."""
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


@contextmanager
def template_errors(template: Path, tags_doc: str) -> Iterator[None]:
    """Jinja's complaints about a Word template, as a TemplateError naming the file and tag."""
    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"The Word template {template} has a broken tag: {exc.message} "
            f"(near “{_snippet(exc)}”).",
            hint=f"open the template in Word and fix the tag; {tags_doc} lists the tags.",
        ) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"The Word template {template} uses a tag that does not exist: {exc.message}.",
            hint=f"{tags_doc} lists the tags a template can use.",
        ) from None


def _snippet(exc: jinja2.TemplateSyntaxError) -> str:
    source = exc.source or ""
    lines = source.splitlines()
    if exc.lineno and 0 < exc.lineno <= len(lines):
        line = re.sub(r"<[^>]+>", "", lines[exc.lineno - 1])  # the template's XML, not its text
        start = max(0, line.find("{") - 10)
        return line[start : start + 80]
    return source[:80]


def open_template(template: Path | io.BytesIO, name: Path) -> Any:
    """docxtpl's template object, loaded now so that a damaged file is reported by name."""
    from docxtpl import DocxTemplate

    doc = DocxTemplate(str(template) if isinstance(template, Path) else template)
    try:
        doc.init_docx()
    except Exception as exc:  # python-docx raises several kinds for a file that is not Word's
        raise TemplateError(
            f"The Word template {name} cannot be opened as a Word document ({type(exc).__name__}).",
            hint="save it again from Word as a .docx document, or restore the original.",
        ) from None
    return doc


class _NeedsDocxtpl(Exception):
    """A template this module does not prepare (see the module's docstring)."""


# -- the package: members copied as compressed bytes ------------------------------------------


@dataclass(frozen=True)
class _Member:
    name: bytes
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc: int
    compressed: bytes
    size: int
    external_attr: int


def _members(data: bytes) -> list[_Member]:
    """Every member of a zip file with its compressed bytes, read once."""
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, 8):
                raise _NeedsDocxtpl(f"{info.filename}: encrypted or unusual compression")
            # the local header's name and extra lengths may differ from the central directory's
            name_len, extra_len = struct.unpack(
                "<HH", data[info.header_offset + 26 : info.header_offset + 30]
            )
            start = info.header_offset + 30 + name_len + extra_len
            year, month, day, hour, minute, second = info.date_time
            members.append(
                _Member(
                    name=info.filename.encode("utf-8"),
                    flags=info.flag_bits & 0x800,  # keep "UTF-8 name"; no data descriptor
                    method=info.compress_type,
                    dos_time=hour << 11 | minute << 5 | second // 2,
                    dos_date=(year - 1980) << 9 | month << 5 | day,
                    crc=info.CRC,
                    compressed=data[start : start + info.compress_size],
                    size=info.file_size,
                    external_attr=info.external_attr,
                )
            )
    return members


def _deflated(member: _Member, content: bytes) -> _Member:
    compressed = zlib.compress(content, COMPRESS_LEVEL, wbits=-15)  # raw deflate, as in a zip
    return _Member(
        member.name,
        member.flags,
        zipfile.ZIP_DEFLATED,
        member.dos_time,
        member.dos_date,
        zlib.crc32(content),
        compressed,
        len(content),
        member.external_attr,
    )


def _zip(members: list[_Member]) -> bytes:
    """A zip file of the members as they are (no zip64: a Word template is far below 4 GB)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        offset = len(out)
        fields = (m.flags, m.method, m.dos_time, m.dos_date, m.crc, len(m.compressed), m.size)
        out += struct.pack("<4sH2H2H3L2H", b"PK\x03\x04", 20, *fields, len(m.name), 0)
        out += m.name
        out += m.compressed
        central += struct.pack(
            "<4s2H2H2H3L5H2L", b"PK\x01\x02", 20, 20, *fields, len(m.name), 0, 0, 0, 0,
            m.external_attr, offset,
        )  # fmt: skip
        central += m.name
    start = len(out)
    out += central
    out += struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0
    )
    return bytes(out)


# -- the prepared template --------------------------------------------------------------------


#: how many renderings of one part are kept finished (see _Part.finished)
_FINISHED_KEPT = 8


@dataclass
class _Part:
    template: jinja2.Template
    encoding: str
    reparse: bool  # headers and footers are parsed and serialised again, as python-docx does
    #: jinja's output -> the zip member made from it. What follows jinja depends on its output
    #: alone, so a part that renders the same for many documents (a footer with the date) is
    #: post-processed, parsed again and compressed once; a part that differs every time (a
    #: header with the cluster's ID) costs a lookup, and the dict is emptied when full.
    finished: dict[str, _Member] = field(default_factory=dict)


class PreparedDocx:
    """One template file, prepared: render() gives the bytes of a finished .docx."""

    def __init__(
        self, data: bytes, name: Path, images: dict[str, dict[str, Any]] | None = None
    ) -> None:
        from docx.opc.oxml import serialize_part_xml
        from docx.oxml.ns import qn

        doc = open_template(io.BytesIO(data), name)
        self.doc = doc  # what `extras` callables are given (see with_images)
        #: part name -> the pictures' XML for that part (its relationships are in `data`)
        self.images = images or {}
        props = doc.docx.core_properties
        if any(_TAG.search(getattr(props, p) or "") for p in _CORE_PROPERTIES):
            raise _NeedsDocxtpl("tags in the core properties")  # docxtpl renders those itself
        env = new_environment()
        self.members = _members(data)
        self.names = [m.name.decode("utf-8") for m in self.members]
        self.document = doc.docx.part.partname.lstrip("/")
        self.body = env.from_string(_pre(doc.patch_xml(doc.get_xml())))
        # document.xml as python-docx writes it, cut where the body goes: a rendered body is
        # put between the two halves as bytes, not moved into the tree
        root = doc.docx._element
        root.replace(root.find(qn("w:body")), root.makeelement(qn("w:body")))
        self.head, self.tail = serialize_part_xml(root).split(b"<w:body/>")
        self.parts: dict[str, _Part] = {}
        for uri in (doc.HEADER_URI, doc.FOOTER_URI):
            for _, part in doc.get_headers_footers(uri):
                xml = doc.get_part_xml(part)
                self._add(
                    env,
                    part.partname,
                    doc.patch_xml(xml),
                    doc.get_headers_footers_encoding(xml),
                    True,
                )
        for part in doc.docx.part.package.parts:
            if part.content_type == _FOOTNOTES:
                xml = part.blob.decode("utf-8")
                self._add(env, part.partname, doc.patch_xml(xml), "utf-8", False)
        self.listing = doc.resolve_listing

    def _add(
        self, env: jinja2.Environment, partname: str, xml: str, encoding: str, reparse: bool
    ) -> None:
        if _TAG.search(xml):  # a part without tags is copied as it is
            self.parts[partname.lstrip("/")] = _Part(env.from_string(_pre(xml)), encoding, reparse)

    def render(self, context: dict[str, Any]) -> bytes:
        """The .docx bytes for one context; jinja errors propagate (see template_errors)."""
        from docxtpl import DocxTemplate

        body = self._post(self.body.render(self._context(self.document, context)))
        tree = etree.fromstring(body, parser=etree.XMLParser(recover=True))
        if _grid_mismatch(tree):  # docxtpl's repair, only for a table that needs it
            tree = DocxTemplate.fix_tables(None, body)
        if "docPr" in body:  # drawings get fresh ids, as docxtpl gives them
            DocxTemplate.fix_docpr_ids(SimpleNamespace(docx_ids_index=1000), tree)
        document = self.head + etree.tostring(tree, encoding="UTF-8") + self.tail
        texts = {
            name: p.template.render(self._context(name, context)) for name, p in self.parts.items()
        }
        members = []
        for name, member in zip(self.names, self.members, strict=True):
            if name == self.document:
                member = _deflated(member, document)
            elif name in texts:
                member = self._finished(self.parts[name], member, texts[name])
            members.append(member)
        return _zip(members)

    def _finished(self, part: _Part, member: _Member, text: str) -> _Member:
        """The zip member for a part's jinja output `text`: what docxtpl does after jinja,
        python-docx's serialisation for headers and footers, compressed (or kept from before)."""
        from docx.opc.oxml import serialize_part_xml
        from docx.oxml.parser import parse_xml

        done = part.finished.get(text)
        if done is None:
            xml = self._post(text).encode(part.encoding)
            done = _deflated(member, serialize_part_xml(parse_xml(xml)) if part.reparse else xml)
            if len(part.finished) >= _FINISHED_KEPT:
                part.finished.clear()
            part.finished[text] = done
        return done

    def _context(self, part: str, context: dict[str, Any]) -> dict[str, Any]:
        pictures = self.images.get(part)
        return {**context, **pictures} if pictures else context

    def with_images(self, data: bytes, name: Path, extras: Extras) -> PreparedDocx | None:
        """This template with the pictures `extras` gives (the logos: the same for every
        document) placed once: their image parts and relationships are added to the package,
        and each part's tags render as the picture's XML for that part. None when `extras`
        gives anything but docxtpl InlineImages."""
        from docxtpl import InlineImage

        if not all(isinstance(v, InlineImage) for v in extras(self.doc).values()):
            return None
        doc = open_template(io.BytesIO(data), name)
        values = extras(doc)
        parts = [doc.docx.part]
        for uri in (doc.HEADER_URI, doc.FOOTER_URI):
            parts += [part for _, part in doc.get_headers_footers(uri)]
        images: dict[str, dict[str, Any]] = {}
        for part in parts:
            xml = part.blob.decode("utf-8", "replace")
            doc.current_rendering_part = part  # where docxtpl's InlineImage adds its picture
            used = {tag: v for tag, v in values.items() if tag in xml}
            images[part.partname.lstrip("/")] = {t: Markup(v.__html__()) for t, v in used.items()}
        buffer = io.BytesIO()
        doc.docx.save(buffer)
        return PreparedDocx(buffer.getvalue(), name, images)

    def _post(self, xml: str) -> str:
        """What docxtpl does to a part after jinja (DocxTemplate.render_xml_part)."""
        xml = xml.replace("\n<w:p>", "<w:p>").replace("\n<w:p ", "<w:p ")
        if "{_" in xml or "_}" in xml:  # each of the four escaped braces has one of the two
            xml = (
                xml.replace("{_{", "{{")
                .replace("}_}", "}}")
                .replace("{_%", "{%")
                .replace("%_}", "%}")
            )
        # docxtpl turns tabs, newlines, \a and \f inside text into Word's own elements; a
        # document without them (most) is left as it is, which saves half the render. Four
        # scans for one character each take a tenth of one regular-expression scan for the four.
        if "\n" in xml or "\t" in xml or "\a" in xml or "\f" in xml:
            return str(self.listing(xml))
        return xml


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_ROW_CELLS = etree.XPath("count(w:tc)", namespaces={"w": _W})
_ROW_WIDTH = etree.XPath(
    "count(w:tc[not(w:tcPr/w:gridSpan)]) + sum(w:tc/w:tcPr/w:gridSpan/@w:val)",
    namespaces={"w": _W},
)


def _grid_mismatch(tree: Any) -> bool:
    """Whether docxtpl's fix_tables would change anything: a row with more cells than the
    table's grid has columns, or a grid wider than its widest row (cells dropped by a tag).
    Once a row as wide as the grid is found, the table's other rows are only counted."""
    for table in tree.iter(f"{{{_W}}}tbl"):
        grid = table.find(f"{{{_W}}}tblGrid")
        if grid is None:
            return True
        columns = len(grid.findall(f"{{{_W}}}gridCol"))
        widest = 0.0
        for row in table.iter(f"{{{_W}}}tr"):
            if _ROW_CELLS(row) > columns:
                return True
            if widest < columns:
                widest = max(widest, _ROW_WIDTH(row))  # NaN (a span not a number) never wins
        if widest < columns:
            return True
    return False


def _pre(xml: str) -> str:
    """What docxtpl does to a part before jinja: one paragraph a line, for error line numbers."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


# -- the cache: one preparation per template file content -------------------------------------

_by_path: dict[Path, tuple[int, int, str]] = {}
_by_digest: dict[str, PreparedDocx | None] = {}
_with_images: dict[tuple[str, tuple[Any, ...]], PreparedDocx | None] = {}


def prepare(
    template: Path, tags_doc: str = "docs/templates.md", extras: Extras | None = None
) -> PreparedDocx | None:
    """The prepared template, or None when it needs docxtpl's own rendering. Keyed by the file's
    content hash (and its mtime and size, to skip rehashing an untouched file), so a template
    saved again in Word between two renders is prepared again; with `extras` (pictures), also
    by each picture's file, size and its own mtime and size."""
    base = _prepare(template, tags_doc)
    if base is None or extras is None:
        return base
    pictures = extras(base.doc)
    if not pictures:
        return base
    key = (_by_path[template][2], tuple(sorted(_picture_key(t, v) for t, v in pictures.items())))
    if key not in _with_images:
        with template_errors(template, tags_doc):
            _with_images[key] = base.with_images(template.read_bytes(), template, extras)
    return _with_images[key]


def _picture_key(tag: str, value: Any) -> tuple[Any, ...]:
    source = getattr(value, "image_descriptor", None)
    if not isinstance(source, str | Path):
        return (tag, id(value))  # not a picture from a file: never the same twice
    stat = Path(source).stat()
    size = (getattr(value, "width", None), getattr(value, "height", None))
    return (tag, str(source), stat.st_mtime_ns, stat.st_size, *size)


def _prepare(template: Path, tags_doc: str) -> PreparedDocx | None:
    stat = template.stat()
    known = _by_path.get(template)
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size) and known[2] in _by_digest:
        return _by_digest[known[2]]
    data = template.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    _by_path[template] = (stat.st_mtime_ns, stat.st_size, digest)
    if digest not in _by_digest:
        with template_errors(template, tags_doc):
            try:
                _by_digest[digest] = PreparedDocx(data, template)
            except _NeedsDocxtpl:
                _by_digest[digest] = None
    return _by_digest[digest]
