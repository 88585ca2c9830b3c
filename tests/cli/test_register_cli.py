"""`cityqda register validate [FILE]` through the real CLI."""

import datetime as dt
import json

import openpyxl
import pytest

from pipeline.cli import main

HEADER = ["round", "city", "country", "category", "outcome", "transcript_file",
          "interview_date", "mode"]
GOOD = [1, "Lisbon", "Portugal", "policy maker", "interviewed", "LIS-PM-01.docx",
        dt.date(2013, 6, 3), "Skype"]
CITIES = [["city", "country", "code", "aliases"], ["Lisbon", "Portugal", "LIS", "Lisboa"]]


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def workbook(path, rows, cities=True, cities_first=False, sheet="register"):
    book = openpyxl.Workbook()
    register = book.active
    register.title = sheet
    register.append(HEADER)
    for row in rows:
        register.append(row)
    if cities:
        extra = book.create_sheet("cities", 0 if cities_first else None)
        for row in CITIES:
            extra.append(row)
    book.save(path)
    return path


def save_with_cities(book, path):
    """Save a register workbook a test built cell by cell, with the cities sheet added."""
    extra = book.create_sheet("cities")
    for row in CITIES:
        extra.append(row)
    book.save(path)
    return path


def with_value(column, value):
    row = list(GOOD)
    row[HEADER.index(column)] = value
    return row


def test_register_cli_validates_the_study_template(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "register", "validate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "0 row(s), 0 cities, 0 error(s), 0 warning(s)" in result.stderr


@pytest.mark.parametrize("row, code, column", [
    (with_value("category", "Journalist"), "CQ924", "category"),
    (with_value("outcome", "perhaps"), "CQ925", "outcome"),
    (with_value("transcript_file", None), "CQ926", "transcript_file"),
    (with_value("round", None), "CQ923", "round"),
    (with_value("interview_date", "31/02/2013"), "CQ927", "interview_date"),
    (with_value("transcript_file", "lis-pm-01.DOCX"), "CQ928", "transcript_file"),
    (with_value("city", "Porto"), "CQ929", "city"),
])
def test_register_cli_reports_row_errors(runner, tmp_path, row, code, column):
    path = workbook(tmp_path / "register.xlsx", [GOOD, row])
    result = invoke(runner, "--project", tmp_path, "register", "validate", path)
    assert result.exit_code == 1
    assert f"error {code}: {path}, sheet register, row 3, column {column}:" in result.stderr


def test_register_cli_json_lists_problems(runner, tmp_path):
    path = workbook(tmp_path / "register.xlsx",
                    [GOOD, with_value("category", "??"), with_value("mode", "pigeon")])
    result = invoke(runner, "--project", tmp_path, "register", "validate", path, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["rows"] == 3 and data["cities"] == 1
    assert [(p["code"], p["row"], p["column"]) for p in data["problems"]] == [
        ("CQ924", 3, "category"), ("CQ928", 3, "transcript_file"),
        ("CQ928", 4, "transcript_file"), ("CQ953", 4, "mode")]


def test_register_cli_warnings_only_exit_zero(runner, tmp_path):
    path = workbook(tmp_path / "register.xlsx", [with_value("interview_date", "03/04/2013")])
    result = invoke(runner, "--project", tmp_path, "register", "validate", path)
    assert result.exit_code == 0
    assert "warning CQ952" in result.stderr and "2013-04-03" in result.stderr


def test_register_cli_missing_sheet_and_column(runner, tmp_path):
    path = workbook(tmp_path / "r.xlsx", [GOOD], sheet="Contacts")
    result = invoke(runner, "--project", tmp_path, "register", "validate", path)
    assert result.exit_code == 1 and "error CQ921" in result.stderr

    book = openpyxl.Workbook()
    book.active.title = "register"
    book.active.append(["round", "city", "category"])
    book.save(tmp_path / "r2.xlsx")
    result = invoke(runner, "--project", tmp_path, "register", "validate", tmp_path / "r2.xlsx")
    assert result.exit_code == 1
    assert "sheet register, row 1, column outcome: no column 'outcome'" in result.stderr


def test_register_cli_resaved_with_another_sheet_order(runner, tmp_path):
    first = workbook(tmp_path / "a.xlsx", [GOOD, with_value("city", "Lisboa")[:5] + [
        "LIS-PM-02.docx", None, None]])
    again = openpyxl.load_workbook(first)
    again.move_sheet("cities", offset=-1)
    again.save(tmp_path / "b.xlsx")
    assert openpyxl.load_workbook(tmp_path / "b.xlsx").sheetnames == ["cities", "register"]
    outputs = []
    for name in ("a.xlsx", "b.xlsx"):
        result = invoke(runner, "--project", tmp_path, "register", "validate",
                        tmp_path / name, "--json")
        assert result.exit_code == 0, result.stderr
        outputs.append({k: v for k, v in json.loads(result.stdout).items() if k != "file"})
    assert outputs[0] == outputs[1]


def test_register_cli_csv(runner, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("\ufeffround;city;category;outcome;transcript_file\r\n"
                    "1;Lisboa;NGO;interviewed;\r\n", encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "register", "validate", path)
    assert result.exit_code == 1
    assert f"error CQ926: {path}, row 2, column transcript_file" in result.stderr


def test_register_cli_missing_file(runner, tmp_path, study_dir):
    result = invoke(runner, "--project", tmp_path, "register", "validate", tmp_path / "no.xlsx")
    assert result.exit_code == 1 and "CQ006" in result.stderr
    (study_dir / "register.xlsx").unlink()
    result = invoke(runner, "--project", study_dir, "register", "validate")
    assert result.exit_code == 0 and "warning CQ951" in result.stderr


def test_register_cli_without_study_or_file_is_a_usage_error(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "register", "validate")
    assert result.exit_code == 2 and "CQ001" in result.stderr


def test_register_cli_checks_the_study_transcripts(runner, study_dir):
    workbook(study_dir / "register.xlsx", [GOOD])
    (study_dir / "transcripts" / "LIS-BU-01.docx").write_bytes(b"")
    result = invoke(runner, "--project", study_dir, "register", "validate", "--json")
    assert result.exit_code == 0
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["CQ955", "CQ956"]


def _with_saved_values(path):
    """The workbook as a spreadsheet program saves it: every formula keeps its value."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    for name in parts:
        if name.startswith("xl/worksheets/"):
            parts[name] = re.sub(rb'<c r="([A-Z]+[0-9]+)"><f>([^<]*)</f><v></v></c>',
                                 rb'<c r="\1" t="str"><f>\2</f><v>Skype</v></c>', parts[name])
    with zipfile.ZipFile(path, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)


@pytest.mark.parametrize("column, formula, code, exit_code", [
    ("category", '=IF(1=1,"policy maker","company")', "CQ935", 1),
    ("transcript_file", '="LIS-PM-"&"01.docx"', "CQ935", 1),
    ("mode", '=LOWER("SKYPE")', "CQ961", 0),
])
def test_register_cli_formula_without_saved_value_is_named(runner, tmp_path, column, formula,
                                                           code, exit_code):
    path = workbook(tmp_path / "register.xlsx", [with_value(column, formula)])
    letter = "ABCDEFGH"[HEADER.index(column)]

    result = invoke(runner, "--project", tmp_path, "register", "validate", path)

    assert result.exit_code == exit_code, result.stderr
    assert f"{code}: {path}, sheet register, row 2, column {column}: cell {letter}2" \
        in result.stderr
    assert "Excel or LibreOffice" in result.stderr


def test_register_cli_formula_row_is_not_silently_dropped(runner, tmp_path):
    """A row made only of formulas reads as no row at all without the check."""
    formulas = ['="1"', '="Lisbon"', '="Portugal"', '="policy maker"', '="interviewed"',
                '="LIS-PM-02.docx"', '="2013-06-03"', '="Skype"']
    path = workbook(tmp_path / "register.xlsx", [GOOD, formulas])

    result = invoke(runner, "--project", tmp_path, "register", "validate", path)

    assert result.exit_code == 1
    assert result.stderr.count("error CQ935") == 6  # round, city, country, category, ...
    assert "row 3, column city: cell B3" in result.stderr


def test_register_cli_formula_in_cities_sheet_is_named(runner, tmp_path):
    path = workbook(tmp_path / "register.xlsx", [GOOD])
    book = openpyxl.load_workbook(path)
    book["cities"]["C2"] = '=UPPER("lis")'
    book.save(path)

    result = invoke(runner, "--project", tmp_path, "register", "validate", path)

    assert result.exit_code == 1
    assert "error CQ935: " in result.stderr and "sheet cities, row 2, column code" \
        in result.stderr


def test_register_cli_formula_with_saved_value_is_read(runner, tmp_path):
    path = workbook(tmp_path / "register.xlsx", [with_value("mode", '=LOWER("SKYPE")')])
    _with_saved_values(path)

    result = invoke(runner, "--project", tmp_path, "register", "validate", path)

    assert result.exit_code == 0, result.stderr
    assert "CQ935" not in result.stderr and "CQ961" not in result.stderr


def test_register_cli_merged_city_block_reads_on_every_row(runner, tmp_path):
    """A city written once in cells merged down several rows is what a person sees on each
    row (it was 'city is empty' on all but the first)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "register"
    sheet.append(HEADER)
    sheet.append(GOOD)
    sheet.append([1, None, "Portugal", "business", "declined", None, None, None])
    sheet.append([1, None, "Portugal", "ngo", "no reply", None, None, None])
    sheet.merge_cells("B2:B4")
    path = save_with_cities(book, tmp_path / "register.xlsx")

    result = invoke(runner, "--project", tmp_path, "register", "validate", path, "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [p["code"] for p in report["problems"]] == ["CQ962"]
    assert "cells B2:B4 are merged" in report["problems"][0]["message"]
    assert "3 row(s)" in result.stderr


@pytest.mark.parametrize("titles", [
    [["Stakeholder register 2024"]],
    [["Stakeholder register 2024"], [], ["Team Ghent, updated weekly"]],
])
def test_register_cli_title_rows_above_the_header_are_skipped(runner, tmp_path, titles):
    """A title row (merged across the columns, as teams head their sheets) above the
    header: the header is the row after it, with a CQ963 warning naming the title; it
    failed with 'no column round' for every required column."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "register"
    for row in titles:
        sheet.append(row)
    sheet.merge_cells(f"A1:{openpyxl.utils.get_column_letter(len(HEADER))}1")
    sheet.append(HEADER)
    sheet.append(GOOD)
    path = save_with_cities(book, tmp_path / "register.xlsx")

    result = invoke(runner, "--project", tmp_path, "register", "validate", path, "--json")

    assert result.exit_code == 0, result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems] == ["CQ963"]
    assert f"the header was read from row {len(titles) + 1}" in problems[0]["message"]
    assert "1 row(s)" in result.stderr


def test_register_cli_column_of_its_own_name_is_named_not_silently_ignored(runner, tmp_path):
    """A team's own heading ('Word file' for transcript_file) is read by nothing: a CQ964
    warning names it beside the error it causes, and lists the register's columns."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "register"
    header = [("Word file" if c == "transcript_file" else c) for c in HEADER]
    sheet.append(header)
    sheet.append(GOOD)
    path = save_with_cities(book, tmp_path / "register.xlsx")

    result = invoke(runner, "--project", tmp_path, "register", "validate", path, "--json")

    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems] == ["CQ964", "CQ926"]
    letter = openpyxl.utils.get_column_letter(HEADER.index("transcript_file") + 1)
    assert f"column 'Word file' ({letter}) is not a register column" in problems[0]["message"]
    assert "transcript_file" in problems[0]["hint"]


@pytest.mark.parametrize("written", ["LIS-PM-01.docx", "transcripts/LIS-PM-01.docx",
                                     "./transcripts/lis-pm-01", "transcripts\\LIS-PM-01.docx"])
def test_register_cli_transcript_named_from_the_study_folder_is_found(runner, study_dir,
                                                                      written):
    """transcript_file written as the path from the study folder ('transcripts/X.docx'),
    as ingest matches it: validate found no file (CQ955) and no row for it (CQ956)."""
    workbook(study_dir / "register.xlsx", [with_value("transcript_file", written)])
    (study_dir / "transcripts" / "LIS-PM-01.docx").write_bytes(b"")
    result = invoke(runner, "--project", study_dir, "register", "validate", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["problems"] == []
