"""Byte-identical Office files (XLSX, DOCX) from identical content.

openpyxl stamps the save time into `docProps/core.xml` and `zipfile` stamps every entry
with the current time, so two runs on the same inputs differ although nothing changed.
DESIGN invariant 3 wants byte-identical outputs: after saving, rewrite the package with
fixed entry dates, a fixed entry order and fixed document dates.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from pathlib import Path

FIXED_ZIP_DATE = (2000, 1, 1, 0, 0, 0)
FIXED_CORE_DATE = "2000-01-01T00:00:00Z"
CONTENT_TYPES = "[Content_Types].xml"
CORE_PROPERTIES = "docProps/core.xml"


def column_letter(number: int) -> str:
    """Excel's name of a 1-based column (A ... Z, AA ...), as openpyxl's
    get_column_letter gives it, without importing openpyxl (about 0.3 s): a rerun that
    rewrites only dataset rows, and `review import`, do not otherwise need it."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _new_file_mode() -> int:
    """What `open()` would give a new file: 0o666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def replace_keeping_mode(temp: str | Path, path: str | Path) -> None:
    """Move a finished temporary file onto `path`, with the target's mode if it exists and
    a new file's otherwise (mkstemp makes private files)."""
    path = Path(path)
    os.chmod(temp, path.stat().st_mode & 0o7777 if path.exists() else _new_file_mode())
    os.replace(temp, path)


def os_error_path(exc: OSError, fallback: str | Path) -> str:
    """The file a write failed on, as the user knows it: the target of a failed rename
    (files are written to a temporary name beside it first), else the file named."""
    return str(exc.filename2 or exc.filename or fallback)


_CORE_DATE = re.compile(
    rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def _entry_order(name: str) -> tuple[int, str]:
    """[Content_Types].xml first (OPC readers expect it early), then by name."""
    return (0 if name == CONTENT_TYPES else 1, name)


def fix_core_dates(xml: bytes, date: str = FIXED_CORE_DATE) -> bytes:
    """Set dcterms:created and dcterms:modified in core properties XML to `date`."""
    return _CORE_DATE.sub(lambda m: m.group(1) + date.encode("ascii") + m.group(3), xml)


def fixed_zip_info(name: str, compresslevel: int | None = None) -> zipfile.ZipInfo:
    """A deflated zip entry with the fixed date and no platform attributes, so an archive's
    bytes depend only on its contents (OOXML packages, `.qdpx`)."""
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0
    info.external_attr = 0
    if compresslevel is not None:
        info._compresslevel = compresslevel  # used by ZipFile.open(info, "w")
    return info


def write_ooxml_zip(path: str | Path, parts: dict[str, bytes], *,
                    core_dates: str | None = FIXED_CORE_DATE) -> None:
    """Write an OOXML package whose bytes depend only on `parts` (name -> content).

    Entries are sorted, dated `FIXED_ZIP_DATE`, deflated at a fixed level, with no
    platform-specific attributes. `core_dates` (ISO 8601, UTC) replaces the created and
    modified dates of the document properties; pass None to keep them. The file is
    written beside the target and renamed, so a failure never leaves half a file.
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=".cityqda-", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w") as target:
            for name in sorted(parts, key=_entry_order):
                data = parts[name]
                if core_dates is not None and name == CORE_PROPERTIES:
                    data = fix_core_dates(data, core_dates)
                info = fixed_zip_info(name)
                target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                                compresslevel=6)
        replace_keeping_mode(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def normalise_ooxml_zip(path: str | Path, *, core_dates: str | None = FIXED_CORE_DATE) -> None:
    """Rewrite a saved OOXML package (XLSX, DOCX) in place so its bytes depend only on
    its content; see `write_ooxml_zip`. A failure leaves the original file."""
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()
                 if not info.is_dir()}
    write_ooxml_zip(path, parts, core_dates=core_dates)
