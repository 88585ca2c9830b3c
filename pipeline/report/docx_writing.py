"""Small python-docx helpers for the reports: safe text, tables, Markdown openings, and a
save whose bytes depend only on the content.

python-docx stamps nothing time-dependent by itself when the core properties are set, but
`zipfile` dates every entry; the parts are zipped with `write_ooxml_zip`, which gives fixed
entry dates and order, and the rename makes the write atomic. Body text is written as XML
(ReportDocument) rather than through python-docx's object model, for speed; the bytes are
the same.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.xlsx_determinism import write_ooxml_zip

FIXED_DATE = dt.datetime(2000, 1, 1, 0, 0, 0)
AUTHOR = "cityqda"
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MARKDOWN_INLINE = re.compile(r"(\*\*|__)(.+?)\1|(\*|_)(.+?)\3|`([^`]+)`|\[([^\]]+)\]\([^)]+\)")


def safe_text(value) -> str:
    """Text Word can hold: characters XML forbids become U+FFFD, visibly."""
    return _XML_FORBIDDEN.sub("\ufffd", "" if value is None else str(value))


class ReportDocument:
    """A python-docx Document whose paragraphs and tables are written as WordprocessingML
    text and parsed in one piece when something else needs the document (a picture, a box,
    saving). python-docx's object model costs about a millisecond per paragraph (a scan of
    every style to find the default one, a scan of the body to insert before its section
    properties), which was most of the time of a study's reports. The XML is what
    python-docx would make for the same calls, so the saved bytes are unchanged.

    Attributes not defined here (add_table, sections, styles...) are the Document's, after
    the pending text is flushed, so python-docx calls keep their order."""

    def __init__(self, document):
        self.document = document
        self._pending: list = []
        self._style_ids: dict[str, str] = {}
        self._text_width: int | None = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self.flush()
        return getattr(self.document, name)

    def style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    def text_width(self) -> int:
        """Twips between the margins of the last section."""
        if self._text_width is None:
            section = self.document.sections[-1]
            self._text_width = int((section.page_width - section.left_margin
                                    - section.right_margin) / 635)
        return self._text_width

    def add_xml(self, part) -> None:
        """`part`: WordprocessingML text of body elements, or a ParagraphXml."""
        self._pending.append(part)

    def flush(self) -> None:
        """Put the pending text into the body, before its section properties. The whole
        document part is serialised and parsed again with the text in place: moving
        parsed elements from another tree into the document costs lxml about 10 µs per
        element (seconds for the summary's tables); a parse is a hundred times faster."""
        if not self._pending:
            return
        from docx.oxml import parse_xml
        from lxml import etree

        text = "".join(p if isinstance(p, str) else p.xml() for p in self._pending)
        self._pending.clear()
        document = self.document
        xml = etree.tostring(document.element, encoding="unicode")
        cut = xml.rfind("<w:sectPr")
        if cut < 0:
            cut = xml.rfind("</w:body>")
        if cut < 0:  # an empty body (<w:body/>): move the elements in
            wrapper = parse_xml(f"<w:body {_W_NAMESPACE}>{text}</w:body>")
            document.element.body.extend(list(wrapper))
            return
        root = parse_xml(xml[:cut] + text + xml[cut:])
        # the part and the Document proxy both hold the root; the body proxy is rebuilt
        document.part._element = root
        document._element = root
        document._Document__body = None

_W_NAMESPACE = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _run_xml(text: str, bold: bool | None, italic: bool | None,
             properties: bool) -> str:
    """A w:r as python-docx writes it: `properties` when bold or italic was assigned
    (python-docx adds an empty w:rPr then), tabs and line breaks as elements, w:t with
    xml:space="preserve" when the piece has outer white space."""
    parts = ["<w:r>"]
    if bold or italic:
        parts.append("<w:rPr>" + ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
                     + "</w:rPr>")
    elif properties:
        parts.append("<w:rPr/>")
    for piece in _RUN_PIECES.split(text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            parts.append(f"<w:t{space}>{escape(piece)}</w:t>")
    parts.append("</w:r>")
    return "".join(parts)


_RUN_PIECES = re.compile(r"([\t\r\n])")


class ParagraphXml:
    """A paragraph being written: its style id and its runs, as text."""

    __slots__ = ("style_id", "runs")

    def __init__(self, style_id: str | None):
        self.style_id = style_id
        self.runs: list[str] = []

    def add_run(self, text: str, *, bold: bool | None = None, italic: bool | None = None,
                properties: bool = False) -> None:
        self.runs.append(_run_xml(safe_text(text), bold, italic, properties))

    def xml(self) -> str:
        style = (f'<w:pPr><w:pStyle w:val="{escape(self.style_id, _QUOTE)}"/></w:pPr>'
                 if self.style_id else "")
        if not style and not self.runs:
            return "<w:p/>"
        return f"<w:p>{style}{''.join(self.runs)}</w:p>"


_QUOTE = {'"': "&quot;"}


def new_document(title: str, *, landscape: bool = False) -> ReportDocument:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    properties = document.core_properties
    properties.author = AUTHOR
    properties.last_modified_by = AUTHOR
    properties.title = safe_text(title)
    properties.created = FIXED_DATE
    properties.modified = FIXED_DATE
    properties.last_printed = FIXED_DATE
    properties.revision = 1
    properties.comments = "Generated by cityqda; regenerate rather than edit."
    return ReportDocument(document)


def set_footer(document: ReportDocument, text: str) -> None:
    from docx.shared import Pt

    for section in document.sections:
        paragraph = section.footer.paragraphs[0]
        paragraph.text = ""
        run = paragraph.add_run(safe_text(text))
        run.font.size = Pt(8)


def add_heading(document: ReportDocument, text: str, level: int = 1) -> ParagraphXml:
    paragraph = ParagraphXml(document.style_id("Title" if level == 0 else f"Heading {level}"))
    text = safe_text(text)
    if text:
        paragraph.add_run(text)
    document.add_xml(paragraph)
    return paragraph


def add_paragraph(document: ReportDocument, text: str = "", *, style: str | None = None,
                  bold: bool = False, italic: bool = False) -> ParagraphXml:
    paragraph = ParagraphXml(document.style_id(style) if style else None)
    if text:
        paragraph.add_run(text, bold=bold or None, italic=italic or None, properties=True)
    document.add_xml(paragraph)
    return paragraph


def add_runs(paragraph: ParagraphXml, parts: list[tuple[str, str]]) -> None:
    """Append runs given as (text, style) with style '' | 'b' | 'i' | 'bi'."""
    for text, style in parts:
        paragraph.add_run(text, bold="b" in style or None, italic="i" in style or None)


def _inline_runs(paragraph: ParagraphXml, text: str) -> None:
    """**bold**, *italic*, `code` and [links](url) of a Markdown line, as runs."""
    position = 0
    for match in _MARKDOWN_INLINE.finditer(text):
        if match.start() > position:
            paragraph.add_run(text[position:match.start()])
        if match.group(2) is not None:
            paragraph.add_run(match.group(2), bold=True)
        elif match.group(4) is not None:
            paragraph.add_run(match.group(4), italic=True)
        elif match.group(5) is not None:
            paragraph.add_run(match.group(5))
        else:
            paragraph.add_run(match.group(6))
        position = match.end()
    if position < len(text):
        paragraph.add_run(text[position:])


def add_markdown(document: ReportDocument, text: str, *, heading_offset: int = 1) -> None:
    """Plain Markdown as Word paragraphs: headings (#), bullet items (-, *), numbered items
    (1.), paragraphs (lines joined until a blank line), simple inline emphasis. Anything
    richer comes out as plain text, never lost."""
    paragraph_lines: list[str] = []

    def flush():
        if paragraph_lines:
            _inline_runs(add_paragraph(document), " ".join(paragraph_lines))
            paragraph_lines.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        heading = _MARKDOWN_HEADING.match(line)
        if not line:
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + heading_offset, 9)
            add_heading(document, heading.group(2), level=level)
        elif re.match(r"^[-*+]\s+", line):
            flush()
            _inline_runs(add_paragraph(document, style="List Bullet"),
                         re.sub(r"^[-*+]\s+", "", line))
        elif re.match(r"^\d+[.)]\s+", line):
            flush()
            _inline_runs(add_paragraph(document, style="List Number"),
                         re.sub(r"^\d+[.)]\s+", "", line))
        else:
            paragraph_lines.append(line)
    flush()


def add_grid(document: ReportDocument, header: list[str], rows: list[list[str]], *,
             font_size: float = 8, caption: str | None = None) -> None:
    """A bordered table with a bold header row; every cell is text, written as XML in one
    piece (python-docx's cell-by-cell API takes seconds for a few hundred cells)."""
    if caption:
        add_paragraph(document, caption, italic=True)
    columns = max(len(header), 1)
    width = document.text_width() // columns
    size = int(round(font_size * 2))
    style_id = document.style_id("Table Grid")

    made: dict[tuple, str] = {}  # counts repeat: the summary's 6,000 cells hold few values

    def cell(value: str, bold: bool) -> str:
        key = (value, bold)
        found = made.get(key)
        if found is None:
            weight = "<w:b/>" if bold else ""
            found = made[key] = (
                f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p><w:r>'
                f'<w:rPr>{weight}<w:sz w:val="{size}"/></w:rPr>'
                f'<w:t xml:space="preserve">{escape(safe_text(value))}</w:t></w:r></w:p></w:tc>')
        return found

    grid = f'<w:gridCol w:w="{width}"/>' * columns
    body = "".join("<w:tr>" + "".join(cell(value, index == 0) for value in values) + "</w:tr>"
                   for index, values in enumerate([header, *rows]))
    document.add_xml(
        f'<w:tbl><w:tblPr><w:tblStyle w:val="{style_id}"/>'
        f'<w:tblW w:w="0" w:type="auto"/><w:tblLook w:val="04A0" w:firstRow="1" '
        f'w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        f'</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>')


def add_box(document: ReportDocument, title: str, lines: list[str]):
    """A one-cell shaded table: the review-status box."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    table = document.add_table(rows=1, cols=1)
    table.style = document.styles["Table Grid"]
    cell = table.rows[0].cells[0]
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), "FFF4D6")
    cell._tc.get_or_add_tcPr().append(shading)
    head = cell.paragraphs[0].add_run(safe_text(title))
    head.bold = True
    for line in lines:
        run = cell.add_paragraph().add_run(safe_text(line))
        run.font.size = Pt(9)
    return table


def add_picture(document: ReportDocument, png: bytes, *, width_cm: float = 15.0) -> None:
    from docx.shared import Cm

    document.add_picture(io.BytesIO(png), width=Cm(width_cm))


def save_deterministic(document: ReportDocument, path: Path) -> None:
    """Save so that equal content gives equal bytes; atomic (temporary file + rename).
    The parts are taken from python-docx's package writer and zipped once (saving
    through python-docx would deflate every part and then inflate it again)."""
    from docx.opc.pkgwriter import PackageWriter

    if isinstance(document, ReportDocument):
        document.flush()
        document = document.document
    package = document.part.package
    for part in package.parts:
        part.before_marshal()
    collected = _CollectedParts()
    PackageWriter._write_content_types_stream(collected, package.parts)
    PackageWriter._write_pkg_rels(collected, package.rels)
    PackageWriter._write_parts(collected, package.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_ooxml_zip(path, collected.parts)


class _CollectedParts:
    """Stands in for python-docx's zip writer: keeps each part's bytes by member name."""

    def __init__(self):
        self.parts: dict[str, bytes] = {}

    def write(self, pack_uri, blob: bytes) -> None:
        self.parts[pack_uri.membername] = blob
