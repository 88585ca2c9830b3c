"""Real DOCX files built in code: python-docx plus small XML edits for what it cannot write."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (f'xmlns:w="{W}" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"')


def new_document() -> docx.Document:
    return docx.Document()


def append_xml(document, xml: str):
    """Append a body-level element written with the ``w:`` prefix (before sectPr)."""
    element = parse_xml(_with_namespaces(xml))
    body = document.element.body
    body.insert(len(body) - 1, element)
    return element


def _with_namespaces(xml: str) -> str:
    xml = xml.strip()
    close = xml.index(">")
    if xml[close - 1] == "/":
        close -= 1
    return xml[:close] + " " + NS + xml[close:]


def run(text: str, *, bold: bool = False, italic: bool = False) -> str:
    props = ""
    if bold or italic:
        props = "<w:rPr>" + ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + \
            "</w:rPr>"
    return f'<w:r>{props}<w:t xml:space="preserve">{text}</w:t></w:r>'


def paragraph(*parts: str, style: str | None = None) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}{''.join(parts)}</w:p>"


def add_footnote(document, text: str) -> None:
    """A footnotes part with one footnote, referenced from a new body paragraph."""
    xml = (f'<w:footnotes {NS}>'
           '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
           '</w:footnote>'
           f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote>'
           '</w:footnotes>')
    part = Part(PackURI("/word/footnotes.xml"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                xml.encode("utf-8"), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    append_xml(document, paragraph(run("Text with a note"),
                                   '<w:r><w:footnoteReference w:id="1"/></w:r>', run(".")))


def to_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def save(document, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)
    return path


def replace_part(data: bytes, name: str, content: bytes) -> bytes:
    """The same package with one part replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
        target.writestr(name, content)
    return out.getvalue()


def read_part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def transcript(*, metadata_lines: dict | None = None, metadata_table: dict | None = None,
               sections: dict[str, list[tuple[str, str]]] | None = None,
               title: str | None = None, comments: str | None = None):
    """A summary transcript the way the study writes them: title, metadata, sections with
    bold questions and plain answers."""
    document = new_document()
    if title:
        document.add_paragraph(title, style="Title")
    if metadata_table:
        table = document.add_table(rows=len(metadata_table), cols=2)
        for row, (label, value) in enumerate(metadata_table.items()):
            table.cell(row, 0).text = label
            table.cell(row, 1).text = value
    for label, value in (metadata_lines or {}).items():
        document.add_paragraph(f"{label}: {value}")
    for heading, pairs in (sections or {}).items():
        document.add_heading(heading, level=1)
        for question, answer in pairs:
            document.add_paragraph().add_run(question).bold = True
            document.add_paragraph(answer)
    document.core_properties.comments = comments or ""
    return document


def hyperlink(document, url: str, text: str) -> str:
    """A ``w:hyperlink`` to an external address, with its relationship registered."""
    rid = document.part.relate_to(url, RT.HYPERLINK, is_external=True)
    return f'<w:hyperlink r:id="{rid}">{run(text)}</w:hyperlink>'
