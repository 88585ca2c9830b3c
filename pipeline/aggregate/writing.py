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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pipeline.aggregate.tables import ResultTable
from pipeline.xlsx_determinism import column_letter, replace_keeping_mode

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


def _fill_sheet(workbook, table: ResultTable, title: str,
                widths: list[float] | None = None) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index in range(len(table.columns)):
        sheet.column_dimensions[column_letter(index + 1)].width = \
            widths[index] if widths is not None else _column_width(table, index)
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


_FLAG_TAILS = ('" t="n"><v>0</v></c>', '" t="n"><v>1</v></c>')


class RowsXml:
    """`<row>` elements of one sheet, rendered chunk by chunk from Excel row 2 on.

    `flags_from`: the columns from this index on hold only the ints 0 and 1 (the wide
    dataset's code columns, most of its cells); each distinct run of them is rendered once
    and reused with the row number put in. Text cells are rendered once per chunk.
    """

    def __init__(self, table: ResultTable, flags_from: int | None = None, *,
                 positions: bool = True):
        self.name = table.name
        self.width = len(table.columns)
        self.positions = positions
        self.opens = [f'<c r="{column_letter(index + 1)}' for index in range(self.width)] \
            if positions else []
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

    def _count(self, row: list) -> None:
        """Number the next row; a row of the wrong width is a bug upstream, not input."""
        self.number += 1
        if len(row) != self.width:
            raise ValueError(f"row {self.number} of {self.name} has {len(row)} cells, "
                             f"not {self.width}")

    def render(self, rows: list[list]) -> str:
        if not self.positions:
            return self._render_unplaced(rows)
        opens, flags_from = self.opens, self.flags_from
        texts: dict[str, str] = {}
        out = []
        for row in rows:
            self._count(row)
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
                        rendered = texts[value] = f'" t="inlineStr">{_inline_body(value)}</c>'
                    cells.append(f"{opens[index]}{at}{rendered}")
                    continue
                if kind is bool:
                    value = int(value)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    cells.append(f'{opens[index]}{at}" t="n"><v>{value!r}</v></c>')
                    continue
                cells.append(f'{opens[index]}{at}" t="inlineStr">{_inline_body(str(value))}'
                             f"</c>")
            if flags_from is not None:
                cells.append(at.join(self._flags(tuple(row[flags_from:]))))
            out.append(f'<row r="{at}">{"".join(cells)}</row>')
        return "".join(out)


    def _render_unplaced(self, rows: list[list]) -> str:
        """Rows without `r` attributes (optional in SpreadsheetML: a row follows the one
        before it, a cell the one before it), so the XML of an interview's rows does not
        depend on where they land in the sheet and can be cached; an empty cell before a
        filled one is written as `<c/>` to keep the columns in place."""
        flags_from = self.flags_from
        texts: dict[str, str] = {}
        flag_tails = self._unplaced_flags
        out = []
        for row in rows:
            self._count(row)
            cells = []
            gap = 0
            for value in (row if flags_from is None else row[:flags_from]):
                if value is None:
                    gap += 1
                    continue
                if gap:
                    cells.append("<c/>" * gap)
                    gap = 0
                kind = type(value)
                if kind is int:
                    cells.append(f'<c t="n"><v>{value}</v></c>')
                elif kind is str:
                    rendered = texts.get(value)
                    if rendered is None:
                        rendered = texts[value] = _inline_text(value)
                    cells.append(rendered)
                else:
                    if kind is bool:
                        value = int(value)
                    if isinstance(value, (int, float)) and math.isfinite(value):
                        cells.append(f'<c t="n"><v>{value!r}</v></c>')
                    else:
                        cells.append(_inline_text(str(value)))
            if flags_from is not None:
                values = tuple(row[flags_from:])
                tail = flag_tails.get(values)
                if tail is None:
                    if len(flag_tails) > 4096:
                        flag_tails.clear()
                    tail = flag_tails[values] = "".join(_UNPLACED_FLAGS[v] for v in values)
                if gap:
                    cells.append("<c/>" * gap)
                cells.append(tail)
            out.append(f'<row>{"".join(cells)}</row>')
        return "".join(out)

    @property
    def _unplaced_flags(self) -> dict[tuple, str]:
        found = self.__dict__.get("_unplaced_flag_tails")
        if found is None:
            found = self.__dict__["_unplaced_flag_tails"] = {}
        return found


_UNPLACED_FLAGS = ('<c t="n"><v>0</v></c>', '<c t="n"><v>1</v></c>')


def _inline_body(value: str) -> str:
    """An inline string's `<is>` element, escaped as openpyxl's write-only mode does
    (xml.sax.saxutils.escape with a carriage return as `&#13;`; that module imports
    urllib.request, longer to load than a rerun's few cells take)."""
    text = xlsx_text(value)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;") \
            .replace("\r", "&#13;")
    return f"<is><t{space}>{text}</t></is>"


def _inline_text(value: str) -> str:
    """An inline string cell without a position."""
    return f'<c t="inlineStr">{_inline_body(value)}</c>'


def _rows_xml(table: ResultTable) -> str:
    """`<row>` elements for the table's rows, from Excel row 2 on."""
    return RowsXml(table).render(table.rows)


def _attribute_text(value: str) -> str:
    """An XML attribute's text, as xml.sax.saxutils.unescape with `&quot;` gives it."""
    for entity, text in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        value = value.replace(entity, text)
    return value


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
            target = targets[rel_id.group(1)]
            found[_attribute_text(name.group(1))] = (
                target if target.startswith("xl/") else f"xl/{target}")
    return found


def _add_streamed_rows(path: Path, streamed_tables: dict[str, ResultTable],
                       spooled: dict[str, object] | None = None,
                       deflated: dict[str, tuple] | None = None) -> None:
    """Put the streamed tables' rows into the saved package and fix its bytes; a spooled
    sheet's rows (sheet title -> binary file of its row XML) are copied from their file
    into the package as it is compressed, never held in memory whole. A deflated sheet's
    rows (sheet title -> (binary file of raw deflate pieces, uncompressed size, CRC-32),
    see `Chunk`) go in compressed as they are, between the sheet's head and tail
    compressed here. The package is written as `write_ooxml_zip` writes one (same entry
    order, dates and compression)."""
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
    deflated_parts = {names[title]: rows for title, rows in (deflated or {}).items()}
    temp = Path(f"{path}.rows")
    try:
        with zipfile.ZipFile(temp, "w") as target:
            for name in sorted(parts, key=_entry_order):
                data = parts[name]
                if name == CORE_PROPERTIES:
                    data = fix_core_dates(data, FIXED_CORE_DATE)
                info = fixed_zip_info(name)
                if name in deflated_parts:
                    _write_deflated_entry(target, info, data, *deflated_parts[name])
                    continue
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


def _write_deflated_entry(target, info, data: bytes, rows, rows_size: int,
                          rows_crc: int, placed: dict | None = None) -> None:
    """Write a sheet entry whose rows come deflated already: its head and tail are
    deflated here (the head ending on a byte boundary, the tail with the final block) and
    the entry's header gets the sizes and CRC-32 computed from the pieces. zipfile has no
    way to take compressed data, so the entry is placed the way `ZipFile.writestr` places
    one (header at the end of the entries written so far, then the data). `placed`
    receives the offset in the package where the rows start ("rows_offset")."""
    import shutil
    import zlib

    marker = b"</sheetData>"
    if data.count(marker) != 1:
        raise ValueError(f"unexpected worksheet layout in {info.filename}")
    head, tail = data.split(marker)
    tail = marker + tail
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    head_z = compressor.compress(head) + compressor.flush(zlib.Z_SYNC_FLUSH)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    tail_z = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
    rows.seek(0, os.SEEK_END)
    rows_z = rows.tell()
    crc = zlib.crc32(tail, crc32_combine(zlib.crc32(head), rows_crc, rows_size))
    info.file_size = len(head) + rows_size + len(tail)
    info.compress_size = len(head_z) + rows_z + len(tail_z)
    info.CRC = crc
    info.flag_bits = 0
    fp = target.fp
    fp.seek(target.start_dir)
    info.header_offset = fp.tell()
    fp.write(info.FileHeader())
    fp.write(head_z)
    if placed is not None:
        placed["rows_offset"] = fp.tell()
    rows.seek(0)
    shutil.copyfileobj(rows, fp, 1 << 20)
    fp.write(tail_z)
    target.filelist.append(info)
    target.NameToInfo[info.filename] = info
    target.start_dir = fp.tell()


def _notes_table(tables: list[ResultTable], titles: list[str]) -> ResultTable:
    rows = []
    for table, title in zip(tables, titles, strict=True):
        rows.append([title, table.title, None])
        for note in table.notes:
            rows.append([title, None, note])
    return ResultTable(name="notes", title="What each sheet holds",
                       columns=["sheet", "title", "note"], rows=rows, notes=[])


def write_xlsx(tables: list[ResultTable], path: str | Path, *, notes: bool = True,
               spooled: dict[int, object] | None = None,
               deflated: dict[int, tuple] | None = None,
               widths: dict[int, list[float]] | None = None,
               shells: ShellCache | None = None) -> Path:
    """One workbook, a sheet per table (in the order given) and a `notes` sheet with
    each table's title and notes; byte-identical for identical tables. `spooled` (index
    of a table -> binary file of its sheet's row XML, see `RowsXml`) gives a table's rows
    written ahead; its `rows` then only serve the column widths. `deflated` gives a
    table's rows written and deflated ahead (see `_add_streamed_rows`), `widths` a
    table's column widths (else measured on its first 200 rows). `shells` keeps the
    package openpyxl saves (every sheet's head, no streamed rows) by what it is made of,
    so a workbook whose streamed rows alone changed is written without openpyxl."""
    taken: set[str] = set()
    titles = [sheet_title(table.name, taken) for table in tables]
    sheets = list(zip(tables, titles, strict=True))
    if notes:
        sheets.append((_notes_table(tables, titles), sheet_title("notes", taken)))
    title = tables[0].title if len(tables) == 1 else "cityqda tables"
    shell_key = _shell_key(title, sheets, widths, spooled, deflated) \
        if shells is not None else ""
    shell = shells.shell(shell_key) if shells is not None else None

    def save(temp: Path) -> None:
        if shell is not None:
            temp.write_bytes(shell)
        else:
            _workbook(title, sheets, widths).save(temp)
            if shells is not None:
                shells.put_shell(shell_key, temp.read_bytes())
        spooled_titles = {titles[index]: spool for index, spool in (spooled or {}).items()}
        deflated_titles = {titles[index]: rows for index, rows in (deflated or {}).items()}
        rest = {title: table for table, title in sheets if streamed(table) and table.rows
                and title not in spooled_titles and title not in deflated_titles}
        if rest or spooled_titles or deflated_titles:
            _add_streamed_rows(temp, rest, spooled_titles, deflated_titles)
        else:
            from pipeline.xlsx_determinism import normalise_ooxml_zip

            normalise_ooxml_zip(temp)

    _replace_atomically(Path(path), save)
    return Path(path)


class ShellCache(Protocol):
    """Where `write_xlsx` keeps the packages openpyxl saved (pipeline.aggregate.cache)."""

    def shell(self, key: str) -> bytes | None: ...

    def put_shell(self, key: str, data: bytes) -> None: ...


def _shell_key(title: str, sheets: list[tuple[ResultTable, str]], widths, spooled,
               deflated) -> str:
    """What the package openpyxl saves is made of: the workbook's title, the sheets'
    titles, columns, widths and rows (but those written ahead), openpyxl's version."""
    import hashlib
    import json
    from importlib.metadata import version

    ahead = set(spooled or {}) | set(deflated or {})
    described = [[sheet, table.columns, (widths or {}).get(index),
                  None if index in ahead else table.rows, table.totals,
                  sorted(table.number_formats.items())]
                 for index, (table, sheet) in enumerate(sheets)]
    text = json.dumps([version("openpyxl"), title, described], ensure_ascii=False,
                      default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _workbook(title: str, sheets: list[tuple[ResultTable, str]],
              widths: dict[int, list[float]] | None):
    """The openpyxl workbook of `write_xlsx` (streamed rows left out)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for index, (table, sheet) in enumerate(sheets):
        _fill_sheet(workbook, table, sheet, (widths or {}).get(index))
    properties = workbook.properties
    properties.creator = "cityqda"
    properties.lastModifiedBy = "cityqda"
    properties.title = title
    properties.created = FIXED_PROPERTIES_DATE
    properties.modified = FIXED_PROPERTIES_DATE
    return workbook


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


class ParquetNeedsValues(Exception):
    """The cached Arrow columns of the chunks cannot give the whole column's bytes (its
    types mix in a way only the original values can settle): write Parquet from rows."""


@dataclass(frozen=True)
class FileRange:
    """Bytes of a chunk where they sit in a file written before (an open binary file):
    copied from there instead of read from the cache."""

    source: object
    offset: int
    length: int


def _copy_range(source, target, offset: int, length: int) -> None:
    """Append `length` bytes of `source` from `offset` to `target` (both open binary
    files), in the kernel where it can."""
    copy = getattr(os, "copy_file_range", None)
    target.flush()
    while length:
        done = 0
        if copy is not None:
            try:
                done = copy(source.fileno(), target.fileno(), length, offset)
            except OSError:
                copy = None
            target.seek(0, os.SEEK_END)  # the buffered file's position, after the kernel's
        if not done:
            source.seek(offset)
            data = source.read(min(length, 1 << 20))
            if not data:
                raise OSError(f"{source.name} is shorter than when it was written")
            target.write(data)
            done = len(data)
        offset += done
        length -= done


@dataclass
class Chunk:
    """One interview's rows of a dataset, rendered for every file kind: what the aggregate
    cache keeps (pipeline.aggregate.cache) and `DatasetWriter.add_chunk` writes.

    `xml` is the rows' sheet XML (no positions) as a raw deflate piece that ends on a byte
    boundary without a final block, so pieces concatenate into one valid deflate stream;
    `xml_size` and `xml_crc` are the uncompressed size and CRC-32 the zip entry needs.
    `arrow` holds the leading columns as an Arrow IPC stream, `kinds` the Python types
    found per leading column (JSON), `flags` the 0/1 columns one byte per cell, `widths`
    the first 200 rows' cell lengths (column widths), one byte per cell. `csv` and `xml`
    may be `FileRange`s: the same bytes in the files the last run wrote."""

    rows: int
    csv: bytes | FileRange
    xml: bytes | FileRange
    xml_size: int
    xml_crc: int
    arrow: bytes
    kinds: str
    flags: bytes
    widths: bytes
    digest: str


def _kind_names(values) -> list[str]:
    return sorted(kind.__name__ for kind in set(map(type, values)) if kind is not type(None))


def _csv_rows(rows: list[list], flags_from: int | None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    starts = FORMULA_STARTS
    # csv_cell inlined for the cells it leaves alone (ints, None: the csv module writes it
    # blank, plain text), which are nearly all
    for row in rows:
        cells = [v if (t := type(v)) is int or v is None
                 or (t is str and not v.startswith(starts)) else csv_cell(v)
                 for v in (row if flags_from is None else row[:flags_from])]
        writer.writerow(cells if flags_from is None else cells + row[flags_from:])
    return buffer.getvalue().encode("utf-8")


def render_chunk(head: ResultTable, rows: list[list], *, flags_from: int | None = None,
                 parquet: bool = True, widths: bool = True) -> Chunk:
    """Render one interview's rows (see `Chunk`); the same rows give the same bytes
    wherever they land in the dataset. Without `widths` the cell lengths are left out
    (`widths` empty): only chunks within the dataset's first 200 rows need them."""
    import hashlib
    import json
    import zlib

    width = len(head.columns)
    flags_from = flags_from if flags_from is not None and flags_from < width else None
    csv_data = _csv_rows(rows, flags_from)
    xml = RowsXml(head, flags_from, positions=False).render(rows).encode("utf-8")
    if xml:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = compressor.compress(xml) + compressor.flush(zlib.Z_SYNC_FLUSH)
    else:
        deflated = b""
    fixed = flags_from if flags_from is not None else width
    arrow, kinds = b"", []
    if parquet:
        import pyarrow as pa

        arrays, names = [], []
        for index in range(fixed):
            values = [row[index] for row in rows]
            kinds.append(_kind_names(values))
            arrays.append(pa.array(_parquet_column(values)))
            names.append(str(index))
        sink = pa.BufferOutputStream()
        batch = pa.record_batch(arrays, names=names)
        with pa.ipc.new_stream(sink, batch.schema) as stream:
            stream.write_batch(batch)
        arrow = sink.getvalue().to_pybytes()
    flags = b""
    if flags_from is not None:
        flags = b"".join(bytes(row[flags_from:]) for row in rows)
    # the 0/1 columns are one character wide: only the leading cells are measured
    ones = b"\x01" * (width - fixed)
    measured = b"" if not widths else b"".join(
        bytes([0 if value is None else min(len(value) if type(value) is str
                                           else len(str(value)), 60)
               for value in row[:fixed]]) + ones for row in rows[:200])
    digest = hashlib.sha256(csv_data)
    digest.update(xml)
    return Chunk(rows=len(rows), csv=csv_data, xml=deflated, xml_size=len(xml),
                 xml_crc=zlib.crc32(xml), arrow=arrow, kinds=json.dumps(kinds),
                 flags=flags, widths=measured, digest=digest.hexdigest())


def _gf2_apply(operator: list[int], vector: int) -> int:
    result, bit = 0, 0
    while vector:
        if vector & 1:
            result ^= operator[bit]
        vector >>= 1
        bit += 1
    return result


@lru_cache(maxsize=1)
def _zero_operators() -> list[list[int]]:
    """Operator k (32 columns over GF(2)) moves a CRC-32 register over 2**k zero bytes."""
    import zlib

    one = [zlib.crc32(b"\0", 1 << bit) ^ zlib.crc32(b"\0", 0) for bit in range(32)]
    operators = [one]
    for _ in range(47):
        last = operators[-1]
        operators.append([_gf2_apply(last, column) for column in last])
    return operators


_BYTE_TABLES: dict[int, tuple[list[int], ...]] = {}


def _byte_tables(power: int) -> tuple[list[int], ...]:
    """Operator `power` as four tables, one per byte of the register (four look-ups)."""
    tables = _BYTE_TABLES.get(power)
    if tables is None:
        columns = _zero_operators()[power]
        built = []
        for part in range(4):
            table = [0] * 256
            for value in range(1, 256):
                low = value & -value
                table[value] = table[value ^ low] ^ columns[part * 8 + low.bit_length() - 1]
            built.append(table)
        tables = _BYTE_TABLES[power] = tuple(built)
    return tables


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC-32 of A + B from CRC-32(A), CRC-32(B) and len(B), as zlib's crc32_combine
    (which Python does not expose): crc32(B, x) = crc32(B, 0) ^ M(x), M linear and
    depending only on len(B): x moved over len(B) zero bytes, by squared operators."""
    moved, power = crc1, 0
    while length2:
        if length2 & 1:
            first, second, third, fourth = _byte_tables(power)
            moved = (first[moved & 255] ^ second[(moved >> 8) & 255]
                     ^ third[(moved >> 16) & 255] ^ fourth[moved >> 24])
        length2 >>= 1
        power += 1
    return moved ^ crc2


def _joined_column(pieces: list, kinds: list[frozenset[str]]):
    """One column from its chunks' Arrow arrays, as `pa.array(_parquet_column(values))`
    gives it for all the values at once (types settled over the whole column)."""
    import pyarrow as pa

    union = set().union(*kinds)
    whole_text = bool(union) and not union <= {"int", "bool"} \
        and not union <= {"int", "float"} and union != {"str"}
    if whole_text:
        out = []
        for piece, found in zip(pieces, kinds, strict=True):
            if not found:
                out.append(pa.nulls(len(piece), pa.string()))
            elif piece.type == pa.string():
                out.append(piece)  # text already (the chunk's own mix was made text)
            elif len(found) == 1:
                out.append(pa.array([None if v is None else str(v)
                                     for v in piece.to_pylist()], pa.string()))
            else:
                raise ParquetNeedsValues(f"column mixes {sorted(found)} in one chunk")
        return pa.concat_arrays(out)
    types = {piece.type for piece, found in zip(pieces, kinds, strict=True) if found}
    if not types:
        return pa.nulls(sum(len(piece) for piece in pieces))
    if len(types) == 1:
        target = types.pop()
    elif types == {pa.int64(), pa.float64()}:
        target = pa.float64()
    else:
        raise ParquetNeedsValues(f"column types {sorted(map(str, types))}")
    return pa.concat_arrays([piece if piece.type == target
                             else pa.nulls(len(piece), target) if not found
                             else piece.cast(target)
                             for piece, found in zip(pieces, kinds, strict=True)])


class DatasetWriter:
    """One dataset's CSV, XLSX and Parquet files written as its chunks come (an
    interview's rows at a time, rendered by `render_chunk` or taken from the aggregate
    cache), the same bytes for the same chunks however they were obtained.

    CSV goes to a file beside its target, the sheet's deflated row XML to a spool file
    (put into the package as it is, behind the sheet's head; see `_add_streamed_rows`),
    and only what Parquet needs stays in memory: each chunk's Arrow columns, and the 0/1
    columns (from `flags_from`) as one byte each. `fingerprint(kind)` identifies the
    content, so an unchanged file can be left alone (`finish`). Call `close` in any case.
    `parquet_values`: keep the rows' values for Parquet instead of the chunks' Arrow
    columns (when those cannot settle a column's type: `ParquetNeedsValues`). `shells`:
    see `write_xlsx`.
    """

    def __init__(self, head: ResultTable, paths: dict[str, Path], *,
                 flags_from: int | None = None, parquet_values: bool = False,
                 shells: ShellCache | None = None):
        import hashlib
        import json

        self.head = ResultTable(name=head.name, title=head.title, columns=list(head.columns),
                                rows=[], notes=list(head.notes))
        self.paths = {kind: Path(path) for kind, path in paths.items()}
        self.flags_from = flags_from if flags_from is not None \
            and flags_from < len(head.columns) else None
        self.parquet_values = parquet_values
        self.shells = shells
        self.count = 0
        self._digest = hashlib.sha256(json.dumps(
            [head.name, head.title, head.columns, head.notes], ensure_ascii=False
        ).encode("utf-8"))
        self._temps: list[Path] = []
        self._csv = self._spool = None
        # per file kind: where the next chunk goes, the copy from an older file not yet
        # made (adjacent ranges are copied at once), where each tagged chunk went
        self._at = {"csv": 0, "xlsx": 0}
        self._copying: dict[str, list | None] = {"csv": None, "xlsx": None}
        self.placed: dict[str, dict[int, list]] = {"csv": {}, "xlsx": {}}
        if "csv" in self.paths:
            target = self.paths["csv"]
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".cityqda-", suffix=".csv",
                                            dir=target.parent)
            self._temps.append(Path(name))
            self._csv = os.fdopen(handle, "wb")
            header = io.StringIO(newline="")
            csv.writer(header, lineterminator="\r\n").writerow(head.columns)
            self._at["csv"] = self._csv.write(("\ufeff" + header.getvalue()).encode("utf-8"))
        if "xlsx" in self.paths:
            self._spool = tempfile.TemporaryFile(dir=self.paths["xlsx"].parent)
        self._xml_size = 0
        self._xml_crc = 0
        self._widths: list[bytes] = []
        self._width_rows = 0
        self._batches: list = []
        self._kinds: list[list[frozenset[str]]] = []
        self._kind_sets: dict[str, list[frozenset[str]]] = {}
        self._fixed: list[tuple] = []
        self._flags = bytearray()

    @property
    def wants_widths(self) -> bool:
        """Whether the next chunk lands in the first 200 rows (its widths count)."""
        return self._width_rows < 200

    @property
    def wants_parquet(self) -> bool:
        return "parquet" in self.paths and not self.parquet_values

    def add(self, rows: list[list]) -> None:
        """Add rows (rendered here as one chunk)."""
        if rows:
            self.add_chunk(render_chunk(self.head, rows, flags_from=self.flags_from,
                                        parquet=self.wants_parquet), rows)

    def add_chunk(self, chunk: Chunk, rows: list[list] | None = None,
                  tag: int | None = None) -> None:
        """Add a rendered chunk; `rows` (its values) are needed only with
        `parquet_values`; where a chunk with a `tag` (its interview id) lands in the CSV
        and XLSX files is kept in `placed` ([digest, offset, length])."""
        import json

        if not chunk.rows:
            return
        self.count += chunk.rows
        if self._width_rows < 200:
            if len(chunk.widths) < min(chunk.rows, 200) * len(self.head.columns):
                raise ValueError("a chunk among the first 200 rows needs its cell widths")
            self._widths.append(chunk.widths)
            self._width_rows += chunk.rows
        self._digest.update(chunk.digest.encode("ascii"))
        if self._csv is not None:
            self._append("csv", self._csv, chunk.csv, tag, chunk.digest)
        if self._spool is not None:
            self._append("xlsx", self._spool, chunk.xml, tag, chunk.digest)
            self._xml_crc = crc32_combine(self._xml_crc, chunk.xml_crc, chunk.xml_size)
            self._xml_size += chunk.xml_size
        if "parquet" in self.paths:
            flags_from = self.flags_from
            if self.parquet_values:
                if rows is None:
                    raise ValueError("parquet_values needs the chunk's rows")
                for row in rows:
                    self._fixed.append(tuple(row if flags_from is None
                                             else row[:flags_from]))
            else:
                import pyarrow as pa

                self._batches.append(pa.ipc.open_stream(chunk.arrow).read_next_batch())
                kinds = self._kind_sets.get(chunk.kinds)
                if kinds is None:  # most chunks have the same kinds: parsed once
                    kinds = self._kind_sets[chunk.kinds] = [frozenset(found) for found
                                                            in json.loads(chunk.kinds)]
                self._kinds.append(kinds)
            self._flags += chunk.flags

    def _append(self, kind: str, target, data: bytes | FileRange, tag: int | None,
                digest: str) -> None:
        at = self._at[kind]
        length = data.length if isinstance(data, FileRange) else len(data)
        if tag is not None:
            self.placed[kind][tag] = [digest, at, length]
        self._at[kind] = at + length
        copying = self._copying[kind]
        if isinstance(data, FileRange):
            if copying is not None and copying[0] is data.source \
                    and copying[1] + copying[2] == data.offset:
                copying[2] += length
                return
            self._copy_pending(kind)
            self._copying[kind] = [data.source, data.offset, length]
            return
        self._copy_pending(kind)
        target.write(data)

    def _copy_pending(self, kind: str) -> None:
        copying = self._copying[kind]
        if copying is not None:
            self._copying[kind] = None
            _copy_range(copying[0], self._csv if kind == "csv" else self._spool, *copying[1:])

    def end_chunks(self) -> None:
        """Make the copies still pending: the files they come from may go after this."""
        for kind in self._copying:
            self._copy_pending(kind)

    def fingerprint(self, kind: str) -> str:
        import hashlib

        return hashlib.sha256(kind.encode("utf-8") + self._digest.digest()).hexdigest()

    def column_widths(self) -> list[float]:
        """What `_column_width` measures on the first 200 rows, from the chunks' widths."""
        width = len(self.head.columns)
        cells = b"".join(self._widths)[:200 * width]
        widths = []
        for index, name in enumerate(self.head.columns):
            longest = max([len(str(name)), *cells[index::width]])
            widths.append(float(min(max(longest + 2, 8), 62)))
        return widths

    def finish(self, kind: str) -> Path:
        """Write the `kind` file (csv, xlsx, parquet) into place."""
        path = self.paths[kind]
        self.end_chunks()
        if kind == "csv":
            self._csv.close()
            replace_keeping_mode(self._temps[0], path)
        elif kind == "xlsx":
            self._spool.flush()
            placed: dict[str, int] = {}
            write_xlsx([self.head], path, widths={0: self.column_widths()},
                       deflated={0: (self._spool, self._xml_size, self._xml_crc, placed)},
                       shells=self.shells)
            start = placed.get("rows_offset")
            self.placed["xlsx"] = {} if start is None else {
                tag: [digest, start + offset, length]
                for tag, (digest, offset, length) in self.placed["xlsx"].items()}
        else:
            self._write_parquet(path)
        return path

    def _leading_columns(self, fixed: int) -> dict:
        import pyarrow as pa

        columns = {}
        if self.parquet_values:
            for index in range(fixed):
                # one column at a time as an Arrow array (what pa.table makes of the list)
                columns[str(self.head.columns[index])] = pa.array(
                    _parquet_column([row[index] for row in self._fixed]))
            self._fixed = []
            return columns
        for index in range(fixed):
            name = str(self.head.columns[index])
            if not self._batches:
                columns[name] = []
                continue
            columns[name] = _joined_column([batch.column(index) for batch in self._batches],
                                           [found[index] for found in self._kinds])
        return columns

    def _write_parquet(self, path: Path) -> None:
        width = len(self.head.columns)
        fixed = self.flags_from if self.flags_from is not None else width
        columns = self._leading_columns(fixed)
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
        self._fixed, self._flags, self._batches, self._kinds = [], bytearray(), [], []
