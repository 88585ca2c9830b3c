"""Read a Word transcript into plain text and blocks, in document order.

python-docx opens the package (and refuses what is not a Word document); the text comes
from our own walk over the body XML because `Document.paragraphs` skips tables, content
controls and tracked insertions, and python-docx's table API repeats merged cells.

The walk reads what a reader of the document sees with all tracked changes accepted:

- paragraphs, tables (every cell once: a vertically merged continuation cell and a
  horizontally spanned cell are one ``w:tc`` each, and empty continuation cells are
  skipped), nested tables, content controls (``w:sdt``), hyperlinks, smart tags, custom
  XML, text boxes (the ``mc:Choice`` branch only, never its duplicate fallback);
- field results: ``w:fldSimple`` children, and for complex fields only the runs between
  ``separate`` and ``end`` (instructions such as ``HYPERLINK "..."`` are not text);
- tracked insertions and moves-to in; deletions, moves-from and deleted rows/cells out;
  a paragraph whose mark was deleted joins the next paragraph, as accepting would do;
- tabs as ``\\t``, soft line breaks (and page/column breaks) as ``\\n``, non-breaking
  hyphens as U+2011, soft hyphens as U+00AD: the original characters are kept; matching
  uses the normalised copy (`pipeline.ingest.normalise`).

Paragraphs and cells are joined by ``\\n``; a cell's paragraphs form one block.
Headers, footers, footnotes, endnotes and comments are read apart, as notes.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from lxml import etree

from pipeline.errors import CityQDAError
from pipeline.ingest.package_checks import check_package

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
M_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _w(name: str) -> str:
    return f"{{{W_NS}}}{name}"


P, R, T, TBL, TR, TC, SDT, SDT_CONTENT = (_w(n) for n in (
    "p", "r", "t", "tbl", "tr", "tc", "sdt", "sdtContent"))
INS, DEL, MOVE_TO, MOVE_FROM = (_w(n) for n in ("ins", "del", "moveTo", "moveFrom"))
SDT_PR, SHOWING_PLACEHOLDER, VANISH = _w("sdtPr"), _w("showingPlcHdr"), _w("vanish")
HYPERLINK, SMART_TAG, CUSTOM_XML, FLD_SIMPLE, DIR, BDO = (_w(n) for n in (
    "hyperlink", "smartTag", "customXml", "fldSimple", "dir", "bdo"))
FLD_CHAR, INSTR_TEXT, DEL_TEXT, DEL_INSTR = (_w(n) for n in (
    "fldChar", "instrText", "delText", "delInstrText"))
TAB, PTAB, BR, CR, NB_HYPHEN, SOFT_HYPHEN = (_w(n) for n in (
    "tab", "ptab", "br", "cr", "noBreakHyphen", "softHyphen"))
DRAWING, PICT, TXBX_CONTENT, ALT_CHUNK = (_w(n) for n in (
    "drawing", "pict", "txbxContent", "altChunk"))
PPR, RPR, TCPR, TRPR, PSTYLE, RSTYLE, NUMPR, NUMID, OUTLINE = (_w(n) for n in (
    "pPr", "rPr", "tcPr", "trPr", "pStyle", "rStyle", "numPr", "numId", "outlineLvl"))
BOLD, ITALIC, VMERGE, HMERGE, CELL_DEL, TBL_HEADER = (_w(n) for n in (
    "b", "i", "vMerge", "hMerge", "cellDel", "tblHeader"))
COMMENT_START, COMMENT_END = _w("commentRangeStart"), _w("commentRangeEnd")
VAL, ID, TYPE, FLD_CHAR_TYPE = (_w(n) for n in ("val", "id", "type", "fldCharType"))
ALTERNATE, CHOICE = f"{{{MC_NS}}}AlternateContent", f"{{{MC_NS}}}Choice"
MATH_T = f"{{{M_NS}}}t"
MATH_CONTAINERS = {f"{{{M_NS}}}oMath", f"{{{M_NS}}}oMathPara"}

RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
NOTE_PARTS = {
    RT + "header": "header",
    RT + "footer": "footer",
    RT + "footnotes": "footnote",
    RT + "endnotes": "endnote",
    RT + "comments": "comment",
}
CONTENT_TYPES = {
    "application/vnd.ms-word.document.macroEnabled.main+xml":
        "it is a macro-enabled document (.docm)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "it is a Word template (.dotx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        "it is an Excel workbook",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml":
        "it is a PowerPoint presentation",
}

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                               huge_tree=False)


def _control_content(sdt):
    """A content control's content, or None while it shows its placeholder text ("Click
    or tap here to enter text."): a template's unfilled field is no answer and no value."""
    props = sdt.find(SDT_PR)
    if props is not None and props.find(SHOWING_PLACEHOLDER) is not None:
        return None
    return sdt.find(SDT_CONTENT)


@dataclass
class Block:
    """One paragraph, list item, table cell (its paragraphs) or text-box paragraph."""

    index: int
    kind: str  # paragraph | list_item | table_cell | textbox
    text: str
    start: int
    end: int
    style: str | None = None
    heading_level: int | None = None  # from a Heading style or an outline level
    title: bool = False  # Title or Subtitle style
    bold: bool = False  # every visible character bold
    italic: bool = False  # every visible character italic
    table: int | None = None  # table number, in document order
    table_root: int | None = None  # number of the outermost table holding this cell
    row: int | None = None
    column: int | None = None
    columns: int | None = None  # cells in this row
    depth: int = 0  # table nesting depth
    header_row: bool = False


@dataclass
class Note:
    kind: str  # header | footer | footnote | endnote | comment
    text: str
    author: str | None = None
    anchor_start: int | None = None  # comments: the commented span of the plain text
    anchor_end: int | None = None


@dataclass
class DocxContent:
    blocks: list[Block]
    plain: str
    notes: list[Note] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


# --- styles -----------------------------------------------------------------------------


def _on(element) -> bool | None:
    if element is None:
        return None
    value = element.get(VAL)
    return value not in ("0", "false", "off", "none")


@dataclass
class _Style:
    name: str
    based_on: str | None
    bold: bool | None
    italic: bool | None
    outline: int | None
    numbered: bool | None


class StyleSheet:
    """Resolved paragraph and character style properties, following ``basedOn``.

    Styles are read when first used: a document declares a hundred or more and uses few.
    """

    def __init__(self, styles_element):
        self.elements: dict[str, object] = {}
        self.styles: dict[str, _Style | None] = {}
        self.default_paragraph: str | None = None
        self.default_bold = False
        self.default_italic = False
        self._cache: dict[tuple[str | None, str], object] = {}
        if styles_element is None:
            return
        defaults = styles_element.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{RPR}")
        if defaults is not None:
            self.default_bold = bool(_on(defaults.find(BOLD)))
            self.default_italic = bool(_on(defaults.find(ITALIC)))
        style_id_attribute, default_attribute = _w("styleId"), _w("default")
        for style in styles_element.iterchildren(_w("style")):
            style_id = style.get(style_id_attribute)
            if not style_id:
                continue
            self.elements.setdefault(style_id, style)
            if self.default_paragraph is None and style.get(TYPE) == "paragraph" and \
                    style.get(default_attribute) in ("1", "true", "on"):
                self.default_paragraph = style_id

    def style(self, style_id: str | None) -> _Style | None:
        if style_id not in self.styles:
            element = self.elements.get(style_id)
            self.styles[style_id] = None if element is None else self._read(style_id, element)
        return self.styles[style_id]

    @staticmethod
    def _read(style_id: str, style) -> _Style:
        name_el = style.find(_w("name"))
        based = style.find(_w("basedOn"))
        rpr = style.find(RPR)
        ppr = style.find(PPR)
        outline = None
        numbered = None
        if ppr is not None:
            outline_el = ppr.find(OUTLINE)
            if outline_el is not None and (outline_el.get(VAL) or "").isdigit():
                outline = int(outline_el.get(VAL))
            num = ppr.find(NUMPR)
            if num is not None:
                num_id = num.find(NUMID)
                numbered = num_id is None or num_id.get(VAL) != "0"
        return _Style(
            name=name_el.get(VAL) if name_el is not None else style_id,
            based_on=based.get(VAL) if based is not None else None,
            bold=_on(rpr.find(BOLD)) if rpr is not None else None,
            italic=_on(rpr.find(ITALIC)) if rpr is not None else None,
            outline=outline, numbered=numbered)

    def _chain(self, style_id: str | None):
        seen = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.style(style_id)
            if style is None:
                return
            yield style
            style_id = style.based_on

    def _first(self, style_id: str | None, attribute: str):
        key = (style_id, attribute)
        if key not in self._cache:
            self._cache[key] = next((getattr(s, attribute) for s in self._chain(style_id)
                                     if getattr(s, attribute) is not None), None)
        return self._cache[key]

    def name(self, style_id: str | None) -> str | None:
        style = self.style(style_id) if style_id else None
        return style.name if style is not None else style_id

    def heading_level(self, style_id: str | None) -> int | None:
        key = (style_id, "heading_level")
        if key not in self._cache:
            self._cache[key] = self._heading_level(style_id)
        return self._cache[key]

    def _heading_level(self, style_id: str | None) -> int | None:
        for style in self._chain(style_id):
            match = re.fullmatch(r"heading\s*(\d)", style.name.strip(), re.IGNORECASE)
            if match:
                return int(match.group(1))
        outline = self._first(style_id, "outline")
        return outline + 1 if outline is not None and outline < 9 else None

    def is_title(self, style_id: str | None) -> bool:
        key = (style_id, "title")
        if key not in self._cache:
            self._cache[key] = any(s.name.strip().lower() in ("title", "subtitle")
                                   for s in self._chain(style_id))
        return self._cache[key]

    def bold(self, style_id: str | None) -> bool | None:
        return self._first(style_id, "bold")

    def italic(self, style_id: str | None) -> bool | None:
        return self._first(style_id, "italic")

    def numbered(self, style_id: str | None) -> bool:
        return bool(self._first(style_id, "numbered"))


# --- the walk ---------------------------------------------------------------------------


@dataclass
class _Para:
    """A paragraph as walked, before cells are grouped into blocks."""

    serial: int
    text: str
    bold: bool
    italic: bool
    style_id: str | None
    numbered: bool
    outline: int | None
    cell: tuple | None = None  # (group, table, root, row, column, columns, depth, header)
    textbox: bool = False


class _Walker:
    def __init__(self, styles: StyleSheet):
        self.styles = styles
        self.paras: list[_Para] = []
        self.fields: list[str] = []  # stack of "instr" / "result" for complex fields
        self.tables = 0
        self.groups = 0
        self.left_out: list[str] = []
        # comment id -> (para serial, offset) for starts and ends
        self.comment_starts: dict[str, tuple[int, int]] = {}
        self.comment_ends: dict[str, tuple[int, int]] = {}
        self._serial = 0
        self._cell: tuple | None = None
        self._root = 0

    # block level -----------------------------------------------------------------------

    def container(self, element, depth: int = 0) -> None:
        carry: _Building | None = None
        for child in element:
            tag = child.tag
            if tag == P:
                building = self.paragraph(child, carry)
                carry = None
                if building.mark_deleted:
                    carry = building
                else:
                    self.finish(building)
            elif tag == TBL:
                if carry is not None:
                    self.finish(carry)
                    carry = None
                self.table(child, depth + 1)
            elif tag in (SDT, CUSTOM_XML, INS, MOVE_TO):
                inner = _control_content(child) if tag == SDT else child
                if inner is not None:
                    self.container(inner, depth)
            elif tag == ALTERNATE:
                choice = child.find(CHOICE)
                if choice is not None:
                    self.container(choice, depth)
            elif tag == ALT_CHUNK:
                self.left_out.append("an embedded document part (altChunk)")
            elif tag == COMMENT_START:
                self.comment_starts[child.get(ID)] = (self._serial, 0)
            elif tag == COMMENT_END:
                self.comment_ends[child.get(ID)] = (self._serial - 1, -1)
        if carry is not None:
            self.finish(carry)

    def table(self, tbl, depth: int) -> None:
        self.tables += 1
        number = self.tables
        if depth == 1:
            self._root = number
        rows = [tr for tr in self._rows(tbl) if not self._row_deleted(tr)]
        for row_index, tr in enumerate(rows, start=1):
            cells = [tc for tc in self._cells(tr) if not self._cell_skipped(tc)]
            header = self._header_row(tr)
            for column, tc in enumerate(cells, start=1):
                self.groups += 1
                previous = self._cell
                self._cell = (self.groups, number, self._root, row_index, column, len(cells),
                              depth, header)
                self.cell(tc, depth)
                self._cell = previous

    def cell(self, tc, depth: int) -> None:
        start = len(self.paras)
        carry = None
        for child in tc:
            tag = child.tag
            if tag == TBL:
                if carry is not None:
                    self.finish(carry)
                    carry = None
                self.table(child, depth + 1)
                # paragraphs after a nested table form a new block of the same cell
                self.groups += 1
                self._cell = (self.groups,) + self._cell[1:]
            elif tag == P:
                building = self.paragraph(child, carry)
                carry = building if building.mark_deleted else None
                if carry is None:
                    self.finish(building)
            elif tag in (SDT, CUSTOM_XML):
                inner = _control_content(child) if tag == SDT else child
                if inner is not None:
                    self.cell(inner, depth)
        if carry is not None:
            self.finish(carry)
        if len(self.paras) == start:  # an empty cell still takes its place
            self.finish(_Building(self, None))

    def _rows(self, tbl):
        for child in tbl:
            if child.tag == TR:
                yield child
            elif child.tag in (SDT, CUSTOM_XML):
                inner = _control_content(child) if child.tag == SDT else child
                if inner is not None:
                    yield from self._rows(inner)

    def _cells(self, tr):
        for child in tr:
            if child.tag == TC:
                yield child
            elif child.tag in (SDT, CUSTOM_XML):
                inner = _control_content(child) if child.tag == SDT else child
                if inner is not None:
                    yield from self._cells(inner)

    @staticmethod
    def _row_deleted(tr) -> bool:
        trpr = tr.find(TRPR)
        return trpr is not None and trpr.find(DEL) is not None

    def _cell_skipped(self, tc) -> bool:
        tcpr = tc.find(TCPR)
        if tcpr is None:
            return False
        if tcpr.find(CELL_DEL) is not None:
            return True
        for merge_tag in (VMERGE, HMERGE):
            merge = tcpr.find(merge_tag)
            if merge is not None and merge.get(VAL) in (None, "continue"):
                # a continuation of a merged cell: Word keeps its content in the first cell
                return not "".join(t.text or "" for t in tc.iter(T)).strip()
        return False

    @staticmethod
    def _header_row(tr) -> bool:
        trpr = tr.find(TRPR)
        return trpr is not None and _on(trpr.find(TBL_HEADER)) is True

    # paragraph level -------------------------------------------------------------------

    def paragraph(self, p, carry: _Building | None) -> _Building:
        building = _Building(self, p)
        if carry is not None:
            building.absorb(carry)
        building.walk(p)
        return building

    def finish(self, building: _Building) -> None:
        self.paras.append(building.para(self._serial, self._cell))
        self._serial += 1
        for deferred in building.textboxes:
            previous = self._cell
            self._cell = None
            sub = _Walker(self.styles)
            sub.container(deferred)
            for para in sub.paras:
                para.serial = self._serial
                para.textbox = True
                self.paras.append(para)
                self._serial += 1
            self._cell = previous


class _Building:
    """Runs of one paragraph as they are walked, with their formatting."""

    def __init__(self, walker: _Walker, p):
        self.walker = walker
        self.parts: list[str] = []
        self.length = 0
        self.visible_bold = True
        self.visible_italic = True
        self.visible = False
        self.textboxes: list = []
        self.mark_deleted = False
        self.style_id = None
        self.outline = None
        ppr = p.find(PPR) if p is not None else None
        num = None
        if ppr is not None:
            style = ppr.find(PSTYLE)
            if style is not None:
                self.style_id = style.get(VAL)
            num = ppr.find(NUMPR)
            outline = ppr.find(OUTLINE)
            if outline is not None and (outline.get(VAL) or "").isdigit():
                self.outline = int(outline.get(VAL))
            mark = ppr.find(RPR)
            if mark is not None and mark.find(DEL) is not None:
                self.mark_deleted = True
        if self.style_id is None:
            self.style_id = walker.styles.default_paragraph
        if num is not None:
            num_id = num.find(NUMID)
            self.numbered = num_id is None or num_id.get(VAL) != "0"
        else:
            self.numbered = walker.styles.numbered(self.style_id)
        self.paragraph_bold = walker.styles.bold(self.style_id)
        self.paragraph_italic = walker.styles.italic(self.style_id)

    def absorb(self, carry: _Building) -> None:
        """Prepend a paragraph whose mark was deleted (accepting the deletion joins them).

        The carried paragraph was never finished, so it shares this paragraph's serial and
        comment positions recorded in either stay right.
        """
        self.parts.extend(carry.parts)
        self.length += carry.length
        self.visible = carry.visible
        self.visible_bold = carry.visible_bold
        self.visible_italic = carry.visible_italic
        self.textboxes.extend(carry.textboxes)

    def add(self, text: str, bold: bool, italic: bool) -> None:
        if not text:
            return
        if self.walker.fields and any(state == "instr" for state in self.walker.fields):
            return
        self.parts.append(text)
        self.length += len(text)
        if text.strip():
            self.visible = True
            self.visible_bold = self.visible_bold and bold
            self.visible_italic = self.visible_italic and italic

    def walk(self, element) -> None:
        for child in element:
            tag = child.tag
            if tag == R:
                self.run(child)
            elif tag in (HYPERLINK, SMART_TAG, CUSTOM_XML, INS, MOVE_TO, FLD_SIMPLE, DIR, BDO):
                self.walk(child)
            elif tag == SDT:
                inner = _control_content(child)
                if inner is not None:
                    self.walk(inner)
            elif tag == ALTERNATE:
                choice = child.find(CHOICE)
                if choice is not None:
                    self.walk(choice)
            elif tag in MATH_CONTAINERS:
                self.add("".join(t.text or "" for t in child.iter(MATH_T)), False, False)
            elif tag == COMMENT_START:
                self.walker.comment_starts[child.get(ID)] = (self.walker._serial, self.length)
            elif tag == COMMENT_END:
                self.walker.comment_ends[child.get(ID)] = (self.walker._serial, self.length)
            # DEL, MOVE_FROM, PPR, bookmarks, proofing marks: not text

    def run(self, r) -> None:
        rpr = r.find(RPR)
        bold = italic = None
        style_id = None
        if rpr is not None:
            if _on(rpr.find(VANISH)):
                self.hidden_run(r)
                return
            bold = _on(rpr.find(BOLD))
            italic = _on(rpr.find(ITALIC))
            rstyle = rpr.find(RSTYLE)
            if rstyle is not None:
                style_id = rstyle.get(VAL)
        styles = self.walker.styles
        if bold is None:
            bold = styles.bold(style_id) if style_id else None
            if bold is None:
                bold = self.paragraph_bold if self.paragraph_bold is not None \
                    else styles.default_bold
        if italic is None:
            italic = styles.italic(style_id) if style_id else None
            if italic is None:
                italic = self.paragraph_italic if self.paragraph_italic is not None \
                    else styles.default_italic
        for child in r:
            tag = child.tag
            if tag == T:
                self.add(child.text or "", bold, italic)
            elif tag == TAB or tag == PTAB:
                self.add("\t", bold, italic)
            elif tag == BR or tag == CR:
                self.add("\n", bold, italic)
            elif tag == NB_HYPHEN:
                self.add("\u2011", bold, italic)
            elif tag == SOFT_HYPHEN:
                self.add("\u00ad", bold, italic)
            elif tag == FLD_CHAR:
                self.field_mark(child)
            elif tag in (DRAWING, PICT):
                self._textboxes(child)
            elif tag == ALTERNATE:
                choice = child.find(CHOICE)
                if choice is not None:
                    for inner in choice:
                        if inner.tag in (DRAWING, PICT):
                            self._textboxes(inner)
            elif tag in (SDT, INS, MOVE_TO):  # malformed but seen: runs nested in runs
                self.walk(child)
            # delText, instrText, footnote/comment references, sym: not text

    def hidden_run(self, r) -> None:
        """Hidden text (Font > Hidden) is neither shown nor printed, so it is not read;
        only its field marks count, to keep the field nesting."""
        self.walker.left_out.append("hidden text (formatted as hidden in Word)")
        for child in r:
            if child.tag == FLD_CHAR:
                self.field_mark(child)

    def field_mark(self, mark) -> None:
        """A field's begin, separate or end: instructions are not text, results are."""
        kind = mark.get(FLD_CHAR_TYPE)
        fields = self.walker.fields
        if kind == "begin":
            fields.append("instr")
        elif kind == "separate" and fields:
            fields[-1] = "result"
        elif kind == "end" and fields:
            fields.pop()

    def _textboxes(self, element) -> None:
        for box in element.iter(TXBX_CONTENT):
            ancestor = box.getparent()
            nested = False
            while ancestor is not None and ancestor is not element:
                if ancestor.tag == TXBX_CONTENT:
                    nested = True
                    break
                ancestor = ancestor.getparent()
            if not nested:
                self.textboxes.append(box)

    def para(self, serial: int, cell: tuple | None) -> _Para:
        return _Para(
            serial=serial, text="".join(self.parts),
            bold=self.visible and self.visible_bold,
            italic=self.visible and self.visible_italic,
            style_id=self.style_id, numbered=self.numbered,
            outline=self.outline if self.outline is not None and self.outline < 9 else None,
            cell=cell)


# --- assembly ---------------------------------------------------------------------------


def _groups(paras: list[_Para]):
    """Consecutive paragraphs of one cell (same group key) form one block."""
    group: list[_Para] = []
    key = None
    for para in paras:
        para_key = para.cell[0] if para.cell is not None else None
        if group and (para_key is None or para_key != key):
            yield group
            group = []
        group.append(para)
        key = para_key
    if group:
        yield group


def _assemble(walker: _Walker) -> tuple[list[Block], str, dict[int, int]]:
    """Group cell paragraphs into blocks, join with newlines, and locate each paragraph."""
    styles = walker.styles
    blocks: list[Block] = []
    para_start: dict[int, int] = {}
    pieces: list[str] = []
    offset = -1  # the first block has no "\n" before it
    for group in _groups(walker.paras):
        offset += 1
        start = offset
        for position, member in enumerate(group):
            if position:
                offset += 1
            para_start[member.serial] = offset
            offset += len(member.text)
        first = group[0]
        if len(group) == 1:
            text = first.text
            visible = [first] if text.strip() else []
        else:
            text = "\n".join(m.text for m in group)
            visible = [m for m in group if m.text.strip()]
        pieces.append(text)
        bold = bool(visible) and all(m.bold for m in visible)
        italic = bool(visible) and all(m.italic for m in visible)
        style = styles.name(first.style_id)
        if first.cell is not None:
            block = Block(len(blocks), "table_cell", text, start, offset, style, None, False, bold,
                          italic)
            (_, block.table, block.table_root, block.row, block.column, block.columns,
             block.depth, block.header_row) = first.cell
        else:
            kind = "textbox" if first.textbox else \
                "list_item" if first.numbered else "paragraph"
            heading = styles.heading_level(first.style_id)
            if heading is None and first.outline is not None:
                heading = first.outline + 1
            block = Block(len(blocks), kind, text, start, offset, style, heading,
                          styles.is_title(first.style_id), bold, italic)
        blocks.append(block)
    return blocks, "\n".join(pieces), para_start


def _position(para_start: dict[int, int], plain: str,
              where: tuple[int, int] | None) -> int | None:
    if where is None:
        return None
    serial, offset = where
    if serial not in para_start:
        return None
    if offset == -1:  # block-level end marker: the end of that paragraph
        following = [s for s in para_start if s > serial]
        return (para_start[min(following)] - 1) if following else len(plain)
    return min(para_start[serial] + offset, len(plain))


# --- notes ------------------------------------------------------------------------------


def _part_text(element, styles: StyleSheet) -> str:
    walker = _Walker(styles)
    walker.container(element)
    return "\n".join(p.text for p in walker.paras).strip()


def _rid_number(rid: str) -> tuple[int, str]:
    digits = "".join(c for c in rid if c.isdigit())
    return (int(digits) if digits else 0, rid)


def _read_notes(document, styles: StyleSheet, walker: _Walker, para_start, plain) -> list[Note]:
    notes: list[Note] = []
    seen = set()
    kinds = list(NOTE_PARTS.values())
    related = [(kinds.index(NOTE_PARTS[r.reltype]), _rid_number(r.rId), r)
               for r in document.part.rels.values()
               if r.reltype in NOTE_PARTS and not r.is_external]
    for _kind_order, _number, rel in sorted(related, key=lambda item: item[:2]):
        kind = NOTE_PARTS[rel.reltype]
        part = rel.target_part
        if part.partname in seen:
            continue
        seen.add(part.partname)
        root = getattr(part, "element", None)
        if root is None:
            root = etree.fromstring(part.blob, _SAFE_PARSER)
        if kind in ("header", "footer"):
            text = _part_text(root, styles)
            if text:
                notes.append(Note(kind, text))
        elif kind in ("footnote", "endnote"):
            for note in root.iterchildren(_w(kind)):
                if note.get(TYPE) in ("separator", "continuationSeparator",
                                      "continuationNotice"):
                    continue
                text = _part_text(note, styles)
                if text:
                    notes.append(Note(kind, text))
        else:
            for comment in root.iterchildren(_w("comment")):
                text = _part_text(comment, styles)
                comment_id = comment.get(ID)
                start = _position(para_start, plain, walker.comment_starts.get(comment_id))
                finish = _position(para_start, plain, walker.comment_ends.get(comment_id))
                if start is not None and (finish is None or finish < start):
                    finish = start
                notes.append(Note("comment", text, author=comment.get(_w("author")),
                                  anchor_start=start,
                                  anchor_end=finish if start is not None else None))
    return notes


def _properties(document) -> dict[str, str]:
    core = document.core_properties
    values = {}
    for name in ("title", "subject", "keywords", "comments", "category"):
        value = getattr(core, name, None)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


# --- entry point ------------------------------------------------------------------------


STRICT_OOXML = ("it is saved as \"Strict Open XML Document\", a variant cityqda does not "
                "read (the file is not damaged)")


def _is_strict_ooxml(archive: zipfile.ZipFile) -> bool:
    """Word's "Strict Open XML" save option names its parts in the ISO namespaces, so
    python-docx finds no main document and the file would look damaged."""
    try:
        return b"purl.oclc.org/ooxml/" in archive.read("_rels/.rels")
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError):
        return False


def open_document(data: bytes, display: str):
    """python-docx Document for checked bytes, or the CityQDAError that says why not."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    archive = check_package(data, display)
    try:
        return docx.Document(io.BytesIO(data))
    except ValueError as exc:
        message = str(exc)
        for content_type, problem in CONTENT_TYPES.items():
            if content_type in message:
                raise CityQDAError("CQ101", file=display, problem=problem) from exc
        raise CityQDAError("CQ101", file=display, problem=message) from exc
    except PackageNotFoundError as exc:
        raise CityQDAError("CQ101", file=display, problem=str(exc)) from exc
    except KeyError as exc:
        if _is_strict_ooxml(archive):
            raise CityQDAError("CQ101", file=display, problem=STRICT_OOXML) from exc
        raise CityQDAError("CQ102", file=display, problem=f"a part is missing ({exc})") from exc
    except etree.XMLSyntaxError as exc:
        raise CityQDAError("CQ102", file=display,
                           problem=f"a part is not well-formed XML ({exc})") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise CityQDAError("CQ102", file=display, problem=str(exc)) from exc


def read_docx(data: bytes, display: str) -> DocxContent:
    """The text, blocks, notes and properties of a DOCX given as bytes."""
    document = open_document(data, display)
    try:
        styles_element = document.styles.element
    except (KeyError, AttributeError, ValueError):
        styles_element = None
    styles = StyleSheet(styles_element)
    walker = _Walker(styles)
    body = document.element.body
    walker.container(body)
    blocks, plain, para_start = _assemble(walker)
    try:
        notes = _read_notes(document, styles, walker, para_start, plain)
    except etree.XMLSyntaxError as exc:
        raise CityQDAError("CQ102", file=display,
                           problem=f"a notes part is not well-formed XML ({exc})") from exc
    return DocxContent(blocks=blocks, plain=plain, notes=notes,
                       properties=_properties(document), left_out=sorted(set(walker.left_out)))
