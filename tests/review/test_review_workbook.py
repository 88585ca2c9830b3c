"""Workbook helpers: text stays text, lists, reading back with normalised values."""

from __future__ import annotations

import zipfile

import pytest

from pipeline.errors import CityQDAError
from pipeline.review.workbook import (
    MAX_CELL_CHARS,
    TRUNCATION_MARKER,
    add_list_validation,
    content_hash,
    formula_cells,
    new_workbook,
    read_sheet_rows,
    register_list,
    safe_text,
    save_workbook,
    style_table,
    write_header,
    write_row,
)

TRICKY = ["=SUM(A1:A3)", "+31 20 555", "-not a formula", "@home", "tab\tand\nnewline",
          "bell\x07char", "  spaces  ", "ü ☃ 𝄞"]


@pytest.mark.parametrize("write_only", [True, False])
def test_workbook_text_round_trips(tmp_path, write_only):
    wb = new_workbook(write_only=write_only)
    ws = wb.create_sheet("Codings")
    style_table(ws, {"A": 10, "B": 40}, wrap_columns=["B"], rows=len(TRICKY) + 1)
    write_header(ws, ["row_id", "text"], coder_columns=["text"])
    for index, value in enumerate(TRICKY):
        write_row(ws, [f"C{index}", value], rich={1: [(0, 1)]})
    register_list(wb, "decisions", ["accept", "reject"])
    add_list_validation(ws, "B", 2, len(TRICKY) + 1, "decisions")
    path = save_workbook(wb, tmp_path / "t.xlsx")
    rows = read_sheet_rows(path, "Codings", required=["row_id", "text"])
    assert [r["text"] for r in rows] == [safe_text(v) for v in TRICKY]
    assert safe_text("bell\x07char") == "bell\ufffdchar"
    assert [r["_row"] for r in rows] == list(range(2, len(TRICKY) + 2))
    assert formula_cells(path, "Codings") == []
    with zipfile.ZipFile(path) as package:
        assert "_lists" in package.read("xl/workbook.xml").decode()


def test_workbook_save_is_deterministic(tmp_path):
    def build(name):
        wb = new_workbook()
        ws = wb.create_sheet("S")
        write_header(ws, ["a"])
        write_row(ws, ["x"])
        return save_workbook(wb, tmp_path / name).read_bytes()
    assert build("a.xlsx") == build("b.xlsx")


def test_workbook_truncates_long_text():
    text = safe_text("x" * (MAX_CELL_CHARS + 10))
    assert len(text) == MAX_CELL_CHARS and text.endswith(TRUNCATION_MARKER)


def test_workbook_content_hash_ignores_resave_number_types():
    assert content_hash(["a", 3, None]) == content_hash(["a", 3.0, ""])
    assert content_hash(["a", 3]) != content_hash(["a", 4])


def test_workbook_reading_finds_formulas_and_missing_columns(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Codings"
    ws.append(["row_id", "decision"])
    ws.append(["C1", "=1+1"])
    ws.append([None, None])
    ws.append([2.0, "accept"])
    wb.save(tmp_path / "f.xlsx")
    assert formula_cells(tmp_path / "f.xlsx", "Codings") == [(2, "B", "=1+1")]
    rows = read_sheet_rows(tmp_path / "f.xlsx", "Codings")
    assert rows[-1] == {"row_id": 2, "decision": "accept", "_row": 4}
    with pytest.raises(CityQDAError) as error:
        read_sheet_rows(tmp_path / "f.xlsx", "Codings", required=["comment"])
    assert error.value.code == "CQ502" and error.value.problems[0].column == "comment"
    with pytest.raises(CityQDAError) as error:
        read_sheet_rows(tmp_path / "f.xlsx", "Segments")
    assert error.value.code == "CQ501"


# values the fast paths (one check per joined row) must treat exactly as safe_text does
FAST_PATH_CASES = TRICKY + [
    "a & b < c > d", "100% sure, %s and %(n)s", "carriage\r\nreturn\rhere", "nul\x00byte",
    "lone \ud800 surrogate", "not a character \ufffe\uffff", "ﬁne ligature", "€ and ¶12",
    "", "x" * (MAX_CELL_CHARS + 5)]


def _reference_hash(values: list) -> str:
    """content_hash as first written: one normalised value at a time."""
    import hashlib

    from pipeline.review.workbook import comparable

    digest = hashlib.sha256()
    for value in values:
        value = comparable(value)
        digest.update(b"-;" if value is None else f"{len(value)}:{value};".encode())
    return digest.hexdigest()


def test_workbook_content_hash_fast_path_matches_value_by_value():
    for value in FAST_PATH_CASES:
        for values in ([value], ["C1", value, "", None], [value, 7, "x"]):
            assert content_hash(values) == _reference_hash(values), repr(value)
    assert content_hash(FAST_PATH_CASES) == _reference_hash(FAST_PATH_CASES)


def _reference_row_hash(values: list) -> str:
    """row_hash as defined: the comparable texts joined by NUL, one value at a time."""
    import hashlib

    from pipeline.review.workbook import comparable

    return "2:" + hashlib.sha256("\x00".join(comparable(v) or "" for v in values)
                                 .encode()).hexdigest()


def test_workbook_row_hash_fast_path_matches_value_by_value():
    from pipeline.review.workbook import hash_like, row_hash

    for value in FAST_PATH_CASES:
        for values in ([value], ["C1", value, "", None], [value, 7, "x"]):
            assert row_hash(values) == _reference_row_hash(values), repr(value)
            assert row_hash(tuple(values)) == row_hash(values)
            assert hash_like(row_hash(values), values) == row_hash(values)
            assert hash_like(content_hash(values), values) == content_hash(values)
    assert row_hash(FAST_PATH_CASES) == _reference_row_hash(FAST_PATH_CASES)
    # a re-save's number types and empty cells are no edit; no cell imitates a boundary
    assert row_hash(["a", 3, None]) == row_hash(["a", 3.0, ""])
    assert row_hash(["a", 3]) != row_hash(["a", 4])
    assert row_hash(["a\x00", "b"]) != row_hash(["a", "\x00b"]) != row_hash(["a", "b"])
    assert row_hash(["ab", ""]) != row_hash(["a", "b"])


def test_workbook_row_hash_expecting_equals_row_hash():
    """The unchecked first try never changes the hash: whatever is expected (the row's
    own hash, another row's, an edited row's, none), the result is row_hash."""
    from pipeline.review.workbook import row_hash, row_hash_expecting

    for value in FAST_PATH_CASES:
        for values in ([value], ["C1", value, "", None], [value, 7, "x"]):
            plain = [v if type(v) is str else "" for v in values]
            for expected in (row_hash(values), row_hash(plain), row_hash(["other"]), None):
                assert row_hash_expecting(values, expected) == row_hash(values), repr(value)
    # cells whose comparable texts (not themselves) were recorded: checked the long way
    assert row_hash_expecting(["a\rb", "c"], row_hash(["a\nb", "c"])) == row_hash(["a\nb", "c"])
    assert row_hash_expecting(["a\x00", "b"], row_hash(["a", "\x00b"])) != \
        row_hash(["a", "\x00b"])


def test_workbook_fast_rows_round_trip_tricky_text(tmp_path):
    from pipeline.review.workbook import fast_rows

    wb = new_workbook()
    ws = wb.create_sheet("Codings")
    style_table(ws, {"A": 10, "B": 40, "C": 20}, wrap_columns=["B"], rows=100, columns=4)
    fast_rows(ws)
    write_header(ws, ["row_id", "text", "other", "n"], coder_columns=["other"])
    cases = FAST_PATH_CASES
    for index, value in enumerate(cases):
        # the same value plain and with a bold span, beside text, a number and nothing
        write_row(ws, [f"C{index}", value, "plain & <b>", index], rich={1: [(1, 4)]},
                  unlocked_columns=[2])
        write_row(ws, [f"D{index}", value, None, None])
    path = save_workbook(wb, tmp_path / "fast.xlsx")
    rows = read_sheet_rows(path, "Codings", required=["row_id", "text"])
    by_id = {r["row_id"]: r for r in rows}
    for index, value in enumerate(cases):
        expected = safe_text(value) or None
        assert by_id[f"C{index}"]["text"] == expected, repr(value)
        assert by_id[f"D{index}"]["text"] == expected, repr(value)
        assert by_id[f"C{index}"]["other"] == "plain & <b>"
        assert by_id[f"C{index}"]["n"] in (str(index), index)
        assert by_id[f"D{index}"]["other"] is None
    assert formula_cells(path, "Codings") == []


def test_workbook_write_row_reports_plain_rows_for_plain_hash(tmp_path):
    """A row write_row calls plain hashes alike with plain_hash and content_hash; a row
    safe_text changes (or holding a non-text value) is never called plain."""
    from pipeline.review.workbook import fast_rows, plain_hash, plain_row_hash, row_hash

    wb = new_workbook()
    ws = wb.create_sheet("Codings")
    style_table(ws, {"A": 10, "B": 40}, rows=100, columns=3)
    fast_rows(ws)
    write_header(ws, ["row_id", "text", "other"])
    known = {"a & b < c > d": True, "ü ☃ 𝄞": True, "tab\tand\nnewline": True,
             "bell\x07char": False, "nul\x00byte": False, "lone \ud800 surrogate": False,
             "carriage\r\nreturn\rhere": False, "x" * (MAX_CELL_CHARS + 5): False}
    for value in FAST_PATH_CASES:
        values = ["C1", value, "x & <y>"]
        plain = write_row(ws, values, rich={1: [(0, 2)]})
        assert plain == known.get(value, plain), repr(value)
        if plain:
            assert plain_hash(values) == content_hash(values)
            assert plain_hash(values[:2]) == content_hash(values[:2])
            assert plain_row_hash(values) == row_hash(values)
            assert plain_row_hash(values[:2]) == row_hash(values[:2])
    assert write_row(ws, ["C2", None, "x"]) is False
    assert write_row(ws, ["C3", 7, "x"]) is False
    plain_ws = new_workbook(write_only=False).create_sheet("plain")
    assert write_row(plain_ws, ["C4", "text"]) is False  # not a fast_rows sheet


def test_workbook_fast_rows_bold_run_holds_the_span(tmp_path):
    from lxml import etree

    from pipeline.review.workbook import fast_rows

    wb = new_workbook()
    ws = wb.create_sheet("Codings")
    style_table(ws, {"A": 10, "B": 40}, rows=10, columns=2)
    fast_rows(ws)
    write_header(ws, ["row_id", "text"])
    text = "a & <b> courses ü ☃ for newcomers"
    for span in [(0, 5), (4, 15), (20, len(text))]:
        write_row(ws, ["C1", text], rich={1: [span]})
    path = save_workbook(wb, tmp_path / "bold.xlsx")
    with zipfile.ZipFile(path) as package:
        sheet = etree.fromstring(package.read("xl/worksheets/sheet1.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    cells = sheet.findall(".//m:c[@r]", ns)
    rich = [c for c in cells if c.get("r").startswith("B") and c.get("r") != "B1"]
    for cell, (start, end) in zip(rich, [(0, 5), (4, 15), (20, len(text))], strict=True):
        runs = cell.findall(".//m:r", ns)
        bold = [r.findtext("m:t", namespaces=ns) for r in runs
                if r.find("m:rPr/m:b", ns) is not None]
        assert bold == [text[start:end]]
        assert "".join(r.findtext("m:t", namespaces=ns) for r in runs) == text


@pytest.mark.parametrize("chunk", [7, 16, 33, 1 << 22])
def test_workbook_formula_scan_finds_a_tag_across_chunks(tmp_path, monkeypatch, chunk):
    from openpyxl import Workbook

    import pipeline.review.workbook as workbook

    monkeypatch.setattr(workbook, "_SCAN_CHUNK", chunk)
    wb = Workbook()
    ws = wb.active
    ws.title = "Codings"
    ws.append(["row_id", "text"])
    for index in range(30):
        ws.append([f"C{index}", "some text " * (index % 5)])
    ws["B17"] = "=1+1"
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    assert formula_cells(path, "Codings") == [(17, "B", "=1+1")]


def test_workbook_save_puts_no_file_in_place_when_ready_fails(tmp_path):
    wb = new_workbook()
    write_row(wb.create_sheet("Codings"), ["C1", "text"])

    def ready():
        raise RuntimeError("the record was not written")

    with pytest.raises(RuntimeError):
        save_workbook(wb, tmp_path / "out.xlsx", ready=ready)
    assert list(tmp_path.iterdir()) == []
