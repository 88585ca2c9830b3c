"""Checks a codebook document: its shape (JSON Schema) and its meaning (ids, references,
hierarchy, patterns that compile). Every problem is collected, with its path in the YAML and
its line, so one run shows everything to fix.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pipeline.codebook.model import DIMENSION_ORDER
from pipeline.codebook.phrases import PhraseError, expand_phrase
from pipeline.codebook.yamlsource import YamlDocument, json_schema_problems, yaml_problem
from pipeline.errors import Problem

# Token-pattern keys that `tokens` patterns made only of literal values may use to be matched
# as phrases (fast path); anything else goes to spaCy's Matcher.
PHRASE_TOKEN_KEYS = ("LEMMA", "LOWER")


@lru_cache(maxsize=1)
def codebook_schema() -> dict:
    path = resources.files("pipeline") / "schemas" / "codebook.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))




def _codebook_message(error, path) -> str | None:
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return "give either `phrases` or `tokens` (exactly one of them)"
    return None


def schema_problems(doc: YamlDocument, file: str) -> list[Problem]:
    return json_schema_problems(doc, file, codebook_schema(), "CQ202", _codebook_message)


def _ids(items) -> list:
    return [(i, item) for i, item in enumerate(items or []) if isinstance(item, dict)]


def semantic_problems(doc: YamlDocument, file: str,
                      dimensions: tuple[str, ...] = DIMENSION_ORDER,
                      compile_patterns: bool = True) -> list[Problem]:
    """Ids, references, hierarchy and pattern compilation; tolerant of a broken shape."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []
    seen: dict[str, list] = {}

    def claim(identifier, path):
        if not isinstance(identifier, str):
            return
        if identifier in seen:
            problems.append(yaml_problem("CQ203", doc, file, [*path, "id"], id=identifier,
                                     first=doc.location([*seen[identifier], "id"])))
        else:
            seen[identifier] = path

    codes = data.get("codes") if isinstance(data.get("codes"), list) else []
    kinds: dict[str, str] = {}
    for i, code in _ids(codes):
        claim(code.get("id"), ["codes", i])
        if isinstance(code.get("id"), str):
            kinds.setdefault(code["id"], code.get("kind"))
    for i, code in _ids(codes):
        for j, pattern in _ids(code.get("patterns")):
            claim(pattern.get("id"), ["codes", i, "patterns", j])
        for j, derivation in _ids(code.get("derive")):
            claim(derivation.get("id"), ["codes", i, "derive", j])
    rules = data.get("rules") if isinstance(data.get("rules"), list) else []
    for i, rule in _ids(rules):
        claim(rule.get("id"), ["rules", i])
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    cues = context.get("cues") if isinstance(context.get("cues"), list) else []
    for i, cue in _ids(cues):
        claim(cue.get("id"), ["context", "cues", i])

    def known(ref, path, what):
        if isinstance(ref, str) and ref not in kinds:
            problems.append(yaml_problem("CQ204", doc, file, path, what=what, ref=ref))
            return False
        return isinstance(ref, str)

    # hierarchy
    defined_dimensions = set()
    for i, code in _ids(codes):
        kind, parent, code_id = code.get("kind"), code.get("parent"), code.get("id")
        where = ["codes", i]
        if kind == "dimension":
            defined_dimensions.add(code_id)
            if code_id not in dimensions:
                problems.append(yaml_problem(
                    "CQ206", doc, file, [*where, "id"],
                    problem=f"{code_id!r} is not one of the study's dimensions "
                            f"({', '.join(dimensions)})"))
            if parent is not None:
                problems.append(yaml_problem("CQ206", doc, file, [*where, "parent"],
                                         problem="a dimension has no parent"))
        elif kind in ("subcode", "challenge"):
            expected = "dimension" if kind == "subcode" else "challenge_group"
            if parent is None:
                problems.append(yaml_problem("CQ206", doc, file, where,
                                         problem=f"a {kind} needs a `parent` ({expected})"))
            elif known(parent, [*where, "parent"], "parent"):
                if kinds[parent] != expected:
                    problems.append(yaml_problem(
                        "CQ206", doc, file, [*where, "parent"],
                        problem=f"the parent of a {kind} must be a {expected}, "
                                f"not {kinds[parent]!r} ({parent})"))
        elif kind == "challenge_group" and parent is not None:
            problems.append(yaml_problem("CQ206", doc, file, [*where, "parent"],
                                     problem="a challenge group has no parent"))
        if kind in ("dimension", "challenge_group") and code.get("patterns"):
            problems.append(yaml_problem("CQ206", doc, file, [*where, "patterns"],
                                     problem=f"a {kind} has no patterns of its own; put them on "
                                             "its subcodes"))
        if kind != "challenge" and code.get("derive"):
            problems.append(yaml_problem("CQ206", doc, file, [*where, "derive"],
                                     problem="only challenge codes derive from other codes"))
        for j, pattern in _ids(code.get("patterns")):
            ppath = [*where, "patterns", j]
            if kind == "subcode" and "role" not in pattern:
                problems.append(yaml_problem("CQ202", doc, file, ppath,
                                         problem="a subcode pattern needs `role` "
                                                 "(service or topic)"))
            if kind == "challenge" and "when" not in pattern:
                problems.append(yaml_problem("CQ202", doc, file, ppath,
                                         problem="a challenge pattern needs `when`"))
        for j, derivation in _ids(code.get("derive")):
            for k, source in enumerate(derivation.get("from") or []):
                spath = [*where, "derive", j, "from", k]
                if known(source, spath, "derive.from") and kinds[source] != "subcode":
                    problems.append(yaml_problem("CQ206", doc, file, spath,
                                             problem=f"{source!r} is a {kinds[source]}; "
                                                     "derive from subcodes"))
    if codes and not problems:
        for dimension in dimensions:
            if dimension not in defined_dimensions:
                problems.append(yaml_problem("CQ206", doc, file, ["codes"],
                                         problem=f"the study's dimension {dimension!r} is not "
                                                 "defined"))

    # rules name existing codes and patterns
    pattern_ids = {pattern.get("id") for _, code in _ids(codes)
                   for _, pattern in _ids(code.get("patterns"))}
    for i, rule in _ids(rules):
        where = ["rules", i]
        for k, source in enumerate(rule.get("from") or []):
            known(source, [*where, "from", k], "rule source")
        if "to" in rule and known(rule["to"], [*where, "to"], "rule target"):
            if kinds[rule["to"]] != "subcode":
                problems.append(yaml_problem("CQ206", doc, file, [*where, "to"],
                                         problem="a rule moves codings to a subcode, not to a "
                                                 f"{kinds[rule['to']]}"))
        for k, service in enumerate(rule.get("services") or []):
            known(service, [*where, "services", k], "rule service")
        for k, pattern_id in enumerate(rule.get("patterns") or []):
            if isinstance(pattern_id, str) and pattern_id not in pattern_ids:
                problems.append(yaml_problem("CQ204", doc, file, [*where, "patterns", k],
                                         what="rule pattern", ref=pattern_id))

    from pipeline.codebook.changes import change_problems

    problems.extend(change_problems(doc, file))
    if compile_patterns:
        problems.extend(_compile_problems(doc, file, data))
    return problems


def _phrase_lists(data: dict):
    """(path, phrases) for every phrase list in the document."""
    for i, code in _ids(data.get("codes") if isinstance(data.get("codes"), list) else []):
        for j, pattern in _ids(code.get("patterns")):
            if isinstance(pattern.get("phrases"), list):
                yield ["codes", i, "patterns", j, "phrases"], pattern["phrases"]
    for i, rule in _ids(data.get("rules") if isinstance(data.get("rules"), list) else []):
        for key in ("context", "phrases", "heads", "before", "unless"):
            if isinstance(rule.get(key), list):
                yield ["rules", i, key], rule[key]
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    for i, cue in _ids(context.get("cues") if isinstance(context.get("cues"), list) else []):
        if isinstance(cue.get("phrases"), list):
            yield ["context", "cues", i, "phrases"], cue["phrases"]
    for key in ("terminators", "stops", "clause_starters", "problem", "actors",
                "recipients"):
        if isinstance(context.get(key), list):
            yield ["context", key], context[key]
    markers = context.get("markers") if isinstance(context.get("markers"), dict) else {}
    for key in ("strong", "weak"):
        if isinstance(markers.get(key), list):
            yield ["context", "markers", key], markers[key]


def _compile_problems(doc: YamlDocument, file: str, data: dict) -> list[Problem]:
    """Phrase syntax and spaCy token patterns. expand_phrase already refuses a phrase with
    no words (it collapses whitespace and drops empty texts), so phrases are not tokenised
    here: tokenising every expansion cost seconds on each command."""
    problems = []
    for path, phrases in _phrase_lists(data):
        for k, phrase in enumerate(phrases):
            if not isinstance(phrase, str):
                continue
            try:
                expand_phrase(phrase)
            except PhraseError as exc:
                problems.append(yaml_problem("CQ205", doc, file, [*path, k],
                                         problem=f"phrase {phrase!r} {exc}"))
                continue
    for i, code in _ids(data.get("codes") if isinstance(data.get("codes"), list) else []):
        for j, pattern in _ids(code.get("patterns")):
            tokens = pattern.get("tokens")
            if isinstance(tokens, list) and tokens:
                error = token_pattern_error(tokens)
                if error:
                    problems.append(yaml_problem("CQ205", doc, file,
                                             ["codes", i, "patterns", j, "tokens"],
                                             problem=error))
    return problems


def token_pattern_error(tokens: list) -> str | None:
    """spaCy's own validation of one token pattern, as a short message (None when fine)."""
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher

    from pipeline.nlp.language import blank_tokenizer

    matcher = Matcher(blank_tokenizer().vocab, validate=True)
    try:
        matcher.add("check", [tokens])
    except MatchPatternError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip().startswith("-")]
        detail = "; ".join(line.lstrip("- ").strip() for line in lines) or str(exc)
        return f"token pattern is not valid for spaCy: {detail}"
    except (ValueError, KeyError, TypeError) as exc:
        return f"token pattern is not valid for spaCy: {exc}"
    return None
