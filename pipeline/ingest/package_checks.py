"""Refuse files that are not safe, readable Word documents before anything parses them.

A transcripts folder collects whatever people save into it: legacy .doc files, RTF
renamed .doc, password-protected documents (an OLE container holding an
``EncryptedPackage`` stream), damaged downloads, and occasionally hostile files. Each gets
its own error code and says what to do; none of them costs more than reading its bytes.

Zip bombs are refused from the declared sizes in the central directory (Python's zipfile
never inflates a member past its declared size, so the declaration bounds the work), and
XML parts declaring a DTD or entities are refused outright: Word never writes them.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from pipeline.errors import CityQDAError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
RTF_MAGIC = b"{\\rtf"

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_TOTAL_UNPACKED = 512 * 1024 * 1024
MAX_PART_UNPACKED = 256 * 1024 * 1024
MAX_RATIO = 200  # applies to parts above RATIO_FLOOR: ordinary XML compresses 5-30x
RATIO_FLOOR = 8 * 1024 * 1024
MAX_MEMBERS = 20_000

WORD_SUFFIXES = {".docx", ".doc", ".docm", ".dotx", ".dot", ".rtf"}


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def read_bytes(path: Path, display: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CityQDAError("CQ106", file=display,
                               problem=f"the file is {_size(size)} (limit "
                                       f"{_size(MAX_FILE_BYTES)})")
        return path.read_bytes()
    except OSError as exc:
        raise CityQDAError("CQ108", file=display, problem=exc.strerror or str(exc)) from exc


def check_package(data: bytes, display: str) -> zipfile.ZipFile:
    """The open zip of a plausible DOCX, or the CityQDAError that says why not."""
    head = data[:8]
    if head.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise CityQDAError("CQ103", file=display)
        if "WordDocument".encode("utf-16-le") in data:
            raise CityQDAError("CQ104", file=display)
        raise CityQDAError("CQ101", file=display,
                           problem="it is an old-style Office file, but not a Word document")
    if head.startswith(RTF_MAGIC):
        suffix = Path(display).suffix.lower()
        renamed = f" saved under a {suffix} name" if suffix and suffix != ".rtf" else ""
        raise CityQDAError("CQ105", file=display, renamed=renamed)
    if not data:
        raise CityQDAError("CQ101", file=display, problem="the file is empty (0 bytes)")
    if not head.startswith(ZIP_MAGICS):
        raise CityQDAError("CQ101", file=display, problem=_describe(head))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise CityQDAError("CQ102", file=display, problem=f"the zip container is broken ({exc})"
                           ) from exc
    _check_sizes(archive, display)
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names:
        raise CityQDAError("CQ101", file=display,
                           problem="it is a zip archive but not an Office document "
                                   "([Content_Types].xml is missing)")
    _check_xml_parts(archive, display)
    return archive


def _describe(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "it is a PDF"
    if head[:5].lower().startswith((b"<html", b"<!doc")):
        return "it is a web page (HTML)"
    if head.startswith(b"<?xml"):
        return "it is a plain XML file (perhaps Word 2003 XML)"
    return "its content is not a zip-based Office document"


def _check_sizes(archive: zipfile.ZipFile, display: str) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise CityQDAError("CQ106", file=display,
                           problem=f"it holds {len(members)} parts (limit {MAX_MEMBERS})")
    total = 0
    for info in members:
        total += info.file_size
        if info.file_size > MAX_PART_UNPACKED:
            raise CityQDAError("CQ106", file=display,
                               problem=f"part {info.filename} would unpack to "
                                       f"{_size(info.file_size)} (limit "
                                       f"{_size(MAX_PART_UNPACKED)})")
        if info.file_size > RATIO_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_RATIO:
                raise CityQDAError("CQ106", file=display,
                                   problem=f"part {info.filename} would unpack {ratio:.0f} "
                                           f"times its packed size, to "
                                           f"{_size(info.file_size)}")
    if total > MAX_TOTAL_UNPACKED:
        raise CityQDAError("CQ106", file=display,
                           problem=f"its parts would unpack to {_size(total)} "
                                   f"(limit {_size(MAX_TOTAL_UNPACKED)})")


def _check_xml_parts(archive: zipfile.ZipFile, display: str) -> None:
    for info in archive.infolist():
        name = info.filename
        if not name.lower().endswith((".xml", ".rels")):
            continue
        try:
            with archive.open(info) as handle:
                declares = _prolog_declares_dtd(handle)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError,
                NotImplementedError) as exc:
            raise CityQDAError("CQ102", file=display,
                               problem=f"part {name} cannot be unpacked ({exc})") from exc
        if declares:
            raise CityQDAError("CQ107", file=display, part=name)


_CHUNK = 4096


def _prolog_declares_dtd(handle) -> bool:
    """Whether the XML prolog (before the root element) holds a DOCTYPE or an ENTITY.

    A DTD, and so any entity declaration, can only stand in the prolog, so only the
    prolog is read: declaration, comments, processing instructions and white space, up
    to the first element. Big parts are not inflated twice.
    """
    buffer = handle.read(_CHUNK)
    if buffer[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = (buffer + handle.read()).decode("utf-16", errors="replace")
        return "<!DOCTYPE" in text or "<!ENTITY" in text
    position = 0
    if buffer.startswith(b"\xef\xbb\xbf"):
        position = 3
    while True:
        while True:
            if position >= len(buffer):
                more = handle.read(_CHUNK)
                if not more:
                    return False
                buffer, position = buffer[position:] + more, 0
            if buffer[position:position + 1] in (b" ", b"\t", b"\r", b"\n"):
                position += 1
                continue
            break
        for opener, closer in ((b"<?", b"?>"), (b"<!--", b"-->")):
            if buffer.startswith(opener, position):
                end = buffer.find(closer, position + len(opener))
                while end == -1:
                    more = handle.read(_CHUNK)
                    if not more:
                        return False
                    buffer += more
                    end = buffer.find(closer, position + len(opener))
                position = end + len(closer)
                break
        else:
            while len(buffer) - position < 9:
                more = handle.read(_CHUNK)
                if not more:
                    break
                buffer += more
            return buffer.startswith((b"<!DOCTYPE", b"<!ENTITY"), position)
