"""The codebook for people: tree, JSON, and deterministic XLSX/CSV exports."""

import csv
import io

import pytest
from openpyxl import load_workbook

from pipeline.codebook import load_codebook
from pipeline.codebook.present import codebook_dict, export_csv, export_xlsx, render_tree
from pipeline.errors import CityQDAError


@pytest.fixture
def codebook(minimal_codebook):
    return load_codebook(minimal_codebook)


def test_present_tree_nests_subcodes_under_dimensions(codebook):
    lines = render_tree(codebook)
    assert lines[0] == "Minimal codebook for tests (mini 0.1.0)"
    social = lines.index("  social: Social")
    assert lines[social + 1] == "    social.housing: Housing  [2 patterns]"
    assert "    challenge.housing: Housing  [1 pattern]" in lines
    assert "    R01 (reassign): Courses near a language are language courses" in lines


def test_present_dict_holds_definitions_and_patterns(codebook):
    data = codebook_dict(codebook)
    housing = next(c for c in data["codes"] if c["id"] == "social.housing")
    assert housing["dimension"] == "social"
    assert housing["examples"] == ["The city runs a shelter."]
    assert housing["patterns"][0]["phrases"] == ["{night|emergency} shelter", "housing support"]
    assert data["rules"][0]["to"] == "cultural_religious.language"


def test_present_csv_export_is_readable_and_deterministic(codebook, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    export_csv(codebook, first)
    export_csv(codebook, second)
    assert first.read_bytes() == second.read_bytes()
    rows = list(csv.DictReader(io.StringIO(first.read_text(encoding="utf-8-sig"))))
    housing = next(r for r in rows if r["id"] == "social.housing")
    assert housing["definition"] == "Housing and shelter."
    assert "social.housing.service (service): {night|emergency} shelter" in housing["patterns"]
    assert len(rows) == len(codebook.codes)


def test_present_xlsx_export_is_readable_and_deterministic(codebook, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    export_xlsx(codebook, first)
    export_xlsx(codebook, second)
    assert first.read_bytes() == second.read_bytes()
    workbook = load_workbook(first)
    assert workbook.sheetnames == ["Codes", "Rules", "Cues", "About"]
    header = [c.value for c in workbook["Codes"][1]]
    assert header[:6] == ["id", "kind", "parent", "dimension", "label", "definition"]
    ids = [row[0].value for row in workbook["Codes"].iter_rows(min_row=2)]
    assert ids == [c.id for c in codebook.codes]


def test_present_formula_like_text_stays_text(codebook, tmp_path):
    import dataclasses

    first = codebook.codes[0]
    odd = dataclasses.replace(codebook, codes=(dataclasses.replace(
        first, definition="=HYPERLINK(\"http://x\")"), *codebook.codes[1:]))
    export_xlsx(odd, tmp_path / "odd.xlsx")
    cell = load_workbook(tmp_path / "odd.xlsx")["Codes"]["F2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_present_export_into_missing_folder_fails_cleanly(codebook, tmp_path):
    with pytest.raises(CityQDAError) as caught:
        export_csv(codebook, tmp_path / "missing" / "out.csv")
    assert caught.value.code == "CQ212"
    assert not (tmp_path / "missing").exists()
