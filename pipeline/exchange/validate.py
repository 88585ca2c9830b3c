"""Check a REFI-QDA file against the official schemas and explain every problem.

`check_file` takes a `.qdpx`, `.qde` or `.qdc` (recognised by content, not by name), opens it
as carefully as the reader does, validates the project or codebook document against the
official XSD, and, when the schema is satisfied, reads it with our own reader to find what the
schema cannot express (a selection outside its text, a reference to a missing source file, a
GUID used twice). Each schema error names the part, the line, the element's path and what the
schema expected there.

The official schemas (Project.xsd, Codebook.xsd) are not shipped inside the package. They are
looked up in `--schemas DIR`, then `$CITYQDA_REFI_QDA_SCHEMAS`, then `../shared/refi-qda`
beside a source checkout, where the project keeps them.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pipeline.errors import CityQDAError, Problem
from pipeline.exchange.qdc import CODEBOOK_NS, parse_qdc
from pipeline.exchange.qdpx_reader import local, open_qdpx, read_project_document
from pipeline.exchange.qdpx_writer import PROJECT_NS
from pipeline.exchange.untrusted import DEFAULT_LIMITS, Limits, is_zip, parse_xml, read_file

SCHEMA_ENV = "CITYQDA_REFI_QDA_SCHEMAS"
SCHEMA_FILES = {"project": "Project.xsd", "codebook": "Codebook.xsd"}
REPOSITORY_SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "refi-qda"


def find_schema_dir(explicit: str | Path | None = None) -> Path:
    """The folder holding both official schemas, or CQ812 naming where it looked."""
    tried = []
    candidates = []
    if explicit is not None:
        candidates.append(("--schemas", Path(explicit)))
    elif os.environ.get(SCHEMA_ENV):
        candidates.append((SCHEMA_ENV, Path(os.environ[SCHEMA_ENV])))
    else:
        candidates.append(("the source checkout", REPOSITORY_SCHEMAS))
    for origin, folder in candidates:
        missing = [name for name in SCHEMA_FILES.values() if not (folder / name).is_file()]
        if not missing:
            return folder
        tried.append(f"{folder} (from {origin}) lacks {', '.join(missing)}")
    raise CityQDAError("CQ812", problem="the official REFI-QDA schemas were not found: "
                                        + "; ".join(tried))


@functools.lru_cache(maxsize=8)
def _schema(path: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.XMLSchema(etree.parse(path, parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as exc:
        raise CityQDAError("CQ812", problem=f"{path} is not a usable XML schema: {exc}"
                           ) from exc


def load_schema(kind: str, schema_dir: Path) -> etree.XMLSchema:
    return _schema(str(Path(schema_dir) / SCHEMA_FILES[kind]))


_NAMESPACES = re.compile(r"\{urn:QDA-XML:(?:project|codebook):1\.0\}")
_GUID_PATTERN = re.compile(r"\[facet 'pattern'\] The value '([^']*)' is not accepted by the "
                           r"pattern '\(\[0-9a-fA-F\]\{8\}[^']*'")
_COLOR_PATTERN = re.compile(r"\[facet 'pattern'\] The value '([^']*)' is not accepted by the "
                            r"pattern '#\([^']*'")


def explain(message: str) -> str:
    """lxml's schema message without namespace noise, patterns said in words."""
    text = _NAMESPACES.sub("", message)
    text = _GUID_PATTERN.sub(
        r"the value '\1' is not a GUID (expected 8-4-4-4-12 hexadecimal digits, "
        r"e.g. 0f8fad5b-d9cb-469f-a165-70867728950e, optionally in braces)", text)
    text = _COLOR_PATTERN.sub(
        r"the value '\1' is not a colour (expected #RRGGBB or #RGB in hexadecimal)", text)
    return text.strip()


def element_path(node) -> str:
    """/Project/Sources/TextSource[2] with the element's name attribute, for people."""
    steps = []
    current = node
    while current is not None and isinstance(current.tag, str):
        parent = current.getparent()
        name = local(current)
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and local(c) == name]
            if len(same) > 1:
                name += f"[{same.index(current) + 1}]"
        steps.append(name)
        current = parent
    path = "/" + "/".join(reversed(steps))
    label = node.get("name") if isinstance(node.tag, str) else None
    return f"{path} (name {label!r})" if label else path


def schema_problems(tree, kind: str, schema_dir: Path, display: str, part: str
                    ) -> list[Problem]:
    schema = load_schema(kind, schema_dir)
    if schema.validate(tree):
        return []
    problems = []
    for entry in schema.error_log:
        where = entry.path or ""
        nodes = tree.xpath(where) if where.startswith("/") else []
        element = element_path(nodes[0]) if nodes else (where or "document")
        problems.append(Problem("CQ811", {"part": part, "line": entry.line, "element": element,
                                          "problem": explain(entry.message)}, file=display))
    return problems


@dataclass
class CheckReport:
    file: str
    kind: str | None  # "qdpx", "qde", "qdc"; None when the file could not be opened
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.spec.level == "error"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"file": self.file, "kind": self.kind, "valid": self.valid,
                "errors": len(self.errors), "warnings": len(self.problems) - len(self.errors),
                "problems": [p.as_dict() for p in self.problems]}


def check_file(path: str | Path, *, schema_dir: str | Path | None = None,
               limits: Limits = DEFAULT_LIMITS) -> CheckReport:
    """Validate any REFI-QDA file; problems are collected, not raised (except CQ812)."""
    path = Path(path)
    display = str(path)
    folder = find_schema_dir(schema_dir)
    report = CheckReport(display, None)
    try:
        data = read_file(path, display, limits)
        if is_zip(data):
            report.kind = "qdpx"
            archive, member = open_qdpx(data, display, limits)
            raw, part = archive.read(member), member
        elif path.suffix.lower() == ".qdpx":  # a project export is always a zip archive
            raise CityQDAError("CQ801", file=display,
                               problem="it ends in .qdpx but is not a zip archive, as every "
                                       "project export is (truncated, or another file "
                                       "renamed)")
        else:  # the message names the file already: its part is "the document"
            archive, raw, part = None, data, "the document"
        tree = parse_xml(raw, display, part, limits)
        root_name = local(tree.getroot())
        if report.kind is None:
            if root_name == "Project":
                report.kind = "qde"
            elif root_name == "CodeBook":
                report.kind = "qdc"
            else:
                raise CityQDAError("CQ807", file=display, part=part,
                                   found=root_name or "nothing",
                                   expected=f"Project ({PROJECT_NS}) or CodeBook "
                                            f"({CODEBOOK_NS})")
        kind = "codebook" if report.kind == "qdc" else "project"
        report.problems.extend(schema_problems(tree, kind, folder, display, part))
        if report.problems:
            return report
        if kind == "codebook":
            report.problems.extend(parse_qdc(raw, display, limits).problems)
        else:
            report.problems.extend(
                read_project_document(raw, display, part, archive, limits).problems)
    except CityQDAError as exc:
        report.problems.extend(exc.problems)
    return report
