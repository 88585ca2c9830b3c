"""Reading a YAML file while keeping where each value came from.

Validation messages point at a path inside the document (``codes[12].patterns[0]``) and the
line it sits on, so a coder editing the codebook in a text editor finds the place at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice instead of keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise DuplicateKeyError(
                    "while reading a mapping", node.start_mark,
                    f"key {key!r} is written twice (first on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


class YamlDocument:
    """A parsed YAML document and its node tree, for locating values by path."""

    def __init__(self, data, root: yaml.Node | None):
        self.data = data
        self.root = root

    @classmethod
    def from_text(cls, text: str) -> YamlDocument:
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        return cls(data, node)

    @classmethod
    def from_path(cls, path: Path) -> YamlDocument:
        return cls.from_text(path.read_text(encoding="utf-8"))

    def node_at(self, path: list) -> yaml.Node | None:
        """The node at `path`, or its deepest existing ancestor."""
        node = self.root
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((value for key, value in node.value if key.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                child = node.value[part] if 0 <= part < len(node.value) else None
            if child is None:
                return node
            node = child
        return node

    def line_of(self, path: list) -> int | None:
        node = self.node_at(path)
        return None if node is None else node.start_mark.line + 1

    def location(self, path: list) -> str:
        """``codes[12].patterns[0] (line 345)``."""
        text = format_path(path)
        line = self.line_of(path)
        return f"{text} (line {line})" if line is not None else text


def format_path(path: list) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def read_yaml_document(path: Path, error_code: str) -> tuple[YamlDocument, str]:
    """The parsed document and the sha256 of its bytes.

    `error_code` is the caller's "cannot be read" code (its template takes `path` and
    `problem`), so the codebook and the actor registry report in their own terms.
    """
    from pipeline.errors import CityQDAError

    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise CityQDAError(error_code, path=str(path), problem="file not found") from exc
    except OSError as exc:
        raise CityQDAError(error_code, path=str(path),
                           problem=exc.strerror or str(exc)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CityQDAError(error_code, path=str(path),
                           problem=f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        doc = YamlDocument.from_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CityQDAError(error_code, path=str(path),
                           problem=f"{where}not valid YAML: {problem}") from exc
    return doc, hashlib.sha256(raw).hexdigest()


def yaml_problem(code: str, doc: YamlDocument, file: str, path: list, **fields):
    """A Problem located by its YAML path and line, for codes whose templates use them."""
    from pipeline.errors import Problem

    fields.setdefault("location", doc.location(path))
    fields["yaml_path"] = format_path(path)
    fields["line"] = doc.line_of(path)
    return Problem(code, fields, file=file)


def json_schema_problems(doc: YamlDocument, file: str, schema: dict, code: str,
                         message_for=None) -> list:
    """Every JSON Schema error of `doc` as a located Problem with `code`.

    Unknown keys are named one by one with the keys allowed there; `message_for(error,
    path)` may return a friendlier message for a schema-specific error, else None.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    errors = sorted(validator.iter_errors(doc.data),
                    key=lambda e: ([str(p) for p in e.absolute_path], e.message))
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            for extra in sorted(k for k in error.instance if k not in allowed):
                problems.append(yaml_problem(
                    code, doc, file, [*path, extra],
                    problem=f"unknown key {extra!r}; allowed here: {', '.join(allowed)}"))
            continue
        message = message_for(error, path) if message_for else None
        if message is None:
            if error.validator == "required":
                message = error.message.replace("is a required property", "is required here")
            else:
                message = error.message
        problems.append(yaml_problem(code, doc, file, path, problem=message))
    return problems
