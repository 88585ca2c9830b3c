"""Writing result tables as CSV and XLSX whose bytes depend only on their content.

Tables go to Excel users, so text is guarded: in CSV a cell Excel would run as a formula
(starting with = + - @, tab or carriage return) gets a leading apostrophe, and CSV carries
a UTF-8 byte order mark so Excel shows accents; in XLSX text is always a string cell,
never a formula, and characters XML cannot hold are replaced visibly. Files are written
beside their target and renamed, so a failure never leaves half a file; XLSX packages are
rewritten with fixed zip dates and document properties (DESIGN invariant 3).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pipeline.aggregate.tables import ResultTable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32767
TRUNCATED = " [... truncated by cityqda]"
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
FIXED_PROPERTIES_DATE = dt.datetime(2000, 1, 1)


def csv_cell(value):
    """A value as a CSV cell: blank for None, formula-looking text guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """Text Excel can hold: XML-forbidden characters shown as U+FFFD, long text cut."""
    text = _XML_FORBIDDEN.sub("\ufffd", value)
    if len(text) > XLSX_CELL_LIMIT:
        text = text[:XLSX_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text


def _all_rows(table: ResultTable) -> Iterable[list]:
    yield from table.rows
    if table.totals is not None:
        yield table.totals


def csv_bytes(table: ResultTable) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in _all_rows(table):
        # ints (0/1 flags: most cells of the wide dataset) need no guarding
        writer.writerow([v if type(v) is int else csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _replace_atomically(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".cityqda-", suffix=path.suffix,
                                         dir=path.parent)
    os.close(handle)
    try:
        write(Path(temp_name))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp_name, path.stat().st_mode & 0o7777 if path.exists()
                 else 0o666 & ~mask)
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def write_csv(table: ResultTable, path: str | Path) -> Path:
    """The table as CSV (header, rows in their order, totals row last), UTF-8 with BOM."""
    data = csv_bytes(table)
    _replace_atomically(Path(path), lambda temp: temp.write_bytes(data))
    return Path(path)


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique worksheet title (31 characters, no []:*?/\\)."""
    base = _SHEET_FORBIDDEN.sub("_", name)[:31] or "sheet"
    title, counter = base, 1
    while title.casefold() in taken:
        counter += 1
        suffix = f"_{counter}"
        title = base[:31 - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


def _column_width(table: ResultTable, index: int) -> float:
    longest = len(str(table.columns[index]))
    for row in table.rows[:200]:
        value = row[index]
        if value is not None:
            longest = max(longest, min(len(str(value)), 60))
    return float(min(max(longest + 2, 8), 62))


def _fill_sheet(workbook, table: ResultTable, title: str) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index in range(len(table.columns)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = _column_width(table,
                                                                                    index)
    bold = Font(bold=True)
    header = []
    for name in table.columns:
        cell = WriteOnlyCell(sheet, value=xlsx_text(str(name)))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    if streamed(table):
        return  # the rows are written straight into the sheet's XML (see _rows_xml)
    formats = [table.number_formats.get(name) for name in table.columns]
    last = len(table.rows)
    plain = not any(formats)
    for number, row in enumerate(_all_rows(table)):
        totals = number == last
        cells = []
        for value, number_format in zip(row, formats, strict=True):
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, str):
                value = xlsx_text(value)
            # A plain value is cheapest; a cell object only where it must differ: text
            # openpyxl would take for a formula, a number format, the bold totals row.
            if plain and not totals and not (isinstance(value, str)
                                             and value.startswith("=")):
                cells.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text such as "=..." stays text, never a formula
            elif number_format and value is not None:
                cell.number_format = number_format
            if totals:
                cell.font = bold
            cells.append(cell)
        sheet.append(cells)


def streamed(table: ResultTable) -> bool:
    """Plain tables (no totals row, no number formats: the datasets, the notes) have their
    rows written as sheet XML directly: openpyxl spends about 15 µs on every cell, which
    made a 1,000-interview wide dataset take a minute; the XML written is the same form
    openpyxl's write-only mode writes (inline strings, typed numbers)."""
    return table.totals is None and not any(table.number_formats.values())


_XML_ESCAPES = {"\r": "&#13;"}


def _rows_xml(table: ResultTable) -> str:
    """`<row>` elements for the table's rows, from Excel row 2 on."""
    from xml.sax.saxutils import escape

    from openpyxl.utils import get_column_letter

    width = len(table.columns)
    opens = [f'<c r="{get_column_letter(index + 1)}' for index in range(width)]
    rows = []
    for number, row in enumerate(table.rows, start=2):
        if len(row) != width:
            raise ValueError(f"row {number} of {table.name} has {len(row)} cells, "
                             f"not {width}")
        at = str(number)
        cells = []
        for index, value in enumerate(row):
            if value is None:
                continue
            kind = type(value)
            if kind is int:  # the common case (0/1 flags), without the checks below
                cells.append(f'{opens[index]}{at}" t="n"><v>{value}</v></c>')
                continue
            if kind is bool:
                value = int(value)
            if isinstance(value, (int, float)) and math.isfinite(value):
                cells.append(f'{opens[index]}{at}" t="n"><v>{value!r}</v></c>')
                continue
            text = xlsx_text(str(value))
            space = ' xml:space="preserve"' if text != text.strip() else ""
            if "&" in text or "<" in text or ">" in text or "\r" in text:
                text = escape(text, _XML_ESCAPES)
            cells.append(f'{opens[index]}{at}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        rows.append(f'<row r="{at}">{"".join(cells)}</row>')
    return "".join(rows)


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet title -> its part name, from the workbook and its relationships."""
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    targets = {}
    for element in re.findall(r"<Relationship\b[^>]*>", rels):
        rel_id = re.search(r'\bId="([^"]+)"', element)
        target = re.search(r'\bTarget="([^"]+)"', element)
        if rel_id and target:
            targets[rel_id.group(1)] = target.group(1).lstrip("/")
    found = {}
    for element in re.findall(r"<sheet\b[^>]*>", workbook):
        name = re.search(r'\bname="([^"]*)"', element)
        rel_id = re.search(r'\br:id="([^"]+)"', element)
        if name and rel_id and rel_id.group(1) in targets:
            from xml.sax.saxutils import unescape

            target = targets[rel_id.group(1)]
            found[unescape(name.group(1), {"&quot;": '"'})] = (
                target if target.startswith("xl/") else f"xl/{target}")
    return found


def _add_streamed_rows(path: Path, streamed_tables: dict[str, ResultTable]) -> None:
    """Put the streamed tables' rows into the saved package and fix its bytes."""
    import zipfile

    from pipeline.xlsx_determinism import write_ooxml_zip

    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()
                 if not info.is_dir()}
    names = _sheet_parts(parts)
    for title, table in streamed_tables.items():
        part = names[title]
        marker = b"</sheetData>"
        if parts[part].count(marker) != 1:
            raise ValueError(f"unexpected worksheet layout in {part}")
        head, tail = parts[part].split(marker)
        parts[part] = b"".join((head, _rows_xml(table).encode("utf-8"), marker, tail))
    write_ooxml_zip(path, parts)


def _notes_table(tables: list[ResultTable], titles: list[str]) -> ResultTable:
    rows = []
    for table, title in zip(tables, titles, strict=True):
        rows.append([title, table.title, None])
        for note in table.notes:
            rows.append([title, None, note])
    return ResultTable(name="notes", title="What each sheet holds",
                       columns=["sheet", "title", "note"], rows=rows, notes=[])


def write_xlsx(tables: list[ResultTable], path: str | Path, *, notes: bool = True) -> Path:
    """One workbook, a sheet per table (in the order given) and a `notes` sheet with
    each table's title and notes; byte-identical for identical tables."""
    from openpyxl import Workbook

    from pipeline.xlsx_determinism import normalise_ooxml_zip

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    titles = [sheet_title(table.name, taken) for table in tables]
    sheets = list(zip(tables, titles, strict=True))
    if notes:
        sheets.append((_notes_table(tables, titles), sheet_title("notes", taken)))
    for table, title in sheets:
        _fill_sheet(workbook, table, title)
    properties = workbook.properties
    properties.creator = "cityqda"
    properties.lastModifiedBy = "cityqda"
    properties.title = tables[0].title if len(tables) == 1 else "cityqda tables"
    properties.created = FIXED_PROPERTIES_DATE
    properties.modified = FIXED_PROPERTIES_DATE

    def save(temp: Path) -> None:
        workbook.save(temp)
        rest = {title: table for table, title in sheets if streamed(table) and table.rows}
        if rest:
            _add_streamed_rows(temp, rest)
        else:
            normalise_ooxml_zip(temp)

    _replace_atomically(Path(path), save)
    return Path(path)


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def write_parquet(table: ResultTable, path: str | Path) -> Path:
    """The table as Parquet (needs pyarrow: the optional `parquet` extra). Columns whose
    values mix numbers and text are stored as text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for index, name in enumerate(table.columns):
        values = [row[index] for row in table.rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds and not kinds <= {int, bool} and not kinds <= {int, float} \
                and kinds != {str}:
            values = [None if v is None else str(v) for v in values]
        columns[str(name)] = values
    arrow_table = pa.table(columns) if columns else pa.table({})
    metadata = {b"cityqda.title": table.title.encode("utf-8"),
                b"cityqda.notes": "\n".join(table.notes).encode("utf-8")}
    arrow_table = arrow_table.replace_schema_metadata(metadata)
    _replace_atomically(Path(path), lambda temp: pq.write_table(arrow_table, temp))
    return Path(path)
