"""REFI-QDA codebooks (`.qdc`): a code tree out, a code tree back in, with a report.

A `.qdc` is one XML document (namespace `urn:QDA-XML:codebook:1.0`) holding the code tree
(name, description, colour, whether a node is codable, children) and optional sets of codes.
It carries less than a project: notes on codes have no place in it, so writing reports them
(`CQ850`) instead of dropping them silently. Reading is as careful as for projects (`untrusted`)
and as lenient: what the tree model cannot hold is reported, not fatal.

Mapping cityqda's YAML codebook to and from this tree belongs to the codebook module; this
module only knows the generic tree (`model.Code`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pipeline.errors import CityQDAError, Problem
from pipeline.exchange.model import Codebook, CodeSet, guid_for, walk_codes
from pipeline.exchange.qdpx_reader import _Reader, check_root, children, local
from pipeline.exchange.qdpx_writer import ORIGIN, code_element, element, serialise, xml_safe
from pipeline.exchange.untrusted import DEFAULT_LIMITS, Limits, parse_xml, read_file

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"


@dataclass
class CodebookReadResult:
    codebook: Codebook
    problems: list[Problem] = field(default_factory=list)


def codebook_xml(codebook: Codebook, *, display: str = "codebook") -> tuple[bytes, list[Problem]]:
    """The `.qdc` document and the report of what it could not carry."""
    report = []
    keys = [code.key for code in walk_codes(codebook.codes)]
    if len(set(keys)) != len(keys):
        raise ValueError("a code key is used twice in the code tree")
    if not codebook.codes:
        raise ValueError("a REFI-QDA codebook needs at least one code")
    for code in walk_codes(codebook.codes):
        if code.notes:
            report.append(Problem("CQ850", {"part": display, "what": (
                f"{len(code.notes)} note(s) on code {code.name!r}: a REFI-QDA codebook has "
                "no place for notes (a project export keeps them)")}))
    known = set(keys)
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS})
    root.set("origin", xml_safe(codebook.origin or ORIGIN))
    codes_node = element(root, "Codes", CODEBOOK_NS)
    for code in codebook.codes:
        code_element(codes_node, code, CODEBOOK_NS, None)
    guids = {code.key: guid_for("code", code.key, code.guid)
             for code in walk_codes(codebook.codes)}
    if codebook.sets:
        sets_node = element(root, "Sets", CODEBOOK_NS)
        for code_set in sorted(codebook.sets, key=lambda s: s.key):
            node = element(sets_node, "Set", CODEBOOK_NS,
                           guid=guid_for("set", code_set.key, code_set.guid),
                           name=xml_safe(code_set.name))
            if code_set.description:
                element(node, "Description", CODEBOOK_NS, code_set.description)
            for key in sorted(code_set.codes):
                if key not in known:
                    raise ValueError(f"set {code_set.key!r} names unknown code {key!r}")
                element(node, "MemberCode", CODEBOOK_NS, guid=guids[key])
            if code_set.sources:
                report.append(Problem("CQ850", {"part": display, "what": (
                    f"set {code_set.name!r} lists sources, which a codebook cannot hold")}))
    return serialise(root), report


def write_qdc(codebook: Codebook, path: str | Path) -> list[Problem]:
    """Write the `.qdc` (whole or not at all) and return what it could not carry."""
    path = Path(path)
    data, report = codebook_xml(codebook, display=path.name)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()
    return [Problem(p.code, p.fields, file=str(path)) for p in report]


def parse_qdc(raw: bytes, display: str, limits: Limits = DEFAULT_LIMITS) -> CodebookReadResult:
    part = Path(display).name
    tree = parse_xml(raw, display, part, limits)
    warnings: list[Problem] = []
    root = check_root(tree, display, part, CODEBOOK_NS, "CodeBook", warnings)
    reader = _Reader(root, display, part, None)
    codes_node = next((node for node in root if local(node) == "Codes"), None)
    codes = tuple(reader.code(node) for node in children(codes_node, "Code")) \
        if codes_node is not None else ()
    if not codes:
        reader.broken(root, "the codebook holds no codes")
    sets = []
    sets_node = next((node for node in root if local(node) == "Sets"), None)
    for item in children(sets_node, "Set") if sets_node is not None else []:
        guid = reader.guid(item)
        if not guid:
            continue
        members = []
        for ref in children(item, "MemberCode"):
            target = (ref.get("guid") or ref.get("targetGUID") or "").strip()
            key = reader.code_key(target)
            if key is None:
                reader.not_carried(f"set {item.get('name')}: member {target or '(none)'} is "
                                   f"not a code of this codebook")
            else:
                members.append(key)
        sets.append(CodeSet(key=guid, name=item.get("name") or guid, guid=guid,
                            codes=tuple(members),
                            description=next((n.text or "" for n in item
                                              if local(n) == "Description"), "")))
    for node in root:
        if isinstance(node.tag, str) and local(node) not in ("Codes", "Sets"):
            reader.not_carried(f"element {local(node)} (line {node.sourceline})")
    if reader.errors:
        raise CityQDAError.from_problems(reader.errors)
    codebook = Codebook(codes=codes, sets=tuple(sets), origin=root.get("origin") or "")
    return CodebookReadResult(codebook, warnings + reader.warnings)


def read_qdc(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> CodebookReadResult:
    """Read a `.qdc` into a code tree; CityQDAError (CQ8xx) if it cannot be read safely."""
    path = Path(path)
    return parse_qdc(read_file(path, str(path), limits), str(path), limits)
