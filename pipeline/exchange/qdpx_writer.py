"""Write a REFI-QDA project (`.qdpx`) from the neutral model, byte for byte reproducibly.

The archive holds `project.qde` and a lowercase `sources/` folder with one UTF-8 plain-text
file per source (no BOM), named `<GUID>.txt` and referenced as `internal://<GUID>.txt`, as the
standard's naming scheme asks. Sources go in files rather than inline `PlainTextContent`
because XML parsers turn CR LF in element text into LF, which would move every selection after
a Windows line break; a file keeps the stored plain text exactly.

Positions. The standard gives `startPosition`/`endPosition` of a plain-text selection as
character positions from the start of the text, the end being the position after the last
selected character. cityqda reads "character" as a Unicode code point (the unit of its stored
offsets): zero-based, end exclusive, every code point counted, so a CR LF pair is two, a
combining accent is one on its own, and an emoji outside the Basic Multilingual Plane is one.
Tools built on UTF-16 strings (.NET, Java, Qt; NVivo is reported to) may count such an emoji
as two, so their selections after an emoji can land one position off per emoji. Text without
characters beyond U+FFFF (nearly all interview summaries) counts the same either way; the
choice is documented rather than patched, and a UTF-16 option can be added at the boundary
(writer and reader) if a partner tool needs it.

Determinism: GUIDs are UUID version 5 over stable keys (`model.guid_for`); users, sources,
cases, sets, notes and variables are sorted by key or name, selections by position; the code
tree keeps the order it is given (the codebook's order is meaningful to readers); no dateTime
attribute is written (all are optional), and zip entries get fixed dates and order.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from lxml import etree

from pipeline import __version__
from pipeline.exchange.model import (
    Code,
    Note,
    Project,
    Selection,
    TextSource,
    VariableValue,
    guid_for,
    walk_codes,
)
from pipeline.xlsx_determinism import _new_file_mode, fixed_zip_info

PROJECT_NS = "urn:QDA-XML:project:1.0"
PROJECT_FILE = "project.qde"
SOURCES_FOLDER = "sources"
INTERNAL_PREFIX = "internal://"
ORIGIN = f"cityqda {__version__}"

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_COLOR = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can carry: control characters (and lone surrogates) become U+FFFD.

    Only labels, descriptions and notes pass through here; source texts go to files as they
    are, so offsets never move.
    """
    return _NOT_XML.sub("\ufffd", text)


def element(parent, tag: str, ns: str, text: str | None = None, /, **attributes):
    """A child of `parent` (a new root when `parent` is None), None attributes left out."""
    attrib = {key: value for key, value in attributes.items() if value is not None}
    node = (etree.Element(f"{{{ns}}}{tag}", attrib) if parent is None
            else etree.SubElement(parent, f"{{{ns}}}{tag}", attrib))
    if text is not None:
        node.text = xml_safe(text)
    return node


def check_color(code: Code) -> None:
    if code.color is not None and not _COLOR.fullmatch(code.color):
        raise ValueError(f"code {code.key!r}: colour {code.color!r} is not #RRGGBB or #RGB")


def code_element(parent, code: Code, ns: str, note_guids: dict[str, str] | None) -> None:
    """A Code element and its subtree; `note_guids` None leaves notes out (codebooks)."""
    check_color(code)
    node = element(parent, "Code", ns, guid=guid_for("code", code.key, code.guid),
                   name=xml_safe(code.name), isCodable="true" if code.codable else "false",
                   color=code.color)
    if code.description:
        element(node, "Description", ns, code.description)
    if note_guids is not None:
        for note in code.notes:
            element(node, "NoteRef", ns, targetGUID=note_guids[note.key])
    for child in code.children:
        code_element(node, child, ns, note_guids)


def serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- variables ------------------------------------------------------------------------------

def _type_of(value: VariableValue) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float | Decimal):
        return "Float"
    if isinstance(value, dt.datetime):
        return "DateTime"
    if isinstance(value, dt.date):
        return "Date"
    if isinstance(value, str):
        return "Text"
    raise ValueError(f"variable value {value!r} has an unsupported type "
                     f"{type(value).__name__}")


def _as_text(value: VariableValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):  # and datetime
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decimal_text(value: float | Decimal) -> str:
    if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
        raise ValueError(f"variable value {value!r} is not a finite number")
    return format(Decimal(repr(value)) if isinstance(value, float) else value, "f")


def _variable_types(project: Project) -> dict[str, str]:
    """Name -> typeOfVariable; a name holding values of several types becomes Text."""
    seen: dict[str, set[str]] = {}
    for holder in (*project.sources, *project.cases):
        for name, value in holder.variables.items():
            seen.setdefault(name, set()).add(_type_of(value))
    return {name: (types.pop() if len(types) == 1 else "Text")
            for name, types in sorted(seen.items())}


def _variable_value(parent, name: str, value: VariableValue, types: dict[str, str]) -> None:
    holder = element(parent, "VariableValue", PROJECT_NS)
    element(holder, "VariableRef", PROJECT_NS, targetGUID=guid_for("variable", name))
    kind = types[name]
    if kind == "Text":
        element(holder, "TextValue", PROJECT_NS, _as_text(value))
    elif kind == "Boolean":
        element(holder, "BooleanValue", PROJECT_NS, _as_text(value))
    elif kind == "Integer":
        element(holder, "IntegerValue", PROJECT_NS, str(value))
    elif kind == "Float":
        element(holder, "FloatValue", PROJECT_NS, _decimal_text(value))
    elif kind == "Date":
        element(holder, "DateValue", PROJECT_NS, value.isoformat())
    else:
        element(holder, "DateTimeValue", PROJECT_NS, value.isoformat())


# --- checks ---------------------------------------------------------------------------------

def _unique(kind: str, keys) -> set[str]:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{kind} key {key!r} is used twice")
        seen.add(key)
    return seen


def _same_notes(notes) -> dict[str, Note]:
    """Key -> note; the same key twice must be the same note."""
    found: dict[str, Note] = {}
    for note in notes:
        if note.key in found and found[note.key] != note:
            raise ValueError(f"two different notes share the key {note.key!r}")
        found[note.key] = note
    return found


# --- fragments ------------------------------------------------------------------------------

class _Fragments:
    """Elements serialised exactly as they appear, pretty-printed, inside `Project/<section>`.

    libxml2 indents by depth, so elements are serialised inside a throwaway Project and
    section element and cut out: the bytes are those of one whole-document serialisation,
    without ever holding the whole document.
    """

    def __init__(self, section: str):
        self.root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS})
        self.holder = etree.SubElement(self.root, f"{{{PROJECT_NS}}}{section}")
        self.holder.append(etree.Element(f"{{{PROJECT_NS}}}x"))
        empty = etree.tostring(self.root, encoding="UTF-8", xml_declaration=False,
                               pretty_print=True)
        self.holder.remove(self.holder[0])
        self.start = empty.index(b"<x/>") - 4  # the element's own indentation
        self.suffix_len = len(empty) - self.start - len(b"    <x/>\n")

    def __call__(self, nodes: list) -> bytes:
        """The elements, one after another, as they would be serialised in the section."""
        self.holder.extend(nodes)
        try:
            text = etree.tostring(self.root, encoding="UTF-8", xml_declaration=False,
                                  pretty_print=True)
        finally:
            for node in nodes:
                self.holder.remove(node)
        return text[self.start:len(text) - self.suffix_len]


# --- scratch storage ------------------------------------------------------------------------

class _Scratch:
    """Notes sorted by key, source texts by archive name, GUIDs checked unique, on disk.

    A large study's notes (one per coding) must come out sorted by key after every source,
    and its GUIDs (several per coding) must be unique: rows are appended to a scratch SQLite
    database and sorted there at the end, so memory does not grow with the study.
    """

    def __init__(self, file: Path | None):
        self.db = sqlite3.connect(":memory:" if file is None else str(file),
                                  isolation_level=None)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;"
            "CREATE TABLE notes (key TEXT NOT NULL, guid TEXT NOT NULL, xml BLOB NOT NULL);"
            "CREATE TABLE texts (name TEXT PRIMARY KEY, data BLOB NOT NULL);"
            "CREATE TABLE guids (guid TEXT NOT NULL);"
            "BEGIN;")
        self.has_notes = False

    def add_guids(self, guids: list[str]) -> None:
        self.db.executemany("INSERT INTO guids VALUES (?)", ((g.lower(),) for g in guids))

    def add_notes(self, rows: list[tuple[str, str, bytes]]) -> None:
        """(key, GUID, XML) of notes; the same key again must be the same note."""
        self.db.executemany("INSERT INTO notes VALUES (?, ?, ?)", rows)
        self.has_notes = self.has_notes or bool(rows)

    def add_text(self, name: str, data: bytes) -> None:
        self.db.execute("INSERT INTO texts VALUES (?, ?)", (name, data))

    def check_guids(self) -> None:
        """Every GUID once (a note given twice under its key counts once)."""
        twice = self.db.execute(
            "SELECT g FROM (SELECT guid AS g FROM guids UNION ALL "
            "SELECT lower(min(guid)) FROM notes GROUP BY key) "
            "GROUP BY g HAVING count(*) > 1 ORDER BY g LIMIT 1").fetchone()
        if twice:
            raise ValueError(f"GUID {twice[0]} is used twice")

    def notes(self):
        """Each note's XML once, in key order."""
        last_key = last_xml = None
        for key, xml in self.db.execute("SELECT key, xml FROM notes ORDER BY key, xml"):
            if key == last_key:
                if xml != last_xml:
                    raise ValueError(f"two different notes share the key {key!r}")
                continue
            last_key, last_xml = key, xml
            yield xml

    def texts(self):
        return self.db.execute("SELECT name, data FROM texts ORDER BY name")

    def close(self) -> None:
        self.db.close()


# --- the project document -------------------------------------------------------------------

def source_member(source: TextSource) -> str:
    """The archive path of a source's plain text."""
    return f"{SOURCES_FOLDER}/{guid_for('source', source.key, source.guid)}.txt"


@dataclass(frozen=True)
class SourceGroup:
    """One text source and the selections on it: the unit a large export streams."""

    source: TextSource
    selections: tuple[Selection, ...] | list[Selection] = ()


class ProjectWriter:
    """Writes `project.qde` from a project head and its sources, one source at a time.

    `head` holds everything but sources and selections (users, code tree, cases, sets,
    project notes); sources come through `add` in key order with their selections. Memory
    holds one source at a time: the Sources section goes to a scratch file, notes and
    source texts to a scratch SQLite database. `variable_types` (name -> typeOfVariable)
    defaults to what the head's cases hold; a source variable must agree with it.

    `complete_head`, when given, is called once every source is in and returns the final
    head: the same head with users and codes added that the sources named (a store learns
    who decided what while it streams). Until then, users and codes not in the head are
    referred to by the GUIDs their keys give; the final head must hold them, without GUIDs
    of their own. Inconsistencies in the model raise ValueError (a bug in the caller).
    """

    def __init__(self, head: Project, scratch: Path | None, *,
                 variable_types: dict[str, str] | None = None,
                 complete_head: Callable[[], Project] | None = None):
        self._set_head(head)
        self.complete_head = complete_head
        self.late: dict[str, set[str]] = {"user": set(), "code": set()}
        self.types = dict(sorted((variable_types if variable_types is not None
                                  else _variable_types(head)).items()))
        self.scratch = _Scratch(None if scratch is None else scratch / "notes.sqlite")
        self.sources_file = (io.BytesIO() if scratch is None
                             else open(scratch / "sources.xml", "w+b"))  # noqa: SIM115
        self.source_guids: dict[str, str] = {}  # key -> GUID (cases and sets refer to them)
        self.last_source: str | None = None
        self.source_fragment = _Fragments("Sources")
        self.note_fragment = _Fragments("Notes")
        self.known_user(head.created_by, "the project")
        self._add_notes(_same_notes([*head.notes, *(n for c in walk_codes(head.codes)
                                                   for n in c.notes)]))

    def _set_head(self, head: Project) -> None:
        self.head = head
        self.users = {u.key: guid_for("user", u.key, u.guid) for u in head.users}
        _unique("user", [u.key for u in head.users])
        self.codes = {c.key: guid_for("code", c.key, c.guid) for c in walk_codes(head.codes)}
        _unique("code", [c.key for c in walk_codes(head.codes)])
        for code in walk_codes(head.codes):
            check_color(code)

    def known_user(self, key: str | None, what: str) -> str | None:
        if key is None:
            return None
        if key not in self.users:
            if self.complete_head is None:
                raise ValueError(f"{what} names unknown user {key!r}")
            self.late["user"].add(key)
            return guid_for("user", key)
        return self.users[key]

    def known_code(self, key: str, what: str) -> str:
        if key not in self.codes:
            if self.complete_head is None:
                raise ValueError(f"{what} names unknown code {key!r}")
            self.late["code"].add(key)
            return guid_for("code", key)
        return self.codes[key]

    def _complete(self) -> None:
        """Swap in the final head; everything named late must be in it as referred to."""
        if self.complete_head is None:
            return
        self._set_head(self.complete_head())
        self.complete_head = None
        for kind, known in (("user", self.users), ("code", self.codes)):
            for key in sorted(self.late[kind]):
                if known.get(key) != guid_for(kind, key):
                    raise ValueError(f"the completed project has no {kind} {key!r} "
                                     "(or gives it a GUID of its own)")
        self._add_notes(_same_notes([*self.head.notes, *(n for c in walk_codes(self.head.codes)
                                                        for n in c.notes)]))

    def _add_notes(self, notes: dict[str, Note]) -> dict[str, str]:
        """Key -> GUID of the notes, queued for the Notes section."""
        guids, nodes = {}, []
        for key in sorted(notes):
            note = notes[key]
            guid = guids[key] = guid_for("note", note.key, note.guid)
            node = element(None, "Note", PROJECT_NS, guid=guid,
                           name=xml_safe(note.name) if note.name else None,
                           creatingUser=self.known_user(note.created_by, f"note {note.key!r}"))
            element(node, "PlainTextContent", PROJECT_NS, note.text)
            nodes.append(node)
        if nodes:
            # one serialisation, cut before each Note: "<" is always escaped in content
            text = self.note_fragment(nodes)
            starts = [0] + [i + 1 for i in _find_all(text, b"\n    <Note ")] + [len(text)]
            if len(starts) != len(nodes) + 1:
                raise AssertionError("notes did not serialise one per element")
            self.scratch.add_notes([(key, guids[key], text[starts[i]:starts[i + 1]])
                                    for i, key in enumerate(sorted(notes))])
        return guids

    def add(self, group: SourceGroup) -> None:
        """One source with its selections; sources must come in key order."""
        source = group.source
        if self.last_source is not None and source.key <= self.last_source:
            raise ValueError(f"source key {source.key!r} is used twice" if
                             source.key == self.last_source else
                             f"source {source.key!r} comes after {self.last_source!r}: "
                             "sources must come in key order")
        self.last_source = source.key
        self.known_user(source.created_by, f"source {source.key!r}")
        guid = self.source_guids[source.key] = guid_for("source", source.key, source.guid)
        notes = _same_notes([*source.notes, *(n for s in group.selections for n in s.notes)])
        note_guids = self._add_notes(notes)
        node = element(None, "TextSource", PROJECT_NS, guid=guid, name=xml_safe(source.name),
                       plainTextPath=f"{INTERNAL_PREFIX}{guid}.txt",
                       creatingUser=self.known_user(source.created_by,
                                                    f"source {source.key!r}"))
        if source.description:
            element(node, "Description", PROJECT_NS, source.description)
        guids = [guid]
        length = len(source.text)
        for sel in sorted(group.selections, key=lambda s: (s.start, s.end, s.key)):
            if sel.source != source.key:
                raise ValueError(f"selection {sel.key!r} names unknown source {sel.source!r}")
            if not 0 <= sel.start <= sel.end <= length:
                raise ValueError(f"selection {sel.key!r}: [{sel.start}, {sel.end}) does not "
                                 f"lie in source {sel.source!r} of {length} code points")
            guids += self._selection_element(node, sel, source.text, note_guids)
        for note in source.notes:
            element(node, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])
        for name in sorted(source.variables):
            value = source.variables[name]
            if name not in self.types or self.types[name] not in ("Text", _type_of(value)):
                raise ValueError(f"source {source.key!r}: variable {name!r} is not declared "
                                 f"as {_type_of(value)}")
            _variable_value(node, name, value, self.types)
        self.scratch.add_guids(guids)
        self.sources_file.write(self.source_fragment([node]))
        self.scratch.add_text(source_member(source), source.text.encode("utf-8"))

    def _selection_element(self, parent, sel: Selection, text: str,
                           note_guids: dict[str, str]) -> list[str]:
        guid = guid_for("selection", sel.key, sel.guid)
        coding_guid = guid_for("coding", sel.key, sel.coding_guid)
        node = element(parent, "PlainTextSelection", PROJECT_NS, guid=guid,
                       name=xml_safe(sel.name or text[sel.start:sel.end]),
                       startPosition=str(sel.start), endPosition=str(sel.end),
                       creatingUser=self.known_user(sel.created_by, f"selection {sel.key!r}"))
        coding = element(node, "Coding", PROJECT_NS, guid=coding_guid,
                         creatingUser=self.known_user(sel.coder, f"selection {sel.key!r}"))
        element(coding, "CodeRef", PROJECT_NS,
                targetGUID=self.known_code(sel.code, f"selection {sel.key!r}"))
        for note in sel.notes:
            element(node, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])
        return [guid, coding_guid]

    def _head_xml(self) -> tuple[bytes, bytes, bytes]:
        """The document around the Sources and Notes sections: before, between, after."""
        head = self.head
        for case in head.cases:
            for key in case.sources:
                if key not in self.source_guids:
                    raise ValueError(f"case {case.key!r} names unknown source {key!r}")
        for code_set in head.sets:
            for key in code_set.sources:
                if key not in self.source_guids:
                    raise ValueError(f"set {code_set.key!r} names unknown source {key!r}")
            for key in code_set.codes:
                if key not in self.codes:
                    raise ValueError(f"set {code_set.key!r} names unknown code {key!r}")
        _unique("case", [c.key for c in head.cases])
        _unique("set", [s.key for s in head.sets])
        sources = self.source_guids
        note_guids = {n.key: guid_for("note", n.key, n.guid)
                      for n in (*head.notes, *(n for c in walk_codes(head.codes)
                                               for n in c.notes))}

        root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS})
        root.set("name", xml_safe(head.name))
        root.set("origin", xml_safe(head.origin or ORIGIN))
        if head.created_by is not None:
            root.set("creatingUserGUID", self.users[head.created_by])
        if head.users:
            parent = element(root, "Users", PROJECT_NS)
            for user in sorted(head.users, key=lambda u: u.key):
                element(parent, "User", PROJECT_NS, guid=self.users[user.key],
                        name=xml_safe(user.name))
        if head.codes:
            codes_node = element(element(root, "CodeBook", PROJECT_NS), "Codes", PROJECT_NS)
            for code in head.codes:
                code_element(codes_node, code, PROJECT_NS, note_guids)
        if self.types:
            parent = element(root, "Variables", PROJECT_NS)
            for name, kind in self.types.items():
                element(parent, "Variable", PROJECT_NS, guid=guid_for("variable", name),
                        name=xml_safe(name), typeOfVariable=kind)
        if head.cases:
            parent = element(root, "Cases", PROJECT_NS)
            for case in sorted(head.cases, key=lambda c: c.key):
                node = element(parent, "Case", PROJECT_NS,
                               guid=guid_for("case", case.key, case.guid),
                               name=xml_safe(case.name))
                if case.description:
                    element(node, "Description", PROJECT_NS, case.description)
                for name in sorted(case.variables):
                    _variable_value(node, name, case.variables[name], self.types)
                for key in sorted(case.sources):
                    element(node, "SourceRef", PROJECT_NS,
                            targetGUID=sources[key])
        if sources:
            element(root, "Sources", PROJECT_NS)
        if self.scratch.has_notes:
            element(root, "Notes", PROJECT_NS)
        if head.sets:
            parent = element(root, "Sets", PROJECT_NS)
            for code_set in sorted(head.sets, key=lambda s: s.key):
                node = element(parent, "Set", PROJECT_NS,
                               guid=guid_for("set", code_set.key, code_set.guid),
                               name=xml_safe(code_set.name))
                if code_set.description:
                    element(node, "Description", PROJECT_NS, code_set.description)
                for key in sorted(code_set.codes):
                    element(node, "MemberCode", PROJECT_NS, targetGUID=self.codes[key])
                for key in sorted(code_set.sources):
                    element(node, "MemberSource", PROJECT_NS, targetGUID=sources[key])
        if head.description:
            element(root, "Description", PROJECT_NS, head.description)
        for note in sorted(head.notes, key=lambda n: n.key):
            element(root, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])
        self.scratch.add_guids([node.get("guid") for node in root.iter()
                                if node.get("guid") is not None])
        before, between, after = b"", serialise(root), b""
        if sources:
            before, _, between = between.partition(b"  <Sources/>\n")
        if self.scratch.has_notes:
            between, _, after = between.partition(b"  <Notes/>\n")
        return before, between, after

    def write_project(self, out) -> None:
        """`project.qde` into the binary stream `out` (after every source was added)."""
        self._complete()
        before, between, after = self._head_xml()
        self.scratch.check_guids()
        out.write(before)
        if self.source_guids:
            out.write(b"  <Sources>\n")
            self.sources_file.seek(0)
            shutil.copyfileobj(self.sources_file, out, 1 << 20)
            out.write(b"  </Sources>\n")
        out.write(between)
        if self.scratch.has_notes:
            out.write(b"  <Notes>\n")
            for xml in self.scratch.notes():
                out.write(xml)
            out.write(b"  </Notes>\n")
        out.write(after)

    def texts(self):
        """(archive path, UTF-8 bytes) of every source, sorted by path."""
        return self.scratch.texts()

    def close(self) -> None:
        self.sources_file.close()
        self.scratch.close()


def _find_all(text: bytes, needle: bytes):
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + 1)


def _groups(project: Project) -> list[SourceGroup]:
    by_source: dict[str, list[Selection]] = {s.key: [] for s in project.sources}
    for sel in project.selections:
        if sel.source not in by_source:
            raise ValueError(f"selection {sel.key!r} names unknown source {sel.source!r}")
        by_source[sel.source].append(sel)
    _unique("selection", [s.key for s in project.selections])
    return [SourceGroup(source, by_source[source.key])
            for source in sorted(project.sources, key=lambda s: s.key)]


def _head(project: Project) -> Project:
    return replace(project, sources=(), selections=())


def project_xml(project: Project) -> bytes:
    """The `project.qde` document; raises ValueError if the model contradicts itself."""
    groups = _groups(project)
    writer = ProjectWriter(_head(project), None, variable_types=_variable_types(project))
    try:
        for group in groups:
            writer.add(group)
        out = io.BytesIO()
        writer.write_project(out)
        return out.getvalue()
    finally:
        writer.close()


def qdpx_parts(project: Project) -> dict[str, bytes]:
    """Archive path -> bytes: `project.qde` and one UTF-8 text file per source."""
    parts = {PROJECT_FILE: project_xml(project)}
    for source in project.sources:
        parts[source_member(source)] = source.text.encode("utf-8")
    return parts


def write_qdpx(project: Project, path: str | Path) -> Path:
    """Write the `.qdpx`; its bytes depend only on the model. The file is written beside the
    target and renamed, so a failure never leaves half an archive."""
    return write_qdpx_stream(_head(project), _groups(project), path,
                             variable_types=_variable_types(project))


def write_qdpx_stream(head: Project, groups: Iterable[SourceGroup], path: str | Path, *,
                      variable_types: dict[str, str] | None = None,
                      complete_head: Callable[[], Project] | None = None) -> Path:
    """Write the `.qdpx` of `head` and `groups` (sources in key order, each with its
    selections) without holding more than one source in memory; the same bytes as
    `write_qdpx` of the whole project (`complete_head`: see `ProjectWriter`). Scratch
    files live in a hidden folder beside the target, removed afterwards; a failure leaves
    no file behind."""
    path = Path(path)
    mode = path.stat().st_mode & 0o7777 if path.exists() else _new_file_mode()
    with tempfile.TemporaryDirectory(prefix=".cityqda-", dir=path.parent) as folder:
        scratch = Path(folder)
        writer = ProjectWriter(head, scratch, variable_types=variable_types,
                               complete_head=complete_head)
        try:
            for group in groups:
                writer.add(group)
            document = scratch / PROJECT_FILE
            with document.open("wb") as out:
                writer.write_project(out)
            archive = scratch / "archive.qdpx"
            with zipfile.ZipFile(archive, "w") as target:
                # the same entries, in the same order, as write_ooxml_zip would write them
                info = fixed_zip_info(PROJECT_FILE)
                info.file_size = document.stat().st_size
                with document.open("rb") as source, target.open(info, "w") as dest:
                    shutil.copyfileobj(source, dest, 1 << 20)
                document.unlink()
                for name, data in writer.texts():
                    target.writestr(fixed_zip_info(name), data, compress_type=zipfile.ZIP_DEFLATED,
                                    compresslevel=6)
        finally:
            writer.close()
        os.chmod(archive, mode)
        os.replace(archive, path)
    return path
