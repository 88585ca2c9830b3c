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
