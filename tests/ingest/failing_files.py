"""Files a transcripts folder collects that must be refused, each with its error code."""

from __future__ import annotations

import io
import zipfile

from docx_builders import new_document, read_part, replace_part, to_bytes

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def valid_docx() -> bytes:
    document = new_document()
    document.add_paragraph("A perfectly ordinary answer.")
    return to_bytes(document)


def _ole_container(stream_name: str) -> bytes:
    """An OLE compound file header and a directory sector naming one stream."""
    header = OLE_MAGIC + b"\x00" * (512 - len(OLE_MAGIC))
    entry = stream_name.encode("utf-16-le") + b"\x00\x00"
    directory = entry + b"\x00" * (128 - len(entry))
    return header + directory * 4


def plain_text() -> bytes:
    return b"Interview notes typed in Notepad.\n"


def pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"


def truncated() -> bytes:
    data = valid_docx()
    return data[: len(data) // 2]


def corrupt_member() -> bytes:
    """A whole zip whose document part fails its checksum."""
    data = bytearray(valid_docx())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("word/document.xml")
    name_length = len(info.filename.encode())
    start = info.header_offset + 30 + name_length + len(info.extra)
    for offset in range(start + 5, start + min(info.compress_size, 60)):
        data[offset] ^= 0x5A
    return bytes(data)


def encrypted() -> bytes:
    return _ole_container("EncryptedPackage") + _ole_container("EncryptionInfo")


def legacy_doc() -> bytes:
    return _ole_container("WordDocument")


def rtf() -> bytes:
    return b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Interview summary\\par}"


def zip_bomb() -> bytes:
    """A package whose extra part inflates a thousandfold to 32 MiB."""
    return replace_part(valid_docx(), "word/media/padding.bin", b"\x00" * (32 * 1024 * 1024))


def external_entity() -> bytes:
    data = valid_docx()
    document = read_part(data, "word/document.xml").decode("utf-8")
    head, rest = document.split("?>", 1)
    hostile = (head + '?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
               + rest.replace("A perfectly ordinary answer.", "&xxe;"))
    return replace_part(data, "word/document.xml", hostile.encode("utf-8"))


def excel_renamed() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


def strict_ooxml() -> bytes:
    """Word's "Strict Open XML Document": the same parts under the ISO namespaces."""
    source = zipfile.ZipFile(io.BytesIO(valid_docx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info).replace(
                b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                b"http://purl.oclc.org/ooxml/officeDocument/relationships").replace(
                b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                b"http://purl.oclc.org/ooxml/wordprocessingml/main"))
    return buffer.getvalue()


# name -> (file name, bytes builder, expected code)
FAILURES = {
    "plain_text": ("notes.docx", plain_text, "CQ101"),
    "pdf": ("summary.docx", pdf, "CQ101"),
    "excel_renamed": ("sheet.docx", excel_renamed, "CQ101"),
    "strict_ooxml": ("strict.docx", strict_ooxml, "CQ101"),
    "truncated": ("cut.docx", truncated, "CQ102"),
    "corrupt_member": ("damaged.docx", corrupt_member, "CQ102"),
    "encrypted": ("locked.docx", encrypted, "CQ103"),
    "legacy_doc": ("old.doc", legacy_doc, "CQ104"),
    "rtf_renamed": ("rich.doc", rtf, "CQ105"),
    "zip_bomb": ("bomb.docx", zip_bomb, "CQ106"),
    "external_entity": ("xxe.docx", external_entity, "CQ107"),
}
