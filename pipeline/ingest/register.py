"""The contact register: one row per stakeholder contacted, and the cities sheet.

The register is where response rates (contacted, replied, declined, interviewed) come
from, and it fills in metadata a transcript leaves out. Teams keep it in Excel, so it is
read forgivingly (header case, sheet order, category and outcome wordings, date cells or
text) but every value that cannot be understood is reported with sheet, row and column,
all at once, so one pass fixes the file. The columns (order, required ones, dates, the
header wordings accepted) are described in pipeline/schemas/register.schema.json; the
values that depend on the study (categories, outcomes, modes, cities) are checked here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path, PurePath

from pipeline.errors import CityQDAError, Problem
from pipeline.study import DEFAULT_VOCABULARIES
from pipeline.vocabulary import canonical, normalise_label
from pipeline.xlsx_determinism import column_letter

REGISTER_SHEET = "register"
CITIES_SHEET = "cities"


def _register_schema() -> dict:
    """pipeline/schemas/register.schema.json: the columns, which are required or dates, and
    the header wordings accepted, kept where teams and tools can read them."""
    return json.loads(resources.files("pipeline.schemas").joinpath("register.schema.json")
                      .read_text(encoding="utf-8"))


REGISTER_SCHEMA = _register_schema()
REGISTER_COLUMNS = tuple(REGISTER_SCHEMA["properties"])  # a new register's column order
REQUIRED_COLUMNS = tuple(REGISTER_SCHEMA["required"])
DATE_COLUMNS = tuple(name for name, column in REGISTER_SCHEMA["properties"].items()
                     if column.get("format") == "date")
CITY_COLUMNS = tuple(REGISTER_SCHEMA["$defs"]["city"]["properties"])
CITIES_CSV_NAME = "cities.csv"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)

# Header wordings accepted besides the exact column names (after case/space folding).
_HEADER_ALIASES = REGISTER_SCHEMA["x-header-aliases"]
# A formula with no saved value in these columns fails the register (CQ935); elsewhere it
# is a warning (CQ961): the columns that decide which interview a row is and how it counts.
_FORMULA_ERRORS = (*REQUIRED_COLUMNS, "transcript_file", "country", "pseudonym")


@dataclass(frozen=True)
class City:
    name: str
    country: str | None = None
    code: str | None = None
    aliases: tuple[str, ...] = ()
    row: int | None = None


@dataclass
class RegisterRow:
    """One contacted stakeholder. Dates are ISO text; ids are canonical."""

    row: int
    round: str
    city: str
    country: str | None = None
    organisation: str | None = None
    position: str | None = None
    category: str | None = None
    contact_date: str | None = None
    outcome: str | None = None
    transcript_file: str | None = None
    interview_date: str | None = None
    mode: str | None = None
    language: str | None = None
    interviewer: str | None = None
    pseudonym: str | None = None
    notes: str | None = None
    city_raw: str | None = None
    category_raw: str | None = None
    outcome_raw: str | None = None
    mode_raw: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in ("row", *REGISTER_COLUMNS, "city_raw",
                                                       "category_raw", "outcome_raw",
                                                       "mode_raw", "extra")}


def file_key(name: str) -> str:
    """How transcript file names are compared: base name, NFC, case-folded."""
    text = str(name).replace("\\", "/")
    plain = "/" not in text and ":" not in text and text != "."  # PurePath is slow
    base = text if plain else PurePath(text).name
    return unicodedata.normalize("NFC", base.strip()).casefold()


def path_key(text: str) -> str:
    """How a transcript_file written as a path inside the transcripts folder is compared:
    '/' separated, NFC, case-folded, without a leading './'."""
    key = unicodedata.normalize("NFC", str(text).strip().replace("\\", "/")).casefold()
    while key.startswith("./"):
        key = key[2:]
    return key.strip("/")


def names_a_path(transcript_file: str) -> bool:
    """A transcript_file naming a sub-folder too ('2024/LIS-PM-01.docx') picks that file
    among transcripts sharing its name; a bare name matches the file anywhere."""
    return "/" in path_key(transcript_file)


def _fold(text: str) -> str:
    return normalise_label(text)


def _ascii_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


@dataclass
class Register:
    path: Path | None
    rows: list[RegisterRow]
    cities: list[City]
    warnings: list[Problem] = field(default_factory=list)

    def __post_init__(self):
        self._by_name: dict[str, City] | None = None
        self._city_lookup: dict[str, str] = {}
        for city in self.cities:
            for name in (city.name, *city.aliases):
                self._city_lookup.setdefault(_fold(name), city.name)
        if not self.cities:
            # no cities sheet: spellings that fold together are one city, written the way
            # most rows write it (ties: first seen)
            counts: dict[str, dict[str, int]] = {}
            for row in self.rows:
                spelling = row.city_raw or row.city
                if spelling:
                    bucket = counts.setdefault(_fold(spelling), {})
                    bucket[spelling] = bucket.get(spelling, 0) + 1
            for key, spellings in counts.items():
                self._city_lookup[key] = max(spellings, key=lambda s: spellings[s])
        self._files: dict[str, RegisterRow] = {}  # bare names
        self._paths: dict[str, RegisterRow] = {}  # transcript_file written with a folder
        for row in self.rows:
            if row.transcript_file and names_a_path(row.transcript_file):
                self._paths.setdefault(path_key(row.transcript_file), row)
            elif row.transcript_file:
                self._files.setdefault(file_key(row.transcript_file), row)
        self._shared: frozenset[str] = frozenset()

    def note_transcripts(self, paths) -> None:
        """Tell the register which transcripts exist (paths inside the transcripts folder
        or the study folder): a bare transcript_file naming several of them that no row
        names by path matches none of them (the register check reports it, CQ936)."""
        counts: dict[str, int] = {}
        for path in paths:
            if self._path_row(str(path)) is None:
                key = file_key(str(path))
                counts[key] = counts.get(key, 0) + 1
        self._shared = frozenset(key for key, count in counts.items() if count > 1)

    def _path_row(self, path: str | None) -> RegisterRow | None:
        if not self._paths or not path:
            return None
        parts = path_key(path).split("/")
        for start in range(len(parts) - 1):  # a path row names at least one folder
            tail = "/".join(parts[start:])
            found = self._paths.get(tail) or self._paths.get(str(PurePath(tail).with_suffix("")))
            if found is not None:
                return found
        return None

    def canonical_city(self, name: str) -> str | None:
        """The city's canonical name (cities sheet names and aliases, accents and case
        ignored), or None when the register does not know it."""
        if not name:
            return None
        return self._city_lookup.get(_fold(name))

    def city(self, name: str) -> City | None:
        if self._by_name is None:  # built on first use: a report asks once per interview
            self._by_name = {}
            for city in self.cities:
                self._by_name.setdefault(city.name, city)
        return self._by_name.get(self.canonical_city(name))

    def city_code(self, city: str) -> str:
        """Three-letter code from the cities sheet, else the name's first three letters."""
        known = self.city(city)
        if known is not None and known.code:
            return known.code
        letters = _ascii_letters(self.canonical_city(city) or city)
        return letters[:3].upper()

    def row_for_file(self, file_name: str, path: str | None = None) -> RegisterRow | None:
        """The row whose transcript_file names this file (NFC, case-insensitive; a
        register entry written without extension matches too): first a row naming its
        `path` (inside the transcripts or the study folder), then one naming its file name,
        unless that name is shared by several transcripts (`note_transcripts`)."""
        found = self._path_row(path)
        if found is not None:
            return found
        if not file_name:
            return None
        key = file_key(file_name)
        if key in self._shared or file_key(PurePath(key).stem + ".docx") in self._shared:
            return None
        found = self._files.get(key)
        if found is None:
            found = self._files.get(file_key(PurePath(key).stem))
        return found

    def rows_for_city(self, city: str) -> list[RegisterRow]:
        target = self.canonical_city(city) or city
        return [row for row in self.rows if row.city == target]


# --- reading tables ----------------------------------------------------------------------------

class _ReadFailure(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _read_xlsx(path: Path) -> dict[str, list[list]]:
    """Sheet name -> rows of cell values; `_MERGED[name]` keeps each sheet's merged ranges
    for `_Table` (see `_fill_merged`)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise _ReadFailure(Problem("CQ920", {"problem": f"cannot open the workbook ({exc})"},
                                   file=str(path))) from exc
    sheets = {}
    try:
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            sheets[name] = sheet.to_python(skip_empty_area=False)
            try:
                ranges = list(sheet.merged_cell_ranges or ())
            except Exception:  # noqa: BLE001 - merged ranges only improve the reading
                ranges = []
            if ranges:
                sheets[name] = _MergedRows(sheets[name], ranges)
    except Exception as exc:
        raise _ReadFailure(Problem("CQ920", {"problem": f"cannot read sheet ({exc})"},
                                   file=str(path))) from exc
    finally:
        workbook.close()
    return sheets


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _cell_position(ref: str) -> tuple[int, int] | None:
    """'C12' -> (12, 3): sheet row and column, both from 1."""
    found = re.fullmatch(r"([A-Z]{1,3})([0-9]+)", ref or "")
    if not found:
        return None
    column = 0
    for letter in found.group(1):
        column = column * 26 + ord(letter) - 64
    return int(found.group(2)), column


def _uncached_formulas(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Per sheet name, the cells holding a formula with no saved value, as (row, column)
    -> formula. A workbook written by a script (openpyxl, pandas) and never opened in a
    spreadsheet program has no values for its formulas: every reader sees them empty.
    A formula whose saved value is the empty text (t="str") is not one of them."""
    import zipfile
    from xml.etree import ElementTree

    found: dict[str, dict[tuple[int, int], str]] = {}
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            book = ElementTree.fromstring(package.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
            targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(
                f"{_PKG_REL_NS}Relationship")}
            for sheet in book.iter(f"{_SHEET_NS}sheet"):
                target = targets.get(sheet.get(f"{_REL_NS}id"), "")
                part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if part not in names:
                    continue
                with package.open(part) as handle:
                    if b"<f" not in handle.read():  # most registers: no formula at all
                        continue
                cells: dict[tuple[int, int], str] = {}
                with package.open(part) as handle:
                    for _event, element in ElementTree.iterparse(handle):
                        if element.tag != f"{_SHEET_NS}c":
                            continue
                        formula = element.find(f"{_SHEET_NS}f")
                        if formula is not None:
                            value = element.find(f"{_SHEET_NS}v")
                            empty = value is None or not (value.text or "")
                            if empty and element.get("t") not in ("str", "inlineStr"):
                                position = _cell_position(element.get("r", ""))
                                if position is not None:
                                    cells[position] = formula.text or "(shared formula)"
                        element.clear()
                if cells:
                    found[sheet.get("name", "")] = cells
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}  # calamine has read it already; its problems are reported there
    return found


def _formula_problems(table: _Table, cells: dict[tuple[int, int], str],
                      errors: tuple[str, ...]) -> list[Problem]:
    """CQ935 (a column in `errors`) or CQ961 for each formula cell with no saved value."""
    names = {index + 1: name for name, index in table.columns.items()}
    problems = []
    for (row, column), formula in sorted(cells.items()):
        if row < table.header_row:
            continue
        name = names.get(column)
        if row == table.header_row:
            name, code = "header", "CQ935"
        else:
            code = "CQ935" if name in errors else "CQ961"
        problems.append(Problem(code, {
            "cell": f"{column_letter(column)}{row}", "formula": formula,
            "name": name or f"column {column_letter(column)}"},
            file=table.file, sheet=table.sheet, row=row, column=name))
    return problems


def _read_csv(path: Path) -> list[list]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _ReadFailure(Problem("CQ920", {
            "problem": f"not UTF-8 text (byte {exc.start}); in Excel use Save As "
                       "'CSV UTF-8 (Comma delimited)'"}, file=str(path))) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    stated = re.fullmatch(r"\s*sep=([^\r\n])\s*", first_line)
    if stated:  # Excel's 'sep=;' line names the delimiter; Excel hides it, so do we
        delimiter = stated.group(1)
        text = text.split("\n", 1)[1] if "\n" in text else ""
    elif first_line.strip():
        try:
            delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise _ReadFailure(Problem("CQ920", {"problem": f"malformed CSV ({exc})"},
                                   file=str(path))) from exc


def _cell_text(value) -> str:
    """A cell as trimmed text; integral numbers lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _header_name(value) -> str:
    key = normalise_label(_cell_text(value)).replace(" ", "_")
    return _HEADER_ALIASES.get(key, key)


class _MergedRows(list):
    """A sheet's rows that also carry its merged ranges (((row, col), (row, col)), from 0)."""

    def __init__(self, rows: list[list], ranges: list):
        super().__init__(rows)
        self.ranges = ranges


def _fill_merged(rows: list[list], header_at: int, table) -> list[Problem]:
    """A merged block below the header, spanning rows (a city written once for several
    contacts), reads as its value on each of its rows, as the person sees it; a CQ962
    warning names it. Merges within one row (a banner) and over the header stay as read."""
    problems = []
    for (top, left), (bottom, right) in getattr(rows, "ranges", ()):
        if bottom <= top or top <= header_at or top >= len(rows):
            continue
        value = rows[top][left] if left < len(rows[top]) else None
        if not _cell_text(value):
            continue
        for number in range(top + 1, min(bottom, len(rows) - 1) + 1):
            row = rows[number]
            row.extend([""] * (right + 1 - len(row)))
            for column in range(left, right + 1):
                row[column] = value
        problems.append(Problem("CQ962", {
            "cells": f"{table.letter(left)}{top + 1}:{table.letter(right)}{bottom + 1}",
            "value": _cell_text(value)}, file=table.file, sheet=table.sheet, row=top + 1))
    return problems


class _Table:
    """A sheet as header -> column index, with data rows and their sheet row numbers."""

    def __init__(self, rows: list[list], file: str, sheet: str | None, problems: list[Problem],
                 is_csv: bool):
        self.file, self.sheet, self.is_csv = file, sheet, is_csv
        self.columns: dict[str, int] = {}
        self.headers: list[str] = []
        self.header_text: dict[str, str] = {}  # column name -> its header as written
        self.records: list[tuple[int, list]] = []
        self.header_row = 1
        header_at = next((i for i, row in enumerate(rows)
                          if any(_cell_text(v) for v in row)), None)
        if header_at is None:
            return
        header_at = self._past_titles(rows, header_at, problems)
        self.header_row = header_at + 1
        problems.extend(_fill_merged(rows, header_at, self))
        for index, value in enumerate(rows[header_at]):
            name = _header_name(value)
            if not name:
                continue
            self.headers.append(_cell_text(value))
            if name in self.columns:
                problems.append(Problem("CQ933", {
                    "value": _cell_text(value), "first": self.letter(self.columns[name]),
                    "second": self.letter(index)}, file=file, sheet=sheet,
                    row=header_at + 1))
                continue
            self.columns[name] = index
            self.header_text[name] = _cell_text(value)
        for offset, row in enumerate(rows[header_at + 1:], start=header_at + 2):
            if any(_cell_text(v) for v in row):
                self.records.append((offset, row))

    def _past_titles(self, rows: list[list], first: int, problems: list[Problem]) -> int:
        """The header row's index: rows that hold one text only (a title such as
        'Stakeholder register 2024', often merged across the columns) before a row of
        several cells are titles, named by a CQ963 warning; at most three are skipped."""
        def filled(index: int) -> list[str]:
            return [_cell_text(v) for v in rows[index] if _cell_text(v)]

        titles = []
        for at in range(first, len(rows)):
            cells = filled(at)
            if len(cells) > 1:
                break
            if cells:
                titles.append((at, cells[0]))
        else:
            return first
        if not titles or len(titles) > 3:
            return first
        problems.append(Problem("CQ963", {
            "rows": ", ".join(str(index + 1) for index, _title in titles),
            "title": titles[0][1], "header": at + 1},
            file=self.file, sheet=self.sheet, row=titles[0][0] + 1))
        return at

    def letter(self, index: int) -> str:
        return str(index + 1) if self.is_csv else column_letter(index + 1)

    def where(self, column: str) -> str:
        """The column's header name and letter, e.g. 'category (F)'."""
        if column in self.columns:
            return f"{column} ({self.letter(self.columns[column])})"
        return column

    def value(self, row: list, column: str):
        index = self.columns.get(column)
        if index is None or index >= len(row):
            return None
        return row[index]


def _find_sheet(sheets: dict[str, list], wanted: str) -> str | None:
    for name in sheets:
        if name.strip().casefold() == wanted:
            return name
    return None


# --- values --------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_TEXT_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d %B, %Y", "%B %d, %Y",
                 "%b %d, %Y", "%d-%b-%Y", "%d-%B-%Y", "%d %b. %Y")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value) -> tuple[str | None, bool]:
    """(ISO date or None when blank, guessed_day_first). Raises ValueError when not a date.

    Date cells and ISO text are exact; "14/06/2013" is unambiguous; "03/04/2013" is read
    day first (as most of the study's countries write it) and flagged for a warning.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    if isinstance(value, dt.datetime):
        return value.date().isoformat(), False
    if isinstance(value, dt.date):
        return value.isoformat(), False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # an Excel serial number in a cell without date format
            return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat(), False
        raise ValueError(value)
    text = " ".join(str(value).split())
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day).isoformat(), False
    match = _NUMERIC.match(text)
    if match:
        first, second, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year += 2000 if year < 70 else 1900
        if first > 12:
            return dt.date(year, second, first).isoformat(), False
        if second > 12:
            return dt.date(year, first, second).isoformat(), False
        return dt.date(year, second, first).isoformat(), first != second
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.I)
    for fmt in _TEXT_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date().isoformat(), False
        except ValueError:
            continue
    # what a transcript's Date: line accepts ('1st of May 2024', 'Sept 3, 2024'), a
    # register cell accepts too, so the two sources never disagree on the same writing
    from pipeline.ingest.metadata import parse_date as parse_line_date

    parsed = parse_line_date(text)
    if parsed.iso is not None and len(parsed.iso) == 10:
        return parsed.iso, False
    raise ValueError(text)


# --- loading ------------------------------------------------------------------------------------

def _read_cities(table: _Table, problems: list[Problem]) -> list[City]:
    file, sheet = table.file, table.sheet
    if "city" not in table.columns:
        if table.records or table.headers:
            problems.append(Problem("CQ922", {
                "expected": "city", "found": ", ".join(table.headers) or "(nothing)"},
                file=file, sheet=sheet, row=table.header_row, column="city"))
        return []
    cities: list[City] = []
    names: dict[str, tuple[str, int]] = {}
    codes: dict[str, tuple[str, int]] = {}
    for number, record in table.records:
        name = _cell_text(table.value(record, "city"))
        if not name:
            problems.append(Problem("CQ923", {"name": table.where("city")},
                                    file=file, sheet=sheet, row=number, column="city"))
            continue
        aliases = tuple(a.strip() for a in re.split(r"[;\n]", _cell_text(
            table.value(record, "aliases"))) if a.strip())
        code = _cell_text(table.value(record, "code")).upper() or None
        if code is not None and not re.fullmatch(r"[A-Z]{3}", code):
            problems.append(Problem("CQ930", {"value": code}, file=file, sheet=sheet,
                                    row=number, column="code"))
            code = None
        for position, spelling in enumerate((name, *aliases)):
            key = _fold(spelling)
            if key not in names:
                names[key] = (name, number)
            elif names[key][1] != number:  # restating the own name as an alias is harmless
                problems.append(Problem("CQ931", {"value": spelling, "other_row": names[key][1]},
                                        file=file, sheet=sheet, row=number,
                                        column="city" if position == 0 else "aliases"))
        if code is not None:
            if code in codes:
                problems.append(Problem("CQ932", {"value": code, "other": codes[code][0],
                                                  "other_row": codes[code][1]},
                                        file=file, sheet=sheet, row=number, column="code"))
            else:
                codes[code] = (name, number)
        country = _cell_text(table.value(record, "country")) or None
        cities.append(City(name, country, code, aliases, number))
    return cities


def _read_rows(table: _Table, vocabularies: dict, cities: list[City],
               problems: list[Problem]) -> list[RegisterRow]:
    file, sheet = table.file, table.sheet
    city_names: dict[str, City] = {}
    for city in cities:
        for spelling in (city.name, *city.aliases):
            city_names.setdefault(_fold(spelling), city)
    known_categories = ", ".join(vocabularies["categories"])
    known_outcomes = ", ".join(vocabularies["outcomes"])
    known_modes = ", ".join(vocabularies["modes"])
    seen_files: dict[str, int] = {}
    rows: list[RegisterRow] = []

    for number, record in table.records:
        def problem(code, at, number=number, **fields):
            problems.append(Problem(code, fields, file=file, sheet=sheet, row=number,
                                    column=at))

        text = {column: _cell_text(table.value(record, column)) for column in REGISTER_COLUMNS}
        for column in REQUIRED_COLUMNS:
            if not text[column]:
                problem("CQ923", column, name=table.where(column))

        category = None
        if text["category"]:
            category = canonical("categories", text["category"], vocabularies)
            if category is None:
                problem("CQ924", "category", value=text["category"], known=known_categories)
        outcome = None
        if text["outcome"]:
            outcome = canonical("outcomes", text["outcome"], vocabularies)
            if outcome is None:
                problem("CQ925", "outcome", value=text["outcome"], known=known_outcomes)

        transcript = unicodedata.normalize("NFC", text["transcript_file"]) or None
        if outcome == "interviewed" and not transcript:
            problem("CQ926", "transcript_file")
        if transcript and outcome is not None and outcome != "interviewed":
            problems.append(Problem("CQ954", {"value": transcript, "outcome": outcome},
                                    file=file, sheet=sheet, row=number,
                                    column="transcript_file"))
        if transcript:
            key = path_key(transcript) if names_a_path(transcript) else file_key(transcript)
            if key in seen_files:
                problem("CQ928", "transcript_file", value=transcript,
                        other_row=seen_files[key])
            else:
                seen_files[key] = number

        dates = {}
        for column in DATE_COLUMNS:
            raw = table.value(record, column)
            try:
                iso, guessed = parse_date(raw)
            except (ValueError, OverflowError):
                problem("CQ927", column, value=_cell_text(raw))
                iso, guessed = None, False
            if guessed:
                problems.append(Problem("CQ952", {"value": _cell_text(raw), "iso": iso},
                                        file=file, sheet=sheet, row=number, column=column))
            dates[column] = iso

        mode = None
        if text["mode"]:
            mode = canonical("modes", text["mode"], vocabularies)
            if mode is None:
                problems.append(Problem("CQ953", {"value": text["mode"], "known": known_modes},
                                        file=file, sheet=sheet, row=number, column="mode"))

        city_name = text["city"]
        if city_name and cities:
            known = city_names.get(_fold(city_name))
            if known is None:
                problem("CQ929", "city", value=city_name)
            else:
                city_name = known.name
                if (text["country"] and known.country
                        and _fold(text["country"]) != _fold(known.country)):
                    problems.append(Problem("CQ957", {"value": text["country"],
                                                      "expected": known.country},
                                            file=file, sheet=sheet, row=number,
                                            column="country"))
        country = text["country"] or None
        if not country and cities:
            known = city_names.get(_fold(city_name))
            country = known.country if known else None

        extra = {}
        for name, index in table.columns.items():
            if name not in REGISTER_COLUMNS and index < len(record):
                value = _cell_text(record[index])
                if value:
                    extra[name] = value

        rows.append(RegisterRow(
            row=number, round=text["round"], city=city_name, country=country,
            organisation=text["organisation"] or None, position=text["position"] or None,
            category=category, contact_date=dates["contact_date"], outcome=outcome,
            transcript_file=transcript, interview_date=dates["interview_date"], mode=mode,
            language=text["language"] or None, interviewer=text["interviewer"] or None,
            pseudonym=text["pseudonym"] or None, notes=text["notes"] or None,
            city_raw=text["city"] or None, category_raw=text["category"] or None,
            outcome_raw=text["outcome"] or None, mode_raw=text["mode"] or None, extra=extra))
    return rows


def _docx_files(folder: Path) -> list[Path]:
    """The DOCX files under `folder`, sorted; "X.DOCX" too, as ingest reads it."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".docx" and p.is_file())


_ROUND_PARTS = re.compile(r"\d+|[^\W\d_]+")
_ROUND_WORDS = frozenset({"round", "rd", "r", "wave"})


def transcript_paths(folder: Path) -> list[str]:
    """The transcripts (DOCX files, Office lock files left out) under `folder`, as POSIX
    paths relative to it: what `Register.note_transcripts` needs."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [p.relative_to(folder).as_posix() for p in _docx_files(folder)
            if not p.name.startswith(("~$", "."))]


def _round_key(written: str) -> tuple:
    """What is left of a round once wording, case and leading zeros are dropped:
    "Round 1", "01" and "1" give (1,); "2024-a" gives (2024, "a")."""
    parts = _ROUND_PARTS.findall(written.casefold())
    return tuple(int(p) if p.isdigit() else p for p in parts if p not in _ROUND_WORDS)


def _round_spelling_problems(rows: list[RegisterRow], file: str, sheet: str | None
                             ) -> list[Problem]:
    """Rounds are compared as written ("2" is not "Round 2" nor "02"): one warning per
    extra spelling of a round, at its first row."""
    first: dict[str, RegisterRow] = {}
    for row in rows:
        first.setdefault(row.round, row)
    by_key: dict[tuple, RegisterRow] = {}
    problems = []
    for written, row in first.items():
        key = _round_key(written)
        if not key:
            continue
        other = by_key.setdefault(key, row)
        if other is not row:
            problems.append(Problem("CQ959", {
                "value": written, "other": other.round, "other_row": other.row},
                file=file, sheet=sheet, row=row.row, column="round"))
    return problems


def _transcript_problems(rows: list[RegisterRow], folder: Path, file: str,
                         sheet: str | None) -> list[Problem]:
    """Rows against the transcripts folder: a row naming no file (CQ955), a bare file name
    naming only a file another row names by path (CQ928), a bare file name naming several
    files no row names by path (CQ936), a file no row names (CQ956)."""
    register = Register(path=None, rows=rows, cities=[])
    found = [path.relative_to(folder) for path in _docx_files(folder)
             if not path.name.startswith(("~$", "."))]
    claimed = {}  # path-row number -> the files it names
    unclaimed: dict[str, list[PurePath]] = {}
    for relative in found:
        # a row may name the file inside the transcripts folder ('2024/X.docx') or from the
        # study folder ('transcripts/X.docx'), as ingest matches it
        row = register._path_row(relative.as_posix()) or register._path_row(
            (folder / relative).absolute().as_posix())
        if row is not None:
            claimed.setdefault(row.row, []).append(relative)
        else:
            unclaimed.setdefault(file_key(relative.name), []).append(relative)
    problems = []
    listed: set[str] = set()

    def not_found(row: RegisterRow) -> None:
        problems.append(Problem("CQ955", {"value": row.transcript_file, "folder": str(folder)},
                                file=file, sheet=sheet, row=row.row, column="transcript_file"))

    for row in rows:
        if not row.transcript_file:
            continue
        if names_a_path(row.transcript_file):
            if row.row not in claimed:
                not_found(row)
            continue
        key = file_key(row.transcript_file)
        if key not in unclaimed:
            key = file_key(row.transcript_file + ".docx")
        if key not in unclaimed:
            owner = next((number for number, files in sorted(claimed.items())
                          if any(file_key(f.name) in (file_key(row.transcript_file), key)
                                 for f in files)), None)
            if owner is None:
                not_found(row)
            else:  # the file is there, named by path on another row: one row too many
                problems.append(Problem("CQ928", {"value": row.transcript_file,
                                                  "other_row": owner},
                                        file=file, sheet=sheet, row=row.row,
                                        column="transcript_file"))
            continue
        listed.add(key)
        if len(unclaimed[key]) > 1:
            paths = sorted(p.as_posix() for p in unclaimed[key])
            problems.append(Problem("CQ936", {"value": row.transcript_file,
                                              "count": len(paths),
                                              "paths": ", ".join(paths),
                                              "example": paths[-1]},
                                    file=file, sheet=sheet, row=row.row,
                                    column="transcript_file"))
    for key, paths in sorted(unclaimed.items()):
        if key not in listed:
            for relative in sorted(paths, key=lambda p: p.as_posix()):
                problems.append(Problem("CQ956", {"value": relative.as_posix()}, file=file))
    return problems


def read_register(path: Path, vocabularies: dict | None = None,
                  transcripts_dir: Path | None = None, cache_dir: Path | None = None
                  ) -> tuple[Register | None, list[Problem]]:
    """The register (None when unreadable or missing) and every problem found.

    With `cache_dir` (the study's cache folder) the result is kept there and reused
    while the files, vocabularies, transcript names and code are the same
    (pipeline.ingest.check_memo): `cityqda run` reads the same register every run."""
    path = Path(path)
    vocabularies = vocabularies or DEFAULT_VOCABULARIES
    if cache_dir is None:
        return _read_register(path, vocabularies, transcripts_dir)
    from pipeline.ingest import check_memo

    try:
        key = check_memo.memo_key("register", _register_files(path), vocabularies,
                                  extra=[str(path), _transcript_names(transcripts_dir)])
    except OSError:
        return _read_register(path, vocabularies, transcripts_dir)

    def keep(result):
        register, problems = result
        return {"register": _plain_register(register),
                "problems": check_memo.plain_problems(problems)}

    def restore(found):
        register = _register_of(path, found["register"])
        problems = check_memo.problems_of(found["problems"])
        if register is not None:
            register.warnings = [p for p in problems if p.spec.level == "warning"]
        return register, problems

    return check_memo.memoised(cache_dir, "register", key,
                               lambda: _read_register(path, vocabularies, transcripts_dir),
                               keep, restore)


def _register_files(path: Path) -> list[tuple[str, bytes | None]]:
    """The files a register check reads: the register, and a CSV's cities file."""
    paths = [path]
    if path.suffix.lower() in CSV_SUFFIXES:
        paths.append(path.with_name(CITIES_CSV_NAME))
    return [(str(p), p.read_bytes() if p.is_file() else None) for p in paths]


def _transcript_names(transcripts_dir: Path | None) -> list[str] | None:
    if transcripts_dir is None or not Path(transcripts_dir).is_dir():
        return None
    return [str(p) for p in _docx_files(Path(transcripts_dir))]


def _plain_register(register: Register | None) -> dict | None:
    if register is None:
        return None
    return {"rows": [[getattr(row, name) for name in _ROW_FIELDS] for row in register.rows],
            "cities": [[c.name, c.country, c.code, list(c.aliases), c.row]
                       for c in register.cities]}


_ROW_FIELDS = tuple(f.name for f in fields(RegisterRow))


def _register_of(path: Path, data: dict | None) -> Register | None:
    """A register back from `_plain_register`, its warnings from the kept problems."""
    if data is None:
        return None
    rows = [RegisterRow(*row) for row in data["rows"]]
    cities = [City(name, country, code, tuple(aliases), row)
              for name, country, code, aliases, row in data["cities"]]
    return Register(path=path, rows=rows, cities=cities)


def _read_register(path: Path, vocabularies: dict, transcripts_dir: Path | None
                   ) -> tuple[Register | None, list[Problem]]:
    file = str(path)
    if not path.exists():
        return None, [Problem("CQ951", {"path": file}, file=file)]
    suffix = path.suffix.lower()
    problems: list[Problem] = []
    try:
        if suffix in XLSX_SUFFIXES:
            sheets = _read_xlsx(path)
            register_name = _find_sheet(sheets, REGISTER_SHEET)
            if register_name is None:
                if len(sheets) == 1:
                    register_name = next(iter(sheets))
                else:
                    return None, [Problem("CQ921", {
                        "expected": REGISTER_SHEET,
                        "found": ", ".join(sheets) or "(no sheets)"}, file=file)]
            register_table = _Table(sheets[register_name], file, register_name, problems,
                                    is_csv=False)
            cities_name = _find_sheet(sheets, CITIES_SHEET)
            cities_table = (_Table(sheets[cities_name], file, cities_name, problems,
                                   is_csv=False) if cities_name else None)
            if cities_name is None:
                problems.append(Problem("CQ960", {
                    "what": f"no sheet named '{CITIES_SHEET}' (the workbook has: "
                            f"{', '.join(sheets)})"}, file=file))
            formulas = _uncached_formulas(path)
            if formulas:
                problems.extend(_formula_problems(
                    register_table, formulas.get(register_name, {}), _FORMULA_ERRORS))
                if cities_table is not None:
                    problems.extend(_formula_problems(
                        cities_table, formulas.get(cities_name, {}), CITY_COLUMNS))
        elif suffix in CSV_SUFFIXES:
            register_table = _Table(_read_csv(path), file, None, problems, is_csv=True)
            cities_path = path.with_name(CITIES_CSV_NAME)
            cities_table = None
            if cities_path.is_file() and cities_path != path:
                cities_table = _Table(_read_csv(cities_path), str(cities_path), None,
                                      problems, is_csv=True)
            elif cities_path != path:
                problems.append(Problem("CQ960", {
                    "what": f"no {CITIES_CSV_NAME} beside the register"}, file=file))
        else:
            return None, [Problem("CQ934", {"path": file}, file=file)]
    except _ReadFailure as failure:
        return None, [failure.problem]
    except OSError as exc:
        return None, [Problem("CQ920", {"problem": f"cannot read the file ({exc.strerror})"},
                              file=file)]

    for table, known in ((register_table, REGISTER_COLUMNS), (cities_table, CITY_COLUMNS)):
        if table is None:
            continue
        for name, index in sorted(table.columns.items(), key=lambda item: item[1]):
            if name not in known:
                problems.append(Problem("CQ964", {
                    "value": table.header_text[name],
                    "letter": table.letter(index), "known": ", ".join(known)},
                    file=table.file, sheet=table.sheet, row=table.header_row, column=name))
    missing = [c for c in REQUIRED_COLUMNS if c not in register_table.columns]
    for column in missing:
        problems.append(Problem("CQ922", {
            "expected": column, "found": ", ".join(register_table.headers) or "(nothing)"},
            file=file, sheet=register_table.sheet, row=register_table.header_row,
            column=column))
    if any(p.code == "CQ933" for p in problems) or missing:
        return None, problems

    cities = _read_cities(cities_table, problems) if cities_table is not None else []
    if cities_table is not None and not cities and register_table.records:
        problems.append(Problem("CQ960", {"what": "the cities list is empty"},
                                file=cities_table.file, sheet=cities_table.sheet))
    rows = _read_rows(register_table, vocabularies, cities, problems)
    problems.extend(_round_spelling_problems(rows, file, register_table.sheet))
    register = Register(path=path, rows=rows, cities=cities)
    if transcripts_dir is not None and Path(transcripts_dir).is_dir():
        problems.extend(_transcript_problems(rows, Path(transcripts_dir), file,
                                             register_table.sheet))
    register.warnings = [p for p in problems if p.spec.level == "warning"]
    return register, problems


def validate_register(path: Path, vocabularies: dict | None = None,
                      transcripts_dir: Path | None = None) -> list[Problem]:
    """Every problem of the register, errors and warnings; a missing file is a warning.

    With `transcripts_dir`, also warns about listed transcripts that are not there and
    transcripts there that the register does not list.
    """
    return read_register(Path(path), vocabularies, transcripts_dir)[1]


def load_register(path: Path, vocabularies: dict | None = None,
                  transcripts_dir: Path | None = None) -> Register:
    """The register; raises CityQDAError listing every error. A missing file gives an
    empty register carrying the CQ951 warning."""
    path = Path(path)
    register, problems = read_register(path, vocabularies, transcripts_dir)
    errors = [p for p in problems if p.spec.level == "error"]
    if errors:
        raise CityQDAError.from_problems(errors)
    if register is None:
        return Register(path=path, rows=[], cities=[], warnings=problems)
    return register


# --- writing ------------------------------------------------------------------------------------

_WIDTHS = {"round": 8, "city": 16, "country": 14, "organisation": 34, "position": 24,
           "category": 26, "contact_date": 13, "outcome": 24, "transcript_file": 22,
           "interview_date": 14, "mode": 14, "language": 12, "interviewer": 16,
           "pseudonym": 14, "notes": 40, "code": 8, "aliases": 30}
def _put(sheet, row: int, column: int, value) -> None:
    """Write a value; text stays text even when it starts with '=' (never a formula)."""
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"
    if isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def _new_workbook(vocabularies: dict | None):
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    vocabularies = vocabularies or DEFAULT_VOCABULARIES
    workbook = Workbook()
    register = workbook.active
    register.title = REGISTER_SHEET
    cities = workbook.create_sheet(CITIES_SHEET)
    bold = Font(bold=True)
    for sheet, columns in ((register, REGISTER_COLUMNS), (cities, CITY_COLUMNS)):
        sheet.append(list(columns))
        for index, name in enumerate(columns):
            sheet.cell(row=1, column=index + 1).font = bold
            sheet.column_dimensions[column_letter(index + 1)].width = _WIDTHS.get(name, 14)
        sheet.freeze_panes = "A2"
    for column, vocabulary in (("category", "categories"), ("outcome", "outcomes"),
                               ("mode", "modes")):
        letter = column_letter(REGISTER_COLUMNS.index(column) + 1)
        values = ",".join(vocabularies[vocabulary])
        validation = DataValidation(
            type="list", formula1=f'"{values}"', allow_blank=True, errorStyle="warning",
            showErrorMessage=True, errorTitle=f"Unusual {column}",
            error=f"Usually one of: {values}. Common wordings are understood too.")
        validation.add(f"{letter}2:{letter}5000")
        register.add_data_validation(validation)
    properties = workbook.properties
    properties.creator = "cityqda"
    properties.lastModifiedBy = "cityqda"
    properties.title = "cityqda contact register"
    properties.created = dt.datetime(2000, 1, 1)
    properties.modified = dt.datetime(2000, 1, 1)
    return workbook


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _save_deterministic(workbook, path: Path) -> None:
    from pipeline.xlsx_determinism import normalise_ooxml_zip

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".cityqda-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        workbook.save(temp_name)
        normalise_ooxml_zip(temp_name)
        os.chmod(temp_name, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def write_register_template(path: Path, vocabularies: dict | None = None) -> None:
    """An empty register (both sheets, header rows, dropdowns), byte-identical every time."""
    _save_deterministic(_new_workbook(vocabularies), Path(path))


def write_register(path: Path, rows: list[dict], cities: list[dict] | None = None,
                   vocabularies: dict | None = None) -> None:
    """A filled register in the template's layout, deterministic.

    `rows` hold register columns (missing ones stay blank; dates as `datetime.date` become
    date cells); `cities` hold city, country, code and aliases (a list or ';' text).
    """
    workbook = _new_workbook(vocabularies)
    register = workbook[REGISTER_SHEET]
    for row_number, record in enumerate(rows, start=2):
        for index, column in enumerate(REGISTER_COLUMNS, start=1):
            value = record.get(column)
            if value is None or value == "":
                continue
            if not isinstance(value, (dt.date, int)):
                value = str(value)
            _put(register, row_number, index, value)
    sheet = workbook[CITIES_SHEET]
    for row_number, city in enumerate(cities or [], start=2):
        aliases = city.get("aliases") or []
        if not isinstance(aliases, str):
            aliases = "; ".join(aliases)
        values = (city.get("city") or city.get("name"), city.get("country"), city.get("code"),
                  aliases)
        for index, value in enumerate(values, start=1):
            if value:
                _put(sheet, row_number, index, str(value))
    _save_deterministic(workbook, Path(path))
