"""Read a REFI-QDA project (`.qdpx`, or a bare `.qde`) into the neutral model.

Files come from other tools and from strangers, so `untrusted` opens them (size bounds, zip
bomb and path checks, no DTDs or entities). Then the reader is lenient where the standard's
own tools are sloppy and strict where a mistake would corrupt data:

* errors (the whole file is refused, nothing is returned): no project document, broken XML,
  a GUID used twice, a source whose text cannot be found or is not UTF-8, a missing GUID;
* warnings (`CQ850`, `CQ851`), returned with the model: what cityqda does not carry (PDF,
  picture, audio and video sources, graphs, links, codings of whole documents, sources stored
  outside the archive) and selections that cannot be placed (positions outside the text, an
  unknown code). Each names the part and the GUID so the user can look it up.

Source texts are decoded from the archive's bytes as they are: line breaks are not normalised
(a CR LF stays two code points, as the writer counted them), only a leading BOM is dropped.
Text inline in the XML (`PlainTextContent`) has already had CR LF turned into LF by the XML
parser, as XML requires, unless the writer escaped CR as `&#13;`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipeline.errors import CityQDAError, Problem
from pipeline.exchange.model import (
    Case,
    Code,
    CodeSet,
    Note,
    Project,
    Selection,
    TextSource,
    User,
    VariableValue,
)
from pipeline.exchange.qdpx_writer import INTERNAL_PREFIX, PROJECT_NS, SOURCES_FOLDER
from pipeline.exchange.untrusted import (
    DEFAULT_LIMITS,
    Limits,
    SafeZip,
    is_zip,
    parse_xml,
    read_file,
    unsafe_name_problem,
)

BOM = "\ufeff"


@dataclass
class ReadResult:
    """What was read, and the warnings about what was not."""

    project: Project
    problems: list[Problem] = field(default_factory=list)


def local(node) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(node, name: str) -> list:
    return [child for child in node if local(child) == name]


def child(node, name: str):
    found = children(node, name)
    return found[0] if found else None


def child_text(node, name: str) -> str:
    found = child(node, name)
    return (found.text or "") if found is not None else ""


class _Reader:
    """Turns one parsed project document into the model, collecting problems."""

    def __init__(self, root, display: str, part: str, archive: SafeZip | None):
        self.root = root
        self.display = display
        self.part = part
        self.archive = archive
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.guids: set[str] = set()
        self.code_keys: dict[str, str] = {}
        self.user_keys: dict[str, str] = {}
        self.notes: dict[str, Note] = {}
        self.variables: dict[str, tuple[str, str]] = {}

    # -- problems --------------------------------------------------------------------------
    def error(self, code: str, **fields) -> None:
        self.errors.append(Problem(code, fields, file=self.display))

    def broken(self, node, problem: str) -> None:
        where = f"line {node.sourceline}: " if node is not None and node.sourceline else ""
        self.error("CQ808", part=self.part, problem=where + problem)

    def not_carried(self, what: str) -> None:
        self.warnings.append(Problem("CQ850", {"part": self.part, "what": what},
                                     file=self.display))

    def skip_selection(self, guid: str, problem: str) -> None:
        self.warnings.append(Problem("CQ851", {"part": self.part, "guid": guid,
                                               "problem": problem}, file=self.display))

    def guid(self, node) -> str | None:
        """The node's GUID, registered as used; None (with an error) if absent or twice."""
        value = (node.get("guid") or "").strip()
        if not value:
            self.broken(node, f"{local(node)} has no guid")
            return None
        key = value.strip("{}").lower()
        if key in self.guids:
            self.broken(node, f"GUID {value} is used twice")
            return None
        self.guids.add(key)
        return value

    @staticmethod
    def ref(node) -> str:
        return (node.get("targetGUID") or "").strip()

    # -- whole project ---------------------------------------------------------------------
    def read(self) -> Project:
        root = self.root
        users = self.users(child(root, "Users"))
        self.user_keys = {u.guid.strip("{}").lower(): u.key for u in users}
        self.notes = self.read_notes(child(root, "Notes"))
        codes = self.codes(child(root, "CodeBook"))
        self.variables = self.read_variables(child(root, "Variables"))
        sources, selections = self.sources(child(root, "Sources"))
        cases = self.cases(child(root, "Cases"), sources)
        sets = self.sets(child(root, "Sets"), sources)
        for name in ("Links", "Graphs"):
            if child(root, name) is not None:
                self.not_carried(f"{name.lower()} (not used by cityqda)")
        known = {"Users", "CodeBook", "Variables", "Cases", "Sources", "Notes", "Links",
                 "Sets", "Graphs", "Description", "NoteRef"}
        for node in root:
            if isinstance(node.tag, str) and local(node) not in known:
                self.not_carried(f"element {local(node)} (line {node.sourceline})")
        return Project(
            name=root.get("name") or "", users=tuple(users), codes=tuple(codes),
            sources=tuple(sources.values()), selections=tuple(selections),
            cases=tuple(cases), sets=tuple(sets), notes=self.note_refs(root),
            description=child_text(root, "Description"), origin=root.get("origin") or "",
            created_by=self.user(root.get("creatingUserGUID")))

    def user(self, guid: str | None) -> str | None:
        if not guid:
            return None
        return self.user_keys.get(guid.strip().strip("{}").lower())

    def users(self, node) -> list[User]:
        found = []
        for item in children(node, "User") if node is not None else []:
            guid = self.guid(item)
            if guid:
                found.append(User(key=guid, name=item.get("name") or item.get("id") or guid,
                                  guid=guid))
        return found

    def read_notes(self, node) -> dict[str, Note]:
        notes: dict[str, Note] = {}
        for item in children(node, "Note") if node is not None else []:
            guid = self.guid(item)
            if not guid:
                continue
            text = self.text_of(item, f"note {item.get('name') or guid}")
            if text is None:
                continue
            notes[guid.strip("{}").lower()] = Note(
                key=guid, text=text, name=item.get("name") or "",
                created_by=self.user(item.get("creatingUser")), guid=guid)
        return notes

    def note_refs(self, node) -> tuple[Note, ...]:
        found = []
        for ref in children(node, "NoteRef"):
            note = self.notes.get(self.ref(ref).strip("{}").lower())
            if note is None:
                self.not_carried(f"a note reference to {self.ref(ref)} that names no note "
                                 f"(line {ref.sourceline})")
            else:
                found.append(note)
        return tuple(found)

    # -- codes -----------------------------------------------------------------------------
    def codes(self, node) -> list[Code]:
        codes_node = child(node, "Codes") if node is not None else None
        if codes_node is None:
            return []
        return [self.code(item) for item in children(codes_node, "Code")]

    def code(self, node) -> Code:
        guid = self.guid(node) or ""
        self.code_keys[guid.strip("{}").lower()] = guid
        codable = (node.get("isCodable") or "true").strip().lower() not in ("false", "0")
        return Code(key=guid, name=node.get("name") or "", guid=guid,
                    description=child_text(node, "Description"),
                    color=node.get("color"), codable=codable,
                    children=tuple(self.code(c) for c in children(node, "Code")),
                    notes=self.note_refs(node))

    def code_key(self, guid: str) -> str | None:
        return self.code_keys.get(guid.strip("{}").lower())

    # -- variables -------------------------------------------------------------------------
    def read_variables(self, node) -> dict[str, tuple[str, str]]:
        found = {}
        for item in children(node, "Variable") if node is not None else []:
            guid = self.guid(item)
            if guid:
                found[guid.strip("{}").lower()] = (item.get("name") or guid,
                                                   item.get("typeOfVariable") or "Text")
        return found

    def variable_values(self, node) -> dict[str, VariableValue]:
        values: dict[str, VariableValue] = {}
        for holder in children(node, "VariableValue"):
            ref = child(holder, "VariableRef")
            target = self.ref(ref) if ref is not None else ""
            variable = self.variables.get(target.strip("{}").lower())
            if variable is None:
                self.not_carried(f"a variable value for unknown variable {target or '(none)'} "
                                 f"(line {holder.sourceline})")
                continue
            name = variable[0]
            for value_node in holder:
                if local(value_node) == "VariableRef" or not isinstance(value_node.tag, str):
                    continue
                values[name] = self.typed(local(value_node), value_node.text or "", name)
        return values

    def typed(self, kind: str, text: str, name: str) -> VariableValue:
        text = text.strip() if kind != "TextValue" else text
        try:
            if kind == "BooleanValue":
                return text.lower() in ("true", "1")
            if kind == "IntegerValue":
                return int(text)
            if kind == "FloatValue":
                return Decimal(text)
            if kind == "DateValue":
                return dt.date.fromisoformat(text)
            if kind == "DateTimeValue":
                return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, InvalidOperation):
            self.not_carried(f"variable {name}: {text!r} is not a valid {kind}; kept as text")
        return text

    # -- sources ---------------------------------------------------------------------------
    def text_of(self, node, what: str) -> str | None:
        """Plain text of a TextSource-typed node: inline content or an internal file."""
        inline = child(node, "PlainTextContent")
        path = (node.get("plainTextPath") or "").strip()
        if inline is not None:
            return inline.text or ""
        if not path:
            if node.get("richTextPath"):
                self.not_carried(f"{what} has only rich text ({node.get('richTextPath')})")
            else:
                self.broken(node, f"{what} has neither PlainTextContent nor plainTextPath")
            return None
        if not path.startswith(INTERNAL_PREFIX):
            self.not_carried(f"{what} is stored outside the archive ({path}); it was not read")
            return None
        name = path[len(INTERNAL_PREFIX):]
        problem = unsafe_name_problem(name)
        if problem:
            raise CityQDAError("CQ804", file=self.display, name=path, problem=problem)
        if self.archive is None:
            self.not_carried(f"{what} lives in the archive ({path}), which a bare project "
                             f"document does not include")
            return None
        member = self.archive.find(f"{SOURCES_FOLDER}/{name}")
        if member is None:
            self.broken(node, f"{what} names {path}, which is not in the archive's "
                              f"{SOURCES_FOLDER}/ folder")
            return None
        raw = self.archive.read(member)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.error("CQ809", name=what, member=member, problem=str(exc))
            return None
        return text[1:] if text.startswith(BOM) else text

    def sources(self, node) -> tuple[dict[str, TextSource], list[Selection]]:
        sources: dict[str, TextSource] = {}
        selections: list[Selection] = []
        for item in node if node is not None else []:
            if not isinstance(item.tag, str):
                continue
            kind = local(item)
            if kind != "TextSource":
                self.guid(item)
                self.not_carried(f"{kind} {item.get('name') or item.get('guid')} (only text "
                                 f"sources are read)")
                continue
            guid = self.guid(item)
            if not guid:
                continue
            name = item.get("name") or guid
            text = self.text_of(item, f"source {name}")
            if text is None:
                continue
            for coding in children(item, "Coding"):
                self.not_carried(f"a coding of the whole source {name} (line "
                                 f"{coding.sourceline}); only coded selections are read")
            source = TextSource(key=guid, name=name, text=text, guid=guid,
                                variables=self.variable_values(item),
                                description=child_text(item, "Description"),
                                created_by=self.user(item.get("creatingUser")),
                                notes=self.note_refs(item))
            sources[guid.strip("{}").lower()] = source
            for sel in children(item, "PlainTextSelection"):
                selections.extend(self.selection(sel, source))
        return sources, selections

    def selection(self, node, source: TextSource) -> list[Selection]:
        guid = self.guid(node)
        if not guid:
            return []
        try:
            start = int(node.get("startPosition", ""))
            end = int(node.get("endPosition", ""))
        except ValueError:
            self.skip_selection(guid, "has no whole-number startPosition and endPosition")
            return []
        if not 0 <= start <= end <= len(source.text):
            self.skip_selection(guid, f"[{start}, {end}) does not lie in source "
                                      f"{source.name} of {len(source.text)} characters")
            return []
        codings = children(node, "Coding")
        if not codings:
            self.not_carried(f"selection {guid} in {source.name} has no code")
            return []
        notes = self.note_refs(node)
        found = []
        for coding in codings:
            coding_guid = self.guid(coding)
            ref = child(coding, "CodeRef")
            code = self.code_key(self.ref(ref)) if ref is not None else None
            if code is None:
                self.skip_selection(guid, "applies a code that is not in the codebook")
                continue
            found.append(Selection(
                key=coding_guid or guid, source=source.key, start=start, end=end, code=code,
                coder=self.user(coding.get("creatingUser")),
                created_by=self.user(node.get("creatingUser")), name=node.get("name") or "",
                notes=notes + self.note_refs(coding),
                guid=guid if len(codings) == 1 else None, coding_guid=coding_guid))
        return found

    # -- cases and sets --------------------------------------------------------------------
    def source_keys(self, node, tag: str, sources: dict[str, TextSource]) -> tuple[str, ...]:
        keys = []
        for ref in children(node, tag):
            source = sources.get(self.ref(ref).strip("{}").lower())
            if source is None:
                self.not_carried(f"a reference to source {self.ref(ref)} that was not read "
                                 f"(line {ref.sourceline})")
            else:
                keys.append(source.key)
        return tuple(keys)

    def cases(self, node, sources: dict[str, TextSource]) -> list[Case]:
        found = []
        for item in children(node, "Case") if node is not None else []:
            guid = self.guid(item)
            if not guid:
                continue
            for tag in ("CodeRef", "SelectionRef"):
                if children(item, tag):
                    self.not_carried(f"case {item.get('name') or guid}: {tag} links")
            found.append(Case(key=guid, name=item.get("name") or guid, guid=guid,
                              variables=self.variable_values(item),
                              sources=self.source_keys(item, "SourceRef", sources),
                              description=child_text(item, "Description")))
        return found

    def sets(self, node, sources: dict[str, TextSource]) -> list[CodeSet]:
        found = []
        for item in children(node, "Set") if node is not None else []:
            guid = self.guid(item)
            if not guid:
                continue
            codes = []
            for ref in children(item, "MemberCode"):
                code = self.code_key(self.ref(ref))
                if code is None:
                    self.not_carried(f"set {item.get('name')}: member code {self.ref(ref)} "
                                     f"is not in the codebook")
                else:
                    codes.append(code)
            if children(item, "MemberNote"):
                self.not_carried(f"set {item.get('name')}: note members")
            found.append(CodeSet(key=guid, name=item.get("name") or guid, guid=guid,
                                 codes=tuple(codes),
                                 sources=self.source_keys(item, "MemberSource", sources),
                                 description=child_text(item, "Description")))
        return found


def check_root(tree, display: str, part: str, expected_ns: str, expected_name: str,
               warnings: list[Problem]):
    """The root element if it is the expected REFI-QDA document, else CQ807."""
    root = tree.getroot()
    found_ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if local(root) != expected_name:
        raise CityQDAError("CQ807", file=display, part=part,
                           found=f"{local(root)} (namespace {found_ns or 'none'})",
                           expected=f"{expected_name} (namespace {expected_ns})")
    if found_ns != expected_ns:
        warnings.append(Problem("CQ850", {"part": part, "what": (
            f"the document uses namespace {found_ns or 'none'} instead of {expected_ns}; "
            "read anyway")}, file=display))
    return root


def read_project_document(raw: bytes, display: str, part: str, archive: SafeZip | None,
                          limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Parse one project document; raises CityQDAError with every error found."""
    tree = parse_xml(raw, display, part, limits)
    warnings: list[Problem] = []
    root = check_root(tree, display, part, PROJECT_NS, "Project", warnings)
    reader = _Reader(root, display, part, archive)
    project = reader.read()
    if reader.errors:
        raise CityQDAError.from_problems(reader.errors)
    return ReadResult(project, warnings + reader.warnings)


def project_member(archive: SafeZip) -> str:
    """The archive's project document: the one `.qde` at its top level."""
    candidates = sorted(name for name in archive.members
                        if "/" not in name and name.lower().endswith(".qde"))
    if not candidates:
        raise CityQDAError("CQ801", file=archive.display,
                           problem="the archive holds no project document (project.qde)")
    if len(candidates) > 1:
        raise CityQDAError("CQ808", file=archive.display, part="archive",
                           problem=f"it holds several project documents: "
                                   f"{', '.join(candidates)}")
    return candidates[0]


def open_qdpx(data: bytes, display: str, limits: Limits = DEFAULT_LIMITS
              ) -> tuple[SafeZip, str]:
    """The checked archive and the name of its project document."""
    if not is_zip(data):
        problem = ("it is not a zip archive" if data else "the file is empty (0 bytes)")
        if data.lstrip()[:5] == b"<?xml":
            problem = "it is a plain XML file, not a .qdpx archive"
        raise CityQDAError("CQ801", file=display, problem=problem)
    archive = SafeZip(data, display, limits)
    return archive, project_member(archive)


def read_qdpx(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Read a `.qdpx` archive; raise CityQDAError (CQ8xx) when it cannot be read safely."""
    path = Path(path)
    display = str(path)
    archive, member = open_qdpx(read_file(path, display, limits), display, limits)
    return read_project_document(archive.read(member), display, member, archive, limits)


def read_qde(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Read a bare project document; sources stored in files are reported, not read."""
    path = Path(path)
    display = str(path)
    return read_project_document(read_file(path, display, limits), display, path.name, None,
                                 limits)
