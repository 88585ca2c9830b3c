"""Office packages rewritten to depend only on their content."""

import time
import zipfile

import pytest

from pipeline.xlsx_determinism import (
    FIXED_ZIP_DATE,
    fix_core_dates,
    normalise_ooxml_zip,
    write_ooxml_zip,
)

CORE = (b'<cp:coreProperties xmlns:dcterms="http://purl.org/dc/terms/">'
        b'<dcterms:created xsi:type="dcterms:W3CDTF">2024-05-06T07:08:09Z</dcterms:created>'
        b'<dcterms:modified xsi:type="dcterms:W3CDTF">2025-01-02T03:04:05Z</dcterms:modified>'
        b'</cp:coreProperties>')


def package(path, order, stamp):
    with zipfile.ZipFile(path, "w") as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=stamp)
            archive.writestr(info, CORE if name == "docProps/core.xml" else name.encode() * 50)


def test_xlsx_determinism_same_content_same_bytes(tmp_path):
    names = ["xl/workbook.xml", "docProps/core.xml", "[Content_Types].xml", "_rels/.rels"]
    package(tmp_path / "a.xlsx", names, (2021, 3, 4, 5, 6, 8))
    package(tmp_path / "b.xlsx", list(reversed(names)), time.localtime()[:6])
    normalise_ooxml_zip(tmp_path / "a.xlsx")
    normalise_ooxml_zip(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert archive.namelist() == ["[Content_Types].xml", "_rels/.rels",
                                      "docProps/core.xml", "xl/workbook.xml"]
        assert {i.date_time for i in archive.infolist()} == {FIXED_ZIP_DATE}
        core = archive.read("docProps/core.xml")
        assert core.count(b"2000-01-01T00:00:00Z") == 2
        assert archive.read("xl/workbook.xml") == b"xl/workbook.xml" * 50


def test_xlsx_determinism_core_dates_can_be_kept(tmp_path):
    package(tmp_path / "a.docx", ["docProps/core.xml"], (2021, 3, 4, 5, 6, 8))
    normalise_ooxml_zip(tmp_path / "a.docx", core_dates=None)
    with zipfile.ZipFile(tmp_path / "a.docx") as archive:
        assert archive.read("docProps/core.xml") == CORE


def test_xlsx_determinism_fix_core_dates_only_touches_dates():
    fixed = fix_core_dates(CORE, "1999-12-31T00:00:00Z")
    assert fixed == CORE.replace(b"2024-05-06T07:08:09Z", b"1999-12-31T00:00:00Z").replace(
        b"2025-01-02T03:04:05Z", b"1999-12-31T00:00:00Z")


def test_xlsx_determinism_failure_leaves_the_original(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(zipfile.BadZipFile):
        normalise_ooxml_zip(path)
    assert path.read_bytes() == b"not a zip"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.xlsx"]


def test_xlsx_determinism_write_parts(tmp_path):
    write_ooxml_zip(tmp_path / "a.docx", {"b.xml": b"b", "[Content_Types].xml": b"t"})
    with zipfile.ZipFile(tmp_path / "a.docx") as archive:
        assert archive.namelist() == ["[Content_Types].xml", "b.xml"]


def test_xlsx_determinism_column_letter_matches_openpyxl():
    from openpyxl.utils import get_column_letter

    from pipeline.xlsx_determinism import column_letter

    assert [column_letter(n) for n in range(1, 18279)] == \
        [get_column_letter(n) for n in range(1, 18279)]
