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
from pipeline.xlsx_determinism import replace_keeping_mode

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
        replace_keeping_mode(temp_name, path)
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
_FLAG_TAILS = ('" t="n"><v>0</v></c>', '" t="n"><v>1</v></c>')


class RowsXml:
    """`<row>` elements of one sheet, rendered chunk by chunk from Excel row 2 on.

    `flags_from`: the columns from this index on hold only the ints 0 and 1 (the wide
    dataset's code columns, most of its cells); each distinct run of them is rendered once
    and reused with the row number put in. Text cells are rendered once per chunk.
    """

    def __init__(self, table: ResultTable, flags_from: int | None = None):
        from openpyxl.utils import get_column_letter

        self.name = table.name
        self.width = len(table.columns)
        self.opens = [f'<c r="{get_column_letter(index + 1)}' for index in range(self.width)]
        self.number = 1
        self.flags_from = flags_from if flags_from is not None and flags_from < self.width \
            else None
        self._flag_pieces: dict[tuple, list[str]] = {}

    def _flags(self, values: tuple) -> list[str]:
        pieces = self._flag_pieces.get(values)
        if pieces is None:
            if len(self._flag_pieces) > 4096:
                self._flag_pieces.clear()
            first = self.flags_from
            pieces = [self.opens[first]]
            for offset, value in enumerate(values[:-1], start=first + 1):
                pieces.append(_FLAG_TAILS[value] + self.opens[offset])
            pieces.append(_FLAG_TAILS[values[-1]])
            self._flag_pieces[values] = pieces
        return pieces

    def render(self, rows: list[list]) -> str:
        from xml.sax.saxutils import escape

        width, opens, flags_from = self.width, self.opens, self.flags_from
        texts: dict[str, str] = {}
        out = []
        for row in rows:
            self.number += 1
            if len(row) != width:
                raise ValueError(f"row {self.number} of {self.name} has {len(row)} cells, "
                                 f"not {width}")
            at = str(self.number)
            cells = []
            for index, value in enumerate(row if flags_from is None else row[:flags_from]):
                if value is None:
                    continue
                kind = type(value)
                if kind is int:  # the common case (0/1 flags), without the checks below
                    cells.append(f'{opens[index]}{at}" t="n"><v>{value}</v></c>')
                    continue
                if kind is str:
                    rendered = texts.get(value)
                    if rendered is None:
                        text = xlsx_text(value)
                        space = ' xml:space="preserve"' if text != text.strip() else ""
                        if "&" in text or "<" in text or ">" in text or "\r" in text:
                            text = escape(text, _XML_ESCAPES)
                        rendered = texts[value] = \
                            f'" t="inlineStr"><is><t{space}>{text}</t></is></c>'
                    cells.append(f"{opens[index]}{at}{rendered}")
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
                cells.append(f'{opens[index]}{at}" t="inlineStr"><is><t{space}>{text}</t>'
                             f"</is></c>")
            if flags_from is not None:
                cells.append(at.join(self._flags(tuple(row[flags_from:]))))
            out.append(f'<row r="{at}">{"".join(cells)}</row>')
        return "".join(out)


def _rows_xml(table: ResultTable) -> str:
    """`<row>` elements for the table's rows, from Excel row 2 on."""
    return RowsXml(table).render(table.rows)


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


def _add_streamed_rows(path: Path, streamed_tables: dict[str, ResultTable],
                       spooled: dict[str, object] | None = None) -> None:
    """Put the streamed tables' rows into the saved package and fix its bytes; a spooled
    sheet's rows (sheet title -> binary file of its row XML) are copied from their file
    into the package as it is compressed, never held in memory whole. The package is
    written as `write_ooxml_zip` writes one (same entry order, dates and compression)."""
    import shutil
    import zipfile

    from pipeline.xlsx_determinism import (
        CORE_PROPERTIES,
        FIXED_CORE_DATE,
        _entry_order,
        fix_core_dates,
        fixed_zip_info,
    )

    spooled = spooled or {}
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()
                 if not info.is_dir()}
    names = _sheet_parts(parts)
    marker = b"</sheetData>"
    for title, table in streamed_tables.items():
        part = names[title]
        if parts[part].count(marker) != 1:
            raise ValueError(f"unexpected worksheet layout in {part}")
        head, tail = parts[part].split(marker)
        parts[part] = b"".join((head, _rows_xml(table).encode("utf-8"), marker, tail))
    spooled_parts = {names[title]: spool for title, spool in spooled.items()}
    temp = Path(f"{path}.rows")
    try:
        with zipfile.ZipFile(temp, "w") as target:
            for name in sorted(parts, key=_entry_order):
                data = parts[name]
                if name == CORE_PROPERTIES:
                    data = fix_core_dates(data, FIXED_CORE_DATE)
                info = fixed_zip_info(name)
                spool = spooled_parts.get(name)
                if spool is None:
                    target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                                    compresslevel=6)
                    continue
                if data.count(marker) != 1:
                    raise ValueError(f"unexpected worksheet layout in {name}")
                head, tail = data.split(marker)
                info._compresslevel = 6
                with target.open(info, "w") as stream:
                    stream.write(head)
                    spool.seek(0)
                    shutil.copyfileobj(spool, stream, 1 << 20)
                    stream.write(marker + tail)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def _notes_table(tables: list[ResultTable], titles: list[str]) -> ResultTable:
    rows = []
    for table, title in zip(tables, titles, strict=True):
        rows.append([title, table.title, None])
        for note in table.notes:
            rows.append([title, None, note])
    return ResultTable(name="notes", title="What each sheet holds",
                       columns=["sheet", "title", "note"], rows=rows, notes=[])


def write_xlsx(tables: list[ResultTable], path: str | Path, *, notes: bool = True,
               spooled: dict[int, object] | None = None) -> Path:
    """One workbook, a sheet per table (in the order given) and a `notes` sheet with
    each table's title and notes; byte-identical for identical tables. `spooled` (index
    of a table -> binary file of its sheet's row XML, see `RowsXml`) gives a table's rows
    written ahead; its `rows` then only serve the column widths."""
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
        spooled_titles = {titles[index]: spool for index, spool in (spooled or {}).items()}
        rest = {title: table for table, title in sheets if streamed(table) and table.rows
                and title not in spooled_titles}
        if rest or spooled_titles:
            _add_streamed_rows(temp, rest, spooled_titles)
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


def _parquet_column(values):
    """Values of one column as pyarrow takes them: columns whose values mix numbers and
    text are stored as text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and not kinds <= {int, bool} and not kinds <= {int, float} and kinds != {str}:
        return [None if v is None else str(v) for v in values]
    return values


def _write_arrow(columns: dict, table: ResultTable, path: str | Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_table = pa.table(columns) if columns else pa.table({})
    metadata = {b"cityqda.title": table.title.encode("utf-8"),
                b"cityqda.notes": "\n".join(table.notes).encode("utf-8")}
    arrow_table = arrow_table.replace_schema_metadata(metadata)
    _replace_atomically(Path(path), lambda temp: pq.write_table(arrow_table, temp))
    return Path(path)


def write_parquet(table: ResultTable, path: str | Path) -> Path:
    """The table as Parquet (needs pyarrow: the optional `parquet` extra). Columns whose
    values mix numbers and text are stored as text."""
    columns = {str(name): _parquet_column([row[index] for row in table.rows])
               for index, name in enumerate(table.columns)}
    return _write_arrow(columns, table, path)


class DatasetWriter:
    """One dataset's CSV, XLSX and Parquet files written as its rows come, chunk by chunk
    (an interview's rows at a time), with the same bytes `write_csv`, `write_xlsx` and
    `write_parquet` give for the whole table.

    CSV goes to a file beside its target, the sheet's row XML to a spool file, and only
    what Parquet needs stays in memory: the leading columns as row tuples, the 0/1 columns
    (from `flags_from`) as one byte each. `fingerprint(kind)` identifies the content, so
    an unchanged file can be left alone (`finish`). Call `close` in any case.
    """

    def __init__(self, head: ResultTable, paths: dict[str, Path], *,
                 flags_from: int | None = None):
        import hashlib
        import json

        self.head = ResultTable(name=head.name, title=head.title, columns=list(head.columns),
                                rows=[], notes=list(head.notes))
        self.paths = {kind: Path(path) for kind, path in paths.items()}
        self.flags_from = flags_from if flags_from is not None \
            and flags_from < len(head.columns) else None
        self.count = 0
        self._digest = hashlib.sha256(json.dumps(
            [head.name, head.title, head.columns, head.notes], ensure_ascii=False
        ).encode("utf-8"))
        self._temps: list[Path] = []
        self._csv = self._spool = None
        if "csv" in self.paths:
            target = self.paths["csv"]
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".cityqda-", suffix=".csv",
                                            dir=target.parent)
            self._temps.append(Path(name))
            self._csv = os.fdopen(handle, "wb")
            header = io.StringIO(newline="")
            csv.writer(header, lineterminator="\r\n").writerow(head.columns)
            self._csv.write(("\ufeff" + header.getvalue()).encode("utf-8"))
        if "xlsx" in self.paths:
            self._xml = RowsXml(head, self.flags_from)
            self._spool = tempfile.TemporaryFile(dir=self.paths["xlsx"].parent)
        self._fixed: list[tuple] = []
        self._flags = bytearray()

    def add(self, rows: list[list]) -> None:
        if not rows:
            return
        self.count += len(rows)
        if len(self.head.rows) < 200:  # what the XLSX column widths are measured on
            self.head.rows.extend(rows[:200 - len(self.head.rows)])
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        flags_from = self.flags_from
        starts = FORMULA_STARTS
        # csv_cell inlined for the cells it leaves alone (ints, None: the csv module writes
        # it blank, plain text), which are nearly all
        for row in rows:
            cells = [v if (t := type(v)) is int or v is None
                     or (t is str and not v.startswith(starts)) else csv_cell(v)
                     for v in (row if flags_from is None else row[:flags_from])]
            writer.writerow(cells if flags_from is None else cells + row[flags_from:])
        data = buffer.getvalue().encode("utf-8")
        self._digest.update(data)
        if self._csv is not None:
            self._csv.write(data)
        xml = self._xml.render(rows).encode("utf-8") if self._spool is not None \
            else RowsXml(self.head, flags_from).render(rows).encode("utf-8")
        self._digest.update(xml)
        if self._spool is not None:
            self._spool.write(xml)
        if "parquet" in self.paths:
            if flags_from is None:
                self._fixed.extend(map(tuple, rows))
            else:
                for row in rows:
                    self._fixed.append(tuple(row[:flags_from]))
                    self._flags += bytes(row[flags_from:])

    def fingerprint(self, kind: str) -> str:
        import hashlib

        return hashlib.sha256(kind.encode("utf-8") + self._digest.digest()).hexdigest()

    def finish(self, kind: str) -> Path:
        """Write the `kind` file (csv, xlsx, parquet) into place."""
        path = self.paths[kind]
        if kind == "csv":
            self._csv.close()
            replace_keeping_mode(self._temps[0], path)
        elif kind == "xlsx":
            self._spool.flush()
            write_xlsx([self.head], path, spooled={0: self._spool})
        else:
            self._write_parquet(path)
        return path

    def _write_parquet(self, path: Path) -> None:
        width = len(self.head.columns)
        fixed = self.flags_from if self.flags_from is not None else width
        import pyarrow as pa

        columns = {}
        for index in range(fixed):
            # one column at a time as an Arrow array (what pa.table makes of the list):
            # the Python list of a column never outlives its conversion
            columns[str(self.head.columns[index])] = pa.array(
                _parquet_column([row[index] for row in self._fixed]))
        self._fixed = []
        if fixed < width:
            if self.count:
                import numpy as np

                flags = np.frombuffer(bytes(self._flags), dtype=np.uint8) \
                    .reshape(self.count, width - fixed)
                for offset, name in enumerate(self.head.columns[fixed:]):
                    columns[str(name)] = flags[:, offset].astype(np.int64)
            else:
                for name in self.head.columns[fixed:]:
                    columns[str(name)] = []
        _write_arrow(columns, self.head, path)

    def close(self) -> None:
        """Drop the scratch files (after `finish`, or on failure)."""
        if self._csv is not None and not self._csv.closed:
            self._csv.close()
        if self._spool is not None:
            self._spool.close()
        for temp in self._temps:
            if temp.exists():
                temp.unlink()
        self._fixed, self._flags = [], bytearray()
