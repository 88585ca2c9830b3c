"""A REFI-QDA codebook (`.qdc`, or a `.qdpx` project's code tree) from another tool as a
draft cityqda codebook (YAML).

What carries over: code names (as labels), the hierarchy, descriptions (as definitions;
the include/exclude/examples layout that `codebook export --format qdc` writes is parsed
back into its lists). What cannot: patterns (other tools have none, so the draft finds
nothing until patterns are written), colours, notes, sets, whether a node is codable, and
levels below our two: each is reported (CQ850), never dropped silently.

The tree is mapped onto our kinds: a top-level code becomes a dimension (its id is the
study's dimension it names, by id or label, else a slug of its name), and a top-level code
named "challenges" (or one of ours that came back) a challenge group; second-level codes
become subcodes or challenges of it; deeper codes are lifted to the second level under
their top-level ancestor, their path in the label. A code that left cityqda and came back
keeps its id: its GUID is UUID5 over the id (`exchange.model.guid_for`), looked up in the
reference codebook.

Ids are slugs (ASCII, lower case, `_`), unique among siblings (`_2`, `_3`...). The draft
gets the reference codebook's context cue lists (they describe English, not the codes), a
`-draft` version, and a header saying what to do; it always matches the codebook JSON
Schema, and what the semantic checks still find (dimensions the study needs, definitions
to write) is reported as CQ853.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.codebook.model import DIMENSION_ORDER
from pipeline.errors import CityQDAError, Problem
from pipeline.exchange.from_codebook import DESCRIPTION_SECTIONS, RETIRED_SUFFIX
from pipeline.exchange.model import Code as TreeCode
from pipeline.exchange.model import guid_for

DRAFT_VERSION = "0.1.0-draft"
CHALLENGE_NAMES = {"challenge", "challenges", "common_challenges", "problems",
                   "barriers", "challenges_and_barriers"}
_SECTION_HEADINGS = {f"{heading}:": attribute for heading, attribute in DESCRIPTION_SECTIONS}


def slug(text: str, fallback: str = "code") -> str:
    """An id part: ASCII letters, digits and `_`, lower case, starting with a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not value:
        value = fallback
    if not value[0].isalpha():
        value = f"{fallback}_{value}"
    return value[:60].rstrip("_")


def split_description(text: str) -> tuple[str, dict[str, list[str]]]:
    """(definition, {include: [...], ...}) from a description, sections as we write them."""
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    definition, lists = [], {}
    for block in blocks:
        lines = [line.strip() for line in block.strip().split("\n")]
        attribute = _SECTION_HEADINGS.get(lines[0])
        items = [line[2:].strip() for line in lines[1:] if line.startswith("- ")]
        if attribute and len(items) == len(lines) - 1 and items and attribute not in lists:
            lists[attribute] = items
        else:
            definition.append(" ".join(" ".join(lines).split()))
    return "\n\n".join(definition), lists


@dataclass
class QdcImport:
    """The draft written from a `.qdc`, and everything the user should know about it."""

    source: Path
    out: Path
    document: dict
    codes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def draft_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.code == "CQ853"]

    def lines(self) -> list[str]:
        lost = len(self.problems) - len(self.draft_problems)
        state = ("valid as it is" if not self.draft_problems
                 else f"a draft: {len(self.draft_problems)} thing(s) to fix before use")
        return [f"wrote {self.out}: {self.codes} code(s) from {self.source}; {state}",
                f"{lost} item(s) of the file could not be carried (listed above)"
                if lost else "everything in the file was carried over"]


class _Converter:
    def __init__(self, display: str, dimensions: tuple[str, ...], reference):
        self.display = display
        self.part = Path(display).name
        self.dimensions = dimensions
        self.problems: list[Problem] = []
        self.entries: list[dict] = []
        self.ids: set[str] = set()
        self.known: dict[str, tuple[str, str]] = {}  # guid -> (id, kind)
        self.dimension_names: dict[str, str] = {}
        for dimension in dimensions:
            self.dimension_names[slug(dimension)] = dimension
            self.dimension_names[slug(dimension.replace("_", " and "))] = dimension
        for code in reference or ():
            code_id, kind, label = code.get("id"), code.get("kind"), code.get("label")
            if not isinstance(code_id, str):
                continue
            self.known[guid_for("code", code_id).lower()] = (code_id, kind)
            if kind == "dimension" and isinstance(label, str):
                self.dimension_names[slug(label)] = code_id
        self.colours = 0
        self.uncodable: list[str] = []

    def lost(self, what: str) -> None:
        self.problems.append(Problem("CQ850", {"part": self.part, "what": what},
                                     file=self.display))

    def draft(self, problem: str) -> None:
        self.problems.append(Problem("CQ853", {"problem": problem}, file=self.display))

    def known_code(self, code: TreeCode) -> tuple[str, str] | None:
        guid = (code.guid or "").strip("{}").lower()
        return self.known.get(guid)

    def unique(self, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.ids:
            candidate = f"{wanted}_{n}"
            n += 1
        self.ids.add(candidate)
        return candidate

    def label(self, code: TreeCode) -> str:
        name = " ".join((code.name or "").split())
        if name.endswith(RETIRED_SUFFIX.strip()) and self.known_code(code):
            name = name[:-len(RETIRED_SUFFIX)].strip() or name
        if not name:
            name = "(unnamed code)"
            self.draft(f"a code without a name (GUID {code.guid}) was called {name!r}; "
                       "give it a label")
        return name

    def entry(self, code: TreeCode, kind: str, code_id: str, parent: str | None,
              label: str) -> dict:
        definition, lists = split_description(code.description or "")
        if not definition:
            definition = f"No description in {self.part}; write the definition."
            self.draft(f"code {code_id} ({label!r}) has no description: write its definition")
        entry = {"id": code_id, "kind": kind}
        if parent is not None:
            entry["parent"] = parent
        entry["label"] = label
        entry["definition"] = definition
        for _heading, attribute in DESCRIPTION_SECTIONS:
            if lists.get(attribute):
                entry[attribute] = lists[attribute]
        if code.color:
            self.colours += 1
        if code.notes:
            self.lost(f"{len(code.notes)} note(s) on code {label!r}")
        return entry

    def top(self, code: TreeCode) -> None:
        label = self.label(code)
        known = self.known_code(code)
        if known and known[1] in ("dimension", "challenge_group") and known[0] not in self.ids:
            code_id, kind = known
            self.ids.add(code_id)
        elif slug(label) in self.dimension_names and \
                self.dimension_names[slug(label)] not in self.ids:
            code_id, kind = self.dimension_names[slug(label)], "dimension"
            self.ids.add(code_id)
        elif slug(label) in CHALLENGE_NAMES and "challenge" not in self.ids:
            code_id, kind = "challenge", "challenge_group"
            self.ids.add(code_id)
        else:
            code_id, kind = self.unique(slug(label)), "dimension"
            if code_id not in self.dimensions:
                self.draft(f"top-level code {label!r} became dimension {code_id!r}, which is "
                           f"not one of the study's dimensions ({', '.join(self.dimensions)}): "
                           "rename its id to one of them, make it a subcode of one, or remove "
                           "it")
        self.entries.append(self.entry(code, kind, code_id, None, label))
        child_kind = "challenge" if kind == "challenge_group" else "subcode"
        for child in code.children:
            self.second(child, code_id, child_kind, prefix=())

    def second(self, code: TreeCode, parent: str, kind: str, prefix: tuple[str, ...]) -> None:
        label = self.label(code)
        full_label = " / ".join((*prefix, label))
        known = self.known_code(code)
        if known and known[1] == kind and not prefix and known[0] not in self.ids:
            code_id = known[0]
            self.ids.add(code_id)
        else:
            code_id = self.unique(f"{parent}.{slug('_'.join(map(slug, (*prefix, label))))}")
        if prefix:
            self.lost(f"code {full_label!r} is deeper than cityqda's two levels; it became "
                      f"{kind} {code_id!r} of {parent!r}")
        if not code.codable and not code.children:
            self.uncodable.append(full_label)
        self.entries.append(self.entry(code, kind, code_id, parent, full_label))
        for child in code.children:
            self.second(child, parent, kind, prefix=(*prefix, label))


def reference_document(reference_path: Path | None) -> dict:
    """The reference codebook's data as written (not compiled: only its code ids, kinds,
    labels and context are used, and a half-edited codebook must not stop an import)."""
    from pipeline.codebook.load import default_codebook_path, read_codebook_document

    for path in (reference_path, default_codebook_path()):
        if path is None:
            continue
        try:
            doc, _ = read_codebook_document(Path(path))
        except CityQDAError:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        if isinstance(data.get("context"), dict):
            return data
    return {}


def qdc_to_document(read_result, display: str, *, dimensions: tuple[str, ...] = DIMENSION_ORDER,
                    reference: dict | None = None) -> tuple[dict, int, list[Problem]]:
    """(codebook document, number of codes, problems) from a read `.qdc`; `reference` is
    a codebook document whose code ids returning codes keep and whose context is copied."""
    codebook = read_result.codebook
    reference = reference if reference is not None else reference_document(None)
    codes = reference.get("codes") if isinstance(reference.get("codes"), list) else []
    converter = _Converter(display, dimensions, [c for c in codes if isinstance(c, dict)])
    for code in codebook.codes:
        converter.top(code)
    defined = {e["id"] for e in converter.entries if e["kind"] == "dimension"}
    for dimension in dimensions:
        if dimension not in defined:
            converter.draft(f"the study's dimension {dimension!r} is not defined: add it (or "
                            "rename a top-level code to it)")
    if converter.colours:
        converter.lost(f"the colours of {converter.colours} code(s) (a cityqda codebook has "
                       "no colours)")
    if converter.uncodable:
        converter.lost("'not codable' on " + ", ".join(repr(n) for n in converter.uncodable)
                       + " (every cityqda subcode and challenge can be coded)")
    for code_set in codebook.sets:
        converter.lost(f"set {code_set.name!r} ({len(code_set.codes)} code(s)); a cityqda "
                       "codebook has no sets")
    stem = Path(display).stem
    origin = f" (made by {codebook.origin})" if codebook.origin else ""
    document = {
        "id": slug(stem, "imported"),
        "title": f"Draft codebook imported from {Path(display).name}",
        "version": DRAFT_VERSION,
        "language": "en",
        "description": f"Imported from the REFI-QDA codebook {Path(display).name}{origin}: "
                       "names, hierarchy and descriptions only. Write patterns before coding "
                       "with it.",
        "changes": [],
        "codes": converter.entries,
        "context": reference.get("context") or {},
    }
    return document, len(converter.entries), list(read_result.problems) + converter.problems


HEADER = """\
# DRAFT cityqda codebook imported from {source} by `cityqda codebook import`.
#
# Carried over: code names (label), hierarchy and descriptions (definition, and the include /
# exclude / examples lists where the description has them). Not carried: patterns, colours,
# notes, sets (the import listed each loss). The `context` cue lists are cityqda's defaults.
# Before using it: write `patterns` for each subcode and challenge, make the top-level codes
# the study's dimensions, set a real `version`, and run `cityqda codebook validate FILE`.
"""


def document_text(document: dict, source: str) -> str:
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=96)
    return HEADER.format(source=source) + body


def draft_problems(text: str, display: str, dimensions: tuple[str, ...]) -> list[Problem]:
    """What `codebook validate` would still say about the draft, as CQ853 warnings."""
    from pipeline.codebook.validate import schema_problems, semantic_problems
    from pipeline.codebook.yamlsource import YamlDocument

    doc = YamlDocument.from_text(text)
    found = schema_problems(doc, display) + semantic_problems(doc, display, dimensions,
                                                              compile_patterns=False)
    return [Problem("CQ853", {"problem": f"still to fix in the draft: {p.message}"},
                    file=display) for p in found]


def read_codebook_file(path: Path, limits=None):
    """The code tree of a `.qdc`, or of a `.qdpx` project (its codebook; the rest of the
    project is reported as not carried)."""
    from pipeline.exchange.model import Codebook
    from pipeline.exchange.qdc import CodebookReadResult, read_qdc
    from pipeline.exchange.qdpx_reader import read_qdpx
    from pipeline.exchange.untrusted import DEFAULT_LIMITS, ZIP_MAGICS

    limits = limits or DEFAULT_LIMITS
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        head = b""  # read_qdc reports it (CQ810)
    if head not in ZIP_MAGICS:
        return read_qdc(path, limits=limits)
    result = read_qdpx(path, limits=limits)
    project = result.project
    code_sets = tuple(s for s in project.sets if s.codes)
    problems = list(result.problems)
    if project.sources or project.cases or project.selections:
        problems.append(Problem("CQ850", {"part": path.name, "what": (
            f"the project's {len(project.sources)} source(s), {len(project.selections)} "
            f"coded selection(s) and {len(project.cases)} case(s): only its code tree is "
            "imported as a codebook")}, file=str(path)))
    if not project.codes:
        raise CityQDAError("CQ808", file=str(path), part=path.name,
                           problem="the project holds no codes")
    return CodebookReadResult(Codebook(codes=project.codes, sets=code_sets,
                                       origin=project.origin), problems)


def import_qdc(path: str | Path, out: str | Path | None = None, *,
               dimensions: tuple[str, ...] = DIMENSION_ORDER,
               reference_path: str | Path | None = None, force: bool = False,
               limits=None) -> QdcImport:
    """Convert the `.qdc` at `path` into a draft YAML codebook at `out` (default: beside it,
    `.yaml`); refuses to replace an existing file unless `force`. Raises CityQDAError
    (CQ8xx) when the file cannot be read safely; nothing is written then."""
    path = Path(path)
    out = Path(out) if out is not None else path.with_suffix(".yaml")
    if out.exists() and not force:
        raise CityQDAError("CQ813", path=str(out))
    read_result = read_codebook_file(path, limits)
    document, count, problems = qdc_to_document(
        read_result, str(path), dimensions=dimensions,
        reference=reference_document(Path(reference_path) if reference_path else None))
    text = document_text(document, path.name)
    # dimensions were already checked above, with advice
    problems += [p for p in draft_problems(text, str(out), dimensions)
                 if "the study's dimension" not in p.message]
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(temp, out)
    except OSError as exc:
        raise CityQDAError("CQ814", path=str(out), problem=exc.strerror or str(exc)) from exc
    finally:
        if temp.exists():
            temp.unlink()
    return QdcImport(source=path, out=out, document=document, codes=count, problems=problems)
