"""Building blocks of review workbooks: safe text cells, dropdowns, table styling, reading.

Coders edit these workbooks in Excel or LibreOffice and hand them back, so what is written
must come back unchanged: text is always a string cell (never a formula, whatever it starts
with), characters XML forbids are replaced visibly, and over-long cells are cut with a
marker. Reading goes through python-calamine (fast, no formulas evaluated) and normalises
what spreadsheet programs do to values on a re-save (integers that come back as floats,
empty strings). Rows are identified by their id and a hash of their read-only cells, never
by position, so the helpers here never rely on row order.

Large sheets are written in openpyxl's write-only mode; everything here works in both
modes. Closed lists live on a hidden `_lists` sheet behind defined names, written when the
workbook is saved with `save_workbook`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from pipeline.errors import CityQDAError, Problem
from pipeline.xlsx_determinism import column_letter

MAX_CELL_CHARS = 32767
TRUNCATION_MARKER = " [... truncated by cityqda]"
LISTS_SHEET = "_lists"
META_SHEET = "_meta"
HEADER_FILL = "DDEBF7"
CODER_FILL = "FFF2CC"

# Characters XML 1.0 cannot hold (openpyxl refuses them): C0 controls except tab and
# newline, lone surrogates, U+FFFE/U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")  # also \r
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?f[ >/]")


def safe_text(value) -> str:
    """`value` as the text a cell will hold and give back unchanged when read again.

    Carriage returns become newlines (XML readers fold them anyway), forbidden characters
    become U+FFFD so the loss is visible, and text beyond Excel's 32,767 characters per
    cell is cut, ending with TRUNCATION_MARKER.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FORBIDDEN.sub("\ufffd", text)
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
    return text


def _styles():
    from openpyxl.styles import Alignment, Font, PatternFill, Protection

    cache = _styles.__dict__.setdefault("cache", {})
    if not cache:
        cache.update(
            wrap=Alignment(wrap_text=True, vertical="top"),
            top=Alignment(vertical="top"),
            bold=Font(bold=True),
            header_fill=PatternFill("solid", fgColor=HEADER_FILL),
            coder_fill=PatternFill("solid", fgColor=CODER_FILL),
            unlocked=Protection(locked=False),
        )
    return cache


def text_cell(ws, value, *, bold: bool = False, wrap: bool = False, fill: str | None = None,
              unlocked: bool = False):
    """A cell holding `value` as text (data type "s"), for `ws.append([...])`.

    Text starting with `=`, `+`, `-` or `@` stays text: the data type is forced after the
    value is set, so openpyxl never writes it as a formula. `fill` is "header" or "coder".
    """
    from openpyxl.cell import WriteOnlyCell

    text = safe_text(value)
    if not text and not (bold or wrap or fill or unlocked):
        return None
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    _style(cell, bold=bold, wrap=wrap, fill=fill, unlocked=unlocked)
    return cell


def rich_text_cell(ws, text, spans: Iterable[tuple[int, int]], *, wrap: bool = True,
                   unlocked: bool = False):
    """A text cell whose `spans` (code point offsets into `text`) are bold and dark red.

    Read back, the cell is the plain text: rich text only changes how it looks.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    plain = safe_text(text)
    spans = sorted((max(0, s), min(len(plain), e)) for s, e in spans if e > s)
    if not spans or len(plain) != len(text or ""):
        return text_cell(ws, plain, wrap=wrap, unlocked=unlocked)
    pieces: list[list] = []  # [text, bold]
    at = 0
    for start, end in spans:
        start = max(start, at)
        if end <= start:
            continue
        if start > at:
            pieces.append([plain[at:start], False])
        pieces.append([plain[start:end], True])
        at = end
    if at < len(plain):
        pieces.append([plain[at:], False])
    # openpyxl drops a run that is only whitespace (no xml:space="preserve"): join such
    # runs to a neighbour so the text reads back unchanged.
    merged: list[list] = []
    for piece in pieces:
        if merged and not piece[0].strip():
            merged[-1][0] += piece[0]
        elif merged and not merged[-1][0].strip():
            merged[-1] = [merged[-1][0] + piece[0], piece[1]]
        else:
            merged.append(piece)
    font = InlineFont(b=True, color="C00000")
    parts = [TextBlock(font, text) if bold else text for text, bold in merged]
    cell = WriteOnlyCell(ws, value=CellRichText(parts))
    _style(cell, wrap=wrap, unlocked=unlocked)
    return cell


def _style(cell, *, bold=False, wrap=False, fill=None, unlocked=False) -> None:
    styles = _styles()
    if bold:
        cell.font = styles["bold"]
    if wrap:
        cell.alignment = styles["wrap"]
    if fill:
        cell.fill = styles[f"{fill}_fill"]
    if unlocked:
        cell.protection = styles["unlocked"]


def write_header(ws, headers: Sequence[str], *, coder_columns: Iterable[str] = ()) -> None:
    """The header row: bold, shaded; the columns a coder fills in shaded differently."""
    coder_columns = set(coder_columns)
    fast = getattr(ws, "_cityqda_fast", None)
    if fast is not None:
        fast.header(headers, coder_columns)
        return
    ws.append([text_cell(ws, h, bold=True,
                         fill="coder" if h in coder_columns else "header") for h in headers])


def write_row(ws, values: Sequence, *, rich: dict[int, Iterable[tuple[int, int]]] | None = None,
              unlocked_columns: Iterable[int] = ()) -> bool:
    """One data row of text cells; columns named wrapped by `style_table` wrap.

    `rich` maps a 0-based column index to bold spans of that cell's text;
    `unlocked_columns` (0-based) stay editable when the sheet is protected. True when
    the row went to a `fast_rows` sheet and every value was text that `safe_text` leaves
    as it is: `plain_hash` may then stand for `content_hash` of any of them.
    """
    fast = getattr(ws, "_cityqda_fast", None)
    if fast is not None:
        return fast.row(values, rich or {}, unlocked_columns)
    wrap = getattr(ws, "_cityqda_wrap", frozenset())
    unlocked = set(unlocked_columns)
    rich = rich or {}
    cells = []
    for index, value in enumerate(values):
        letter = column_letter(index + 1)
        if index in rich:
            cells.append(rich_text_cell(ws, value, rich[index], wrap=letter in wrap,
                                        unlocked=index in unlocked))
        else:
            cells.append(text_cell(ws, value, wrap=letter in wrap, unlocked=index in unlocked))
    ws.append(cells)
    return False


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FastRows:
    """Rows of a big write-only sheet rendered straight to sheet XML, spooled to disk.

    openpyxl spends most of an export building a Cell object per value; the review sheets
    hold only text cells in a handful of styles, so their XML is written here instead
    (inline strings, `xml:space="preserve"`) and spliced into the saved package by
    `save_workbook`. Memory stays flat however many rows there are. A row is checked and
    escaped as one string (its cells joined by NUL, which no safe text holds), because
    per-cell Python work dominated exports of 100,000 rows.
    """

    _FLUSH_ROWS = 2000

    def __init__(self, ws):
        import tempfile

        self.ws = ws
        self.file = tempfile.TemporaryFile()
        self.rows = 0
        self._styles: dict[tuple, str] = {}
        self._shapes: dict[tuple, tuple[list[str], ...]] = {}
        self._letters: list[str] = []
        self._pending: list[str] = []

    def _style(self, bold=False, wrap=False, fill=None, unlocked=False) -> str:
        key = (bold, wrap, fill, unlocked)
        found = self._styles.get(key)
        if found is None:
            probe = text_cell(self.ws, "x", bold=bold, wrap=wrap, fill=fill, unlocked=unlocked)
            style_id = probe.style_id
            found = f' s="{style_id}"' if style_id else ""
            self._styles[key] = found
        return found

    def _letter(self, index: int) -> str:
        while len(self._letters) <= index:
            self._letters.append(column_letter(len(self._letters) + 1))
        return self._letters[index]

    def _write(self, cells: bytes) -> None:
        self.rows += 1
        self._pending.append(b'<row r="%d">%s</row>' % (self.rows, cells))
        if len(self._pending) >= self._FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the rows still held in memory to the spool file."""
        if self._pending:
            self.file.write(b"".join(self._pending))
            self._pending = []

    def header(self, headers, coder_columns) -> None:
        cells = []
        for index, header in enumerate(headers):
            style = self._style(bold=True, fill="coder" if header in coder_columns
                                else "header")
            cells.append(self._cell(index, safe_text(header), style))
        self._write("".join(cells).encode())

    def _cell(self, index: int, text: str, style: str) -> str:
        ref = f"{self._letter(index)}{self.rows + 1}"
        if not text:
            return f'<c r="{ref}"{style}/>' if style else ""
        return (f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">'
                f"{_xml(text)}</t></is></c>")

    def _shape(self, width: int, unlocked_columns) -> tuple:
        """Per column, as UTF-8: a text cell's XML up to the row number and from there to
        the text, an empty cell's tag end (empty when the cell is left out); the style
        attribute as text; a cache for `_template`."""
        key = (width, tuple(unlocked_columns))
        shape = self._shapes.get(key)
        if shape is None:
            wrap = getattr(self.ws, "_cityqda_wrap", frozenset())
            unlocked = set(unlocked_columns)
            styles = [self._style(wrap=self._letter(i) in wrap, unlocked=i in unlocked)
                      for i in range(width)]
            shape = ([f'<c r="{self._letters[i]}'.encode() for i in range(width)],
                     [f'" t="inlineStr"{style}><is><t xml:space="preserve">'.encode()
                      for style in styles],
                     [f'"{style}/>'.encode() if style else b"" for style in styles],
                     styles, {})
            self._shapes[key] = shape
        return shape

    @staticmethod
    def _template(shape, filled: tuple, special: frozenset) -> bytes:
        """A row's cells as one bytes %-format for `filled` (which cells hold text) and
        `special` (cells given whole): %(n)s is the row number, %(<column>)s a text."""
        starts, opens, empties, _styles, templates = shape
        key = (filled, special)
        found = templates.get(key)
        if found is None:
            pieces = []
            for index, has_text in enumerate(filled):
                name = b"%%(%d)s" % index
                if index in special:
                    pieces.append(name)
                elif has_text:
                    pieces += [starts[index], b"%(n)s", opens[index], name,
                               b"</t></is></c>"]
                elif empties[index]:
                    pieces += [starts[index], b"%(n)s", empties[index]]
            found = templates[key] = b"".join(pieces)
        return found

    def row(self, values, rich, unlocked_columns) -> bool:
        """Write one row; True when its values were all plain text (see write_row)."""
        shape = self._shape(len(values), unlocked_columns)
        texts, joined = _safe_row(values)
        escaped = joined.replace(b"&", b"&amp;").replace(b"<", b"&lt;") \
            .replace(b">", b"&gt;").split(b"\x00")
        cells = dict(zip(_KEYS, escaped, strict=False))  # _KEYS: as many as Excel allows
        cells[b"n"] = b"%d" % (self.rows + 1)
        special = _NONE
        for index, spans in (rich or {}).items():
            text = texts[index]
            if spans and text and len(text) == len(values[index] or ""):
                cells[_KEYS[index]] = self._rich(index, text, spans, shape[3][index])
                special = special | {index}
        self._write(self._template(shape, tuple(map(bool, escaped)), special) % cells)
        return texts is values

    def _rich(self, index: int, text: str, spans, style: str) -> bytes:
        """The cell's XML with each span in a bold dark red run (`text` holds no NUL)."""
        ref = f"{self._letter(index)}{self.rows + 1}"
        if len(spans) == 1:  # the usual case: one evidence span, escaped as bytes at once
            start, end = spans[0]
            start, end = max(0, start), min(len(text), end)
            if start < end:
                before, bold, after = "\x00".join((text[:start], text[start:end], text[end:])) \
                    .encode().replace(b"&", b"&amp;").replace(b"<", b"&lt;") \
                    .replace(b">", b"&gt;").split(b"\x00")
                return b"".join((
                    f'<c r="{ref}" t="inlineStr"{style}><is>'.encode(),
                    b'<r><t xml:space="preserve">%s</t></r>' % before if start else b"",
                    b'<r><rPr><b/><color rgb="FFC00000"/></rPr><t xml:space="preserve">%s'
                    b"</t></r>" % bold,
                    b'<r><t xml:space="preserve">%s</t></r>' % after
                    if end < len(text) else b"",
                    b"</is></c>"))
        runs, at = [], 0
        for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans if e > s):
            start = max(start, at)
            if end <= start:
                continue
            if start > at:
                runs.append(f'<r><t xml:space="preserve">{_xml(text[at:start])}</t></r>')
            runs.append('<r><rPr><b/><color rgb="FFC00000"/></rPr><t xml:space="preserve">'
                        f"{_xml(text[start:end])}</t></r>")
            at = end
        if at < len(text):
            runs.append(f'<r><t xml:space="preserve">{_xml(text[at:])}</t></r>')
        return f'<c r="{ref}" t="inlineStr"{style}><is>{"".join(runs)}</is></c>'.encode()


_KEYS = [b"%d" % index for index in range(16384)]  # Excel's widest row
_NONE: frozenset = frozenset()

# C0 controls XML forbids (tab and newline allowed) as bytes, and the lead byte of
# U+F000-U+FFFF (rare; covers U+FFFE and U+FFFF: such text takes the careful path). NUL,
# the separator of a joined row, is checked by counting.
_CONTROL_BYTES = bytes(range(1, 9)) + bytes(range(11, 32)) + b"\xef"
_CONTROL_BYTES_WITH_NUL = b"\x00" + _CONTROL_BYTES


def _plain_utf8(joined: str, control: bytes = _CONTROL_BYTES) -> bytes | None:
    """`joined` as UTF-8 when it holds nothing `safe_text` would change apart from its
    length (no control character but tab and newline, no surrogate, nothing from
    U+F000 on, which covers U+FFFE and U+FFFF); None otherwise. Checked on the bytes,
    much faster than a regular expression over the text."""
    try:
        data = joined.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if len(data.translate(None, control)) != len(data):
        return None
    return data


def _plain_joined(values: Sequence) -> bytes | None:
    """The cells joined by NUL as UTF-8 when every one is plain text within Excel's cell
    limit that needs no change (one check over the joined row, no Python work per cell);
    None when any cell needs the per-cell path."""
    try:
        joined = "\x00".join(values)
    except TypeError:  # a number or None among them
        return None
    data = _plain_utf8(joined)
    if data is not None and data.count(b"\x00") == len(values) - 1 and (
            len(joined) <= MAX_CELL_CHARS or max(map(len, values)) <= MAX_CELL_CHARS):
        return data
    return None

def _safe_row(values: Sequence) -> tuple[list[str], bytes]:
    """`safe_text` of every value, and them joined by NUL as UTF-8; one check over the
    joined row when all are plain text that needs no change (the usual case: then the
    list returned is `values` itself when it is a list)."""
    data = _plain_joined(values)
    if data is not None:
        return (values if isinstance(values, list) else list(values)), data
    texts = [safe_text(value) for value in values]
    return texts, "\x00".join(texts).encode()


def fast_rows(ws) -> None:
    """Let `write_header`/`write_row` render this write-only sheet's rows directly (for
    sheets of many rows); do not mix with `ws.append` on the same sheet."""
    ws._cityqda_fast = FastRows(ws)


def register_list(wb, name: str, values: Sequence[str]) -> str:
    """Define `name` as a closed list for dropdowns; returns the name.

    The values go on the hidden `_lists` sheet (one column per list) when the workbook is
    saved with `save_workbook`; the defined name is created now.
    """
    from openpyxl.workbook.defined_name import DefinedName

    lists: dict[str, list[str]] = wb.__dict__.setdefault("_cityqda_lists", {})
    if name in lists:
        raise ValueError(f"list {name!r} registered twice")
    values = [safe_text(v) for v in values] or [""]
    lists[name] = values
    column = column_letter(len(lists))
    wb.defined_names[name] = DefinedName(
        name, attr_text=f"{LISTS_SHEET}!${column}$1:${column}${len(values)}")
    return name


def add_list_validation(ws, column_letter: str, first_row: int, last_row: int,
                        list_name: str):
    """A dropdown from the defined name `list_name` on column cells first_row..last_row.

    Typing another value only warns (Excel's "warning" style), so the import is what
    refuses unknown values, with a message naming the cell.
    """
    from openpyxl.worksheet.datavalidation import DataValidation

    validation = DataValidation(type="list", formula1=list_name, allow_blank=True,
                                showErrorMessage=True, errorStyle="warning",
                                errorTitle="Not in the list",
                                error="This value is not in the list; the import will "
                                      "report it.")
    validation.add(f"{column_letter}{first_row}:{column_letter}{max(first_row, last_row)}")
    ws.data_validations.append(validation)
    return validation


def style_table(ws, widths: dict[str, float], wrap_columns: Iterable[str] = (), *,
                rows: int | None = None, columns: int | None = None) -> None:
    """Frozen header row, autofilter, column widths (keys are column letters), wrapping.

    Call before writing rows (write-only sheets need it). `rows` is the number of rows
    including the header (the filter covers whole columns when unknown); `columns`
    defaults to the widest column named in `widths`.
    """
    from openpyxl.utils import column_index_from_string

    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    last = columns or max((column_index_from_string(k) for k in widths), default=1)
    ws.auto_filter.ref = f"A1:{column_letter(last)}{rows if rows else 1048576}"
    ws._cityqda_wrap = frozenset(wrap_columns)


def protect_sheet(ws) -> None:
    """Protect a sheet so only filtering (and editing unlocked cells) remains possible.

    Excel cannot sort or delete rows on a protected sheet, which is why review sheets are
    unprotected unless the user asks (`review export --protect`).
    """
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def new_workbook(*, write_only: bool = True):
    from openpyxl import Workbook

    wb = Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    return wb


def save_workbook(wb, path: str | Path, *, ready=None) -> Path:
    """Write the `_lists` sheet, then save with fixed dates so equal content gives equal
    bytes; the file appears complete or not at all. `ready()`, when given, is called
    before the file is put in place: what it raises leaves no file (work done beside the
    save that the file must not outlive)."""
    import os
    import tempfile

    from pipeline.xlsx_determinism import normalise_ooxml_zip

    path = Path(path)
    lists: dict[str, list[str]] = wb.__dict__.get("_cityqda_lists", {})
    if lists:
        ws = wb.create_sheet(LISTS_SHEET)
        ws.sheet_state = "hidden"
        height = max(len(v) for v in lists.values())
        columns = list(lists.values())
        for index in range(height):
            ws.append([text_cell(ws, col[index]) if index < len(col) else None
                       for col in columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".cityqda-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    fast = {ws.title: ws._cityqda_fast for ws in wb.worksheets
            if getattr(ws, "_cityqda_fast", None) is not None}
    try:
        wb.save(temp_name)
        if fast:
            _splice_fast_sheets(temp_name, fast)
        else:
            normalise_ooxml_zip(temp_name)
        if ready is not None:
            ready()
        os.chmod(temp_name, 0o666 & ~_umask())
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    return path


def _splice_fast_sheets(name: str, fast: dict[str, FastRows]) -> None:
    """Rewrite the saved package with the spooled rows inside their sheets' <sheetData>,
    with the fixed entry dates and order of `pipeline.xlsx_determinism`."""
    import os
    import shutil
    import tempfile

    from pipeline.xlsx_determinism import (
        CORE_PROPERTIES,
        _entry_order,
        fix_core_dates,
        fixed_zip_info,
    )

    with zipfile.ZipFile(name) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()
                 if not info.is_dir()}
        spliced = {_sheet_part(source, title): rows for title, rows in fast.items()}
    handle, temp_name = tempfile.mkstemp(suffix=".xlsx", dir=os.path.dirname(name))
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w") as target:
            for part in sorted(parts, key=_entry_order):
                data = parts[part]
                if part == CORE_PROPERTIES:
                    data = fix_core_dates(data)
                info = fixed_zip_info(part, compresslevel=6)
                rows = spliced.get(part)
                if rows is None:
                    target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                                    compresslevel=6)
                    continue
                marker = b"<sheetData></sheetData>"
                if marker not in data:
                    marker = b"<sheetData/>"
                head, tail = data.split(marker, 1)
                info._compresslevel = 1  # big sheets: deflate level 6 took 3x as long
                with target.open(info, "w", force_zip64=True) as stream:
                    stream.write(head + b"<sheetData>")
                    rows.flush()
                    rows.file.seek(0)
                    shutil.copyfileobj(rows.file, stream, 1 << 20)
                    stream.write(b"</sheetData>" + tail)
                rows.file.close()
        os.replace(temp_name, name)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- reading -----------------------------------------------------------------------------

def normalise_value(value):
    """A cell value as the import compares it: None/"" -> None, integral floats -> int,
    dates -> ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def comparable(value) -> str | None:
    """A cell value as `content_hash` sees it (text, or None for an empty cell)."""
    if type(value) is str:
        if not value:
            return None
        if len(value) <= MAX_CELL_CHARS and not _UNSAFE.search(value):
            return value
        return safe_text(value)
    if isinstance(value, str):
        value = safe_text(value)
    value = normalise_value(value)
    return None if value is None else str(value)


def content_hash(values: list) -> str:
    """sha256 of read-only cells, compared between export and import.

    Values are normalised as `read_sheet_rows` gives them back (a number re-saved as a
    float hashes like the integer; empty text like no value), so a re-save by Excel or
    LibreOffice does not count as an edit.
    """
    # length-prefixed, so no text can imitate a boundary; None differs from ""
    for value in values:
        if value is not None and type(value) is not str:
            break
    else:  # all text or empty: one check of the joined cells instead of one per cell
        joined = "".join([f"{len(v)}:{v};" if v else "-;" for v in values])
        data = _plain_utf8(joined, _CONTROL_BYTES_WITH_NUL)
        if data is not None and (len(joined) <= MAX_CELL_CHARS or max(
                len(v) for v in values if v is not None) <= MAX_CELL_CHARS):
            return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    for value in values:
        value = comparable(value)
        digest.update(b"-;" if value is None else f"{len(value)}:{value};".encode())
    return digest.hexdigest()


def plain_hash(values: Sequence[str]) -> str:
    """`content_hash` of values that `write_row` found plain (text that needs no change,
    none over the cell limit), without checking them a second time."""
    return hashlib.sha256("".join([f"{len(v)}:{v};" if v else "-;" for v in values])
                          .encode()).hexdigest()


# Recorded hashes of the second format start with this; a hash without it is a
# `content_hash` (exports made before the second format), which the import still checks.
ROW_HASH_PREFIX = "2:"


def row_hash(values: Sequence) -> str:
    """The read-only cells' hash as exports now record it: sha256 of the cells as
    `comparable` text ("" for an empty cell) joined by NUL, which no comparable text
    holds, so no cell can imitate a boundary.

    Same normalisation as `content_hash` (a re-save does not count as an edit), but a
    row of plain text, the usual case, is checked and hashed as one joined string with no
    Python work per cell: hashing dominated reading 100,000 returned rows."""
    data = _plain_joined(values)
    if data is not None:
        return ROW_HASH_PREFIX + hashlib.sha256(data).hexdigest()
    return ROW_HASH_PREFIX + hashlib.sha256(
        "\x00".join([comparable(v) or "" for v in values]).encode()).hexdigest()


def row_hash_expecting(values: Sequence, expected: str | None) -> str:
    """`row_hash(values)`, taken first on the cells as they are, unchecked, when all are
    text: if that gives `expected`, a recorded `row_hash`, row_hash gives it too (the
    joined texts are then the recorded row's comparable texts, which hold no NUL, so
    every cell equals its comparable text), and the per-row checks are skipped."""
    if expected is not None:
        try:
            digest = ROW_HASH_PREFIX + hashlib.sha256("\x00".join(values).encode()).hexdigest()
        except (TypeError, UnicodeEncodeError):  # a number or a lone surrogate
            digest = None
        if digest == expected:
            return digest
    return row_hash(values)


def plain_row_hash(values: Sequence[str]) -> str:
    """`row_hash` of values that `write_row` found plain (see `plain_hash`)."""
    return ROW_HASH_PREFIX + hashlib.sha256("\x00".join(values).encode()).hexdigest()


def hash_like(recorded: str | None, values: Sequence) -> str:
    """The hash of `values` in the format of `recorded` (a hash of the export record)."""
    if recorded is None or recorded.startswith(ROW_HASH_PREFIX):
        return row_hash(values)
    return content_hash(list(values))


def open_workbook(path: str | Path):
    """A python-calamine workbook, or CQ500 saying why the file cannot be read."""
    import python_calamine

    path = Path(path)
    if not path.is_file():
        raise CityQDAError("CQ006", path=str(path))
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several unrelated exception types
        raise CityQDAError("CQ500", file=str(path),
                           problem=f"{type(exc).__name__}: {exc}") from exc


def sheet_names(path: str | Path) -> list[str]:
    return list(open_workbook(path).sheet_names)


def read_sheet_rows(path: str | Path, sheet: str, *, required: Iterable[str] = (),
                    workbook=None, keep=None, loaded=None, keep_raw=None) -> list:
    """Rows of `sheet` as dicts keyed by header text, each with `_row` (Excel row number).

    Rows with no value at all are skipped (a coder's emptied row is a deleted row).
    Raises CQ501 when the sheet is missing and CQ502 naming every `required` column the
    header row lacks; values are normalised with `normalise_value`. `keep(row)`, when
    given, sees each row as it is read and returns what to keep of it (None drops it), so
    a big sheet need not be held in full. `loaded`, when given, is a future of the sheet
    parsed already (`load_sheet` in another thread).

    `keep_raw(index)`, when given, is called once with the header's column positions
    (name -> 0-based index) and returns `take(values, number)`, which sees each non-empty
    row as python-calamine gives it (a list, not normalised: an empty cell is "") with
    its row number, and returns what to keep of it (None drops it). It replaces `keep`
    and the dict per row: for big sheets whose rows mostly need only a hash and a few
    cells.
    """
    book = workbook if workbook is not None else open_workbook(path)
    if sheet not in book.sheet_names:
        raise CityQDAError("CQ501", file=str(path), sheet=sheet, expected=sheet,
                           found=", ".join(book.sheet_names) or "(no sheets)")
    try:
        source = loaded.result() if loaded is not None else book.get_sheet_by_name(sheet)
        if source.start in (None, (0, 0)):
            data = iter(source.iter_rows())  # streamed: rows are numbered from A1
        else:
            data = iter(source.to_python(skip_empty_area=False))
        first = next(data, None)
    except Exception as exc:
        raise CityQDAError("CQ500", file=str(path), sheet=sheet,
                           problem=f"{type(exc).__name__}: {exc}") from exc
    if first is None:
        headers: list = []
    else:
        headers = [normalise_value(h) for h in first]
        headers = [h.strip() if isinstance(h, str) else h for h in headers]
    missing = [name for name in required if name not in headers]
    if missing:
        found = ", ".join(str(h) for h in headers if h is not None) or "(empty header row)"
        raise CityQDAError.from_problems([
            Problem("CQ502", {"expected": name, "found": found}, str(path), 1, name, sheet)
            for name in missing])
    index = {}
    for position, header in enumerate(headers):
        if isinstance(header, str) and header and header not in index:
            index[header] = position
    names, positions = list(index), list(index.values())
    in_order = positions == list(range(len(positions)))
    width = len(positions)
    rows = []
    if keep_raw is not None:
        take = keep_raw(dict(index))
        for number, raw in enumerate(data, start=2):
            if not any(raw) and all(normalise_value(v) is None for v in raw):
                continue  # an emptied row (0 or False would be a value)
            kept = take(raw, number)
            if kept is not None:
                rows.append(kept)
        return rows
    for number, raw in enumerate(data, start=2):
        # text is most cells: only "" needs normalising there
        values = [(v or None) if type(v) is str else normalise_value(v) for v in raw]
        if values.count(None) == len(values):
            continue
        if in_order:  # the header as written: columns in order from A
            if len(values) < width:
                values += [None] * (width - len(values))
            row = dict(zip(names, values, strict=False))
        else:
            row = {name: (values[pos] if pos < len(values) else None)
                   for name, pos in index.items()}
        row["_row"] = number
        if keep is not None:
            row = keep(row)
            if row is None:
                continue
        rows.append(row)
    return rows


def blank_row(row: dict) -> bool:
    """A `read_sheet_rows` row whose cells hold nothing but spaces: empty to the coder who
    typed a space below the table, so skipped like an empty row, not refused."""
    return all(value is None or (isinstance(value, str) and not value.strip())
               for key, value in row.items() if key != "_row")


def load_sheet(path: str | Path, sheet: str):
    """`sheet` parsed by python-calamine from a workbook opened for this call alone, so
    that it can run in another thread (calamine parses without holding the GIL)."""
    return open_workbook(path).get_sheet_by_name(sheet)


class SheetPrefetch:
    """Big sheets of one workbook parsed, then their formula cells looked for, a thread
    per sheet: python-calamine and zlib work without holding the GIL, so on two cores a
    100,000-row import reads the store and the smaller sheet's rows while the biggest is
    still being parsed, and scans a sheet for formulas while its rows are read."""

    def __init__(self, path: str | Path, sheets: Sequence[str], sheet_names=None):
        from concurrent.futures import ThreadPoolExecutor

        path = Path(path)
        if sheet_names is None:
            sheet_names = open_workbook(path).sheet_names
        self.stamp = _file_stamp(path)
        present = [sheet for sheet in sheets if sheet in sheet_names]
        self._pools = [ThreadPoolExecutor(max_workers=1) for _sheet in present]
        self._sheets = {sheet: pool.submit(load_sheet, path, sheet)
                        for sheet, pool in zip(present, self._pools, strict=True)}
        self._formulas = {sheet: pool.submit(formula_cells, path, sheet)
                          for sheet, pool in zip(present, self._pools, strict=True)}

    def __contains__(self, sheet: str) -> bool:
        return sheet in self._formulas

    def take_sheet(self, sheet: str):
        """The sheet's future, forgotten here: a parsed sheet (about 200 MB for 100,000
        Codings rows) must not outlive its reading."""
        return self._sheets.pop(sheet)

    def formulas(self, sheet: str):
        return self._formulas[sheet].result()

    def pool_of(self, sheet: str):
        """The single-thread executor that parses `sheet` and then looks for its
        formulas, or None: more work given to it runs after those (in a thread that
        has its malloc arena already; a new thread's would add to the import's peak).
        `close` cancels what has not started."""
        if sheet not in self._formulas:
            return None
        return self._pools[list(self._formulas).index(sheet)]

    def close(self) -> None:
        self._sheets.clear()
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)


# the big sheets of a review workbook (pipeline.review.rows.CODINGS_SHEET, SEGMENTS_SHEET)
REVIEW_BIG_SHEETS = ("Codings", "Segments")
_STARTED: dict[Path, SheetPrefetch] = {}


def _file_stamp(path: Path) -> tuple:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def start_prefetch(paths: Sequence[str | Path], sheets: Sequence[str] = REVIEW_BIG_SHEETS,
                   ) -> None:
    """Begin parsing the first workbook's big sheets now, for `review import`: a command
    calls this before its heavy imports (about a second), and the import takes the
    parsed sheets with `started_prefetch`. Anything wrong with the file is left for the
    import to report."""
    for path in list(paths)[:1]:
        try:
            key = Path(path).resolve()
            if key not in _STARTED:
                _STARTED[key] = SheetPrefetch(path, sheets)
        except Exception:  # noqa: BLE001 - reported by the import itself
            pass


def started_prefetch(path: str | Path) -> SheetPrefetch | None:
    """The prefetch `start_prefetch` began for this very file (unchanged since), or None."""
    found = _STARTED.pop(Path(path).resolve(), None)
    if found is None:
        return None
    try:
        same = found.stamp == _file_stamp(Path(path))
    except OSError:
        same = False
    if not same:
        found.close()
        return None
    return found


def formula_cells(path: str | Path, sheet: str) -> list[tuple[int, str, str]]:
    """(row, column letter, formula) of every formula cell of `sheet`.

    Calamine reads only cached values, so a pasted formula would pass for typed text;
    reviews take typed values only. The sheet XML is searched as bytes first (fast), and
    parsed only when a formula element is there.
    """
    from lxml import etree

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as package:
            part = _sheet_part(package, sheet)
            if part is None or not _has_formula_tag(package, part):
                return []
            data = package.read(part)
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    found = []
    for _event, cell in etree.iterparse(io.BytesIO(data), tag="{*}c"):
        formula = next((child for child in cell if etree.QName(child).localname == "f"),
                       None)
        if formula is not None:
            ref = cell.get("r") or ""
            match = re.match(r"([A-Z]+)(\d+)", ref)
            if match:
                found.append((int(match.group(2)), match.group(1),
                              "=" + (formula.text or "")))
        cell.clear()
    return found


_SCAN_CHUNK = 1 << 22


def _has_formula_tag(package: zipfile.ZipFile, part: str) -> bool:
    """Whether the part holds a formula element, read in chunks (a 100,000-row sheet is
    about 200 MB of XML, which need not be held at once)."""
    tail = b""
    with package.open(part) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            data = tail + chunk
            # every formula tag holds "<f" or ":f" (a prefix): two byte searches rule
            # most chunks out faster than the pattern, which holds the GIL longer
            if (b"<f" in data or b":f" in data) and _FORMULA_TAG.search(data):
                return True
            tail = data[-64:]  # a tag cut by the chunk boundary is found with the next
    return False


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str | None:
    from lxml import etree

    book = etree.fromstring(package.read("xl/workbook.xml"))
    rels = etree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    for node in book.iter("{*}sheet"):
        if node.get("name") == sheet:
            rid = next((v for k, v in node.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid)
            if target is None:
                return None
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


def column_letters(headers: Sequence[str]) -> dict[str, str]:
    """Header text -> column letter."""
    return {header: column_letter(index + 1) for index, header in enumerate(headers)}
