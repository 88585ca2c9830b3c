"""The contact register: reading XLSX and CSV, every row problem located, the template."""

import datetime as dt
import unicodedata
import zipfile

import openpyxl
import pytest

from pipeline.errors import CityQDAError
from pipeline.ingest.register import (
    CITY_COLUMNS,
    REGISTER_COLUMNS,
    REGISTER_SCHEMA,
    load_register,
    parse_date,
    read_register,
    validate_register,
    write_register,
    write_register_template,
)
from pipeline.study import DEFAULT_VOCABULARIES

HEADER = ["round", "city", "country", "organisation", "category", "contact_date", "outcome",
          "transcript_file", "interview_date", "mode"]
GOOD_ROWS = [
    [1, "Lisbon", "Portugal", "Câmara Municipal", "Local policy maker", dt.date(2013, 6, 3),
     "interviewed", "LIS-PM-01.docx", "2013-06-20", "Skype"],
    [1, "Lisboa", "Portugal", "Refugee Council", "NGO / civil society", "2013-06-04",
     "declined", None, None, None],
    ["1", "Malaga", "Spain", "Port company", "company", "4 June 2013", "no reply", None,
     None, None],
    [2, "Málaga", "Spain", "Ayuntamiento", "policy_maker", None, "interviewed",
     "MAL-PM-01.docx", dt.datetime(2014, 1, 9, 10, 30), "in person"],
]
CITIES_HEADER = ["city", "country", "code", "aliases"]
CITIES = [["Lisbon", "Portugal", "LIS", "Lisboa"],
          ["Málaga", "Spain", "MAL", "Malaga; Malaga city"]]


def make_xlsx(path, rows=GOOD_ROWS, header=HEADER, cities=CITIES, cities_first=False,
              register_sheet="register"):
    workbook = openpyxl.Workbook()
    register = workbook.active
    register.title = register_sheet
    register.append(header)
    for row in rows:
        register.append(row)
    if cities is not None:
        sheet = workbook.create_sheet("cities", 0 if cities_first else None)
        sheet.append(CITIES_HEADER)
        for row in cities:
            sheet.append(row)
    workbook.save(path)
    return path


def codes(problems):
    return [p.code for p in problems]


def one(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [p.render() for p in problems]
    return found[0]


def test_register_loads_rows_with_canonical_values(tmp_path):
    register = load_register(make_xlsx(tmp_path / "r.xlsx"), DEFAULT_VOCABULARIES)
    assert [r.row for r in register.rows] == [2, 3, 4, 5]
    first, second, third, fourth = register.rows
    assert (first.round, first.city, first.category, first.outcome, first.mode) == (
        "1", "Lisbon", "policy_maker", "interviewed", "video")
    assert (first.contact_date, first.interview_date) == ("2013-06-03", "2013-06-20")
    assert (second.city, second.city_raw, second.category) == ("Lisbon", "Lisboa",
                                                               "civil_society")
    assert (third.city, third.category, third.outcome, third.contact_date) == (
        "Málaga", "business", "no_reply", "2013-06-04")
    assert (fourth.interview_date, fourth.mode, fourth.mode_raw) == ("2014-01-09",
                                                                    "face_to_face", "in person")
    assert register.warnings == []


def test_register_cities_codes_and_aliases(tmp_path):
    register = load_register(make_xlsx(tmp_path / "r.xlsx"))
    assert [c.name for c in register.cities] == ["Lisbon", "Málaga"]
    assert register.cities[1].aliases == ("Malaga", "Malaga city")
    for spelling in ("MALAGA", "málaga", "Malaga city", "Ma\u0301laga"):
        assert register.canonical_city(spelling) == "Málaga"
    assert register.canonical_city("Porto") is None
    assert register.city_code("lisboa") == "LIS"
    assert register.city_code("São Paulo") == "SAO"
    assert len(register.rows_for_city("Malaga")) == 2


def test_register_without_cities_sheet_groups_spellings(tmp_path):
    rows = [r[:1] + ["Málaga"] + r[2:] for r in GOOD_ROWS[2:]] + [
        [3, "MALAGA", "Spain", "X", "ngo", None, "declined", None, None, None]]
    register = load_register(make_xlsx(tmp_path / "r.xlsx", rows=rows, cities=None))
    assert register.cities == []
    assert register.canonical_city("malaga") == "Málaga"
    assert register.city_code("Malaga") == "MAL"


@pytest.mark.parametrize("asked", ["LIS-PM-01.docx", "lis-pm-01.DOCX",
                                   "transcripts/sub/LIS-PM-01.docx"])
def test_register_row_for_file_ignores_case_and_folders(tmp_path, asked):
    register = load_register(make_xlsx(tmp_path / "r.xlsx"))
    assert register.row_for_file(asked).row == 2


def test_register_row_for_file_normalises_unicode(tmp_path):
    decomposed = unicodedata.normalize("NFD", "São-CS-01.docx")
    rows = [[1, "Lisbon", "Portugal", "X", "ngo", None, "interviewed", decomposed, None, None],
            [1, "Lisbon", "Portugal", "Y", "ngo", None, "interviewed", "LIS-CS-02", None, None]]
    register = load_register(make_xlsx(tmp_path / "r.xlsx", rows=rows))
    assert register.rows[0].transcript_file == "São-CS-01.docx"
    assert register.row_for_file(unicodedata.normalize("NFC", "São-CS-01.docx")).row == 2
    assert register.row_for_file("LIS-CS-02.docx").row == 3
    assert register.row_for_file("LIS-CS-03.docx") is None


def test_register_sheet_order_and_header_case_do_not_matter(tmp_path):
    header = [h.replace("_", " ").title() for h in HEADER]
    path = make_xlsx(tmp_path / "r.xlsx", header=header, cities_first=True,
                     register_sheet="Register")
    register = load_register(path)
    assert len(register.rows) == 4 and len(register.cities) == 2


def test_register_extra_columns_are_kept(tmp_path):
    rows = [r + ["phoned twice"] for r in GOOD_ROWS]
    register = load_register(make_xlsx(tmp_path / "r.xlsx", rows=rows,
                                       header=HEADER + ["Follow up"]))
    assert register.rows[0].extra == {"follow_up": "phoned twice"}


def row_with(column, value, base=0):
    row = list(GOOD_ROWS[base])
    row[HEADER.index(column)] = value
    return row


@pytest.mark.parametrize("column, value, code", [
    ("category", "Journalist", "CQ924"),
    ("outcome", "maybe later", "CQ925"),
    ("transcript_file", None, "CQ926"),
    ("round", None, "CQ923"),
    ("city", None, "CQ923"),
    ("category", None, "CQ923"),
    ("outcome", "", "CQ923"),
    ("contact_date", "2013-02-30", "CQ927"),
    ("interview_date", "next Tuesday", "CQ927"),
    ("transcript_file", "mal-pm-01.docx", "CQ928"),
    ("city", "Porto", "CQ929"),
])
def test_register_row_errors_name_sheet_row_and_column(tmp_path, column, value, code):
    rows = list(GOOD_ROWS) + [row_with(column, value)]
    path = make_xlsx(tmp_path / "r.xlsx", rows=rows)
    problem = one(validate_register(path, DEFAULT_VOCABULARIES), code)
    assert (problem.file, problem.sheet, problem.row) == (str(path), "register", 6)
    assert problem.column == column
    assert problem.spec.level == "error"
    with pytest.raises(CityQDAError) as info:
        load_register(path, DEFAULT_VOCABULARIES)
    assert code in codes(info.value.problems)


def test_register_reports_every_bad_row_at_once(tmp_path):
    rows = list(GOOD_ROWS) + [row_with("category", "Journalist"),
                              row_with("outcome", "??"), row_with("city", "Porto")]
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows))
    assert [(p.code, p.row) for p in problems] == [("CQ924", 6), ("CQ928", 6),
                                                   ("CQ925", 7), ("CQ928", 7),
                                                   ("CQ928", 8), ("CQ929", 8)]


@pytest.mark.parametrize("column, value, code", [
    ("interview_date", "03/04/2013", "CQ952"),
    ("mode", "carrier pigeon", "CQ953"),
    ("country", "Spain", "CQ957"),
])
def test_register_row_warnings(tmp_path, column, value, code):
    path = make_xlsx(tmp_path / "r.xlsx", rows=[row_with(column, value)])
    problem = one(validate_register(path), code)
    assert (problem.row, problem.column, problem.spec.level) == (2, column, "warning")
    register = load_register(path)
    assert code in codes(register.warnings)


def test_register_transcript_on_a_row_not_interviewed_warns(tmp_path):
    row = row_with("outcome", "declined")
    problem = one(validate_register(make_xlsx(tmp_path / "r.xlsx", rows=[row])), "CQ954")
    assert problem.column == "transcript_file"


def test_register_missing_sheet(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "contacts"
    workbook.create_sheet("cities")
    workbook.save(tmp_path / "r.xlsx")
    problem = one(validate_register(tmp_path / "r.xlsx"), "CQ921")
    assert "contacts, cities" in problem.message


def test_register_single_sheet_of_another_name_is_the_register(tmp_path):
    path = make_xlsx(tmp_path / "r.xlsx", cities=None, register_sheet="Contacts 2013")
    assert len(load_register(path).rows) == 4


@pytest.mark.parametrize("missing", ["round", "city", "category", "outcome"])
def test_register_missing_required_column(tmp_path, missing):
    index = HEADER.index(missing)
    header = HEADER[:index] + HEADER[index + 1:]
    rows = [r[:index] + r[index + 1:] for r in GOOD_ROWS]
    problem = one(validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows, header=header)),
                  "CQ922")
    assert (problem.sheet, problem.row, problem.column) == ("register", 1, missing)


def test_register_repeated_column(tmp_path):
    header = HEADER + ["City"]
    rows = [r + ["x"] for r in GOOD_ROWS]
    problem = one(validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows, header=header)),
                  "CQ933")
    assert problem.fields["first"] == "B" and problem.fields["second"] == "K"


@pytest.mark.parametrize("cities, code, row, column", [
    ([["Lisbon", "Portugal", "LISB", ""]], "CQ930", 2, "code"),
    ([["Lisbon", "Portugal", "LIS", ""], ["LISBON", "Portugal", "LSB", ""]], "CQ931", 3, "city"),
    ([["Lisbon", "Portugal", "LIS", ""], ["Porto", "Portugal", "POR", "lisbon"]], "CQ931", 3,
     "aliases"),
    ([["Lisbon", "Portugal", "LIS", ""], ["Lisbon2", "Portugal", "lis", ""]], "CQ932", 3,
     "code"),
    ([["", "Portugal", "LIS", "Lisboa"]], "CQ923", 2, "city"),
])
def test_register_cities_sheet_problems(tmp_path, cities, code, row, column):
    rows = [GOOD_ROWS[0]]
    problem = one(validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows, cities=cities)),
                  code)
    assert (problem.sheet, problem.row, problem.column) == ("cities", row, column)


def test_register_empty_cities_sheet_checks_no_city(tmp_path):
    rows = [row_with("city", "Porto")]
    register = load_register(make_xlsx(tmp_path / "r.xlsx", rows=rows, cities=[]))
    assert register.cities == [] and register.rows[0].city == "Porto"
    assert register.city_code("Porto") == "POR"


def test_register_missing_file_is_only_a_warning(tmp_path):
    assert codes(validate_register(tmp_path / "absent.xlsx")) == ["CQ951"]
    register = load_register(tmp_path / "absent.xlsx")
    assert register.rows == [] and codes(register.warnings) == ["CQ951"]


@pytest.mark.parametrize("name, content, code", [
    ("r.xlsx", b"not a zip at all", "CQ920"),
    ("r.ods", b"whatever", "CQ934"),
    ("r.csv", "round,city\n1,S\xe3o Paulo\n".encode("latin-1"), "CQ920"),
])
def test_register_unreadable_files(tmp_path, name, content, code):
    (tmp_path / name).write_bytes(content)
    assert codes(validate_register(tmp_path / name)) == [code]


def write_csv(path, header, rows, delimiter=",", bom=False, sep_line=False):
    lines = [f"sep={delimiter}"] * sep_line + [delimiter.join(header)] + [
        delimiter.join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text(("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter, bom, sep_line", [
    (",", False, False), (",", True, False), (";", True, False), ("\t", False, False),
    # Excel's delimiter line, which Excel itself hides: no title row, rows numbered as shown
    (";", False, True), (",", True, True),
])
def test_register_csv_variants(tmp_path, delimiter, bom, sep_line):
    rows = [[1, "São Paulo", "Brazil", "Prefeitura", "policy maker", "2013-07-01",
             "interviewed", "SAO-PM-01.docx", "15/07/2013", "phone"],
            [1, "São Paulo", "Brazil", "Empresa", "Journalist", "", "declined", "", "", ""]]
    path = write_csv(tmp_path / "register.csv", HEADER, rows, delimiter, bom, sep_line)
    register, problems = read_register(path)
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("CQ960", None, None, None), ("CQ924", None, 3, "category")]  # no cities.csv
    assert register.rows[0].city == "São Paulo"
    assert register.rows[0].interview_date == "2013-07-15"
    assert register.rows[0].mode == "telephone"


@pytest.mark.parametrize("cities_sheet", [None, "Cities list"])
def test_register_without_a_cities_sheet_warns_that_aliases_are_unknown(tmp_path,
                                                                         cities_sheet):
    """A misnamed cities sheet is otherwise ignored in silence: Lisboa and Lisbon would
    count as two cities in the tables."""
    path = make_xlsx(tmp_path / "r.xlsx", cities=None)
    if cities_sheet:
        workbook = openpyxl.load_workbook(path)
        sheet = workbook.create_sheet(cities_sheet)
        sheet.append(CITIES_HEADER)
        for row in CITIES:
            sheet.append(row)
        workbook.save(path)
    register, problems = read_register(path)
    warning = one(problems, "CQ960")
    assert warning.spec.level == "warning" and "aliases" in warning.message
    assert f"has: register{', ' + cities_sheet if cities_sheet else ''})" in warning.message
    assert {row.city for row in register.rows} == {"Lisbon", "Lisboa", "Malaga", "Málaga"}


def test_register_with_an_empty_cities_sheet_warns_too(tmp_path):
    """The template's cities sheet left empty: the same silent loss of aliases."""
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx", cities=[]))
    warning = one(problems, "CQ960")
    assert (warning.sheet, warning.fields["what"]) == ("cities", "the cities list is empty")
    assert codes(validate_register(make_xlsx(tmp_path / "e.xlsx", rows=[], cities=[]))) == []


def test_register_csv_uses_cities_csv_beside_it(tmp_path):
    write_csv(tmp_path / "cities.csv", CITIES_HEADER, [["São Paulo", "Brazil", "SAO", "Sao Paulo"]])
    rows = [[1, "Sao Paulo", "Brazil", "X", "ngo", "", "no reply", "", "", ""],
            [1, "Rio", "Brazil", "Y", "ngo", "", "no reply", "", "", ""]]
    register, problems = read_register(write_csv(tmp_path / "register.csv", HEADER, rows))
    assert register.rows[0].city == "São Paulo"
    assert [(p.code, p.row) for p in problems] == [("CQ929", 3)]


def test_register_transcript_folder_cross_check(tmp_path):
    folder = tmp_path / "transcripts"
    (folder / "lisbon").mkdir(parents=True)
    (folder / "lisbon" / "lis-pm-01.docx").write_bytes(b"")
    (folder / "ROT-PM-01.docx").write_bytes(b"")
    (folder / "~$LIS-PM-01.docx").write_bytes(b"")
    path = make_xlsx(tmp_path / "r.xlsx")
    problems = validate_register(path, DEFAULT_VOCABULARIES, transcripts_dir=folder)
    assert [(p.code, p.row, p.fields["value"]) for p in problems] == [
        ("CQ955", 5, "MAL-PM-01.docx"), ("CQ956", None, "ROT-PM-01.docx")]


@pytest.mark.parametrize("name", ["MAL-PM-01.DOCX", "mal-pm-01.Docx", "MAL-PM-01.docx"])
def test_register_transcript_folder_cross_check_ignores_the_extension_case(tmp_path, name):
    """Ingest reads 'X.DOCX' (Windows often names files so): the register check must see
    it too, or it reports the row's transcript missing and the file unregistered."""
    folder = tmp_path / "transcripts"
    folder.mkdir()
    for present in (name, "LIS-PM-01.docx", "ROT-PM-01.docx", "NBO-CS-01.docx"):
        (folder / present).write_bytes(b"")
    path = make_xlsx(tmp_path / "r.xlsx")
    problems = validate_register(path, DEFAULT_VOCABULARIES, transcripts_dir=folder)
    assert [(p.code, p.fields["value"]) for p in problems] == [
        ("CQ956", "NBO-CS-01.docx"), ("CQ956", "ROT-PM-01.docx")]


def _shared_name_folder(tmp_path):
    folder = tmp_path / "transcripts"
    (folder / "2024").mkdir(parents=True)
    for present in ("LIS-PM-01.docx", "2024/lis-pm-01.DOCX", "ROT-PM-01.docx",
                    "MAL-PM-01.docx", "NBO-CS-01.docx"):
        (folder / present).write_bytes(b"")
    return folder


def test_register_bare_name_naming_two_transcripts_is_an_error(tmp_path):
    """A second round in a subfolder reusing a file name must not silently take the first
    round's register row (round, city, category): the row is named, with both files.
    (Until session 12 this was the warning CQ958 and both files took the row.)"""
    folder = _shared_name_folder(tmp_path)
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx"), DEFAULT_VOCABULARIES,
                                 transcripts_dir=folder)
    shared = one(problems, "CQ936")
    assert shared.spec.level == "error"
    assert (shared.sheet, shared.row, shared.column) == ("register", 2, "transcript_file")
    assert "2024/lis-pm-01.DOCX, LIS-PM-01.docx" in shared.message
    assert "CQ958" not in codes(problems)


@pytest.mark.parametrize("first, second", [
    ("LIS-PM-01.docx", "2024/LIS-PM-01.docx"),  # the bare name keeps the file no path names
    ("./LIS-PM-01.docx", "2024\\lis-pm-01"),  # a Windows path, no extension
])
def test_register_path_in_transcript_file_tells_shared_names_apart(tmp_path, first, second):
    folder = _shared_name_folder(tmp_path)
    rows = [[1, "Lisbon", "Portugal", "CM", "policy maker", None, "interviewed", first,
             None, None],
            [2, "Lisbon", "Portugal", "CM", "policy maker", None, "interviewed", second,
             None, None]]
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows),
                                 DEFAULT_VOCABULARIES, transcripts_dir=folder)
    assert "CQ936" not in codes(problems) and "CQ928" not in codes(problems)
    register = load_register(make_xlsx(tmp_path / "r.xlsx", rows=rows), DEFAULT_VOCABULARIES)
    register.note_transcripts(["LIS-PM-01.docx", "2024/lis-pm-01.DOCX"])
    assert register.row_for_file("LIS-PM-01.docx", "transcripts/LIS-PM-01.docx").round == "1"
    assert register.row_for_file("lis-pm-01.DOCX",
                                 "transcripts/2024/lis-pm-01.DOCX").round == "2"


def test_register_shared_bare_name_matches_no_transcript(tmp_path):
    register = load_register(make_xlsx(tmp_path / "r.xlsx"), DEFAULT_VOCABULARIES)
    assert register.row_for_file("LIS-PM-01.docx", "transcripts/LIS-PM-01.docx") is not None
    register.note_transcripts(["LIS-PM-01.docx", "2024/LIS-PM-01.docx"])
    assert register.row_for_file("LIS-PM-01.docx", "transcripts/LIS-PM-01.docx") is None
    assert register.row_for_file("LIS-PM-01.docx", "transcripts/2024/LIS-PM-01.docx") is None


@pytest.mark.parametrize("rounds, warned", [
    ([1, 1, 2, 2], []),
    ([1, 1, "Round 1", 2], [("Round 1", 4, "1")]),
    (["1", "01", 2, "2.0"], [("01", 3, "1")]),  # a number cell 2.0 reads as "2"
    ([2023, "2023", "2024-a", "2024-b"], []),
    (["R2", "round 2", "Wave 3", 3], [("round 2", 3, "R2"), ("3", 5, "Wave 3")]),
])
def test_register_one_round_written_two_ways_is_a_warning(tmp_path, rounds, warned):
    rows = [[round_, *row[1:]] for round_, row in zip(rounds, GOOD_ROWS, strict=True)]
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows),
                                 DEFAULT_VOCABULARIES)
    found = [p for p in problems if p.code == "CQ959"]
    assert [(p.fields["value"], p.row, p.fields["other"]) for p in found] == warned
    assert all(p.spec.level == "warning" and p.column == "round" for p in found)


@pytest.mark.parametrize("value, expected, guessed", [
    (dt.date(2013, 6, 14), "2013-06-14", False),
    (dt.datetime(2013, 6, 14, 9, 0), "2013-06-14", False),
    ("2013-06-14", "2013-06-14", False),
    ("2013-6-4", "2013-06-04", False),
    ("2013-06-14T10:00:00Z", "2013-06-14", False),
    ("14/06/2013", "2013-06-14", False),
    ("06/14/2013", "2013-06-14", False),
    ("03/04/2013", "2013-04-03", True),
    ("05.05.2013", "2013-05-05", False),
    ("14-06-13", "2013-06-14", False),
    ("14 June 2013", "2013-06-14", False),
    ("June 14, 2013", "2013-06-14", False),
    ("14th June 2013", "2013-06-14", False),
    ("14-Jun-2013", "2013-06-14", False),
    ("1st of June 2013", "2013-06-01", False),
    ("Sept 3, 2013", "2013-09-03", False),
    ("3 Sept 2013", "2013-09-03", False),
    # as Excel shows a date (d-mmm-yy) when the cell was typed as text or saved to CSV
    ("14-Mar-24", "2024-03-14", False),
    ("14 mar 24", "2024-03-14", False),
    ("1-Sept-13", "2013-09-01", False),
    ("14/Jun/2013", "2013-06-14", False),
    ("14.Jun.13", "2013-06-14", False),
    (41439.0, "2013-06-14", False),
    (None, None, False),
    ("  ", None, False),
])
def test_register_parse_date(value, expected, guessed):
    assert parse_date(value) == (expected, guessed)


@pytest.mark.parametrize("value", ["2013-02-30", "31/31/2013", "soon", "2013", True,
                                   "Mar-24", "14-Mar", "31-Feb-24", "2024-Mar-14"])
def test_register_parse_date_rejects(value):
    with pytest.raises((ValueError, OverflowError)):
        parse_date(value)


def test_register_template_is_deterministic_and_complete(tmp_path):
    write_register_template(tmp_path / "a.xlsx")
    write_register_template(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    workbook = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert workbook.sheetnames == ["register", "cities"]
    assert [c.value for c in workbook["register"][1]] == list(REGISTER_COLUMNS)
    assert [c.value for c in workbook["cities"][1]] == ["city", "country", "code", "aliases"]
    lists = {str(v.sqref): v.formula1 for v in workbook["register"].data_validations.dataValidation}
    assert lists["F2:F5000"] == '"' + ",".join(DEFAULT_VOCABULARIES["categories"]) + '"'
    assert lists["H2:H5000"] == '"' + ",".join(DEFAULT_VOCABULARIES["outcomes"]) + '"'
    assert workbook.properties.creator == "cityqda"
    assert workbook.properties.created == dt.datetime(2000, 1, 1)
    assert workbook.properties.modified == dt.datetime(2000, 1, 1)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert validate_register(tmp_path / "a.xlsx") == []


def test_register_write_register_round_trips(tmp_path):
    rows = [dict(round=1, city="Málaga", country="Spain", category="civil_society",
                 outcome="interviewed", transcript_file="MAL-CS-01.docx",
                 contact_date=dt.date(2013, 6, 1), notes="=not a formula", mode="video"),
            dict(round=1, city="Malaga", category="business", outcome="no_reply")]
    cities = [dict(city="Málaga", country="Spain", code="MAL", aliases=["Malaga"])]
    write_register(tmp_path / "a.xlsx", rows, cities)
    write_register(tmp_path / "b.xlsx", rows, cities)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    register = load_register(tmp_path / "a.xlsx")
    assert register.rows[0].notes == "=not a formula"
    assert register.rows[0].contact_date == "2013-06-01"
    assert register.rows[1].city == "Málaga"
    assert register.city_code("malaga") == "MAL"


def test_register_schema_describes_the_sample_register():
    """The columns the check reads come from the JSON Schema, and every row of the sample
    study's register, as read (cells as text, ISO dates), is valid against it."""
    import jsonschema
    from sample_copy import REPO_ROOT

    jsonschema.Draft202012Validator.check_schema(REGISTER_SCHEMA)
    rows = jsonschema.Draft202012Validator(
        REGISTER_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    cities = jsonschema.Draft202012Validator(REGISTER_SCHEMA["$defs"]["city"])
    register = load_register(REPO_ROOT / "register.xlsx")
    assert len(register.rows) == 42 and register.cities
    for row in register.rows:
        values = {column: getattr(row, column) for column in REGISTER_COLUMNS}
        assert list(rows.iter_errors({k: v for k, v in values.items() if v is not None})) == []
    for city in register.cities:
        values = {"city": city.name, "country": city.country or "", "code": city.code or "",
                  "aliases": "; ".join(city.aliases)}
        assert list(values) == list(CITY_COLUMNS)
        assert list(cities.iter_errors(values)) == []
    broken = {"round": "1", "city": "Lisbon", "category": "", "contact_date": "May"}
    assert sorted(e.validator for e in rows.iter_errors(broken)) == [
        "format", "minLength", "required"]  # "May" is no date; category empty; no outcome


def test_register_bare_name_of_a_file_another_row_names_by_path_is_a_repeat(tmp_path):
    """Only 2024/LIS-PM-01.docx exists and row 3 names it by path: row 2's bare
    'LIS-PM-01.docx' is the same file listed twice (CQ928 naming row 3); it was CQ955,
    'not in the transcripts folder', for a file that is there."""
    folder = tmp_path / "transcripts"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "LIS-PM-01.docx").write_bytes(b"")
    rows = [[1, "Lisbon", "Portugal", "CM", "policy maker", None, "interviewed", name, None,
             None] for name in ("LIS-PM-01", "2024/LIS-PM-01.docx")]
    problems = validate_register(make_xlsx(tmp_path / "r.xlsx", rows=rows),
                                 DEFAULT_VOCABULARIES, transcripts_dir=folder)
    repeat = one(problems, "CQ928")
    assert (repeat.row, repeat.column, repeat.fields["other_row"]) == (2, "transcript_file", 3)
    assert "CQ955" not in codes(problems)
