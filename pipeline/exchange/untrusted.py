"""Opening REFI-QDA files from other tools without trusting them.

A `.qdpx` is a zip that someone else's program wrote, and a `.qdc`/`.qde` is XML from the
same place. Before anything is parsed: the file size is bounded; zip bombs are refused from the
sizes declared in the central directory (Python's zipfile never inflates a member past its
declared size and checks its CRC, so the declaration bounds the work); member names that
climb out of the archive (`..`, absolute paths, drive letters) are refused even though nothing
is ever extracted to disk, because a name like that only appears in a crafted file; and XML
declaring a DTD or entities is refused outright (REFI-QDA never needs them, and they are how
XXE and "billion laughs" attacks work). The XML parser is also configured not to resolve
entities, load DTDs or touch the network, as a second line.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lxml import etree

from pipeline.errors import CityQDAError

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on what an untrusted file may cost; tests pass small ones."""

    max_file_bytes: int = 512 * MiB
    max_members: int = 20_000
    max_member_bytes: int = 256 * MiB
    max_total_bytes: int = 1024 * MiB
    max_ratio: int = 200  # applies to members above ratio_floor; text compresses 3-10x
    ratio_floor: int = 8 * MiB
    max_xml_bytes: int = 256 * MiB


DEFAULT_LIMITS = Limits()


def size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def read_file(path: Path, display: str, limits: Limits) -> bytes:
    """The bytes of a file no larger than the limit, or CQ810/CQ803."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise CityQDAError("CQ803", file=display,
                               problem=f"the file is {size_text(size)} (limit "
                                       f"{size_text(limits.max_file_bytes)})")
        return path.read_bytes()
    except OSError as exc:
        raise CityQDAError("CQ810", file=display, problem=exc.strerror or str(exc)) from exc


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGICS


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name_problem(name: str) -> str | None:
    """Why an archive member name (or internal:// path) is unsafe, or None."""
    if "\x00" in name:
        return "contains a NUL character"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        return "is an absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "climbs out of the archive with '..'"
    return None


class SafeZip:
    """A zip archive whose names and declared sizes passed the checks."""

    def __init__(self, data: bytes, display: str, limits: Limits = DEFAULT_LIMITS):
        self.display = display
        self.limits = limits
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            members = self.archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise CityQDAError("CQ802", file=display, problem=str(exc)) from exc
        if len(members) > limits.max_members:
            raise CityQDAError("CQ803", file=display,
                               problem=f"it holds {len(members)} files (limit "
                                       f"{limits.max_members})")
        seen: set[str] = set()
        total = 0
        for info in members:
            problem = unsafe_name_problem(info.filename)
            if problem:
                raise CityQDAError("CQ804", file=display, name=info.filename, problem=problem)
            if info.filename in seen:
                raise CityQDAError("CQ804", file=display, name=info.filename,
                                   problem="appears twice in the archive")
            seen.add(info.filename)
            total += info.file_size
            if info.file_size > limits.max_member_bytes:
                raise CityQDAError("CQ803", file=display,
                                   problem=f"{info.filename} would unpack to "
                                           f"{size_text(info.file_size)} (limit "
                                           f"{size_text(limits.max_member_bytes)})")
            if info.file_size > limits.ratio_floor:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > limits.max_ratio:
                    raise CityQDAError("CQ803", file=display,
                                       problem=f"{info.filename} would unpack {ratio:.0f} times "
                                               f"its packed size, to "
                                               f"{size_text(info.file_size)}")
        if total > limits.max_total_bytes:
            raise CityQDAError("CQ803", file=display,
                               problem=f"its files would unpack to {size_text(total)} (limit "
                                       f"{size_text(limits.max_total_bytes)})")
        self.members = {info.filename: info for info in members if not info.is_dir()}

    def find(self, name: str, *, folder_case_insensitive: bool = True) -> str | None:
        """The member called `name`; the folder part may differ in case (Sources/ vs
        sources/), as tools disagree on it."""
        if name in self.members:
            return name
        if folder_case_insensitive:
            wanted = name.lower()
            matches = sorted(m for m in self.members if m.lower() == wanted)
            if matches:
                return matches[0]
        return None

    def read(self, name: str) -> bytes:
        info = self.members[name]
        try:
            with self.archive.open(info) as handle:
                return handle.read(self.limits.max_member_bytes + 1)
        except RuntimeError as exc:  # encrypted member
            raise CityQDAError("CQ802", file=self.display,
                               problem=f"{name} cannot be unpacked ({exc})") from exc
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError,
                NotImplementedError) as exc:
            raise CityQDAError("CQ802", file=self.display,
                               problem=f"{name} cannot be unpacked ({exc})") from exc


def declares_dtd(raw: bytes) -> bool:
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        return True
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = raw.decode("utf-16", errors="replace")
        return "<!DOCTYPE" in text or "<!ENTITY" in text
    return False


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=False)


def parse_xml(raw: bytes, display: str, part: str, limits: Limits = DEFAULT_LIMITS
              ) -> etree._ElementTree:
    """Parse untrusted XML: no DTD, no entities, bounded size; errors CQ803/805/806."""
    if len(raw) > limits.max_xml_bytes:
        raise CityQDAError("CQ803", file=display,
                           problem=f"{part} is {size_text(len(raw))} of XML (limit "
                                   f"{size_text(limits.max_xml_bytes)})")
    if declares_dtd(raw):
        raise CityQDAError("CQ805", file=display, part=part)
    try:
        tree = etree.parse(io.BytesIO(raw), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else "?"
        raise CityQDAError("CQ806", file=display, part=part, line=line,
                           problem=exc.msg or str(exc)) from exc
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise CityQDAError("CQ805", file=display, part=part)
    return tree
