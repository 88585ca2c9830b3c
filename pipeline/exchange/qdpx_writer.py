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
import math
import re
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
from pipeline.xlsx_determinism import write_ooxml_zip

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
    node = etree.SubElement(parent, f"{{{ns}}}{tag}",
                            {key: value for key, value in attributes.items()
                             if value is not None})
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

def _collect_notes(project: Project) -> dict[str, Note]:
    notes: dict[str, Note] = {}
    holders = [project.notes, *(c.notes for c in walk_codes(project.codes)),
               *(s.notes for s in project.sources), *(s.notes for s in project.selections)]
    for group in holders:
        for note in group:
            if note.key in notes and notes[note.key] != note:
                raise ValueError(f"two different notes share the key {note.key!r}")
            notes[note.key] = note
    return notes


def _unique(kind: str, keys: list[str]) -> set[str]:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{kind} key {key!r} is used twice")
        seen.add(key)
    return seen


def _check(project: Project, notes: dict[str, Note]) -> None:
    """The model must be internally consistent; breaking that is a bug in the caller."""
    users = _unique("user", [u.key for u in project.users])
    codes = _unique("code", [c.key for c in walk_codes(project.codes)])
    sources = {s.key: s for s in project.sources}
    _unique("source", [s.key for s in project.sources])
    _unique("selection", [s.key for s in project.selections])
    _unique("case", [c.key for c in project.cases])
    _unique("set", [s.key for s in project.sets])

    def known_user(key: str | None, what: str) -> None:
        if key is not None and key not in users:
            raise ValueError(f"{what} names unknown user {key!r}")

    known_user(project.created_by, "the project")
    for note in notes.values():
        known_user(note.created_by, f"note {note.key!r}")
    for source in project.sources:
        known_user(source.created_by, f"source {source.key!r}")
    for sel in project.selections:
        if sel.source not in sources:
            raise ValueError(f"selection {sel.key!r} names unknown source {sel.source!r}")
        if sel.code not in codes:
            raise ValueError(f"selection {sel.key!r} names unknown code {sel.code!r}")
        known_user(sel.coder, f"selection {sel.key!r}")
        known_user(sel.created_by, f"selection {sel.key!r}")
        length = len(sources[sel.source].text)
        if not 0 <= sel.start <= sel.end <= length:
            raise ValueError(f"selection {sel.key!r}: [{sel.start}, {sel.end}) does not lie "
                             f"in source {sel.source!r} of {length} code points")
    for case in project.cases:
        for key in case.sources:
            if key not in sources:
                raise ValueError(f"case {case.key!r} names unknown source {key!r}")
    for code_set in project.sets:
        for key in code_set.sources:
            if key not in sources:
                raise ValueError(f"set {code_set.key!r} names unknown source {key!r}")
        for key in code_set.codes:
            if key not in codes:
                raise ValueError(f"set {code_set.key!r} names unknown code {key!r}")


def _check_unique_guids(root) -> None:
    seen: set[str] = set()
    for node in root.iter():
        guid = node.get("guid")
        if guid is None:
            continue
        if guid.lower() in seen:
            raise ValueError(f"GUID {guid} is used twice")
        seen.add(guid.lower())


# --- the project document -------------------------------------------------------------------

def source_member(source: TextSource) -> str:
    """The archive path of a source's plain text."""
    return f"{SOURCES_FOLDER}/{guid_for('source', source.key, source.guid)}.txt"


def _user_guid(key: str | None, users: dict[str, str]) -> str | None:
    return None if key is None else users[key]


def _selection_element(parent, sel: Selection, text: str, users: dict[str, str],
                       codes: dict[str, str], note_guids: dict[str, str]) -> None:
    node = element(parent, "PlainTextSelection", PROJECT_NS,
                   guid=guid_for("selection", sel.key, sel.guid),
                   name=xml_safe(sel.name or text[sel.start:sel.end]),
                   startPosition=str(sel.start), endPosition=str(sel.end),
                   creatingUser=_user_guid(sel.created_by, users))
    coding = element(node, "Coding", PROJECT_NS, guid=guid_for("coding", sel.key, sel.coding_guid),
                     creatingUser=_user_guid(sel.coder, users))
    element(coding, "CodeRef", PROJECT_NS, targetGUID=codes[sel.code])
    for note in sel.notes:
        element(node, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])


def project_xml(project: Project) -> bytes:
    """The `project.qde` document; raises ValueError if the model contradicts itself."""
    notes = _collect_notes(project)
    _check(project, notes)
    users = {u.key: guid_for("user", u.key, u.guid) for u in project.users}
    codes = {c.key: guid_for("code", c.key, c.guid) for c in walk_codes(project.codes)}
    sources = {s.key: guid_for("source", s.key, s.guid) for s in project.sources}
    note_guids = {key: guid_for("note", key, note.guid) for key, note in notes.items()}
    types = _variable_types(project)

    root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS})
    root.set("name", xml_safe(project.name))
    root.set("origin", xml_safe(project.origin or ORIGIN))
    if project.created_by is not None:
        root.set("creatingUserGUID", users[project.created_by])

    if project.users:
        parent = element(root, "Users", PROJECT_NS)
        for user in sorted(project.users, key=lambda u: u.key):
            element(parent, "User", PROJECT_NS, guid=users[user.key], name=xml_safe(user.name))
    if project.codes:
        codes_node = element(element(root, "CodeBook", PROJECT_NS), "Codes", PROJECT_NS)
        for code in project.codes:
            code_element(codes_node, code, PROJECT_NS, note_guids)
    if types:
        parent = element(root, "Variables", PROJECT_NS)
        for name, kind in types.items():
            element(parent, "Variable", PROJECT_NS, guid=guid_for("variable", name),
                    name=xml_safe(name), typeOfVariable=kind)
    if project.cases:
        parent = element(root, "Cases", PROJECT_NS)
        for case in sorted(project.cases, key=lambda c: c.key):
            node = element(parent, "Case", PROJECT_NS, guid=guid_for("case", case.key, case.guid),
                           name=xml_safe(case.name))
            if case.description:
                element(node, "Description", PROJECT_NS, case.description)
            for name in sorted(case.variables):
                _variable_value(node, name, case.variables[name], types)
            for key in sorted(case.sources):
                element(node, "SourceRef", PROJECT_NS, targetGUID=sources[key])
    if project.sources:
        by_source: dict[str, list[Selection]] = {}
        for sel in project.selections:
            by_source.setdefault(sel.source, []).append(sel)
        parent = element(root, "Sources", PROJECT_NS)
        for source in sorted(project.sources, key=lambda s: s.key):
            guid = sources[source.key]
            node = element(parent, "TextSource", PROJECT_NS, guid=guid,
                           name=xml_safe(source.name),
                           plainTextPath=f"{INTERNAL_PREFIX}{guid}.txt",
                           creatingUser=_user_guid(source.created_by, users))
            if source.description:
                element(node, "Description", PROJECT_NS, source.description)
            for sel in sorted(by_source.get(source.key, []),
                              key=lambda s: (s.start, s.end, s.key)):
                _selection_element(node, sel, source.text, users, codes, note_guids)
            for note in source.notes:
                element(node, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])
            for name in sorted(source.variables):
                _variable_value(node, name, source.variables[name], types)
    if notes:
        parent = element(root, "Notes", PROJECT_NS)
        for key in sorted(notes):
            note = notes[key]
            node = element(parent, "Note", PROJECT_NS, guid=note_guids[key],
                           name=xml_safe(note.name) if note.name else None,
                           creatingUser=_user_guid(note.created_by, users))
            element(node, "PlainTextContent", PROJECT_NS, note.text)
    if project.sets:
        parent = element(root, "Sets", PROJECT_NS)
        for code_set in sorted(project.sets, key=lambda s: s.key):
            node = element(parent, "Set", PROJECT_NS,
                           guid=guid_for("set", code_set.key, code_set.guid),
                           name=xml_safe(code_set.name))
            if code_set.description:
                element(node, "Description", PROJECT_NS, code_set.description)
            for key in sorted(code_set.codes):
                element(node, "MemberCode", PROJECT_NS, targetGUID=codes[key])
            for key in sorted(code_set.sources):
                element(node, "MemberSource", PROJECT_NS, targetGUID=sources[key])
    if project.description:
        element(root, "Description", PROJECT_NS, project.description)
    for note in sorted(project.notes, key=lambda n: n.key):
        element(root, "NoteRef", PROJECT_NS, targetGUID=note_guids[note.key])
    _check_unique_guids(root)
    return serialise(root)


def qdpx_parts(project: Project) -> dict[str, bytes]:
    """Archive path -> bytes: `project.qde` and one UTF-8 text file per source."""
    parts = {PROJECT_FILE: project_xml(project)}
    for source in project.sources:
        parts[source_member(source)] = source.text.encode("utf-8")
    return parts


def write_qdpx(project: Project, path: str | Path) -> Path:
    """Write the `.qdpx`; its bytes depend only on the model. The file is written beside the
    target and renamed, so a failure never leaves half an archive."""
    path = Path(path)
    write_ooxml_zip(path, qdpx_parts(project), core_dates=None)
    return path
